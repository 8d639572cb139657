// AVX2+FMA build of the curvature tile kernels (see curvature_kernels.inc).
#define GLASSLENS_CURV_NS avx2
#include "curvature_kernels.inc"
