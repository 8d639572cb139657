// Dense linear assignment: LAPJV initialisation + exact shortest augmenting paths (see lap.hpp).
#include "glasslens/symmetry/lap.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "glasslens/common/parallel.hpp"
#include "glasslens/common/simd.hpp"

namespace glasslens {
namespace lap_detail {
namespace {
#include "lap_kernels.inc"
}  // namespace

// The scalar kernels: the shared loops of lap_kernels.inc over the whole row.
int scan_scalar(const double* c, std::int64_t n, double sign) {
  return scan_from(c, 0, n, sign, 0);
}

StepResult step_scalar(const double* crow, const double* v, double base, double* d,
                       std::int64_t* pred, const std::uint64_t* freecol, std::int64_t n,
                       std::int64_t row) {
  StepResult r{kInf, -1, kInf, -1};
  step_from(crow, v, base, d, pred, freecol, 0, n, row, r);
  return r;
}

void two_min_scalar(const double* crow, const double* v, std::int64_t n, double* m1,
                    std::int64_t* j1, double* m2, std::int64_t* j2) {
  two_min_from(crow, v, 0, n, kInf, -1, kInf, -1, m1, j1, m2, j2);
}

void col_min_scalar(const double* c, std::int64_t nr, std::int64_t nc, double* v,
                    std::int64_t* arg) {
  col_min_rows(c, nr, nc, v, arg);
}

double row_min_scalar(const double* crow, const double* v, std::int64_t n) {
  return row_min_from(crow, v, 0, n, kInf);
}

void two_min_f32_scalar(const float* crow, const float* v, std::int64_t n, std::int64_t* j1,
                        std::int64_t* j2) {
  two_min_from<float>(crow, v, 0, n, kInfF, -1, kInfF, -1, nullptr, j1, nullptr, j2);
}

void col_min_f32_scalar(const float* c, std::int64_t nr, std::int64_t nc, float* v,
                        std::int64_t* arg) {
  col_min_rows(c, nr, nc, v, arg);
}

}  // namespace lap_detail

namespace {

using namespace lap_detail;
constexpr std::uint64_t kOn = ~std::uint64_t{0};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Kernels {
  ScanFn scan;
  StepFn step;
  TwoMinFn two_min;
  ColMinFn col_min;
  TwoMinF32Fn two_min_f32;
  ColMinF32Fn col_min_f32;
  RowMinFn row_min;
};

Kernels pick_kernels() {
#ifdef GLASSLENS_LAP_HAVE_AVX2
  if (simd_path() == SimdPath::avx2)
    return {&scan_avx2,    &step_avx2,        &two_min_avx2,
            &col_min_avx2, &two_min_f32_avx2, &col_min_f32_avx2, &row_min_avx2};
#endif
  return {&scan_scalar,    &step_scalar,        &two_min_scalar,
          &col_min_scalar, &two_min_f32_scalar, &col_min_f32_scalar, &row_min_scalar};
}

[[noreturn]] void infeasible() { throw std::invalid_argument("cost matrix is infeasible"); }

// Minimisation of an nr x nc problem with nr <= nc (row-major, row stride nc).
class Solver {
 public:
  Solver(const double* C, std::int64_t nr, std::int64_t nc, const Kernels& K,
         const float* Cf = nullptr)
      : C_(C), Cf_(Cf), nr_(nr), nc_(nc), K_(K), col4row_(static_cast<size_t>(nr), -1),
        row4col_(static_cast<size_t>(nc), -1), u_(static_cast<size_t>(nr), 0.0),
        v_(static_cast<size_t>(nc), 0.0) {}

  void run(bool has_inf, const double* v_init) {
    if (nr_ == 0) return;
    std::vector<std::int64_t> free_rows;
    const bool square = nr_ == nc_;
    if (v_init) std::copy(v_init, v_init + nc_, v_.begin());
    if (square && !has_inf && nr_ >= 2) {
      if (!v_init) {
        column_reduction(free_rows);
      } else {
        for (std::int64_t i = 0; i < nr_; ++i) free_rows.push_back(i);
        if (Cf_) {
          vf_.resize(static_cast<size_t>(nc_));
          for (std::int64_t j = 0; j < nc_; ++j) vf_[j] = static_cast<float>(v_[j]);
        }
      }
      for (int pass = 0; pass < 2 && !free_rows.empty(); ++pass) augmenting_row_reduction(free_rows);
    }
    repair(free_rows);
    augment_all(free_rows);
  }

