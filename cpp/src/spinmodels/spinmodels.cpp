#include "glasslens/spinmodels/spinmodels.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "glasslens/common/parallel.hpp"
#include "glasslens/common/rng.hpp"
#include "glasslens/common/simd.hpp"

namespace glasslens::spin {

namespace {
constexpr std::uint64_t kTagJ = 0x4a4a4a4a01ull;
constexpr std::uint64_t kTagH = 0x4848484802ull;
constexpr std::uint64_t kTagMC = 0x4d434d4303ull;
constexpr std::uint64_t kTagSwap = 0x5357415004ull;
constexpr std::uint64_t kTagInit = 0x494e495405ull;
}  // namespace

void PTParams::validate() const {
  if (N < 1 || N > (1 << 16)) throw std::invalid_argument("n_spins must be in [1, 65536]");
  if (n_samples < 1) throw std::invalid_argument("n_samples must be >= 1");
  if (n_replicas < 1) throw std::invalid_argument("n_replicas must be >= 1");
  if (temperatures.empty()) throw std::invalid_argument("temperatures must not be empty");
  for (double t : temperatures)
    if (!(t > 0.0) || !std::isfinite(t)) throw std::invalid_argument("temperatures must be finite and > 0");
  if (n_equilibrate < 0 || n_measure < 1) throw std::invalid_argument("need n_equilibrate >= 0, n_measure >= 1");
  if (record_every < 1) throw std::invalid_argument("record_every must be >= 1");
  for (int k : record_temps)
    if (k < 0 || k >= static_cast<int>(temperatures.size()))
      throw std::invalid_argument("record temperature index out of range");
  if (!std::isfinite(J) || !std::isfinite(field) || !std::isfinite(field_sigma) || field_sigma < 0)
    throw std::invalid_argument("J, field, field_sigma must be finite (field_sigma >= 0)");
}

void make_couplings(Model model, int N, double J, std::uint64_t seed, std::int64_t sample,
                    float* out) {
  const std::uint64_t key = mix_seed(seed, static_cast<std::uint64_t>(sample), kTagJ);
  const double sq = 1.0 / std::sqrt(static_cast<double>(N));
  for (int i = 0; i < N; ++i) {
    out[static_cast<std::int64_t>(i) * N + i] = 0.0f;
    Philox rng(key, static_cast<std::uint64_t>(i));
    for (int j = i + 1; j < N; ++j) {
      double v = 0.0;
      switch (model) {
        case Model::sk_gaussian: v = J * sq * rng.normal(); break;
        case Model::sk_pm1: v = J * sq * rng.rademacher(); break;
        case Model::curie_weiss: v = J / N; break;
        case Model::paramagnet: v = 0.0; break;
      }
      const float f = static_cast<float>(v);
      out[static_cast<std::int64_t>(i) * N + j] = f;
      out[static_cast<std::int64_t>(j) * N + i] = f;
    }
  }
}

void make_fields(int N, double field, double field_sigma, std::uint64_t seed,
                 std::int64_t sample, double* out) {
  Philox rng(mix_seed(seed, static_cast<std::uint64_t>(sample), kTagH), 0);
  for (int i = 0; i < N; ++i) out[i] = field + (field_sigma > 0 ? field_sigma * rng.normal() : 0.0);
}

namespace {
double energy_of(const float* J, const double* h, int N, const std::int8_t* s) {
  double e = 0.0;
  for (int i = 0; i < N; ++i) {
    const float* row = J + static_cast<std::int64_t>(i) * N;
    double a = 0.0;
    for (int j = i + 1; j < N; ++j) a += static_cast<double>(row[j]) * s[j];
    e -= s[i] * a + h[i] * s[i];
  }
  return e;
}

struct Slot {
  std::vector<std::int8_t> s;
  std::vector<double> f;  // local fields sum_j J_ij s_j + h_i
  double E = 0.0;
};

void init_slot(Slot& sl, const float* J, const double* h, int N, Philox& rng) {
  sl.s.resize(N);
  sl.f.assign(N, 0.0);
  for (int i = 0; i < N; ++i) sl.s[i] = static_cast<std::int8_t>(rng.rademacher());
  for (int i = 0; i < N; ++i) {
    const float* row = J + static_cast<std::int64_t>(i) * N;
    double a = h[i];
    for (int j = 0; j < N; ++j) a += static_cast<double>(row[j]) * sl.s[j];
    sl.f[i] = a;
  }
  sl.E = energy_of(J, h, N, sl.s.data());
}

using RowUpdate = void (*)(double*, const float*, double, int) noexcept;

// One sequential Metropolis sweep; returns the number of accepted flips. A flip that leaves the
// energy unchanged (dE == 0) is accepted with probability 1/2, which keeps detailed balance:
// accepting it always made the zero-field paramagnet flip every spin in every sweep, so records
// alternated between s and -s. Continuous couplings (SK) never give dE == 0 exactly, so their
// chains are unchanged.
std::int64_t sweep(Slot& sl, const float* J, int N, double beta, Philox& rng, RowUpdate upd) {
  std::int64_t acc = 0;
  std::int8_t* s = sl.s.data();
  double* f = sl.f.data();
  for (int i = 0; i < N; ++i) {
    const double dE = 2.0 * s[i] * f[i];
    if (dE > 0.0 && rng.uniform() >= std::exp(-beta * dE)) continue;
    if (dE == 0.0 && rng.uniform() >= 0.5) continue;
    s[i] = static_cast<std::int8_t>(-s[i]);
    const double c = 2.0 * s[i];
    upd(f, J + static_cast<std::int64_t>(i) * N, c, N);
    sl.E += dE;
    ++acc;
  }
  return acc;
}
}  // namespace

namespace detail {
void add_scaled_row_scalar(double* f, const float* J, double c, int n) noexcept {
  for (int j = 0; j < n; ++j) f[j] += c * static_cast<double>(J[j]);
}
}  // namespace detail

void energies(const float* J, const double* h, int N, const std::int8_t* s, std::int64_t n,
              double* out) {
  for (std::int64_t a = 0; a < n; ++a) out[a] = energy_of(J, h, N, s + a * N) / N;
}

void run_parallel_tempering(const PTParams& p, const PTOutput& out, int n_threads) {
  p.validate();
  const int N = p.N;
  const std::int64_t S = p.n_samples, R = p.n_replicas;
  const int T = static_cast<int>(p.temperatures.size());
  const int C = static_cast<int>(p.record_temps.size());
  const std::int64_t K = p.n_records();
  const std::int64_t NN = static_cast<std::int64_t>(N) * N;

  const RowUpdate upd = simd_path() == SimdPath::avx2 ? detail::add_scaled_row_avx2
                                                      : detail::add_scaled_row_scalar;
  std::vector<float> Jall(static_cast<std::size_t>(S * NN));
  std::vector<double> hall(static_cast<std::size_t>(S * N));
  parallel_for(S, n_threads, [&](std::int64_t s) {
    make_couplings(p.model, N, p.J, p.seed, s, Jall.data() + s * NN);
    make_fields(N, p.field, p.field_sigma, p.seed, s, hall.data() + s * N);
  });
  if (out.couplings) std::copy(Jall.begin(), Jall.end(), out.couplings);
  if (out.fields) std::copy(hall.begin(), hall.end(), out.fields);

  parallel_for(S * R, n_threads, [&](std::int64_t item) {
    const std::int64_t smp = item / R, rep = item % R;
    const float* J = Jall.data() + smp * NN;
    const double* h = hall.data() + smp * N;
    const std::uint64_t mc_key = mix_seed(p.seed, static_cast<std::uint64_t>(smp), kTagMC);
    std::vector<Slot> slots(T);
    std::vector<Philox> rngs;
    rngs.reserve(T);
    for (int k = 0; k < T; ++k) {
      Philox init(mix_seed(p.seed, static_cast<std::uint64_t>(smp), kTagInit),
                  static_cast<std::uint64_t>(rep), static_cast<std::uint64_t>(k));
      init_slot(slots[k], J, h, N, init);
      rngs.emplace_back(mc_key, static_cast<std::uint64_t>(rep), static_cast<std::uint64_t>(k));
    }
    Philox swap_rng(mix_seed(p.seed, static_cast<std::uint64_t>(smp), kTagSwap),
                    static_cast<std::uint64_t>(rep));
    std::vector<int> slot_of(T);  // temperature index -> slot
    for (int k = 0; k < T; ++k) slot_of[k] = k;
    std::vector<double> beta(T);
    for (int k = 0; k < T; ++k) beta[k] = 1.0 / p.temperatures[k];
    std::vector<double> e_sum(T, 0.0), e2_sum(T, 0.0), m_sum(T, 0.0);
    std::vector<std::int64_t> flips(T, 0), swaps(T > 1 ? T - 1 : 0, 0), tries(T > 1 ? T - 1 : 0, 0);
    const std::int64_t total = p.n_equilibrate + p.n_measure;
    const std::int64_t base = item;  // output offsets (S x R)
    for (std::int64_t t = 0; t < total; ++t) {
      check_interrupt();
      for (int k = 0; k < T; ++k) flips[k] += sweep(slots[slot_of[k]], J, N, beta[k], rngs[k], upd);
      for (int k = 0; k + 1 < T; ++k) {
        Slot& a = slots[slot_of[k]];
        Slot& b = slots[slot_of[k + 1]];
        const double d = (beta[k] - beta[k + 1]) * (a.E - b.E);
        ++tries[k];
        if (d >= 0.0 || swap_rng.uniform() < std::exp(d)) {
          std::swap(slot_of[k], slot_of[k + 1]);
          ++swaps[k];
        }
      }
      if (t >= p.n_equilibrate) {
        const std::int64_t tm = t - p.n_equilibrate;
        for (int k = 0; k < T; ++k) {
          const Slot& sl = slots[slot_of[k]];
          const double e = sl.E / N;
          e_sum[k] += e;
          e2_sum[k] += e * e;
          std::int64_t m = 0;
          for (int i = 0; i < N; ++i) m += sl.s[i];
          m_sum[k] += std::fabs(static_cast<double>(m)) / N;
        }
        if ((tm + 1) % p.record_every == 0) {
          const std::int64_t rec = (tm + 1) / p.record_every - 1;
          if (rec < K) {
            for (int c = 0; c < C; ++c) {
              const Slot& sl = slots[slot_of[p.record_temps[c]]];
              std::int8_t* dst = out.configs + (((base * K + rec) * C + c) * N);
              std::copy(sl.s.begin(), sl.s.end(), dst);
            }
          }
        }
      }
    }
    const double nm = static_cast<double>(p.n_measure);
    for (int k = 0; k < T; ++k) {
      out.energy_mean[base * T + k] = e_sum[k] / nm;
      out.energy_sq_mean[base * T + k] = e2_sum[k] / nm;
      out.abs_mag_mean[base * T + k] = m_sum[k] / nm;
      out.final_energy[base * T + k] = energy_of(J, h, N, slots[slot_of[k]].s.data()) / N;
      out.flip_acceptance[base * T + k] =
          static_cast<double>(flips[k]) / (static_cast<double>(total) * N);
    }
    for (int k = 0; k + 1 < T; ++k)
      out.swap_acceptance[base * (T - 1) + k] =
          tries[k] ? static_cast<double>(swaps[k]) / static_cast<double>(tries[k]) : 0.0;
  });
}

}  // namespace glasslens::spin
