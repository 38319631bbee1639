// A thin transposed fp32 GEMM over OpenBLAS for training (backward: dX = dY·W is NN, dW = dYᵀ·X
// is TN; the training forward's x·Wᵀ is NT), plus its scalar reference. Row-major; lda/ldb/ldc
// are row strides in elements of the stored (untransposed) matrices. Single-threaded, like
// gemm_f32.h: kaldiq parallelises above the kernels, so results never depend on the thread
// count. The inference GEMMs stay in gemm_f32.h / gemm_s8.h.
#pragma once

#include <cstdint>

namespace kaldiq::kernels {

enum class Trans { kNo, kYes };

// C[m×n] = alpha · op(A) · op(B) + beta · C, where op(A) is m×k (A is m×k, or k×m when
// trans_a) and op(B) is k×n (B is k×n, or n×k when trans_b). beta = 0 ignores C's contents
// (NaN included). m, n or k may be 0.
void Sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc);

// Scalar reference of Sgemm with double accumulation: the oracle in tests.
void SgemmRef(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
              int64_t ldc);

}  // namespace kaldiq::kernels
