// Cooperative interruption of long kernels (Ctrl-C).
//
// The core knows nothing of signals or Python: it only reads one process-wide flag between work
// items (parallel_for does so before every item) and in the inner loops of long items (epochs,
// walk steps, sweeps, augmenting paths), and throws glasslens::Interrupted when the flag is set.
// The bindings set the flag from a SIGINT handler while a kernel runs (bindings/common.hpp,
// KernelScope) and turn Interrupted into Python's KeyboardInterrupt.
#pragma once
#include <atomic>
#include <exception>

namespace glasslens {

// Thrown by check_interrupt() when an interrupt was requested.
struct Interrupted : std::exception {
  const char* what() const noexcept override { return "interrupted"; }
};

// The process-wide flag (lock-free, safe to set from a signal handler).
std::atomic<int>& interrupt_flag() noexcept;

inline bool interrupt_requested() noexcept {
  return interrupt_flag().load(std::memory_order_relaxed) != 0;
}
inline void request_interrupt() noexcept { interrupt_flag().store(1, std::memory_order_relaxed); }
inline void clear_interrupt() noexcept { interrupt_flag().store(0, std::memory_order_relaxed); }

// Throws Interrupted when an interrupt was requested.
inline void check_interrupt() {
  if (interrupt_requested()) throw Interrupted();
}

}  // namespace glasslens
