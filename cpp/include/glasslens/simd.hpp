// Runtime choice of SIMD kernels. Kernels compiled with AVX2+FMA live in files named *_avx2.cpp;
// the portable versions are compiled for the baseline target. The active path can be forced
// (tests compare both) with set_simd_path or the GLASSLENS_SIMD environment variable.
#pragma once
#include <string>

namespace glasslens {

enum class SimdPath { scalar = 0, avx2 = 1 };

bool cpu_has_avx2_fma() noexcept;     // what the CPU supports
SimdPath simd_path() noexcept;        // what kernels use now
void set_simd_path(SimdPath p);       // throws std::invalid_argument if the CPU lacks it
std::string simd_path_name(SimdPath p);

}  // namespace glasslens
