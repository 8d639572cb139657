// Thread-count policy and exception-safe OpenMP loops.
#pragma once
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>

#include "glasslens/common/interrupt.hpp"

#ifdef GLASSLENS_HAS_OPENMP
#include <omp.h>
#endif

namespace glasslens {

inline bool has_openmp() noexcept {
#ifdef GLASSLENS_HAS_OPENMP
  return true;
#else
  return false;
#endif
}

// Default thread count: OpenMP's (which honours OMP_NUM_THREADS), or 1 in a serial build.
inline int default_threads() noexcept {
#ifdef GLASSLENS_HAS_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// n <= 0 means the default. The result is at least 1 and is 1 in a serial build.
inline int resolve_threads(int n) noexcept {
#ifdef GLASSLENS_HAS_OPENMP
  return n > 0 ? n : default_threads();
#else
  (void)n;
  return 1;
#endif
}

// Collects the first exception thrown inside a parallel region so it can be rethrown outside.
class ExceptionCatcher {
 public:
  template <class F>
  void run(F&& f) noexcept {
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ptr_) ptr_ = std::current_exception();
    }
  }
  bool failed() const noexcept { return static_cast<bool>(ptr_); }
  void rethrow() const {
    if (ptr_) std::rethrow_exception(ptr_);
  }

 private:
  std::exception_ptr ptr_;
  std::mutex mu_;
};

// parallel_for(n, n_threads, f): calls f(i) for i in [0, n), dynamic schedule, exceptions
// are caught inside the region and rethrown after it. f must not depend on the thread id.
// An interrupt request (interrupt.hpp) skips the items not yet started and throws Interrupted
// after the region.
template <class F>
void parallel_for(std::int64_t n, int n_threads, F&& f, int chunk = 1) {
  ExceptionCatcher catcher;
  const int nt = resolve_threads(n_threads);
#ifdef GLASSLENS_HAS_OPENMP
#pragma omp parallel for schedule(dynamic, chunk) num_threads(nt) if (nt > 1 && n > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    if (catcher.failed() || interrupt_requested()) continue;
    catcher.run([&] { f(i); });
  }
#else
  (void)nt;
  (void)chunk;
  for (std::int64_t i = 0; i < n; ++i) {
    if (interrupt_requested()) break;
    catcher.run([&] { f(i); });
    if (catcher.failed()) break;
  }
#endif
  catcher.rethrow();
  check_interrupt();
}

}  // namespace glasslens
