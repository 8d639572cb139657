// Bindings of the linear assignment solver (glasslens/lap.hpp).
#include <algorithm>
#include <optional>

#include "common.hpp"
#include "glasslens/lap.hpp"

namespace py = pybind11;
using namespace glasslens;
using glasslens::bind::carray;

namespace {

py::tuple lap_one(const carray<double>& cost, bool maximize,
                  const std::optional<carray<double>>& v_init, bool return_duals) {
  bind::require_ndim(cost, 2, "cost");
  const std::int64_t nr = cost.shape(0), nc = cost.shape(1);
  const std::int64_t k = std::min(nr, nc), big = std::max(nr, nc);
  if (v_init) {
    bind::require_ndim(*v_init, 1, "duals");
    if (nr != nc) throw std::invalid_argument("duals (warm start) need a square cost matrix");
    bind::require_dim(*v_init, 0, nc, "duals");
  }
  carray<std::int64_t> rows(k), cols(k);
  carray<double> u(k), v(big);
  double total = 0.0;
  {
    const double* pc = cost.data();
    const double* pv = v_init ? v_init->data() : nullptr;
    std::int64_t* pr = rows.mutable_data();
    std::int64_t* pcl = cols.mutable_data();
    double* pu = u.mutable_data();
    double* pvv = v.mutable_data();
    py::gil_scoped_release release;
    LapOptions opt;
    opt.maximize = maximize;
    opt.v_init = pv;
    total = lap_solve(pc, nr, nc, opt, pr, pcl, pu, pvv);
  }
  if (return_duals) return py::make_tuple(rows, cols, total, u, v);
  return py::make_tuple(rows, cols, total);
}

py::tuple lap_batch(const carray<double>& costs, bool maximize,
                    const std::optional<carray<double>>& v_init, bool return_duals,
                    int n_threads) {
  bind::require_ndim(costs, 3, "costs");
  const std::int64_t B = costs.shape(0), nr = costs.shape(1), nc = costs.shape(2);
  const std::int64_t k = std::min(nr, nc), big = std::max(nr, nc);
  if (v_init) {
    bind::require_ndim(*v_init, 2, "duals");
    if (nr != nc) throw std::invalid_argument("duals (warm start) need square cost matrices");
    bind::require_dim(*v_init, 0, B, "duals");
    bind::require_dim(*v_init, 1, nc, "duals");
  }
  carray<std::int64_t> rows({B, k}), cols({B, k});
  carray<double> totals(B);
  std::optional<carray<double>> u, v;
  if (return_duals) {
    u.emplace(std::vector<py::ssize_t>{B, k});
    v.emplace(std::vector<py::ssize_t>{B, big});
  }
  {
    const double* pc = costs.data();
    const double* pv = v_init ? v_init->data() : nullptr;
    std::int64_t* pr = rows.mutable_data();
    std::int64_t* pcl = cols.mutable_data();
    double* pt = totals.mutable_data();
    double* pu = u ? u->mutable_data() : nullptr;
    double* pvv = v ? v->mutable_data() : nullptr;
    py::gil_scoped_release release;
    lap_solve_batch(pc, B, nr, nc, maximize, pv, pr, pcl, pt, pu, pvv, n_threads);
  }
  if (return_duals) return py::make_tuple(rows, cols, totals, *u, *v);
  return py::make_tuple(rows, cols, totals);
}

}  // namespace

void bind_lap(py::module_& m) {
  m.def("lap_solve", &lap_one, py::arg("cost"), py::arg("maximize") = false,
        py::arg("duals") = py::none(), py::arg("return_duals") = false,
        "Exact dense linear assignment of a (n, m) float64 cost matrix (shortest augmenting "
        "path Jonker-Volgenant). Returns (row_ind, col_ind, total) or, with return_duals, "
        "(row_ind, col_ind, total, u, v): the duals of the internal minimisation problem "
        "(transposed when n > m; negated costs when maximizing). `duals` (m,) warm-starts a "
        "square problem with column duals v.");
  m.def("lap_solve_batch", &lap_batch, py::arg("costs"), py::arg("maximize") = false,
        py::arg("duals") = py::none(), py::arg("return_duals") = false,
        py::arg("n_threads") = 0,
        "Solves B independent (n, m) assignment problems (costs (B, n, m) float64) in parallel "
        "with OpenMP. Returns (row_ind (B,k), col_ind (B,k), totals (B,)) [+ u (B,k), v (B,max(n,m))].");
}
