// Runtime choice of SIMD kernels. Kernels compiled with AVX2+FMA live in files named *_avx2.cpp;
// the portable versions are compiled for the baseline target. The active path can be forced
// (tests compare both) with set_simd_path or the GLASSLENS_SIMD environment variable.
#pragma once
#include <string>

// GLASSLENS_HAVE_X86_SIMD is 1 when this build contains the AVX2/FMA (and AVX-512 popcount)
// kernels: an x86 target whose compiler takes -mavx2 -mfma, unless CMake was configured with
// GLASSLENS_X86_SIMD=OFF (which defines GLASSLENS_NO_X86_SIMD). Otherwise (ARM, POWER, ...) the
// intrinsics files are left out, cpu_has_avx2_fma() is false and every kernel runs its portable
// version; x86_simd_fallback.cpp defines the AVX2 entry points the dispatchers name.
#if (defined(__x86_64__) || defined(__i386__)) && !defined(GLASSLENS_NO_X86_SIMD)
#define GLASSLENS_HAVE_X86_SIMD 1
#else
#define GLASSLENS_HAVE_X86_SIMD 0
#endif

namespace glasslens {

enum class SimdPath { scalar = 0, avx2 = 1 };

bool cpu_has_avx2_fma() noexcept;     // what the CPU supports
SimdPath simd_path() noexcept;        // what kernels use now
void set_simd_path(SimdPath p);       // throws std::invalid_argument if the CPU lacks it
std::string simd_path_name(SimdPath p);

}  // namespace glasslens