  const std::vector<std::int64_t>& col4row() const { return col4row_; }
  const std::vector<double>& u() const { return u_; }
  const std::vector<double>& v() const { return v_; }

 private:
  const double* row(std::int64_t i) const { return C_ + i * nc_; }

  void set_v(std::int64_t j, double x) {
    v_[j] = x;
    if (Cf_) vf_[j] = static_cast<float>(x);
  }

  // Two smallest reduced costs of row i for the heuristic phases: with Cf_ the two columns are
  // chosen in float32 and their reduced costs recomputed in double from the float32 costs
  // (ordered, lowest index on ties); without it, the exact double kernel.
  void two_min(std::int64_t i, double* m1, std::int64_t* j1, double* m2, std::int64_t* j2) {
    if (!Cf_) {
      K_.two_min(row(i), v_.data(), nc_, m1, j1, m2, j2);
      return;
    }
    std::int64_t a, b;
    K_.two_min_f32(Cf_ + i * nc_, vf_.data(), nc_, &a, &b);
    // from the float32 row just scanned (cached; equal to the double costs when those are
    // float32 values): the heuristic phases only need some finite v, repair recomputes u exactly
    const float* r = Cf_ + i * nc_;
    double x = static_cast<double>(r[a]) - v_[a], y = static_cast<double>(r[b]) - v_[b];
    if (y < x || (y == x && b < a)) {
      std::swap(x, y);
      std::swap(a, b);
    }
    *m1 = x;
    *j1 = a;
    *m2 = y;
    *j2 = b;
  }

  // Classic LAPJV column reduction with reduction transfer (square, finite costs).
  void column_reduction(std::vector<std::int64_t>& free_rows) {
    const std::int64_t n = nr_;
    std::vector<std::int64_t> arg(static_cast<size_t>(n));
    if (Cf_) {
      // exact when Cf_ holds the costs exactly (float32 input); otherwise only a heuristic start
      vf_.resize(static_cast<size_t>(n));
      K_.col_min_f32(Cf_, n, n, vf_.data(), arg.data());
      for (std::int64_t j = 0; j < n; ++j) v_[j] = vf_[j];
    } else {
      K_.col_min(C_, n, n, v_.data(), arg.data());
    }
    std::vector<char> unique(static_cast<size_t>(n), 1);
    for (std::int64_t j = n - 1; j >= 0; --j) {
      const std::int64_t i = arg[j];
      if (col4row_[i] < 0) {
        col4row_[i] = j;
        row4col_[j] = i;
      } else {
        unique[i] = 0;
      }
    }
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t x = col4row_[i];
      if (x < 0) {
        free_rows.push_back(i);
      } else if (unique[i]) {
        double m1, m2;
        std::int64_t j1, j2;
        two_min(i, &m1, &j1, &m2, &j2);
        const double mu = (j1 == x) ? m2 : m1;
        if (std::isfinite(mu)) set_v(x, v_[x] - mu);
      }
    }
  }

  // LAPJV augmenting row reduction (one pass over the free list). On dense real-valued costs
  // the auction-like reassignments become a long price war near the end, so after 2n steps
  // the remaining rows are left to the shortest-path phase (measured fastest; the classic cap
  // current * n also guarantees termination).
  void augmenting_row_reduction(std::vector<std::int64_t>& free_rows) {
    const std::int64_t n = nr_;
    const std::int64_t n_free = static_cast<std::int64_t>(free_rows.size());
    std::int64_t current = 0, new_free = 0, rr_cnt = 0;
    while (current < n_free) {
      if ((++rr_cnt & 1023) == 0) check_interrupt();
      const std::int64_t i = free_rows[current++];
      double v1, v2;
      std::int64_t j1, j2;
      two_min(i, &v1, &j1, &v2, &j2);
      std::int64_t i0 = row4col_[j1];
      const double v1_new = v_[j1] - (v2 - v1);
      const bool lowers = v1_new < v_[j1];
      if (rr_cnt < current * n && rr_cnt < 2 * n) {
        if (lowers) {
          set_v(j1, v1_new);
        } else if (i0 >= 0 && j2 >= 0) {
          j1 = j2;
          i0 = row4col_[j2];
        }
        if (i0 >= 0) {
          if (lowers)
            free_rows[--current] = i0;
          else
            free_rows[new_free++] = i0;
        }
      } else if (i0 >= 0) {
        free_rows[new_free++] = i0;
      }
      if (i0 >= 0) col4row_[i0] = -1;
      col4row_[i] = j1;
      row4col_[j1] = i;
    }
    free_rows.resize(static_cast<size_t>(new_free));
  }

