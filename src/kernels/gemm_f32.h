// fp32 GEMM behind a narrow interface. Kernels know nothing of graphs or Kaldi.
// Single-threaded: kaldiq parallelises above the kernel (per utterance), which keeps results
// independent of the thread count.
#pragma once

#include <cstdint>

namespace kaldiq::kernels {

// C[m×n] (+)= A[m×k] · Bᵀ where B is n×k row-major (Kaldi's weight layout: one row per output
// unit). Library-backed (OpenBLAS sgemm). lda/ldb/ldc are row strides in elements.
void GemmF32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc, bool accumulate);

// C[m×n] (+)= A[m×k] · B where B is k×n row-major (weights pre-transposed once at load time;
// measured slightly faster than the N×K layout for OpenBLAS, see bench/README.md).
void GemmF32KN(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate);

// Scalar reference for GemmF32 (double accumulation); the oracle the fast paths are tested
// against.
void GemmF32Ref(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace kaldiq::kernels
