// fp32 GEMM behind a narrow interface: C[m×n] (+)= A[m×k] · Bᵀ where B is n×k row-major
// (Kaldi's weight layout: one row per output unit). Kernels know nothing of graphs or Kaldi.
// Single-threaded: kaldiq parallelises above the kernel (per utterance / per chunk), which keeps
// results independent of the thread count.
#pragma once

#include <cstdint>

namespace kaldiq::kernels {

// Library-backed (OpenBLAS sgemm) path. lda/ldb/ldc are row strides in elements.
void GemmF32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc, bool accumulate);

// Scalar reference (double accumulation); the oracle the fast path is tested against.
void GemmF32Ref(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace kaldiq::kernels
