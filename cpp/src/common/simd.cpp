#include "glasslens/common/simd.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace glasslens {

bool cpu_has_avx2_fma() noexcept {
#if GLASSLENS_HAVE_X86_SIMD
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

namespace {
SimdPath initial_path() noexcept {
  const char* env = std::getenv("GLASSLENS_SIMD");
  if (env && (std::strcmp(env, "scalar") == 0 || std::strcmp(env, "generic") == 0))
    return SimdPath::scalar;
  return cpu_has_avx2_fma() ? SimdPath::avx2 : SimdPath::scalar;
}
std::atomic<int> g_path{static_cast<int>(initial_path())};
}  // namespace

SimdPath simd_path() noexcept { return static_cast<SimdPath>(g_path.load(std::memory_order_relaxed)); }

void set_simd_path(SimdPath p) {
  if (p == SimdPath::avx2 && !cpu_has_avx2_fma())
    throw std::invalid_argument("simd path 'avx2' requested but this CPU lacks AVX2/FMA");
  g_path.store(static_cast<int>(p), std::memory_order_relaxed);
}

std::string simd_path_name(SimdPath p) { return p == SimdPath::avx2 ? "avx2" : "scalar"; }

}  // namespace glasslens
