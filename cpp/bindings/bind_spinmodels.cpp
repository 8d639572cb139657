// Bindings for the parallel-tempering Monte Carlo of SK / Curie-Weiss / paramagnet models:
// glasslens._core.spinmodels.
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
  const spin::PTParams d;
  py::class_<spin::PTParams>(m, "PTParams",
                             "Settings of parallel_tempering (glasslens::spin::PTParams).")
      .def(py::init([](int model, int n_spins, std::int64_t n_samples, std::int64_t n_replicas,
                       std::vector<double> temperatures, std::int64_t n_equilibrate,
                       std::int64_t n_measure, std::int64_t record_every,
                       std::vector<int> record_temps, double J, double field,
                       double field_sigma, std::uint64_t seed) {
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
             return p;
           }),
           py::kw_only(), py::arg("model") = static_cast<int>(d.model), py::arg("n_spins") = d.N,
           py::arg("n_samples") = d.n_samples, py::arg("n_replicas") = d.n_replicas,
           py::arg("temperatures") = d.temperatures, py::arg("n_equilibrate") = d.n_equilibrate,
           py::arg("n_measure") = d.n_measure, py::arg("record_every") = d.record_every,
           py::arg("record_temps") = d.record_temps, py::arg("J") = d.J,
           py::arg("field") = d.field, py::arg("field_sigma") = d.field_sigma,
           py::arg("seed") = d.seed)
      .def_property(
          "model", [](const spin::PTParams& p) { return static_cast<int>(p.model); },
          [](spin::PTParams& p, int v) { p.model = model_of(v); },
          "model code: 0 SK Gaussian, 1 SK +-1, 2 Curie-Weiss, 3 paramagnet")
      .def_readwrite("n_spins", &spin::PTParams::N, "number of spins N")
      .def_readwrite("n_samples", &spin::PTParams::n_samples, "disorder samples S")
      .def_readwrite("n_replicas", &spin::PTParams::n_replicas, "real replicas R per sample")
      .def_readwrite("temperatures", &spin::PTParams::temperatures, "temperature ladder (> 0)")
      .def_readwrite("n_equilibrate", &spin::PTParams::n_equilibrate,
                     "sweeps before measuring")
      .def_readwrite("n_measure", &spin::PTParams::n_measure, "sweeps while measuring")
      .def_readwrite("record_every", &spin::PTParams::record_every,
                     "record configurations every this many measuring sweeps")
      .def_readwrite("record_temps", &spin::PTParams::record_temps,
                     "temperature indices whose configurations are recorded")
      .def_readwrite("J", &spin::PTParams::J, "coupling scale")
      .def_readwrite("field", &spin::PTParams::field, "mean field h")
      .def_readwrite("field_sigma", &spin::PTParams::field_sigma,
                     "standard deviation of the random fields")
      .def_readwrite("seed", &spin::PTParams::seed,
                     "sample s is keyed by (seed, s), its replicas' streams by (seed, s, r, k)");

  m.def(
      "couplings",
      [](int model, int n_spins, std::int64_t n_samples, double J, std::uint64_t seed) {
        if (n_spins < 1 || n_spins > (1 << 16)) throw std::invalid_argument("n_spins must be in [1, 65536]");
        if (n_samples < 1) throw std::invalid_argument("n_samples must be >= 1");
        const spin::Model md = model_of(model);
        carray<float> out(dvec{static_cast<py::ssize_t>(n_samples), n_spins, n_spins});
        float* p = out.mutable_data();
        {
          glasslens::bind::KernelScope rel;
          const std::int64_t NN = static_cast<std::int64_t>(n_spins) * n_spins;
          for (std::int64_t s = 0; s < n_samples; ++s) spin::make_couplings(md, n_spins, J, seed, s, p + s * NN);
        }
        return out;
      },
      py::arg("model"), py::arg("n_spins"), py::arg("n_samples"), py::arg("J"), py::arg("seed"),
      "Couplings (S, N, N) float32 of disorder samples 0..S-1 (keyed by (seed, sample)).");
  m.def(
      "energies",
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
          glasslens::bind::KernelScope rel;
          spin::energies(pj, ph, N, ps, n, po);
        }
        return out;
      },
      py::arg("J"), py::arg("h"), py::arg("configs"), "Energy per spin of each configuration.");
  m.def(
      "parallel_tempering",
      [](const spin::PTParams& p, int n_threads) {
        p.validate();
        const py::ssize_t S = p.n_samples, R = p.n_replicas, T = static_cast<py::ssize_t>(p.temperatures.size());
        const py::ssize_t C = static_cast<py::ssize_t>(p.record_temps.size()), K = p.n_records(), N = p.N;
        carray<std::int8_t> configs(dvec{S, R, K, C, N});
        carray<double> em(dvec{S, R, T}), e2(dvec{S, R, T}), am(dvec{S, R, T}), fe(dvec{S, R, T}),
            fa(dvec{S, R, T}), sa(dvec{S, R, T > 1 ? T - 1 : 0});
        carray<float> Jo(dvec{S, N, N});
        carray<double> ho(dvec{S, N});
        spin::PTOutput o{configs.mutable_data(), em.mutable_data(), e2.mutable_data(),
                         am.mutable_data(),      fe.mutable_data(), fa.mutable_data(),
                         sa.mutable_data(),      Jo.mutable_data(), ho.mutable_data()};
        {
          glasslens::bind::KernelScope rel;
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
      py::arg("params"), py::arg("n_threads") = 0,
      "Parallel-tempering Monte Carlo; returns a dict of arrays (see glasslens.spinmodels).");
}
