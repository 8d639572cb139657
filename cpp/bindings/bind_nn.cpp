// Bindings of the MLP engine, glasslens._core.nn: fused evaluation, loss/gradient, logits,
// replica training and the GEMM layer (for tests). Validation happens here, before the GIL is released.
#include <limits>
#include <sstream>
#include <vector>

#include "common.hpp"
#include "glasslens/nn/gemm.hpp"
#include "glasslens/nn/mlp.hpp"
#include "glasslens/nn/train.hpp"

namespace py = pybind11;
using namespace glasslens;
using glasslens::bind::carray;
using glasslens::bind::require_dim;
using glasslens::bind::require_ndim;
using i64 = std::int64_t;

namespace {

nn::Shape make_shape(const std::vector<int>& widths, bool bias) {
  nn::Shape s;
  s.widths = widths;
  s.bias = bias;
  s.validate();
  return s;
}

void check_X(const carray<float>& X, const nn::Shape& s, const char* name) {
  require_ndim(X, 2, name);
  if (X.shape(1) != s.n_in()) {
    std::ostringstream m;
    m << name << " has " << X.shape(1) << " features, the network expects " << s.n_in();
    throw std::invalid_argument(m.str());
  }
  bind::require_finite(X, name);
}

void check_y(const carray<std::int32_t>& y, i64 n, int n_classes, const char* name) {
  require_ndim(y, 1, name);
  if (y.shape(0) != n) {
    std::ostringstream m;
    m << name << " has " << y.shape(0) << " labels, expected " << n;
    throw std::invalid_argument(m.str());
  }
  const std::int32_t* p = y.data();
  for (i64 i = 0; i < n; ++i)
    if (p[i] < 0 || p[i] >= n_classes) {
      std::ostringstream m;
      m << name << "[" << i << "] = " << p[i] << " is out of range for " << n_classes
        << " classes";
      throw std::invalid_argument(m.str());
    }
}

void check_theta(const carray<float>& theta, const nn::Shape& s, int ndim, const char* name) {
  require_ndim(theta, ndim, name);
  require_dim(theta, ndim - 1, static_cast<py::ssize_t>(s.n_params()), name);
  bind::require_finite(theta, name);
}

// In-place arrays must be exactly of dtype T, C-contiguous and writeable (no silent copies).
template <class T>
T* inplace(py::array& a, std::vector<py::ssize_t> shape, const char* name) {
  if (!py::isinstance<py::array_t<T>>(a) || !a.dtype().is(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + " has the wrong dtype");
  if (!(a.flags() & py::array::c_style)) throw std::invalid_argument(std::string(name) + " must be C-contiguous");
  if (!a.writeable()) throw std::invalid_argument(std::string(name) + " must be writeable");
  if (a.ndim() != static_cast<py::ssize_t>(shape.size()))
    throw std::invalid_argument(std::string(name) + " has the wrong number of dimensions");
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (a.shape(static_cast<py::ssize_t>(i)) != shape[i])
      throw std::invalid_argument(std::string(name) + " has the wrong shape");
  return static_cast<T*>(a.mutable_data());
}

enum class GemmKind { nt, nn, tn };

py::array_t<float> gemm_py(const std::string& kind, const carray<float>& A, const carray<float>& B,
                           py::object C0, const py::object& bias_obj, bool relu) {
  require_ndim(A, 2, "A");
  require_ndim(B, 2, "B");
  i64 m, n, k;
  if (kind == "nt") {
    m = A.shape(0); k = A.shape(1); n = B.shape(0);
    require_dim(B, 1, k, "B");
  } else if (kind == "nn") {
    m = A.shape(0); k = A.shape(1); n = B.shape(1);
    require_dim(B, 0, k, "B");
  } else if (kind == "tn") {
    k = A.shape(0); m = A.shape(1); n = B.shape(1);
    require_dim(B, 0, k, "B");
  } else {
    throw std::invalid_argument("kind must be 'nt', 'nn' or 'tn', got '" + kind + "'");
  }
  carray<float> C({m, n});
  bool accumulate = false;
  if (!C0.is_none()) {
    carray<float> c0 = C0.cast<carray<float>>();
    require_ndim(c0, 2, "C");
    require_dim(c0, 0, m, "C");
    require_dim(c0, 1, n, "C");
    std::copy(c0.data(), c0.data() + m * n, C.mutable_data());
    accumulate = true;
  }
  carray<float> bias;
  const float* bp = nullptr;
  if (!bias_obj.is_none()) {
    if (kind != "nt") throw std::invalid_argument("bias is only supported for kind 'nt'");
    bias = bias_obj.cast<carray<float>>();
    require_ndim(bias, 1, "bias");
    require_dim(bias, 0, n, "bias");
    bp = bias.data();
  } else if (relu && kind != "nt") {
    throw std::invalid_argument("relu is only supported for kind 'nt'");
  }
  float* c = C.mutable_data();
  const float* a = A.data();
  const float* b = B.data();
  {
    glasslens::bind::KernelScope nogil;
    if (kind == "nt")
      gemm::gemm_nt(m, n, k, a, k, b, k, c, n, accumulate, bp, relu);
    else if (kind == "nn")
      gemm::gemm_nn(m, n, k, a, k, b, n, c, n, accumulate);
    else
      gemm::gemm_tn(m, n, k, a, m, b, n, c, n, accumulate);
  }
  return C;
}

// A copy of x (any shape) with the in-place vector kernel f applied to it, without the GIL.
carray<float> copy_apply(const carray<float>& x, void (*f)(float*, i64)) {
  carray<float> out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  std::copy(x.data(), x.data() + x.size(), out.mutable_data());
  float* p = out.mutable_data();
  const i64 n = x.size();
  {
    glasslens::bind::KernelScope nogil;
    f(p, n);
  }
  return out;
}

}  // namespace

void bind_nn(py::module_& m) {
  const nn::TrainOptions d;
  py::class_<nn::TrainOptions>(m, "TrainOptions",
                               "Scalar settings of nn.train (glasslens::nn::TrainOptions).")
      .def(py::init([](i64 batch_size, double momentum, double weight_decay, double sam_rho,
                       double label_noise, std::uint64_t noise_seed, std::uint64_t order_seed,
                       double target_train_acc, i64 epoch_begin, i64 epoch_end) {
             nn::TrainOptions o;
             o.batch_size = batch_size;
             o.momentum = momentum;
             o.weight_decay = weight_decay;
             o.sam_rho = sam_rho;
             o.label_noise = label_noise;
             o.noise_seed = noise_seed;
             o.order_seed = order_seed;
             o.target_train_acc = target_train_acc;
             o.epoch_begin = epoch_begin;
             o.epoch_end = epoch_end;
             return o;
           }),
           py::kw_only(), py::arg("batch_size") = d.batch_size, py::arg("momentum") = d.momentum,
           py::arg("weight_decay") = d.weight_decay, py::arg("sam_rho") = d.sam_rho,
           py::arg("label_noise") = d.label_noise, py::arg("noise_seed") = d.noise_seed,
           py::arg("order_seed") = d.order_seed, py::arg("target_train_acc") = d.target_train_acc,
           py::arg("epoch_begin") = d.epoch_begin, py::arg("epoch_end") = d.epoch_end)
      .def_readwrite("batch_size", &nn::TrainOptions::batch_size,
                     "minibatch size; >= n gives full-batch gradient descent")
      .def_readwrite("momentum", &nn::TrainOptions::momentum, "heavy-ball momentum in [0, 1)")
      .def_readwrite("weight_decay", &nn::TrainOptions::weight_decay,
                     "L2 coefficient added to the gradient (>= 0)")
      .def_readwrite("sam_rho", &nn::TrainOptions::sam_rho, "SAM radius (0: plain SGD)")
      .def_readwrite("label_noise", &nn::TrainOptions::label_noise,
                     "fraction of training labels replaced (per noise stream)")
      .def_readwrite("noise_seed", &nn::TrainOptions::noise_seed, "seed of the label noise")
      .def_readwrite("order_seed", &nn::TrainOptions::order_seed, "seed of the data order")
      .def_readwrite("target_train_acc", &nn::TrainOptions::target_train_acc,
                     "> 0: a replica stops after the first epoch that reaches it (-1: never)")
      .def_readwrite("epoch_begin", &nn::TrainOptions::epoch_begin,
                     "first epoch run by this call")
      .def_readwrite("epoch_end", &nn::TrainOptions::epoch_end, "end (exclusive) of the epochs run");

  m.def("gemm", &gemm_py, py::arg("kind"), py::arg("A"), py::arg("B"), py::arg("C") = py::none(),
        py::arg("bias") = py::none(), py::arg("relu") = false,
        "Single-precision product on the active SIMD path. kind 'nt': A (m,k) @ B(n,k).T; 'nn': "
        "A (m,k) @ B (k,n); 'tn': A(k,m).T @ B (k,n). With C the product is added to a copy of "
        "C; 'nt' also takes bias (n,) and relu. Returns a new (m, n) float32 array.");

  m.def(
      "exp", [](const carray<float>& x) { return copy_apply(x, gemm::exp_inplace); },
      py::arg("x"), "Vectorised float32 exp used by the softmax kernels (for tests).");

  m.def(
      "log",
      [](const carray<float>& x) {
        for (py::ssize_t i = 0; i < x.size(); ++i)
          if (!(x.data()[i] >= 1.17549435e-38f) || !std::isfinite(x.data()[i]))
            throw std::invalid_argument("x must hold positive normal finite floats");
        return copy_apply(x, gemm::log_inplace);
      },
      py::arg("x"), "Vectorised float32 log used by the softmax kernels (for tests).");

  m.def(
      "evaluate",
      [](const carray<float>& theta, const std::vector<int>& widths, bool bias,
         const carray<float>& X, const carray<std::int32_t>& y, int n_threads) {
        const nn::Shape s = make_shape(widths, bias);
        check_theta(theta, s, 2, "theta");
        check_X(X, s, "X");
        const i64 n = X.shape(0);
        if (n < 1) throw std::invalid_argument("X must have at least one row");
        check_y(y, n, s.n_out(), "y");
        const i64 K = theta.shape(0);
        carray<double> loss({K}), acc({K});
        double* lp = loss.mutable_data();
        double* ap = acc.mutable_data();
        {
          glasslens::bind::KernelScope nogil;
          nn::evaluate(s, theta.data(), K, X.data(), y.data(), n, lp, ap, n_threads);
        }
        return py::make_tuple(loss, acc);
      },
      py::arg("theta"), py::arg("widths"), py::arg("bias"), py::arg("X"), py::arg("y"),
      py::arg("n_threads") = 0,
      "Mean cross-entropy loss and accuracy of K flat parameter vectors theta (K, P) on (X, y). "
      "Returns (loss (K,), acc (K,)) float64. Bit-identical for any n_threads (0 = default).");

  m.def(
      "loss_grad",
      [](const carray<float>& theta, const std::vector<int>& widths, bool bias,
         const carray<float>& X, const carray<std::int32_t>& y) {
        const nn::Shape s = make_shape(widths, bias);
        check_theta(theta, s, 1, "theta");
        check_X(X, s, "X");
        const i64 n = X.shape(0);
        if (n < 1) throw std::invalid_argument("X must have at least one row");
        check_y(y, n, s.n_out(), "y");
        carray<float> grad({static_cast<py::ssize_t>(s.n_params())});
        float* g = grad.mutable_data();
        double loss;
        i64 correct = 0;
        {
          glasslens::bind::KernelScope nogil;
          nn::Workspace ws;
          loss = nn::loss_grad(s, theta.data(), X.data(), y.data(), n, g, ws, &correct);
        }
        return py::make_tuple(loss, grad, correct);
      },
      py::arg("theta"), py::arg("widths"), py::arg("bias"), py::arg("X"), py::arg("y"),
      "Mean loss of one network, its gradient (P,) float32 and the number of correct "
      "predictions: (loss, grad, n_correct). Serial.");

  m.def(
      "logits",
      [](const carray<float>& theta, const std::vector<int>& widths, bool bias,
         const carray<float>& X, int n_threads) {
        const nn::Shape s = make_shape(widths, bias);
        check_theta(theta, s, 2, "theta");
        check_X(X, s, "X");
        const i64 K = theta.shape(0), n = X.shape(0);
        carray<float> out({K, n, static_cast<i64>(s.n_out())});
        float* o = out.mutable_data();
        {
          glasslens::bind::KernelScope nogil;
          nn::forward_logits_many(s, theta.data(), K, X.data(), n, o, n_threads);
        }
        return out;
      },
      py::arg("theta"), py::arg("widths"), py::arg("bias"), py::arg("X"),
      py::arg("n_threads") = 0, "Logits (K, n, n_out) float32 of K flat parameter vectors.");

  m.def(
      "epoch_order",
      [](std::uint64_t seed, std::uint64_t stream, i64 epoch, i64 n) {
        if (n < 0) throw std::invalid_argument("n must be >= 0");
        carray<i64> out({n});
        nn::epoch_order(seed, stream, epoch, n, out.mutable_data());
        return out;
      },
      py::arg("seed"), py::arg("stream"), py::arg("epoch"), py::arg("n"),
      "The permutation of range(n) that train visits in `epoch` for data-order stream `stream`.");

  m.def(
      "noisy_labels",
      [](const carray<std::int32_t>& y, int n_classes, double fraction, std::uint64_t seed,
         std::uint64_t stream) {
        require_ndim(y, 1, "y");
        check_y(y, y.shape(0), n_classes, "y");
        carray<std::int32_t> out({y.shape(0)});
        nn::noisy_labels(y.data(), y.shape(0), n_classes, fraction, seed, stream,
                         out.mutable_data());
        return out;
      },
      py::arg("y"), py::arg("n_classes"), py::arg("fraction"), py::arg("seed"), py::arg("stream"),
      "Training labels with exactly round(fraction*n) entries moved to a different random class.");

  m.def(
      "train",
      [](py::array theta, py::array velocity, py::array epochs_run, py::array stopped,
         py::array hist_train_loss, py::array hist_train_acc, py::array hist_test_loss,
         py::array hist_test_acc, const std::vector<int>& widths, bool bias,
         const carray<float>& X, const carray<std::int32_t>& y, const carray<float>& X_test,
         const carray<std::int32_t>& y_test, const carray<std::uint64_t>& noise_stream,
         const carray<std::uint64_t>& order_stream, const carray<double>& lr,
         const carray<i64>& record_slot, const nn::TrainOptions& options, int n_threads,
         const py::object& record_rows_obj) {
        nn::TrainSpec sp;
        static_cast<nn::TrainOptions&>(sp) = options;
        sp.shape = make_shape(widths, bias);
        const nn::Shape& s = sp.shape;
        if (theta.ndim() != 2) throw std::invalid_argument("theta must be (R, P)");
        const i64 R = theta.shape(0), P = s.n_params();
        nn::TrainState st;
        st.R = R;
        st.theta = inplace<float>(theta, {R, P}, "theta");
        st.velocity = inplace<float>(velocity, {R, P}, "velocity");
        st.epochs_run = inplace<i64>(epochs_run, {R}, "epochs_run");
        st.stopped = inplace<std::uint8_t>(stopped, {R}, "stopped");
        if (hist_train_loss.ndim() != 2) throw std::invalid_argument("history must be (R, n_records)");
        const i64 NR = hist_train_loss.shape(1);
        st.train_loss = inplace<double>(hist_train_loss, {R, NR}, "hist_train_loss");
        st.train_acc = inplace<double>(hist_train_acc, {R, NR}, "hist_train_acc");
        st.test_loss = inplace<double>(hist_test_loss, {R, NR}, "hist_test_loss");
        st.test_acc = inplace<double>(hist_test_acc, {R, NR}, "hist_test_acc");
        check_X(X, s, "X");
        const i64 n = X.shape(0);
        if (n < 1) throw std::invalid_argument("X must have at least one row");
        check_y(y, n, s.n_out(), "y");
        check_X(X_test, s, "X_test");
        check_y(y_test, X_test.shape(0), s.n_out(), "y_test");
        require_ndim(noise_stream, 1, "noise_stream");
        require_dim(noise_stream, 0, R, "noise_stream");
        require_ndim(order_stream, 1, "order_stream");
        require_dim(order_stream, 0, R, "order_stream");
        require_ndim(lr, 1, "lr");
        require_ndim(record_slot, 1, "record_slot");
        require_dim(record_slot, 0, lr.shape(0), "record_slot");
        for (i64 e = 0; e < lr.shape(0); ++e) {
          if (!(lr.data()[e] > 0.0) || !std::isfinite(lr.data()[e]))
            throw std::invalid_argument("lr must be positive and finite in every epoch");
          if (record_slot.data()[e] >= NR)
            throw std::invalid_argument("record_slot out of range");
        }
        if (!(options.momentum >= 0.0 && options.momentum < 1.0))
          throw std::invalid_argument("momentum must be in [0, 1)");
        if (!(options.weight_decay >= 0.0)) throw std::invalid_argument("weight_decay must be >= 0");
        bind::require_finite(theta.cast<carray<float>>(), "theta");
        sp.X = X.data(); sp.y = y.data(); sp.n = n;
        sp.X_test = X_test.data(); sp.y_test = y_test.data(); sp.n_test = X_test.shape(0);
        sp.noise_stream = noise_stream.data();
        sp.order_stream = order_stream.data();
        sp.total_epochs = lr.shape(0);
        sp.lr = lr.data();
        sp.record_slot = record_slot.data();
        sp.n_records = NR;
        sp.n_threads = n_threads;
        carray<i64> record_rows;
        if (!record_rows_obj.is_none()) {
          record_rows = record_rows_obj.cast<carray<i64>>();
          require_ndim(record_rows, 1, "record_rows");
          if (record_rows.shape(0) < 1) throw std::invalid_argument("record_rows must not be empty");
          for (i64 i = 0; i < record_rows.shape(0); ++i)
            if (record_rows.data()[i] < 0 || record_rows.data()[i] >= n) {
              std::ostringstream m;
              m << "record_rows[" << i << "] = " << record_rows.data()[i]
                << " is out of range for " << n << " training rows";
              throw std::invalid_argument(m.str());
            }
          sp.record_rows = record_rows.data();
          sp.n_record_rows = record_rows.shape(0);
        }
        {
          glasslens::bind::KernelScope nogil;
          nn::train(sp, st);
        }
      },
      py::arg("theta"), py::arg("velocity"), py::arg("epochs_run"), py::arg("stopped"),
      py::arg("hist_train_loss"), py::arg("hist_train_acc"), py::arg("hist_test_loss"),
      py::arg("hist_test_acc"), py::arg("widths"), py::arg("bias"), py::arg("X"), py::arg("y"),
      py::arg("X_test"), py::arg("y_test"), py::arg("noise_stream"), py::arg("order_stream"),
      py::arg("lr"), py::arg("record_slot"), py::arg("options"), py::arg("n_threads") = 0,
      py::arg("record_rows") = py::none(),
      "Run epochs [options.epoch_begin, options.epoch_end) of minibatch SGD for R replicas, "
      "updating theta, velocity, epochs_run, stopped and the (R, n_records) history arrays in "
      "place. noise_stream and order_stream (R,) uint64 pick each replica's label-noise and "
      "data-order streams, lr (total_epochs,) is the schedule, record_slot (total_epochs,) the "
      "history column after each epoch (-1: none). record_rows (n_rec,) int64: the training rows "
      "on which the recorded train metrics are evaluated (None: all; the early-stop check "
      "always uses all rows); the recorded test metrics use X_test as given. Private: use "
      "glasslens.train_ensemble.");
}