  // Sets u_i = min_j (c_ij - v_j) (dual feasibility), frees assigned rows whose column is not
  // such a minimiser (exact complementary slackness), then assigns free rows greedily to a
  // free minimising column. Rebuilds free_rows.
  void repair(std::vector<std::int64_t>& free_rows) {
    std::vector<std::int64_t> jmin(static_cast<size_t>(nr_));
    for (std::int64_t i = 0; i < nr_; ++i) {
      const std::int64_t x = col4row_[i];
      if (x >= 0) {
        // assigned row: the minimum value suffices while x attains it (u_i = that reduced cost)
        const double hx = row(i)[x] - v_[x];
        if (hx < kInf && hx <= K_.row_min(row(i), v_.data(), nc_)) {  // else as a free row
          u_[i] = hx;
          continue;
        }
        col4row_[i] = -1;
        row4col_[x] = -1;
      }
      double m1, m2;
      std::int64_t j1, j2;
      K_.two_min(row(i), v_.data(), nc_, &m1, &j1, &m2, &j2);
      if (!(m1 < kInf)) infeasible();
      u_[i] = m1;
      jmin[i] = j1;
    }
    free_rows.clear();
    for (std::int64_t i = 0; i < nr_; ++i) {
      if (col4row_[i] >= 0) continue;
      const std::int64_t j = jmin[i];
      if (row4col_[j] < 0) {
        col4row_[i] = j;
        row4col_[j] = i;
      } else {
        free_rows.push_back(i);
      }
    }
  }

  void augment_all(const std::vector<std::int64_t>& free_rows) {
    if (free_rows.empty()) return;
    const size_t m = static_cast<size_t>(nc_);
    d_.assign(m, kInf);
    pred_.assign(m, -1);
    freecol_.assign(m, 0);
    freelist_.clear();
    for (std::int64_t j = 0; j < nc_; ++j) {
      freecol_[j] = row4col_[j] < 0 ? kOn : 0;
      if (row4col_[j] < 0) freelist_.push_back(j);
    }
    for (std::int64_t cur : free_rows) {
      check_interrupt();
      augment(cur);
    }
  }

  void augment(std::int64_t cur) {
    std::fill(d_.begin(), d_.end(), kInf);
    scanned_.clear();
    scanned_d_.clear();
    double mu = 0.0;
    std::int64_t i = cur, sink = -1;
    for (;;) {
      // few free columns: track their minimum here instead of in the vector loop
      const bool few = static_cast<std::int64_t>(freelist_.size()) * 16 <= nc_;
      StepResult r = K_.step(row(i), v_.data(), mu - u_[i], d_.data(), pred_.data(),
                             few ? nullptr : freecol_.data(), nc_, i);
      if (few) {
        for (std::int64_t jf : freelist_) {
          const double dj = d_[jf];
          if (dj < r.bestf || (dj == r.bestf && r.jfree >= 0 && jf < r.jfree)) {
            r.bestf = dj;
            r.jfree = jf;
          }
        }
      }
      if (!(r.best < kInf)) infeasible();
      mu = r.best;
      if (r.jfree >= 0 && r.bestf == r.best) {
        sink = r.jfree;
        break;
      }
      const std::int64_t j = r.jbest;
      d_[j] = kNaN;  // finished
      scanned_.push_back(j);
      scanned_d_.push_back(mu);
      i = row4col_[j];
    }
    // dual update (Crouse 2016)
    u_[cur] += mu;
    for (size_t t = 0; t < scanned_.size(); ++t) {
      const std::int64_t j = scanned_[t];
      const double delta = mu - scanned_d_[t];
      u_[row4col_[j]] += delta;
      v_[j] -= delta;
    }
    // augment along the predecessor chain
    std::int64_t j = sink;
    for (;;) {
      const std::int64_t r = pred_[j];
      row4col_[j] = r;
      std::swap(col4row_[r], j);
      if (r == cur) break;
    }
    freecol_[sink] = 0;
    freelist_.erase(std::find(freelist_.begin(), freelist_.end(), sink));
  }

