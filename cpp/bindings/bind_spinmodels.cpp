// Bindings for the parallel-tempering Monte Carlo of SK / Curie-Weiss / paramagnet models.
#include "common.hpp"
#include "glasslens/spinmodels/spinmodels.hpp"

namespace py = pybind11;
using namespace glasslens;
using glasslens::bind::carray;
using glasslens::bind::require_ndim;

namespace {
spin::Model model_of(int m) {
  if (m < 0 || m > 3) throw std::invalid_argument("model code must be 0..3");
  return static_cast<spin::Model>(m);
}
using dvec = std::vector<py::ssize_t>;
}  // namespace

void bind_spinmodels(py::module_& m) {
  m.def(
      "spin_couplings",
      [](int model, int n_spins, std::int64_t n_samples, double J, std::uint64_t seed) {
        if (n_spins < 1 || n_spins > (1 << 16)) throw std::invalid_argument("n_spins must be in [1, 65536]");
        if (n_samples < 1) throw std::invalid_argument("n_samples must be >= 1");
        const spin::Model md = model_of(model);
        carray<float> out(dvec{static_cast<py::ssize_t>(n_samples), n_spins, n_spins});
        float* p = out.mutable_data();
        {
          py::gil_scoped_release rel;
          const std::int64_t NN = static_cast<std::int64_t>(n_spins) * n_spins;
          for (std::int64_t s = 0; s < n_samples; ++s) spin::make_couplings(md, n_spins, J, seed, s, p + s * NN);
        }
        return out;
      },
      py::arg("model"), py::arg("n_spins"), py::arg("n_samples"), py::arg("J"), py::arg("seed"),
      "Couplings (S, N, N) float32 of disorder samples 0..S-1 (keyed by (seed, sample)).");
  m.def(
      "spin_energies",
      [](const carray<float>& J, const carray<double>& h, const carray<std::int8_t>& s) {
        require_ndim(J, 2, "J");
        require_ndim(h, 1, "h");
        require_ndim(s, 2, "configs");
        const int N = static_cast<int>(J.shape(0));
        if (J.shape(1) != N || h.shape(0) != N || s.shape(1) != N)
          throw std::invalid_argument("J (N, N), h (N,) and configs (n, N) sizes disagree");
        const std::int64_t n = s.shape(0);
        carray<double> out(dvec{static_cast<py::ssize_t>(n)});
        const float* pj = J.data();
        const double* ph = h.data();
        const std::int8_t* ps = s.data();
        double* po = out.mutable_data();
        {
          py::gil_scoped_release rel;
          spin::energies(pj, ph, N, ps, n, po);
        }
        return out;
      },
      py::arg("J"), py::arg("h"), py::arg("configs"), "Energy per spin of each configuration.");
  m.def(
      "parallel_tempering",
      [](int model, int n_spins, std::int64_t n_samples, std::int64_t n_replicas,
         std::vector<double> temperatures, std::int64_t n_equilibrate, std::int64_t n_measure,
         std::int64_t record_every, std::vector<int> record_temps, double J, double field,
         double field_sigma, std::uint64_t seed, int n_threads) {
        spin::PTParams p;
        p.model = model_of(model);
        p.N = n_spins;
        p.n_samples = n_samples;
        p.n_replicas = n_replicas;
        p.temperatures = std::move(temperatures);
        p.n_equilibrate = n_equilibrate;
        p.n_measure = n_measure;
        p.record_every = record_every;
        p.record_temps = std::move(record_temps);
        p.J = J;
        p.field = field;
        p.field_sigma = field_sigma;
        p.seed = seed;
        p.validate();
        const py::ssize_t S = n_samples, R = n_replicas, T = static_cast<py::ssize_t>(p.temperatures.size());
        const py::ssize_t C = static_cast<py::ssize_t>(p.record_temps.size()), K = p.n_records(), N = n_spins;
        carray<std::int8_t> configs(dvec{S, R, K, C, N});
        carray<double> em(dvec{S, R, T}), e2(dvec{S, R, T}), am(dvec{S, R, T}), fe(dvec{S, R, T}),
            fa(dvec{S, R, T}), sa(dvec{S, R, T > 1 ? T - 1 : 0});
        carray<float> Jo(dvec{S, N, N});
        carray<double> ho(dvec{S, N});
        spin::PTOutput o{configs.mutable_data(), em.mutable_data(), e2.mutable_data(),
                         am.mutable_data(),      fe.mutable_data(), fa.mutable_data(),
                         sa.mutable_data(),      Jo.mutable_data(), ho.mutable_data()};
        {
          py::gil_scoped_release rel;
          spin::run_parallel_tempering(p, o, n_threads);
        }
        py::dict d;
        d["configs"] = configs;
        d["energy"] = em;
        d["energy_sq"] = e2;
        d["abs_magnetization"] = am;
        d["final_energy"] = fe;
        d["flip_acceptance"] = fa;
        d["swap_acceptance"] = sa;
        d["couplings"] = Jo;
        d["fields"] = ho;
        return d;
      },
      py::arg("model"), py::arg("n_spins"), py::arg("n_samples"), py::arg("n_replicas"),
      py::arg("temperatures"), py::arg("n_equilibrate"), py::arg("n_measure"),
      py::arg("record_every"), py::arg("record_temps"), py::arg("J"), py::arg("field"),
      py::arg("field_sigma"), py::arg("seed"), py::arg("n_threads") = 0,
      "Parallel-tempering Monte Carlo; returns a dict of arrays (see glasslens.spinmodels).");
}
