// C++ micro-benchmarks of glasslens's hot kernels, without Python: for every kernel the time, the
// GFLOP/s and the fraction of the machine's measured float32 FMA peak, on each SIMD path (scalar,
// AVX2+FMA; the +-1 overlaps also on AVX-512 VPOPCNTDQ) and at 1, 2, 4, ... threads for the
// parallel engines. Every kernel's result is also compared between the paths (bit for bit where
// the library promises identical bits, otherwise within FMA rounding): the exit status is 1 when
// one disagrees, so the benchmark doubles as a smoke test (tests/test_cpp_core.py runs --quick).
//
// Build: cmake -S . -B build/bench -DGLASSLENS_BUILD_BENCH=ON -DGLASSLENS_BUILD_PYTHON=OFF
//        cmake --build build/bench --target bench_kernels
// Run:   build/bench/bench_kernels [--quick] [--threads N] [--only SUBSTRING]
//                                   [--paths scalar,avx2,avx512] [--out FILE.md]
// Peers (numpy, PyTorch, scipy, lap) are timed by the Python scripts in bench/python.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "glasslens/nn/gemm.hpp"
#include "glasslens/probes/landscape.hpp"
#include "glasslens/symmetry/lap.hpp"
#include "glasslens/symmetry/lap_pairs.hpp"
#include "glasslens/nn/mlp.hpp"
#include "glasslens/replicas/overlaps.hpp"
#include "glasslens/common/parallel.hpp"
#include "glasslens/common/simd.hpp"
#include "glasslens/nn/train.hpp"

namespace glasslens_bench {
float fma_loop_avx2(std::int64_t iters);
}

namespace {

using namespace glasslens;
using namespace glasslens::overlaps;
using glasslens::overlaps::detail::cpu_has_avx512_vpopcntdq;
using i64 = std::int64_t;
using Clock = std::chrono::steady_clock;

struct Options {
  bool quick = false;
  int max_threads = 1;
  std::string only;
  std::string paths;  // comma-separated subset of scalar,avx2,avx512 (empty: all available)
  std::string out;
};

// Best wall time of f over repetitions: at least `reps` runs and `total` seconds (one warm-up).
double best_time(const std::function<void()>& f, const Options& o) {
  const int min_reps = o.quick ? 2 : 3;
  const double min_total = o.quick ? 0.0 : 0.3;
  f();
  double best = 1e300, spent = 0.0;
  for (int r = 0; r < 1000 && (r < min_reps || spent < min_total); ++r) {
    const auto t0 = Clock::now();
    f();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, s);
    spent += s;
  }
  return best;
}

std::vector<float> randn(i64 n, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(g);
  return v;
}

std::vector<std::int32_t> labels(i64 n, int c, std::uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<std::int32_t> y(static_cast<std::size_t>(n));
  for (auto& v : y) v = static_cast<std::int32_t>(g() % static_cast<unsigned>(c));
  return y;
}

// PyTorch-style uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) parameters of K networks.
std::vector<float> init_params(const nn::Shape& s, i64 K, std::uint32_t seed) {
  std::mt19937 g(seed);
  std::vector<float> th(static_cast<std::size_t>(K * s.n_params()));
  for (i64 k = 0; k < K; ++k) {
    float* t = th.data() + k * s.n_params();
    for (int l = 0; l < s.n_layers(); ++l) {
      std::uniform_real_distribution<float> d(-1.0f / std::sqrt(float(s.widths[l])),
                                              1.0f / std::sqrt(float(s.widths[l])));
      const i64 nw = i64(s.widths[l + 1]) * s.widths[l] + (s.bias ? s.widths[l + 1] : 0);
      for (i64 p = 0; p < nw; ++p) t[s.w_offset(l) + p] = d(g);
    }
  }
  return th;
}

// One benchmark: `run(nt)` does the work with nt threads; `flop` its floating-point operations
// (0: not a FLOP-bound kernel, then `unit_count` items are reported per second as `unit`);
// `result()` a signature of the output on the current path, compared across paths with `rtol`
// (0: bit-identical).
struct Case {
  std::string name, work;
  bool parallel = false;
  double flop = 0.0;
  double unit_count = 0.0;
  std::string unit;
  std::function<void(int)> run;
  std::function<std::vector<double>()> result;
  double rtol = 0.0;
  // entries from index `tail_from` on (e.g. accuracies, where rounding may flip a near-tie
  // prediction) are compared with the absolute tolerance `tail_atol` instead
  std::size_t tail_from = static_cast<std::size_t>(-1);
  double tail_atol = 0.0;
  std::vector<std::string> paths = {"scalar", "avx2"};
};

