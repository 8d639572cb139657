// Bindings of the curvature engine (Protocol 4; Hessian-vector products, batched loss
// evaluation): glasslens._core.flatness.
#include <cstring>
#include <memory>

#include "common.hpp"
#include "glasslens/flatness/curvature.hpp"

namespace py = pybind11;
using glasslens::bind::carray;
using glasslens::bind::require_dim;
using glasslens::bind::require_finite;
using glasslens::bind::require_ndim;

namespace {

glasslens::nn::Shape make_shape(const std::vector<int>& widths, bool bias) {
  return glasslens::nn::Shape(widths, bias);
}

// require_finite with a branch-free first pass (exponent bits all ones = inf or NaN); the
// slow per-element pass runs only to name the offending index.
void require_finite_fast(const carray<float>& a, const char* name) {
  const float* p = a.data();
  const py::ssize_t n = a.size();
  std::uint32_t bad = 0;
  for (py::ssize_t i = 0; i < n; ++i) {
    std::uint32_t u;
    std::memcpy(&u, p + i, sizeof u);
    bad |= static_cast<std::uint32_t>((u & 0x7f800000u) == 0x7f800000u);
  }
  if (bad) require_finite(a, name);
}

void check_xy(const glasslens::nn::Shape& s, const carray<float>& X, const carray<std::int32_t>& y) {
  require_ndim(X, 2, "X");
  require_ndim(y, 1, "y");
  require_dim(X, 1, s.n_in(), "X");
  require_dim(y, 0, X.shape(0), "y");
  if (X.shape(0) < 1) throw std::invalid_argument("X must hold at least one sample");
  require_finite_fast(X, "X");
}

}  // namespace

void bind_flatness(py::module_& m) {
  using glasslens::curv::HessianOperator;
  py::class_<HessianOperator, std::shared_ptr<HessianOperator>>(
      m, "HessianOperator",
      "Hessian of the mean cross-entropy loss of one MLP on (X, y) at theta (cached forward pass).")
      .def(py::init([](const std::vector<int>& widths, bool bias, carray<float> theta,
                       carray<float> X, carray<std::int32_t> y, int n_threads,
                       int sparse_input, bool borrow) -> std::shared_ptr<HessianOperator> {
             const auto s = make_shape(widths, bias);
             require_ndim(theta, 1, "theta");
             require_dim(theta, 0, s.n_params(), "theta");
             require_finite_fast(theta, "theta");
             check_xy(s, X, y);
             std::unique_ptr<HessianOperator> op;
             {
               glasslens::bind::KernelScope nogil;
               op = std::make_unique<HessianOperator>(s, theta.data(), X.data(), y.data(),
                                                      X.shape(0), n_threads, sparse_input,
                                                      !borrow);
             }
             if (!borrow) return std::shared_ptr<HessianOperator>(std::move(op));
             // the operator reads X in place: keep the array alive as long as the operator
             // (the deleter runs when the Python object is freed, with the GIL held)
             py::object keep = X;
             return std::shared_ptr<HessianOperator>(
                 op.release(), [keep](HessianOperator* p) mutable { delete p; });
           }),
           py::arg("widths"), py::arg("bias"), py::arg("theta"), py::arg("X"), py::arg("y"),
           py::arg("n_threads") = 0, py::arg("sparse_input") = -1, py::arg("borrow") = false,
           "borrow=True reads X in place (no copy): X must not change while the operator lives")
      .def_property_readonly("sparse_input", &HessianOperator::sparse_input,
                             "whether the input layer uses the zero-skipping sparse path")
      .def_property_readonly("loss", &HessianOperator::loss, "mean cross-entropy at theta")
      .def_property_readonly("accuracy", &HessianOperator::accuracy, "training accuracy at theta")
      .def_property_readonly("n_params", &HessianOperator::n_params)
      .def_property_readonly("n_samples", &HessianOperator::n_samples)
      .def(
          "grad",
          [](const HessianOperator& H, int n_threads) {
            auto out = carray<float>(std::vector<py::ssize_t>{static_cast<py::ssize_t>(H.n_params())});
            const std::vector<float>* g = nullptr;
            {
              glasslens::bind::KernelScope nogil;
              g = &H.grad(n_threads);
            }
            std::copy(g->begin(), g->end(), out.mutable_data());
            return out;
          },
          py::arg("n_threads") = 0, "gradient of the mean loss at theta, float32 (P,)")
      .def(
          "apply",
          [](const HessianOperator& H, carray<float> V, int n_threads) {
            const std::int64_t P = H.n_params();
            if (V.ndim() != 1 && V.ndim() != 2)
              throw std::invalid_argument("v must have 1 or 2 dimensions");
            require_dim(V, V.ndim() - 1, P, "v");
            require_finite_fast(V, "v");
            const std::int64_t k = V.ndim() == 1 ? 1 : V.shape(0);
            carray<float> out(std::vector<py::ssize_t>(V.shape(), V.shape() + V.ndim()));
            {
              glasslens::bind::KernelScope nogil;
              H.apply(V.data(), k, out.mutable_data(), n_threads);
            }
            return out;
          },
          py::arg("v"), py::arg("n_threads") = 0,
          "Hessian-vector products: v (P,) or (k, P) float32 -> H v with the same shape");

  m.attr("serial_work") = glasslens::curv::kSerialWork;
  m.def(
      "loss_many",
      [](const std::vector<int>& widths, bool bias, carray<float> thetas, carray<float> X,
         carray<std::int32_t> y, int n_threads) {
        const auto s = make_shape(widths, bias);
        require_ndim(thetas, 2, "thetas");
        require_dim(thetas, 1, s.n_params(), "thetas");
        require_finite(thetas, "thetas");
        check_xy(s, X, y);
        const std::int64_t K = thetas.shape(0);
        carray<double> loss(std::vector<py::ssize_t>{static_cast<py::ssize_t>(K)});
        carray<double> acc(std::vector<py::ssize_t>{static_cast<py::ssize_t>(K)});
        {
          glasslens::bind::KernelScope nogil;
          glasslens::curv::loss_many(s, thetas.data(), K, X.data(), y.data(), X.shape(0),
                                     loss.mutable_data(), acc.mutable_data(), n_threads);
        }
        return py::make_tuple(loss, acc);
      },
      py::arg("widths"), py::arg("bias"), py::arg("thetas"), py::arg("X"), py::arg("y"),
      py::arg("n_threads") = 0,
      "Mean loss and accuracy (float64 (K,), (K,)) of K parameter vectors (K, P) on (X, y).");
}
