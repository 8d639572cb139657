// Small dense float kernels of the binary-network engine, included by binarynet.cpp (baseline
// target, GLB_VW = 4 floats per vector) and binarynet_avx2.cpp (-mavx2 -mfma, GLB_VW = 8) inside
// different namespaces. GCC/Clang vector extensions, raw pointers and builtins only: the two
// compilations share no inline library code (ODR-safe).
//
// Every output element is accumulated in the same order in both compilations (dot products use
// 8 lane accumulators whatever the vector width); the AVX2 build may fuse multiply-adds, so the
// two paths agree to rounding, not bit for bit. Each path is deterministic.
//
// Shapes: row-major; the batch dimension N is the contiguous one.

typedef float vf __attribute__((vector_size(GLB_VW * sizeof(float))));
constexpr int kVW = GLB_VW;

inline vf vload(const float* p) {
  vf v;
  __builtin_memcpy(&v, p, sizeof(vf));
  return v;
}
inline void vstore(float* p, vf v) { __builtin_memcpy(p, &v, sizeof(vf)); }

// ---- C (M x N) = A (M x K) * B (K x N), A(m, k) = A[m * sam + k * sak] ----------------------------
template <int MR, int NV>
inline void nn_tile(int m0, int K, long N, long n0, const float* A, long sam, long sak,
                    const float* B, float* C) {
  vf acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NV; ++q) acc[r][q] = vf{};
  for (int k = 0; k < K; ++k) {
    const float* b = B + k * N + n0;
    vf bv[NV];
    for (int q = 0; q < NV; ++q) bv[q] = vload(b + q * kVW);
    for (int r = 0; r < MR; ++r) {
      const float a = A[(m0 + r) * sam + k * sak];
      for (int q = 0; q < NV; ++q) acc[r][q] += a * bv[q];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NV; ++q) vstore(C + (m0 + r) * N + n0 + q * kVW, acc[r][q]);
}

template <int MR>
inline void nn_rows(int m0, int K, long N, const float* A, long sam, long sak, const float* B,
                    float* C) {
  constexpr int NV = 16 / kVW;
  long n0 = 0;
  for (; n0 + 16 <= N; n0 += 16) nn_tile<MR, NV>(m0, K, N, n0, A, sam, sak, B, C);
  for (; n0 + kVW <= N; n0 += kVW) nn_tile<MR, 1>(m0, K, N, n0, A, sam, sak, B, C);
  for (int r = 0; r < MR; ++r) {
    float* c = C + (m0 + r) * N;
    for (long n = n0; n < N; ++n) c[n] = 0.0f;
    for (int k = 0; k < K; ++k) {
      const float a = A[(m0 + r) * sam + k * sak];
      const float* b = B + k * N;
      for (long n = n0; n < N; ++n) c[n] += a * b[n];
    }
  }
}

inline void gemm_nn_v(int M, int K, long N, const float* A, long sam, long sak, const float* B,
                      float* C) {
  int m0 = 0;
  for (; m0 + 4 <= M; m0 += 4) nn_rows<4>(m0, K, N, A, sam, sak, B, C);
  switch (M - m0) {
    case 3: nn_rows<3>(m0, K, N, A, sam, sak, B, C); break;
    case 2: nn_rows<2>(m0, K, N, A, sam, sak, B, C); break;
    case 1: nn_rows<1>(m0, K, N, A, sam, sak, B, C); break;
    default: break;
  }
}

// ---- C (M x K) = A (M x N) * B (K x N)^T: C[m, k] = sum_n A[m, n] B[k, n] -------------------------
// 8 lane accumulators per sum (lane = n mod 8 over the first 8 floor(N / 8) terms), combined as
// ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)), then the tail terms in order.
template <int MR, int KR>
inline void nt_tile(int m0, int k0, int K, long N, const float* A, const float* B, float* C) {
  constexpr int NL = 8 / kVW;
  const long Nv = (N / 8) * 8;
  vf acc[MR][KR][NL];
  for (int r = 0; r < MR; ++r)
    for (int s = 0; s < KR; ++s)
      for (int q = 0; q < NL; ++q) acc[r][s][q] = vf{};
  for (long n = 0; n < Nv; n += 8) {
    vf bv[KR][NL];
    for (int s = 0; s < KR; ++s)
      for (int q = 0; q < NL; ++q) bv[s][q] = vload(B + (k0 + s) * N + n + q * kVW);
    for (int r = 0; r < MR; ++r)
      for (int q = 0; q < NL; ++q) {
        const vf av = vload(A + (m0 + r) * N + n + q * kVW);
        for (int s = 0; s < KR; ++s) acc[r][s][q] += av * bv[s][q];
      }
  }
  for (int r = 0; r < MR; ++r)
    for (int s = 0; s < KR; ++s) {
      float l[8];
      __builtin_memcpy(l, acc[r][s], sizeof(l));
      float v = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
      const float* a = A + (m0 + r) * N;
      const float* b = B + (k0 + s) * N;
      for (long n = Nv; n < N; ++n) v += a[n] * b[n];
      C[(m0 + r) * K + k0 + s] = v;
    }
}

template <int MR>
inline void nt_rows(int m0, int K, long N, const float* A, const float* B, float* C) {
  int k0 = 0;
  for (; k0 + 2 <= K; k0 += 2) nt_tile<MR, 2>(m0, k0, K, N, A, B, C);
  if (k0 < K) nt_tile<MR, 1>(m0, k0, K, N, A, B, C);
}