void select_path(const std::string& p) {
  if (p == "avx512") {
    set_simd_path(SimdPath::avx2);
    set_popcount_kernel("avx512");
    return;
  }
  set_simd_path(p == "avx2" ? SimdPath::avx2 : SimdPath::scalar);
  set_popcount_kernel(p);
}

bool path_available(const std::string& p) {
  if (p == "scalar") return true;
  if (p == "avx2") return cpu_has_avx2_fma();
  if (p == "avx512") return cpu_has_avx2_fma() && cpu_has_avx512_vpopcntdq();
  return false;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::vector<Case> make_cases(const Options& o) {
  std::vector<Case> cs;
  const bool q = o.quick;
  // only the selected cases allocate their data
  auto want = [&](const std::string& name) {
    return o.only.empty() || name.find(o.only) != std::string::npos;
  };

  // ---- GEMM variants (serial: callers parallelise over networks and tiles)
  struct G {
    const char* name;
    i64 m, n, k;
    int kind;  // 0 nt, 1 nn, 2 tn
  };
  const i64 big = q ? 192 : 1024;
  const G gs[] = {{"gemm_nt square", big, big, big, 0},
                  {"gemm_nt evaluation tile (X W^T)", 720, 128, 784, 0},
                  {"gemm_nt small layer", 1000, 32, 64, 0},
                  {"gemm_nn backward (dZ W)", 64, 784, 128, 1},
                  {"gemm_tn weight gradient (dZ^T X)", 128, 784, 64, 2}};
  for (const G& g : gs) {
    if (!want(g.name)) continue;
    auto A = std::make_shared<std::vector<float>>(randn(g.m * g.k, 1));
    auto B = std::make_shared<std::vector<float>>(randn(g.n * g.k, 2));
    auto C = std::make_shared<std::vector<float>>(static_cast<std::size_t>(g.m * g.n));
    Case c;
    c.name = g.name;
    c.work = std::to_string(g.m) + " x " + std::to_string(g.n) + " x " + std::to_string(g.k);
    c.flop = 2.0 * g.m * g.n * g.k;
    const G gg = g;
    c.run = [A, B, C, gg](int) {
      if (gg.kind == 0)
        gemm::gemm_nt(gg.m, gg.n, gg.k, A->data(), gg.k, B->data(), gg.k, C->data(), gg.n);
      else if (gg.kind == 1)  // A: m x k, B: k x n
        gemm::gemm_nn(gg.m, gg.n, gg.k, A->data(), gg.k, B->data(), gg.n, C->data(), gg.n);
      else  // A: k x m, B: k x n
        gemm::gemm_tn(gg.m, gg.n, gg.k, A->data(), gg.m, B->data(), gg.n, C->data(), gg.n);
    };
    c.result = [C] {
      return std::vector<double>(C->begin(), C->begin() + std::min<std::size_t>(C->size(), 4096));
    };
    c.rtol = 1e-4;
    cs.push_back(c);
  }

  // ---- fused one-hidden-layer loss (serial kernel under nn::evaluate)
  if (const char* name = "mlp2_loss (fused forward + cross-entropy)"; want(name)) {
    const i64 n = 1000;
    auto X = std::make_shared<std::vector<float>>(randn(n * 64, 3));
    auto y = std::make_shared<std::vector<std::int32_t>>(labels(n, 10, 4));
    const nn::Shape s({64, 32, 10}, true);
    auto th = std::make_shared<std::vector<float>>(init_params(s, 1, 5));
    auto out = std::make_shared<double>(0.0);
    Case c;
    c.name = name;
    c.work = "64-32-10, n = 1000";
    c.flop = 2.0 * n * (64 * 32 + 32 * 10);
    c.run = [=](int) {
      const float* t = th->data();
      *out = gemm::mlp2_loss(n, 64, 32, 10, X->data(), t, t + s.b_offset(0), t + s.w_offset(1),
                             t + s.b_offset(1), y->data(), nullptr);
    };
    c.result = [out] { return std::vector<double>{*out}; };
    c.rtol = 1e-5;
    cs.push_back(c);
  }

  // ---- parallel engines
  auto evaluate_case = [&](const char* name, std::vector<int> widths, i64 K, i64 n) {
    if (!want(name)) return;
    const nn::Shape s(widths, true);
    auto X = std::make_shared<std::vector<float>>(randn(n * s.n_in(), 6));
    auto y = std::make_shared<std::vector<std::int32_t>>(labels(n, s.n_out(), 7));
    auto th = std::make_shared<std::vector<float>>(init_params(s, K, 8));
    auto loss = std::make_shared<std::vector<double>>(K);
    auto acc = std::make_shared<std::vector<double>>(K);
    Case c;
    c.name = name;
    std::string w;
    for (std::size_t i = 0; i < widths.size(); ++i) w += (i ? "-" : "") + std::to_string(widths[i]);
    c.work = std::to_string(K) + " x " + w + ", n = " + std::to_string(n);
    c.parallel = true;
    double per = 0;
    for (int l = 0; l < s.n_layers(); ++l) per += double(s.widths[l]) * s.widths[l + 1];
    c.flop = 2.0 * K * n * per;
    c.run = [=](int nt) {
      nn::evaluate(s, th->data(), K, X->data(), y->data(), n, loss->data(), acc->data(), nt);
    };
    c.result = [loss, acc] {
      std::vector<double> r(*loss);
      r.insert(r.end(), acc->begin(), acc->end());
      return r;
    };
    c.rtol = 1e-5;
    c.tail_from = static_cast<std::size_t>(K);
    c.tail_atol = 2.5 / static_cast<double>(n);  // two predictions
    cs.push_back(c);
  };
  evaluate_case("nn::evaluate (many small networks)", {64, 32, 10}, q ? 100 : 2000, 1000);
  evaluate_case("nn::evaluate (784-128-10)", {784, 128, 10}, q ? 4 : 32, q ? 2400 : 10000);

  // training: R replicas, one epoch of minibatch SGD with momentum
  if (const char* name = "nn::train (SGD, batch 64, momentum 0.9)"; want(name)) {
    const nn::Shape s({784, 128, 10}, true);
    const i64 R = q ? 4 : 16, n = q ? 1000 : 10000;
    auto X = std::make_shared<std::vector<float>>(randn(n * 784, 9));
    auto y = std::make_shared<std::vector<std::int32_t>>(labels(n, 10, 10));
    auto th0 = std::make_shared<std::vector<float>>(init_params(s, R, 11));
    auto th = std::make_shared<std::vector<float>>(*th0);
    auto vel = std::make_shared<std::vector<float>>(th0->size());
    auto lr = std::make_shared<std::vector<double>>(1, 0.05);
    auto ep = std::make_shared<std::vector<i64>>(R);
    auto stop = std::make_shared<std::vector<std::uint8_t>>(R);
    Case c;
    c.name = name;
    c.work = std::to_string(R) + " x 784-128-10, n = " + std::to_string(n) + ", 1 epoch";
    c.parallel = true;
    // forward + weight gradients of both layers + backward through the output layer
    c.flop = 2.0 * R * n * (2.0 * (784 * 128 + 128 * 10) + 128 * 10);
    c.run = [=](int nt) {
      *th = *th0;
      std::fill(vel->begin(), vel->end(), 0.0f);
      std::fill(ep->begin(), ep->end(), 0);
      nn::TrainSpec sp;
      sp.shape = s;
      sp.X = X->data();
      sp.y = y->data();
      sp.n = n;
      sp.batch_size = 64;
      sp.momentum = 0.9;
      sp.total_epochs = 1;
      sp.lr = lr->data();
      sp.epoch_begin = 0;
      sp.epoch_end = 1;
      sp.n_threads = nt;
      nn::TrainState st;
      st.R = R;
      st.theta = th->data();
      st.velocity = vel->data();
      st.epochs_run = ep->data();
      st.stopped = stop->data();
      nn::train(sp, st);
    };
    c.result = [th] { return std::vector<double>(th->begin(), th->begin() + 2048); };
    c.rtol = 2e-3;  // one epoch of SGD: FMA rounding differences stay small
    cs.push_back(c);
  }

  // perturbation probes (Protocol 1, case B of bench_landscape.py)
  if (const char* name = "landscape::perturbed_eval (filter-normalised Gaussian)"; want(name)) {
    const nn::Shape s({64, 32, 10}, true);
    const i64 K = q ? 100 : 2000, n = 1000;
    auto X = std::make_shared<std::vector<float>>(randn(n * 64, 12));
    auto y = std::make_shared<std::vector<std::int32_t>>(labels(n, 10, 13));
    auto th = std::make_shared<std::vector<float>>(init_params(s, 1, 14));
    auto loss = std::make_shared<std::vector<double>>(K);
    auto acc = std::make_shared<std::vector<double>>(K);
    Case c;
    c.name = name;
    c.work = std::to_string(K) + " directions of 64-32-10, n = 1000";
    c.parallel = true;
    c.flop = 2.0 * K * n * (64 * 32 + 32 * 10);
    c.run = [=](int nt) {
      const double r = 0.5;
      landscape::perturbed_eval(s, th->data(), 7, K, &r, 1, landscape::DirKind::gaussian,
                                landscape::Norm::filter, landscape::BiasMode::include,
                                landscape::PertMode::additive, X->data(), y->data(), n,
                                loss->data(), acc->data(), nt);
    };
    c.result = [loss] { return *loss; };
    c.rtol = 1e-5;
    cs.push_back(c);
  }

  // direction generator: Philox + Box-Muller, identical bits on both paths
  if (const char* name = "landscape::gaussian_fill"; want(name)) {
    const i64 P = q ? 10000 : 1000000;
    auto u = std::make_shared<std::vector<float>>(static_cast<std::size_t>(P));
    Case c;
    c.name = name;
    c.work = std::to_string(P) + " entries";
    c.unit_count = double(P);
    c.unit = "M entries/s";
    c.run = [=](int) { landscape::gaussian_fill(3, 1, P, u->data()); };
    c.result = [u] { return std::vector<double>(u->begin(), u->end()); };
    cs.push_back(c);
  }

  // cross-entropy of transposed logits (the landscape engines' loss kernel)
  if (const char* name = "landscape::cols_loss (10 classes)"; want(name)) {
    const i64 rows = 2400;
    const int C = 10;
    auto Z = std::make_shared<std::vector<float>>(randn(rows * C, 15, 3.0f));
    auto y = std::make_shared<std::vector<std::int32_t>>(labels(rows, C, 16));
    auto loss = std::make_shared<std::vector<float>>(rows);
    auto corr = std::make_shared<std::vector<unsigned char>>(rows);
    Case c;
    c.name = name;
    c.work = std::to_string(rows) + " rows";
    constexpr int reps = 10;  // one call is too short to time alone
    c.unit_count = double(reps) * rows;
    c.unit = "M rows/s";
    c.run = [=](int) {
      for (int rep = 0; rep < reps; ++rep)
        landscape::cols_loss(Z->data(), rows, rows, C, y->data(), loss->data(), corr->data());
    };
    c.result = [loss, corr] {
      std::vector<double> r(loss->begin(), loss->end());
      r.insert(r.end(), corr->begin(), corr->end());
      return r;
    };
    c.rtol = 1e-5;  // the paths differ by FMA rounding in exp and by the log
    cs.push_back(c);
  }

  // one linear assignment problem (Hungarian alignment), float64 costs
  if (const char* name = "lap_solve (uniform costs, float64)"; want(name)) {
    const i64 n = q ? 128 : 512;
    auto cost = std::make_shared<std::vector<double>>(static_cast<std::size_t>(n * n));
    std::mt19937 g(17);
    std::uniform_real_distribution<double> d(0.0, 1.0);
    for (auto& v : *cost) v = d(g);
    auto ri = std::make_shared<std::vector<i64>>(n), ci = std::make_shared<std::vector<i64>>(n);
    auto tot = std::make_shared<double>(0.0);
    Case c;
    c.name = name;
    c.work = std::to_string(n) + " x " + std::to_string(n);
    c.unit_count = 1.0;
    c.unit = "LAPs/s";
    c.run = [=](int) {
      *tot = lap_solve(cost->data(), n, n, LapOptions{}, ri->data(), ci->data());
    };
    c.result = [tot, ci] {
      std::vector<double> r(ci->begin(), ci->end());
      r.push_back(*tot);
      return r;
    };
    cs.push_back(c);  // exact optimum on both paths
  }

  // all pairwise matchings of an ensemble (Protocol 2)
  if (const char* name = "lap_all_pairs (cost GEMMs + LAPs)"; want(name)) {
    const i64 M = q ? 6 : 24, H = 256, D = 784 + 1 + 10;
    auto U = std::make_shared<std::vector<float>>(randn(M * H * D, 18, 0.05f));
    auto perms = std::make_shared<std::vector<i64>>(static_cast<std::size_t>(M * M * H));
    auto tot = std::make_shared<std::vector<double>>(static_cast<std::size_t>(M * M));
    Case c;
    c.name = name;
    c.work = std::to_string(M * (M - 1) / 2) + " pairs of 784-256-10";
    c.parallel = true;
    c.flop = 2.0 * (M * (M - 1) / 2) * H * H * D;
    c.run = [=](int nt) {
      lap_all_pairs(U->data(), M, H, D, perms->data(), tot->data(), nullptr, nt);
    };
    c.result = [tot] { return *tot; };
    c.rtol = 1e-5;  // cost matrices differ by FMA rounding between the paths
    cs.push_back(c);
  }

  // +-1 overlap matrix (replica overlaps of binary weights)
  if (const char* name = "overlap_packed (+-1 spins, popcount)"; want(name)) {
    const i64 Mr = q ? 200 : 1000, N = q ? 10000 : 100000;
    const i64 st = packed_stride(N);
    std::vector<std::int8_t> sgn(static_cast<std::size_t>(Mr * N));
    std::mt19937 g(19);
    for (auto& v : sgn) v = (g() & 1) ? 1 : -1;
    auto words = std::make_shared<std::vector<std::uint64_t>>(static_cast<std::size_t>(Mr * st));
    pack_signs(sgn.data(), Mr, N, words->data(), 1);
    auto qm = std::make_shared<std::vector<double>>(static_cast<std::size_t>(Mr * Mr));
    Case c;
    c.name = name;
    c.work = std::to_string(Mr) + " x " + std::to_string(N);
    c.parallel = true;
    c.unit_count = double(Mr) * (Mr + 1) / 2 * N;
    c.unit = "G spin products/s";
    c.run = [=](int nt) { overlap_packed(words->data(), Mr, nullptr, Mr, N, qm->data(), nt); };
    c.result = [qm] { return *qm; };
    c.paths = {"scalar", "avx2", "avx512"};
    cs.push_back(c);
  }
  return cs;
}

struct Measured {
  std::string path;
  int threads;
  double seconds;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.max_threads = default_threads();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](const char* what) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_kernels: %s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") o.quick = true;
    else if (a == "--threads") o.max_threads = std::max(1, std::atoi(next("--threads").c_str()));
    else if (a == "--only") o.only = next("--only");
    else if (a == "--paths") o.paths = "," + next("--paths") + ",";
    else if (a == "--out") o.out = next("--out");
    else {
      std::fprintf(stderr,
                   "usage: bench_kernels [--quick] [--threads N] [--only SUBSTRING] "
                   "[--paths scalar,avx2,avx512] [--out FILE]\n");
      return 2;
    }
  }
  if (!has_openmp()) o.max_threads = 1;
  std::vector<int> threads;
  for (int t = 1; t < o.max_threads; t *= 2) threads.push_back(t);
  threads.push_back(o.max_threads);

  std::string md;
  auto emit = [&](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    md += line + "\n";
  };

  // machine peak: AVX2 FMA-only loop on 1 and on max_threads threads
  double peak1 = 0.0, peakN = 0.0;
  if (cpu_has_avx2_fma()) {
    const i64 iters = o.quick ? 2000000 : 50000000;
    auto rate = [&](int nt) {
      std::vector<float> sink(static_cast<std::size_t>(nt));
      const double t = best_time([&] {
        parallel_for(nt, nt, [&](i64 i) { sink[i] = glasslens_bench::fma_loop_avx2(iters); });
      }, o);
      return nt * 160.0 * iters / t / 1e9;
    };
    peak1 = rate(1);
    peakN = o.max_threads > 1 ? rate(o.max_threads) : peak1;
  }
  emit("# glasslens C++ kernel micro-benchmarks");
  emit("");
  emit(std::string("OpenMP: ") + (has_openmp() ? "yes" : "no") + "; threads: 1 .. " +
       std::to_string(o.max_threads) + "; AVX2+FMA: " + (cpu_has_avx2_fma() ? "yes" : "no") +
       "; AVX-512 VPOPCNTDQ: " + (cpu_has_avx512_vpopcntdq() ? "yes" : "no") +
       (o.quick ? "; --quick sizes" : ""));
  if (peak1 > 0)
    emit("FMA peak (AVX2 FMA-only loop): " + fmt("%.1f", peak1) + " GFLOP/s on 1 thread, " +
         fmt("%.1f", peakN) + " on " + std::to_string(o.max_threads) +
         ". '% peak' = GFLOP/s over the FMA peak of the threads used (1-thread peak x threads).");
  emit("");
  emit("| kernel | work | path | threads | time (ms) | rate | % peak | vs scalar | vs 1 thread |");
  emit("|---|---|---|---|---|---|---|---|---|");

  int mismatches = 0;
  const SimdPath path0 = simd_path();
  for (Case& c : make_cases(o)) {
    if (!o.only.empty() && c.name.find(o.only) == std::string::npos) continue;
    std::vector<Measured> ms;
    std::vector<double> ref;
    std::string ref_path;
    for (const std::string& p : c.paths) {
      if (!path_available(p)) continue;
      if (!o.paths.empty() && o.paths.find("," + p + ",") == std::string::npos) continue;
      select_path(p);
      // agreement between the paths (results of a 1-thread run)
      c.run(1);
      const std::vector<double> r = c.result();
      if (ref_path.empty()) {
        ref = r;
        ref_path = p;
      } else {
        double worst = 0.0;
        bool bad = r.size() != ref.size();
        for (std::size_t i = 0; !bad && i < r.size(); ++i) {
          const double d = std::abs(r[i] - ref[i]), sc = std::max(1.0, std::abs(ref[i]));
          if (i >= c.tail_from) {
            if (d > c.tail_atol) {
              bad = true;
              worst = d;
            }
            continue;
          }
          if (c.rtol == 0.0 ? r[i] != ref[i] : d > c.rtol * sc) bad = true;
          worst = std::max(worst, d / sc);
        }
        if (bad) {
          ++mismatches;
          std::fprintf(stderr, "MISMATCH: %s: path %s differs from %s (worst difference %.3g)\n",
                       c.name.c_str(), p.c_str(), ref_path.c_str(), worst);
        }
      }
      for (int nt : c.parallel ? threads : std::vector<int>{1}) {
        const double t = best_time([&] { c.run(nt); }, o);
        ms.push_back({p, nt, t});
      }
    }
    for (const Measured& m : ms) {
      std::string rate, pk = "-", vs = "-", v1 = "-";
      if (c.flop > 0) {
        const double gf = c.flop / m.seconds / 1e9;
        rate = fmt("%.1f GFLOP/s", gf);
        if (peak1 > 0) pk = fmt("%.0f%%", 100.0 * gf / (peak1 * m.threads));
      } else {
        const double per = c.unit_count / m.seconds;
        const double scale =
            c.unit.rfind("G ", 0) == 0 ? 1e9 : (c.unit.rfind("M ", 0) == 0 ? 1e6 : 1.0);
        rate = fmt("%.3g ", per / scale) + c.unit;
      }
      for (const Measured& s : ms)
        if (s.path == "scalar" && s.threads == m.threads && m.path != "scalar")
          vs = fmt("%.2fx", s.seconds / m.seconds);
      for (const Measured& s : ms)
        if (s.path == m.path && s.threads == 1 && m.threads > 1)
          v1 = fmt("%.2fx", s.seconds / m.seconds);
      emit("| " + c.name + " | " + c.work + " | " + m.path + " | " + std::to_string(m.threads) +
           " | " + fmt("%.3g", m.seconds * 1e3) + " | " + rate + " | " + pk + " | " + vs + " | " +
           v1 + " |");
    }
  }
  set_simd_path(path0);
  set_popcount_kernel("auto");
  emit("");
  emit(mismatches ? "paths DISAGREE on " + std::to_string(mismatches) + " kernel(s)"
                  : "all kernels agree between the SIMD paths");
  if (!o.out.empty()) {
    FILE* f = std::fopen(o.out.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "bench_kernels: cannot write %s\n", o.out.c_str());
      return 2;
    }
    std::fputs(md.c_str(), f);
    std::fclose(f);
  }
  return mismatches ? 1 : 0;
}
