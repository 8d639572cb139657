// AVX2+FMA build of the curvature tile kernels (see curvature_kernels.inc).
//
// This file is NOT compiled with -mavx2 (its name does not end in _avx2.cpp): the standard
// headers are included first, for the baseline target, and only the kernels below the pragma are
// compiled for AVX2+FMA. The kernels instantiate std::vector members; compiled with -mavx2 those
// weak (COMDAT) instantiations could be picked by the linker for baseline callers too and crash
// on CPUs without AVX2. Here they are baseline code, shared safely.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "glasslens/flatness/curvature.hpp"
#include "glasslens/nn/gemm.hpp"
#include "glasslens/common/simd.hpp"

// Without the x86 kernels (GLASSLENS_HAVE_X86_SIMD == 0) the same code is compiled for the
// baseline target, so that the dispatcher's avx2 entries exist (never chosen there).
#if GLASSLENS_HAVE_X86_SIMD
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#endif

#define GLASSLENS_CURV_NS avx2
#include "curvature_kernels.inc"

#if GLASSLENS_HAVE_X86_SIMD
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
