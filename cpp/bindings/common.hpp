// Shared helpers for the pybind11 layer. Only files in cpp/bindings include pybind11.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

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

template <class T>
inline void require_finite(const carray<T>& a, const char* name) {
  const T* p = a.data();
  const py::ssize_t n = a.size();
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