  const double* C_;
  const float* Cf_;  // float32 copy for the heuristic phases (square problems), or nullptr
  std::vector<float> vf_;  // float32 mirror of v_ while Cf_ is used
  std::int64_t nr_, nc_;
  Kernels K_;
  std::vector<std::int64_t> col4row_, row4col_;
  std::vector<double> u_, v_;
  std::vector<double> d_;
  std::vector<std::int64_t> pred_;
  std::vector<std::uint64_t> freecol_;
  std::vector<double> scanned_d_;
  std::vector<std::int64_t> scanned_, freelist_;
};

}  // namespace

namespace {

// Per-thread scratch for the (negated / transposed / widened) working copy, so that batches of
// matrices do not page-fault fresh memory for every problem. Large problems use a local buffer.
constexpr std::int64_t kScratchMax = std::int64_t{1} << 21;  // doubles (16 MB)

template <class T>
double solve_impl(const T* cost, std::int64_t nr, std::int64_t nc, const LapOptions& opt,
                  std::int64_t* row_ind, std::int64_t* col_ind, double* u_out, double* v_out) {
  if (nr < 0 || nc < 0) throw std::invalid_argument("cost matrix dimensions must be >= 0");
  const std::int64_t k = std::min(nr, nc);
  if (k == 0) return 0.0;
  if (opt.v_init && nr != nc)
    throw std::invalid_argument("warm-start duals need a square cost matrix");
  if (opt.v_init) {
    for (std::int64_t j = 0; j < nc; ++j)
      if (!std::isfinite(opt.v_init[j]))
        throw std::invalid_argument("warm-start duals must be finite");
  }
  const bool transpose = nr > nc;
  const double sign = opt.maximize ? -1.0 : 1.0;
  const std::int64_t n1 = transpose ? nc : nr, n2 = transpose ? nr : nc;
  const std::int64_t total = nr * nc;
  const Kernels K = pick_kernels();

  // working copy (minimisation, rows <= columns, double) unless the input already is one
  const double* W = nullptr;
  static thread_local std::vector<double> scratch;
  std::vector<double> local;
  const bool copy = transpose || opt.maximize || !std::is_same<T, double>::value;
  if (!copy) {
    W = reinterpret_cast<const double*>(cost);
  } else {
    std::vector<double>& buf = total <= kScratchMax ? scratch : local;
    if (static_cast<std::int64_t>(buf.size()) < total) buf.resize(static_cast<size_t>(total));
    double* w = buf.data();
    if (transpose) {
      constexpr std::int64_t TB = 32;
      for (std::int64_t i0 = 0; i0 < nr; i0 += TB)
        for (std::int64_t j0 = 0; j0 < nc; j0 += TB)
          for (std::int64_t i = i0; i < std::min(nr, i0 + TB); ++i)
            for (std::int64_t j = j0; j < std::min(nc, j0 + TB); ++j)
              w[j * nr + i] = sign * static_cast<double>(cost[i * nc + j]);
    } else {
      for (std::int64_t t = 0; t < total; ++t) w[t] = sign * static_cast<double>(cost[t]);
    }
    W = w;
  }

  // validate (after the sign flip: NaN and -inf are invalid, +inf is a forbidden pair)
  const int flags = opt.assume_finite ? 0 : K.scan(W, total, 1.0);
  const bool has_inf = flags & 1;
  if (flags & 2) {
    for (std::int64_t t = 0; t < total; ++t) {
      const double c = sign * static_cast<double>(cost[t]);
      if (!(c > -kInf)) {
        std::ostringstream s;
        s << "cost matrix contains an invalid entry (" << static_cast<double>(cost[t]) << ") at ("
          << t / nc << ", " << t % nc << "); NaN and "
          << (opt.maximize ? "+inf (when maximizing)" : "-inf") << " are not allowed";
        throw std::invalid_argument(s.str());
      }
    }
  }

  // float32 copy for the heuristic phases (the caller's hint; not derived from float32 input,
  // whose solution stays identical to that of its float64 conversion, duals included)
  const float* Wf = (opt.cost_f32 && !transpose && !opt.maximize && nr == nc &&
                     nr < (std::int64_t{1} << 24))
                        ? opt.cost_f32
                        : nullptr;
  Solver S(W, n1, n2, K, Wf);
  S.run(has_inf, opt.v_init);
  const auto& c4r = S.col4row();
  double obj = 0.0;
  if (!transpose) {
    for (std::int64_t i = 0; i < nr; ++i) {
      row_ind[i] = i;
      col_ind[i] = c4r[i];
    }
  } else {
    // row j of W is column j of cost, assigned to row c4r[j] of cost; sort by that row
    std::vector<std::int64_t> col_of_row(static_cast<size_t>(nr), -1);
    for (std::int64_t j = 0; j < nc; ++j) col_of_row[c4r[j]] = j;
    std::int64_t t = 0;
    for (std::int64_t i = 0; i < nr; ++i) {
      if (col_of_row[i] >= 0) {
        row_ind[t] = i;
        col_ind[t] = col_of_row[i];
        ++t;
      }
    }
  }
  for (std::int64_t t = 0; t < k; ++t) obj += static_cast<double>(cost[row_ind[t] * nc + col_ind[t]]);
  if (u_out) std::copy(S.u().begin(), S.u().end(), u_out);
  if (v_out) std::copy(S.v().begin(), S.v().end(), v_out);
  return obj;
}

template <class T>
void batch_impl(const T* costs, std::int64_t B, std::int64_t nr, std::int64_t nc, bool maximize,
                const double* v_init, std::int64_t* row_ind, std::int64_t* col_ind,
                double* totals, double* u_out, double* v_out, int n_threads) {
  const std::int64_t k = std::min(nr, nc), big = std::max(nr, nc);
  parallel_for(B, n_threads, [&](std::int64_t b) {
    LapOptions opt;
    opt.maximize = maximize;
    opt.v_init = v_init ? v_init + b * nc : nullptr;
    try {
      const double t = solve_impl(costs + b * nr * nc, nr, nc, opt, row_ind + b * k,
                                  col_ind + b * k, u_out ? u_out + b * k : nullptr,
                                  v_out ? v_out + b * big : nullptr);
      if (totals) totals[b] = t;
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("costs[" + std::to_string(b) + "]: " + e.what());
    }
  });
}

}  // namespace

