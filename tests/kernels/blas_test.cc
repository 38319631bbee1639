// The transposed fp32 GEMM (OpenBLAS) against its scalar double-accumulation reference, for
// every transpose combination, alpha/beta, padded strides and empty sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/blas.h"

namespace kaldiq::kernels {
namespace {

TEST(Sgemm, MatchesReferenceForEveryTransposeAlphaAndBeta) {
  std::mt19937 rng(3);
  std::normal_distribution<float> d;
  const int64_t m = 13, n = 7, k = 29, pad = 3;
  for (Trans ta : {Trans::kNo, Trans::kYes}) {
    for (Trans tb : {Trans::kNo, Trans::kYes}) {
      for (float alpha : {1.0f, -0.5f}) {
        for (float beta : {0.0f, 1.0f, 0.25f}) {
          const int64_t a_rows = ta == Trans::kNo ? m : k, a_cols = ta == Trans::kNo ? k : m;
          const int64_t b_rows = tb == Trans::kNo ? k : n, b_cols = tb == Trans::kNo ? n : k;
          const int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
          std::vector<float> a(a_rows * lda), b(b_rows * ldb), c(m * ldc);
          for (float& v : a) v = d(rng);
          for (float& v : b) v = d(rng);
          for (float& v : c) v = beta == 0.0f ? NAN : d(rng);  // beta = 0 ignores C
          std::vector<float> ref = c;
          Sgemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
          SgemmRef(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, ref.data(), ldc);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j)
              ASSERT_NEAR(c[i * ldc + j], ref[i * ldc + j], 1e-4f * (1 + std::abs(ref[i * ldc + j])))
                  << "ta " << int(ta) << " tb " << int(tb) << " alpha " << alpha << " beta "
                  << beta << " at " << i << "," << j;
        }
      }
    }
  }
}

TEST(Sgemm, ReferenceIsTheFormula) {
  // C = 2 · Aᵀ · B + 1 · C on 2×2 matrices written out.
  const float a[] = {1, 2, 3, 4};  // A = [1 2; 3 4], Aᵀ = [1 3; 2 4]
  const float b[] = {5, 6, 7, 8};
  float c[] = {1, 1, 1, 1};
  SgemmRef(Trans::kYes, Trans::kNo, 2, 2, 2, 2.0f, a, 2, b, 2, 1.0f, c, 2);
  EXPECT_EQ(c[0], 2 * (1 * 5 + 3 * 7) + 1);
  EXPECT_EQ(c[1], 2 * (1 * 6 + 3 * 8) + 1);
  EXPECT_EQ(c[2], 2 * (2 * 5 + 4 * 7) + 1);
  EXPECT_EQ(c[3], 2 * (2 * 6 + 4 * 8) + 1);
}

TEST(Sgemm, EmptyInnerDimensionScalesC) {
  float c[] = {2, 4};
  Sgemm(Trans::kNo, Trans::kNo, 1, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, c, 2);
  EXPECT_EQ(c[0], 1.0f);
  EXPECT_EQ(c[1], 2.0f);
  Sgemm(Trans::kNo, Trans::kNo, 0, 2, 3, 1.0f, nullptr, 3, nullptr, 2, 0.5f, c, 2);  // no rows
  EXPECT_EQ(c[0], 1.0f);
}

}  // namespace
}  // namespace kaldiq::kernels
