#include "glasslens/replicas/triangles.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "glasslens/common/parallel.hpp"

namespace glasslens::triangles {

namespace {
inline void sort3(double x, double y, double z, double* o) noexcept {
  if (x > y) std::swap(x, y);
  if (y > z) std::swap(y, z);
  if (x > y) std::swap(x, y);
  o[0] = x;
  o[1] = y;
  o[2] = z;
}
}  // namespace

void sorted_sides_all(const double* D, std::int64_t M, double* out, int n_threads) {
  if (M < 3) return;
  std::vector<std::int64_t> off(static_cast<std::size_t>(M), 0);
  for (std::int64_t a = 1; a < M; ++a) {
    const std::int64_t r = M - a;  // points after a-1
    off[static_cast<std::size_t>(a)] = off[static_cast<std::size_t>(a - 1)] + r * (r - 1) / 2;
  }
  // Small problems run serially: thread start-up would dominate (results are identical).
  if (n_triples(M) < (1 << 16)) n_threads = 1;
  parallel_for(M - 2, n_threads, [&](std::int64_t a) {
    double* o = out + 3 * off[static_cast<std::size_t>(a)];
    const double* Da = D + a * M;
    for (std::int64_t b = a + 1; b < M; ++b) {
      const double dab = Da[b];
      const double* Db = D + b * M;
      for (std::int64_t c = b + 1; c < M; ++c, o += 3) sort3(dab, Da[c], Db[c], o);
    }
  });
}

void sorted_sides_list(const double* D, std::int64_t M, const std::int64_t* idx, std::int64_t T,
                       double* out, int n_threads) {
  constexpr std::int64_t kBlock = 4096;
  if (T < (1 << 16)) n_threads = 1;
  parallel_for((T + kBlock - 1) / kBlock, n_threads, [&](std::int64_t blk) {
    const std::int64_t t1 = std::min(T, (blk + 1) * kBlock);
    for (std::int64_t t = blk * kBlock; t < t1; ++t) {
      const std::int64_t a = idx[3 * t], b = idx[3 * t + 1], c = idx[3 * t + 2];
      sort3(D[a * M + b], D[a * M + c], D[b * M + c], out + 3 * t);
    }
  });
}

namespace {
inline void accumulate(double x, double y, double z, double tol, Summary& s) noexcept {
  double o[3];
  sort3(x, y, z, o);
  const double gap = o[2] - o[1];
  s.sum_gap += gap;
  s.sum_gap2 += gap * gap;
  s.n_iso += (o[2] > 0.0) ? (gap < tol * o[2]) : (tol > 0.0);
  ++s.n;
}

Summary combine(const std::vector<Summary>& parts) noexcept {
  Summary t;
  for (const Summary& p : parts) {
    t.sum_gap += p.sum_gap;
    t.sum_gap2 += p.sum_gap2;
    t.n_iso += p.n_iso;
    t.n += p.n;
  }
  return t;
}
}  // namespace

Summary summarize_all(const double* D, std::int64_t M, double tol, int n_threads) {
  if (M < 3) return Summary{};
  if (n_triples(M) < (1 << 16)) n_threads = 1;
  std::vector<Summary> parts(static_cast<std::size_t>(M - 2));
  parallel_for(M - 2, n_threads, [&](std::int64_t a) {
    Summary s;
    const double* Da = D + a * M;
    for (std::int64_t b = a + 1; b < M; ++b) {
      const double dab = Da[b];
      const double* Db = D + b * M;
      for (std::int64_t c = b + 1; c < M; ++c) accumulate(dab, Da[c], Db[c], tol, s);
    }
    parts[static_cast<std::size_t>(a)] = s;
  });
  return combine(parts);
}

Summary summarize_list(const double* D, std::int64_t M, const std::int64_t* idx, std::int64_t T,
                       double tol, int n_threads) {
  constexpr std::int64_t kBlock = 4096;
  if (T < (1 << 16)) n_threads = 1;
  const std::int64_t nb = (T + kBlock - 1) / kBlock;
  std::vector<Summary> parts(static_cast<std::size_t>(nb));
  parallel_for(nb, n_threads, [&](std::int64_t blk) {
    Summary s;
    const std::int64_t t1 = std::min(T, (blk + 1) * kBlock);
    for (std::int64_t t = blk * kBlock; t < t1; ++t) {
      const std::int64_t a = idx[3 * t], b = idx[3 * t + 1], c = idx[3 * t + 2];
      accumulate(D[a * M + b], D[a * M + c], D[b * M + c], tol, s);
    }
    parts[static_cast<std::size_t>(blk)] = s;
  });
  return combine(parts);
}

}  // namespace glasslens::triangles
