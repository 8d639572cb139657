// Bindings for bit-packed overlaps and triangle statistics (Protocol 3): glasslens._core.replicas.
#include <optional>
#include <sstream>

#include "common.hpp"
#include "glasslens/replicas/overlaps.hpp"
#include "glasslens/replicas/triangles.hpp"

namespace py = pybind11;
using namespace glasslens;
using glasslens::bind::carray;
using glasslens::bind::require_ndim;

namespace {

template <class T>
carray<std::uint64_t> pack_typed(const py::array& arr, int n_threads) {
  carray<T> a = carray<T>::ensure(arr);
  require_ndim(a, 2, "configs");
  const std::int64_t M = a.shape(0), N = a.shape(1);
  if (N < 1) throw std::invalid_argument("configs must have at least one column");
  carray<std::uint64_t> out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(M),
                                                     static_cast<py::ssize_t>(overlaps::packed_stride(N))});
  const T* p = a.data();
  std::uint64_t* o = out.mutable_data();
  std::int64_t bad;
  {
    glasslens::bind::KernelScope rel;
    bad = overlaps::pack_signs(p, M, N, o, n_threads);
  }
  if (bad >= 0) {
    std::ostringstream s;
    s << "configs must contain only +1 and -1; entry (" << bad / N << ", " << bad % N << ") is "
      << static_cast<double>(p[bad]);
    throw std::invalid_argument(s.str());
  }
  return out;
}

void check_packed(const carray<std::uint64_t>& w, std::int64_t n_bits, const char* name) {
  require_ndim(w, 2, name);
  if (n_bits < 1) throw std::invalid_argument("n_bits must be >= 1");
  if (w.shape(1) != overlaps::packed_stride(n_bits)) {
    std::ostringstream s;
    s << name << " has " << w.shape(1) << " words per row, expected "
      << overlaps::packed_stride(n_bits) << " for n_bits=" << n_bits;
    throw std::invalid_argument(s.str());
  }
}

}  // namespace

