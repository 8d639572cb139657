// Bindings of the linear assignment solvers (glasslens/symmetry/): glasslens._core.symmetry.
#include <algorithm>
#include <optional>

#include "common.hpp"
#include "glasslens/symmetry/lap.hpp"
#include "glasslens/symmetry/lap_pairs.hpp"

namespace py = pybind11;
using namespace glasslens;
using glasslens::bind::carray;

namespace {

template <class T>
py::tuple lap_one(const carray<T>& cost, bool maximize,
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
    const T* pc = cost.data();
    const double* pv = v_init ? v_init->data() : nullptr;
    std::int64_t* pr = rows.mutable_data();
    std::int64_t* pcl = cols.mutable_data();
    double* pu = u.mutable_data();
    double* pvv = v.mutable_data();
    glasslens::bind::KernelScope release;
    LapOptions opt;
    opt.maximize = maximize;
    opt.v_init = pv;
    total = lap_solve(pc, nr, nc, opt, pr, pcl, pu, pvv);
  }
  if (return_duals) return py::make_tuple(rows, cols, total, u, v);
  return py::make_tuple(rows, cols, total);
}

template <class T>
py::tuple lap_batch(const carray<T>& costs, bool maximize,
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
    const T* pc = costs.data();
    const double* pv = v_init ? v_init->data() : nullptr;
    std::int64_t* pr = rows.mutable_data();
    std::int64_t* pcl = cols.mutable_data();
    double* pt = totals.mutable_data();
    double* pu = u ? u->mutable_data() : nullptr;
    double* pvv = v ? v->mutable_data() : nullptr;
    glasslens::bind::KernelScope release;
    lap_solve_batch(pc, B, nr, nc, maximize, pv, pr, pcl, pt, pu, pvv, n_threads);
  }
  if (return_duals) return py::make_tuple(rows, cols, totals, *u, *v);
  return py::make_tuple(rows, cols, totals);
}

bool is_float32(const py::array& a) { return a.dtype().is(py::dtype::of<float>()); }

template <class T>
carray<T> as_carray(const py::array& a, const char* name) {
  auto c = carray<T>::ensure(a);
  if (!c) throw py::type_error(std::string(name) + " must be a real numeric array");
  return c;
}

py::tuple lap_one_any(const py::array& cost, bool maximize,
                      const std::optional<carray<double>>& v_init, bool return_duals) {
  if (is_float32(cost))
    return lap_one<float>(as_carray<float>(cost, "cost"), maximize, v_init, return_duals);
  return lap_one<double>(as_carray<double>(cost, "cost"), maximize, v_init, return_duals);
}

py::tuple lap_batch_any(const py::array& costs, bool maximize,
                        const std::optional<carray<double>>& v_init, bool return_duals,
                        int n_threads) {
  if (is_float32(costs))
    return lap_batch<float>(as_carray<float>(costs, "costs"), maximize, v_init, return_duals,
                            n_threads);
  return lap_batch<double>(as_carray<double>(costs, "costs"), maximize, v_init, return_duals,
                           n_threads);
}

py::tuple lap_all_pairs_py(const carray<float>& U, int n_threads, bool return_costs,
                           bool warm_start) {
  bind::require_ndim(U, 3, "U");
  const std::int64_t M = U.shape(0), H = U.shape(1), D = U.shape(2);
  if (return_costs && M * (M - 1) / 2 > (std::int64_t{1} << 34) / std::max<std::int64_t>(1, H * H))
    throw std::invalid_argument("U: too many replicas / units for return_costs (> 64 GB)");
  carray<std::int64_t> perms({M, M, H});
  carray<double> totals({M, M});
  std::optional<carray<float>> costs;
  if (return_costs) costs.emplace(std::vector<py::ssize_t>{M * (M - 1) / 2, H, H});
  {
    const float* pu = U.data();
    std::int64_t* pp = perms.mutable_data();
    double* pt = totals.mutable_data();
    float* pc = costs ? costs->mutable_data() : nullptr;
    glasslens::bind::KernelScope release;
    lap_all_pairs(pu, M, H, D, pp, pt, pc, n_threads, warm_start);
  }
  if (return_costs) return py::make_tuple(perms, totals, *costs);
  return py::make_tuple(perms, totals);
}

}  // namespace

void bind_symmetry(py::module_& m) {
  m.def("lap_solve", &lap_one_any, py::arg("cost"), py::arg("maximize") = false,
        py::arg("duals") = py::none(), py::arg("return_duals") = false,
        "Exact dense linear assignment of a (n, m) float64 (or float32, solved in double) cost matrix (shortest augmenting "
        "path Jonker-Volgenant). Returns (row_ind, col_ind, total) or, with return_duals, "
        "(row_ind, col_ind, total, u, v): the duals of the internal minimisation problem "
        "(transposed when n > m; negated costs when maximizing). `duals` (m,) warm-starts a "
        "square problem with column duals v.");
  m.def("lap_solve_batch", &lap_batch_any, py::arg("costs"), py::arg("maximize") = false,
        py::arg("duals") = py::none(), py::arg("return_duals") = false,
        py::arg("n_threads") = 0,
        "Solves B independent (n, m) assignment problems (costs (B, n, m) float64 or float32) in parallel "
        "with OpenMP. Returns (row_ind (B,k), col_ind (B,k), totals (B,)) [+ u (B,k), v (B,max(n,m))].");
  m.def("lap_all_pairs", &lap_all_pairs_py, py::arg("U"), py::arg("n_threads") = 0,
        py::arg("return_costs") = false, py::arg("warm_start") = true,
        "All-pairs weight matching of unit features U (M, H, D) float32: for every a < b the "
        "float32 cost C_ab = U[b] @ U[a].T (rows: units of b) and its exact maximum-weight "
        "assignment. Returns (perms (M, M, H) int64, totals (M, M) float64) [+ costs "
        "(M (M-1)/2, H, H) float32, pairs a < b in row-major order]: perms[a, b, j] is the unit "
        "of b matched to unit j of a, totals[a, b] the optimal value (diagonal: squared norm of U[a], in double). "
        "warm_start: start each LAP after the first of a task (a against a block of 32 later b) "
        "from the mean column duals of the task's earlier pairs (exact either way; fewer "
        "iterations). Bit-identical for any n_threads.");
}
