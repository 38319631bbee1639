// fp32 C = A·Bᵀ whose every element is a dot product in one fixed order, independent of the
// number of rows m, of the row's position, of pointer alignment and of the ISA: row r of C
// depends only on row r of A and on B. Streaming code needs this (features arriving in chunks
// of any size must give the same bits as one whole-utterance call); a BLAS sgemm does not
// promise it (OpenBLAS's results for a row change with m). Order: eight interleaved partial
// sums over k (element p goes to sum p mod 8, for p below the largest multiple of 8), combined
// as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), plus the sequential sum of the remaining elements.
// No FMA (the build sets -ffp-contract=off), so the AVX-512/AVX2 clones equal the baseline.
#pragma once

#include <cstdint>

namespace kaldiq::kernels {

// C[m×n] (+)= A[m×k] · Bᵀ, B n×k row-major; lda/ldb/ldc are row strides in elements.
void GemmF32RowStable(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                      const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);

// The same order, written as plain scalar code: the oracle the fast path equals bit for bit.
void GemmF32RowStableRef(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace kaldiq::kernels
