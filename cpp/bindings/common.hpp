// Shared helpers for the pybind11 layer. Only files in cpp/bindings include pybind11.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace glasslens::bind {
namespace py = pybind11;

template <class T>
using carray = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Throws ValueError naming the argument unless `a` has `ndim` dimensions.
template <class A>
inline void require_ndim(const A& a, int ndim, const char* name) {
  if (a.ndim() != ndim) {
    std::ostringstream s;
    s << name << " must have " << ndim << " dimension(s), got " << a.ndim();
    throw std::invalid_argument(s.str());
  }
}

template <class A>
inline void require_dim(const A& a, int axis, py::ssize_t size, const char* name) {
  if (a.shape(axis) != size) {
    std::ostringstream s;
    s << name << " has size " << a.shape(axis) << " along axis " << axis << ", expected " << size;
    throw std::invalid_argument(s.str());
  }
}

// True when every value is finite. Floats are tested on their exponent bits in blocks without
// early exit, so the loop vectorises (a full pass over millions of weights costs ~1 ms).
inline bool all_finite(const float* p, std::int64_t n) {
  constexpr std::int64_t kBlock = 4096;
  for (std::int64_t b = 0; b < n; b += kBlock) {
    const std::int64_t e = b + kBlock < n ? b + kBlock : n;
    std::uint32_t bad = 0;
    for (std::int64_t i = b; i < e; ++i) {
      std::uint32_t u;
      std::memcpy(&u, p + i, sizeof u);
      bad |= static_cast<std::uint32_t>((u & 0x7f800000u) == 0x7f800000u);
    }
    if (bad) return false;
  }
  return true;
}
inline bool all_finite(const double* p, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

template <class T>
inline void require_finite(const carray<T>& a, const char* name) {
  const T* p = a.data();
  const py::ssize_t n = a.size();
  if constexpr (std::is_floating_point_v<T>) {
    if (all_finite(p, n)) return;
  }
  for (py::ssize_t i = 0; i < n; ++i) {
    if (!std::isfinite(static_cast<double>(p[i]))) {
      std::ostringstream s;
      s << name << " contains a non-finite value (NaN or inf) at flat index " << i;
      throw std::invalid_argument(s.str());
    }
  }
}

template <class T>
inline carray<T> new_array(std::initializer_list<py::ssize_t> shape) {
  return carray<T>(std::vector<py::ssize_t>(shape));
}

}  // namespace glasslens::bind
