// The machine's float32 FMA peak for bench_kernels: a loop of independent AVX2 FMAs (compiled with
// -mavx2 -mfma; called only on CPUs that have them). No memory traffic, ten independent chains
// (more than the FMA latency times the number of FMA pipes on current x86 cores).
#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace glasslens_bench {

// Runs `iters` rounds of 10 x 8-lane FMAs; returns a value that depends on every lane (so the
// loop cannot be removed). FLOPs: iters * 10 * 8 * 2.
float fma_loop_avx2(std::int64_t iters) {
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  __m256 a[10];
  for (int j = 0; j < 10; ++j) a[j] = _mm256_set1_ps(1.0f + 0.1f * static_cast<float>(j));
  for (std::int64_t i = 0; i < iters; ++i) {
    a[0] = _mm256_fmadd_ps(a[0], m, c);
    a[1] = _mm256_fmadd_ps(a[1], m, c);
    a[2] = _mm256_fmadd_ps(a[2], m, c);
    a[3] = _mm256_fmadd_ps(a[3], m, c);
    a[4] = _mm256_fmadd_ps(a[4], m, c);
    a[5] = _mm256_fmadd_ps(a[5], m, c);
    a[6] = _mm256_fmadd_ps(a[6], m, c);
    a[7] = _mm256_fmadd_ps(a[7], m, c);
    a[8] = _mm256_fmadd_ps(a[8], m, c);
    a[9] = _mm256_fmadd_ps(a[9], m, c);
  }
  __m256 s = a[0];
  for (int j = 1; j < 10; ++j) s = _mm256_add_ps(s, a[j]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  float t = 0.0f;
  for (float v : out) t += v;
  return t;
}

}  // namespace glasslens_bench
#else
namespace glasslens_bench {
// Built without the x86 kernels: bench_kernels calls this only when cpu_has_avx2_fma() is true,
// which it never is then.
float fma_loop_avx2(std::int64_t) { return 0.0f; }
}  // namespace glasslens_bench
#endif