double lap_solve(const double* cost, std::int64_t nr, std::int64_t nc, const LapOptions& opt,
                 std::int64_t* row_ind, std::int64_t* col_ind, double* u_out, double* v_out) {
  return solve_impl(cost, nr, nc, opt, row_ind, col_ind, u_out, v_out);
}

double lap_solve(const float* cost, std::int64_t nr, std::int64_t nc, const LapOptions& opt,
                 std::int64_t* row_ind, std::int64_t* col_ind, double* u_out, double* v_out) {
  return solve_impl(cost, nr, nc, opt, row_ind, col_ind, u_out, v_out);
}

void lap_solve_batch(const double* costs, std::int64_t B, std::int64_t nr, std::int64_t nc,
                     bool maximize, const double* v_init, std::int64_t* row_ind,
                     std::int64_t* col_ind, double* totals, double* u_out, double* v_out,
                     int n_threads) {
  batch_impl(costs, B, nr, nc, maximize, v_init, row_ind, col_ind, totals, u_out, v_out,
             n_threads);
}

void lap_solve_batch(const float* costs, std::int64_t B, std::int64_t nr, std::int64_t nc,
                     bool maximize, const double* v_init, std::int64_t* row_ind,
                     std::int64_t* col_ind, double* totals, double* u_out, double* v_out,
                     int n_threads) {
  batch_impl(costs, B, nr, nc, maximize, v_init, row_ind, col_ind, totals, u_out, v_out,
             n_threads);
}

}  // namespace glasslens
