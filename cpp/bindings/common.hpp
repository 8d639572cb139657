// Shared helpers for the pybind11 layer. Only files in cpp/bindings include pybind11.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <csignal>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "glasslens/common/interrupt.hpp"

namespace glasslens::bind {
namespace py = pybind11;

// ---- Ctrl-C -----------------------------------------------------------------------------------
// While a kernel runs without the GIL, Python's own SIGINT handler only records the signal; the
// kernel would run to its end. KernelScope installs (for the outermost running kernel) a SIGINT
// handler that sets the core's interrupt flag, then calls the handler it replaced (Python's, which
// records the signal for PyErr_CheckSignals); the kernel stops at its next check and throws
// glasslens::Interrupted, which the translator registered in module.cpp turns into
// KeyboardInterrupt (or whatever Python's handler raises). A SIGINT that was ignored (SIG_IGN)
// stays ignored; under SIG_DFL the default action (termination) is taken as before.
namespace interrupt_detail {
struct State {
  std::mutex mu;
  int depth = 0;
  struct sigaction previous {};
};
inline State& state() {
  static State s;
  return s;
}
inline void on_sigint(int sig) {
  const struct sigaction& prev = state().previous;
  if (prev.sa_handler == SIG_IGN) return;
  if (prev.sa_handler == SIG_DFL) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  request_interrupt();
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) prev.sa_sigaction(sig, nullptr, nullptr);
  } else if (prev.sa_handler) {
    prev.sa_handler(sig);
  }
}
}  // namespace interrupt_detail

// Installs the interrupt-forwarding SIGINT handler for its lifetime (nests across threads).
class InterruptGuard {
 public:
  InterruptGuard() {
    auto& st = interrupt_detail::state();
    std::lock_guard<std::mutex> lock(st.mu);
    if (st.depth++ == 0) {
      clear_interrupt();
      struct sigaction sa {};
      sa.sa_handler = interrupt_detail::on_sigint;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = 0;
      sigaction(SIGINT, &sa, &st.previous);
    }
  }
  ~InterruptGuard() {
    auto& st = interrupt_detail::state();
    std::lock_guard<std::mutex> lock(st.mu);
    if (--st.depth == 0) sigaction(SIGINT, &st.previous, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// What every binding holds around a call into the core: Ctrl-C forwarding, then the GIL released.
class KernelScope {
 public:
  KernelScope() = default;

 private:
  InterruptGuard guard_;
  py::gil_scoped_release release_;
};

template <class T>
using carray = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Throws ValueError naming the argument unless `a` has `ndim` dimensions.
template <class A>
inline void require_ndim(const A& a, int ndim, const char* name) {
  if (a.ndim() != ndim) {
    std::ostringstream s;
    s << name << " must have " << ndim << " dimension(s), got " << a.ndim();
    throw std::invalid_argument(s.str());
  }
}

template <class A>
inline void require_dim(const A& a, int axis, py::ssize_t size, const char* name) {
  if (a.shape(axis) != size) {
    std::ostringstream s;
    s << name << " has size " << a.shape(axis) << " along axis " << axis << ", expected " << size;
    throw std::invalid_argument(s.str());
  }
}

// True when every value is finite. Floats are tested on their exponent bits in blocks without
// early exit, so the loop vectorises (a full pass over millions of weights costs ~1 ms).
inline bool all_finite(const float* p, std::int64_t n) {
  constexpr std::int64_t kBlock = 4096;
  for (std::int64_t b = 0; b < n; b += kBlock) {
    const std::int64_t e = b + kBlock < n ? b + kBlock : n;
    std::uint32_t bad = 0;
    for (std::int64_t i = b; i < e; ++i) {
      std::uint32_t u;
      std::memcpy(&u, p + i, sizeof u);
      bad |= static_cast<std::uint32_t>((u & 0x7f800000u) == 0x7f800000u);
    }
    if (bad) return false;
  }
  return true;
}
inline bool all_finite(const double* p, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

template <class T>
inline void require_finite(const carray<T>& a, const char* name) {
  const T* p = a.data();
  const py::ssize_t n = a.size();
  if constexpr (std::is_floating_point_v<T>) {
    if (all_finite(p, n)) return;
  }
  for (py::ssize_t i = 0; i < n; ++i) {
    if (!std::isfinite(static_cast<double>(p[i]))) {
      std::ostringstream s;
      s << name << " contains a non-finite value (NaN or inf) at flat index " << i;
      throw std::invalid_argument(s.str());
    }
  }
}

template <class T>
inline carray<T> new_array(std::initializer_list<py::ssize_t> shape) {
  return carray<T>(std::vector<py::ssize_t>(shape));
}

}  // namespace glasslens::bind
