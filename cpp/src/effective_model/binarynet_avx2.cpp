// AVX2 + FMA compilation of the binary-network float kernels (chosen at run time, see simd.hpp).
// Same summation order as the baseline compilation; may use FMA.
#include <cstdint>

#include "glasslens/common/simd.hpp"

namespace glasslens::binarynet::k_avx2 {
#if GLASSLENS_HAVE_X86_SIMD
#define GLB_VW 8
#else
#define GLB_VW 4  // a build without the x86 kernels compiles this file for the baseline target
#endif
#include "binarynet_gemm.inl"
#undef GLB_VW

void gemm_nn_f(int M, int K, long N, const float* A, long sam, long sak, const float* B,
               float* C) {
  gemm_nn_v(M, K, N, A, sam, sak, B, C);
}
void gemm_nt_f(int M, int K, long N, const float* A, const float* B, float* C) {
  gemm_nt_v(M, K, N, A, B, C);
}
void leaky_fwd_f(long n, const float* Z, float leak, float scale, float* An) {
  leaky_fwd_v(n, Z, leak, scale, An);
}
void leaky_bwd_f(long n, const float* dA, const float* A, const float* T2, const float* Zp,
                 float leak, float scale, float* Gn) {
  leaky_bwd_v(n, dA, A, T2, Zp, leak, scale, Gn);
}
void gv_f(long n, const float* G, const float* E, const float* V, float* GV) { gv_v(n, G, E, V, GV); }
void philox_words_f(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub, std::int64_t nb,
                    std::uint32_t* out) {
  philox_words_v(seed, stream, sub, nb, out);
}
void gather_rows_f(const float* XT, long n, int d, const std::int64_t* idx, long first, long rows,
                   float* At) {
  gather_rows_v(XT, n, d, idx, first, rows, At);
}
}  // namespace glasslens::binarynet::k_avx2