void bind_replicas(py::module_& m) {
  m.def(
      "pack_signs",
      [](const py::array& configs, int n_threads) -> carray<std::uint64_t> {
        const auto dt = configs.dtype();
        if (dt.is(py::dtype::of<std::int8_t>())) return pack_typed<std::int8_t>(configs, n_threads);
        if (dt.is(py::dtype::of<float>())) return pack_typed<float>(configs, n_threads);
        if (dt.is(py::dtype::of<double>())) return pack_typed<double>(configs, n_threads);
        throw py::type_error("configs must have dtype int8, float32 or float64");
      },
      py::arg("configs"), py::arg("n_threads") = 0,
      "Pack an (M, N) array of +-1 (int8/float32/float64) into (M, stride) uint64 words "
      "(bit set for -1, rows zero-padded to a multiple of 512 bits).");
  m.def(
      "unpack_signs",
      [](const carray<std::uint64_t>& words, std::int64_t n_bits, int n_threads) {
        check_packed(words, n_bits, "words");
        const std::int64_t M = words.shape(0);
        carray<std::int8_t> out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(M),
                                                         static_cast<py::ssize_t>(n_bits)});
        const std::uint64_t* w = words.data();
        std::int8_t* o = out.mutable_data();
        {
          glasslens::bind::KernelScope rel;
          overlaps::unpack_signs(w, M, n_bits, o, n_threads);
        }
        return out;
      },
      py::arg("words"), py::arg("n_bits"), py::arg("n_threads") = 0,
      "Inverse of pack_signs: (M, N) int8 array of +-1.");
  m.def(
      "overlap_packed",
      [](const carray<std::uint64_t>& A, std::int64_t n_bits, std::optional<carray<std::uint64_t>> B,
         int n_threads) {
        check_packed(A, n_bits, "A");
        if (B) check_packed(*B, n_bits, "B");
        const std::int64_t Ma = A.shape(0), Mb = B ? B->shape(0) : Ma;
        carray<double> q(std::vector<py::ssize_t>{static_cast<py::ssize_t>(Ma),
                                                  static_cast<py::ssize_t>(Mb)});
        const std::uint64_t* pa = A.data();
        const std::uint64_t* pb = B ? B->data() : nullptr;
        double* pq = q.mutable_data();
        {
          glasslens::bind::KernelScope rel;
          overlaps::overlap_packed(pa, Ma, pb, Mb, n_bits, pq, n_threads);
        }
        return q;
      },
      py::arg("A"), py::arg("n_bits"), py::arg("B") = py::none(), py::arg("n_threads") = 0,
      "Overlaps q_ab = (N - 2 popcount(a XOR b)) / N between packed rows of A and B "
      "(or A with itself), float64 (Ma, Mb).");
  m.def(
      "hamming_packed",
      [](const carray<std::uint64_t>& A, std::int64_t n_bits, std::optional<carray<std::uint64_t>> B,
         int n_threads) {
        check_packed(A, n_bits, "A");
        if (B) check_packed(*B, n_bits, "B");
        const std::int64_t Ma = A.shape(0), Mb = B ? B->shape(0) : Ma;
        carray<std::int64_t> d(std::vector<py::ssize_t>{static_cast<py::ssize_t>(Ma),
                                                        static_cast<py::ssize_t>(Mb)});
        const std::uint64_t* pa = A.data();
        const std::uint64_t* pb = B ? B->data() : nullptr;
        std::int64_t* pd = d.mutable_data();
        {
          glasslens::bind::KernelScope rel;
          overlaps::hamming_packed(pa, Ma, pb, Mb, n_bits, pd, n_threads);
        }
        return d;
      },
      py::arg("A"), py::arg("n_bits"), py::arg("B") = py::none(), py::arg("n_threads") = 0,
      "Hamming distances popcount(a XOR b) between packed rows, int64 (Ma, Mb).");
  m.def("set_popcount_kernel", &overlaps::set_popcount_kernel, py::arg("name"),
        "Force the popcount kernel: 'auto', 'scalar', 'avx2' or 'avx512'.");
  m.def("popcount_kernel", &overlaps::popcount_kernel, "The popcount kernel in use now.");
  m.def("popcount_kernel_available", &overlaps::popcount_kernel_available, py::arg("name"),
        "Whether this CPU can run the named popcount kernel.");

  m.def(
      "triangle_sides_all",
      [](const carray<double>& D, int n_threads) {
        require_ndim(D, 2, "distances");
        const std::int64_t M = D.shape(0);
        if (D.shape(1) != M) throw std::invalid_argument("distances must be square");
        const std::int64_t T = triangles::n_triples(M);
        carray<double> out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(T), 3});
        const double* pd = D.data();
        double* po = out.mutable_data();
        {
          glasslens::bind::KernelScope rel;
          triangles::sorted_sides_all(pd, M, po, n_threads);
        }
        return out;
      },
      py::arg("distances"), py::arg("n_threads") = 0,
      "Sorted sides (d1 <= d2 <= d3) of all triangles a < b < c, lexicographic order, (T, 3).");
  m.def(
      "triangle_sides_list",
      [](const carray<double>& D, const carray<std::int64_t>& idx, int n_threads) {
        require_ndim(D, 2, "distances");
        require_ndim(idx, 2, "triples");
        const std::int64_t M = D.shape(0);
        if (D.shape(1) != M) throw std::invalid_argument("distances must be square");
        if (idx.shape(1) != 3) throw std::invalid_argument("triples must have shape (T, 3)");
        const std::int64_t T = idx.shape(0);
        const std::int64_t* pi = idx.data();
        for (std::int64_t t = 0; t < 3 * T; ++t)
          if (pi[t] < 0 || pi[t] >= M) throw std::invalid_argument("triples has an index out of range");
        carray<double> out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(T), 3});
        const double* pd = D.data();
        double* po = out.mutable_data();
        {
          glasslens::bind::KernelScope rel;
          triangles::sorted_sides_list(pd, M, pi, T, po, n_threads);
        }
        return out;
      },
      py::arg("distances"), py::arg("triples"), py::arg("n_threads") = 0,
      "Sorted sides of the given triangles (T, 3) of point indices, (T, 3).");
  m.def(
      "triangle_summary",
      [](const carray<double>& D, std::optional<carray<std::int64_t>> idx, double tol,
         int n_threads) {
        require_ndim(D, 2, "distances");
        const std::int64_t M = D.shape(0);
        if (D.shape(1) != M) throw std::invalid_argument("distances must be square");
        const double* pd = D.data();
        triangles::Summary s;
        if (idx) {
          require_ndim(*idx, 2, "triples");
          if (idx->shape(1) != 3) throw std::invalid_argument("triples must have shape (T, 3)");
          const std::int64_t T = idx->shape(0);
          const std::int64_t* pi = idx->data();
          for (std::int64_t t = 0; t < 3 * T; ++t)
            if (pi[t] < 0 || pi[t] >= M) throw std::invalid_argument("triples has an index out of range");
          glasslens::bind::KernelScope rel;
          s = triangles::summarize_list(pd, M, pi, T, tol, n_threads);
        } else {
          glasslens::bind::KernelScope rel;
          s = triangles::summarize_all(pd, M, tol, n_threads);
        }
        return py::make_tuple(s.sum_gap, s.sum_gap2, s.n_iso, s.n);
      },
      py::arg("distances"), py::arg("triples") = py::none(), py::arg("tol") = 0.05,
      py::arg("n_threads") = 0,
      "(sum of d3 - d2, sum of (d3 - d2)^2, #near-isosceles ((d3 - d2) < tol d3), #triangles) "
      "over all triangles or the given triples, without storing them.");
}
