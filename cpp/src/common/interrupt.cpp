#include "glasslens/common/interrupt.hpp"

namespace glasslens {

std::atomic<int>& interrupt_flag() noexcept {
  static std::atomic<int> flag{0};
  static_assert(std::atomic<int>::is_always_lock_free, "the interrupt flag must be lock-free");
  return flag;
}

}  // namespace glasslens