inline void gemm_nt_v(int M, int K, long N, const float* A, const float* B, float* C) {
  int m0 = 0;
  for (; m0 + 4 <= M; m0 += 4) nt_rows<4>(m0, K, N, A, B, C);
  switch (M - m0) {
    case 3: nt_rows<3>(m0, K, N, A, B, C); break;
    case 2: nt_rows<2>(m0, K, N, A, B, C); break;
    case 1: nt_rows<1>(m0, K, N, A, B, C); break;
    default: break;
  }
}

// ---- elementwise steps of the LR-net pass (vector selects, no branches) ------------------------

// An = (z > 0 ? z : leak z) * scale
inline void leaky_fwd_v(long n, const float* Z, float leak, float scale, float* An) {
  long k = 0;
  for (; k + kVW <= n; k += kVW) {
    const vf z = vload(Z + k);
    const vf lz = leak * z;
    vstore(An + k, (z > 0.0f ? z : lz) * scale);
  }
  for (; k < n; ++k) {
    const float z = Z[k];
    An[k] = (z > 0.0f ? z : leak * z) * scale;
  }
}

// Gn = (dA + A * T2) * (Zp > 0 ? 1 : leak) * scale
inline void leaky_bwd_v(long n, const float* dA, const float* A, const float* T2, const float* Zp,
                        float leak, float scale, float* Gn) {
  long k = 0;
  const vf one = vf{} + 1.0f, lk = vf{} + leak;
  for (; k + kVW <= n; k += kVW) {
    const vf d = vload(dA + k) + vload(A + k) * vload(T2 + k);
    const vf zp = vload(Zp + k);
    vstore(Gn + k, d * (zp > 0.0f ? one : lk) * scale);
  }
  for (; k < n; ++k) {
    const float d = dA[k] + A[k] * T2[k];
    Gn[k] = d * (Zp[k] > 0.0f ? 1.0f : leak) * scale;
  }
}

// GV = V > 0 ? G * eps / V : 0
inline void gv_v(long n, const float* G, const float* E, const float* V, float* GV) {
  long k = 0;
  const vf one = vf{} + 1.0f, zero = vf{};
  for (; k + kVW <= n; k += kVW) {
    const vf v = vload(V + k);
    const vf pos = v > 0.0f ? v : one;  // avoid 0/0 in the discarded lanes
    const vf q = vload(G + k) * vload(E + k) / pos;
    vstore(GV + k, v > 0.0f ? q : zero);
  }
  for (; k < n; ++k) GV[k] = V[k] > 0.0f ? G[k] * E[k] / V[k] : 0.0f;
}

// ---- random numbers ------------------------------------------------------------------------------

// Words [0, 4 nb) of the stream Philox(seed, stream, sub): identical to calling next_u32() 4 nb
// times on a fresh Philox(seed, stream, sub), but computed block by block in structure-of-arrays
// form so that the rounds vectorise.
inline void philox_words_v(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub, std::int64_t nb,
                  std::uint32_t* out) {
  constexpr int kChunk = 64;
  const std::uint32_t key0 = static_cast<std::uint32_t>(seed) ^
                             (0x9E3779B9u * (static_cast<std::uint32_t>(stream) + 1u));
  const std::uint32_t key1 = static_cast<std::uint32_t>(seed >> 32) ^
                             (0xBB67AE85u * (static_cast<std::uint32_t>(stream >> 32) + 1u));
  const std::uint32_t c2i = static_cast<std::uint32_t>(sub) ^ static_cast<std::uint32_t>(stream);
  const std::uint32_t c3i =
      static_cast<std::uint32_t>(sub >> 32) ^ static_cast<std::uint32_t>(stream >> 32);
  std::uint32_t c0[kChunk], c1[kChunk], c2[kChunk], c3[kChunk];
  for (std::int64_t s = 0; s < nb; s += kChunk) {
    const int m = static_cast<int>(nb - s < kChunk ? nb - s : kChunk);
    for (int j = 0; j < m; ++j) {
      const std::uint64_t blk = static_cast<std::uint64_t>(s + j);
      c0[j] = static_cast<std::uint32_t>(blk);
      c1[j] = static_cast<std::uint32_t>(blk >> 32);
      c2[j] = c2i;
      c3[j] = c3i;
    }
    std::uint32_t k0 = key0, k1 = key1;
    for (int r = 0; r < 10; ++r) {
      for (int j = 0; j < m; ++j) {
        const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c0[j];
        const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c2[j];
        const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[j] ^ k0;
        const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[j] ^ k1;
        c1[j] = static_cast<std::uint32_t>(p1);
        c3[j] = static_cast<std::uint32_t>(p0);
        c0[j] = n0;
        c2[j] = n2;
      }
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    std::uint32_t* o = out + 4 * s;
    for (int j = 0; j < m; ++j) {
      o[4 * j] = c0[j];
      o[4 * j + 1] = c1[j];
      o[4 * j + 2] = c2[j];
      o[4 * j + 3] = c3[j];
    }
  }
}

// Feature-major copy of selected rows: At[f * rows + j] = XT[f * n + idx[first + j]].
inline void gather_rows_v(const float* XT, long n, int d, const std::int64_t* idx, long first,
                          long rows, float* At) {
  for (int f = 0; f < d; ++f) {
    const float* x = XT + f * n;
    float* o = At + f * rows;
    const std::int64_t* ix = idx + first;
    for (long j = 0; j < rows; ++j) o[j] = x[ix[j]];
  }
}
