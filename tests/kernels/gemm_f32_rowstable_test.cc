// The row-stable fp32 GEMM: bit-identical to its scalar reference (the same summation order)
// for any shape and stride, each row independent of the others (one call of m rows equals m
// calls of one row), and close to the double-accumulation reference.
#include "kernels/gemm_f32_rowstable.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/gemm_f32.h"

namespace kaldiq::kernels {
namespace {

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(GemmF32RowStable, EqualsReferenceAndIsRowIndependent) {
  for (auto [m, n, k] : {std::tuple{1, 1, 1}, std::tuple{3, 5, 7}, std::tuple{17, 40, 280},
                         std::tuple{9, 64, 40}, std::tuple{4, 3, 8}, std::tuple{2, 6, 33}}) {
    const int64_t lda = k + 3, ldb = k + 1, ldc = n + 2;
    std::vector<float> a = Random(m * lda, 1), b = Random(n * ldb, 2);
    for (bool acc : {false, true}) {
      std::vector<float> c = Random(m * ldc, 3), c_ref = c, c_rows = c, c_dbl = c;
      GemmF32RowStable(m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, acc);
      GemmF32RowStableRef(m, n, k, a.data(), lda, b.data(), ldb, c_ref.data(), ldc, acc);
      for (int64_t i = 0; i < m; ++i)
        GemmF32RowStable(1, n, k, a.data() + i * lda, lda, b.data(), ldb, c_rows.data() + i * ldc,
                         ldc, acc);
      GemmF32Ref(m, n, k, a.data(), lda, b.data(), ldb, c_dbl.data(), ldc, acc);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          const size_t x = i * ldc + j;
          ASSERT_EQ(c[x], c_ref[x]) << m << "x" << n << "x" << k;
          ASSERT_EQ(c[x], c_rows[x]) << m << "x" << n << "x" << k;
          EXPECT_NEAR(c[x], c_dbl[x], 1e-5 * (std::sqrt(double(k)) + std::abs(c_dbl[x])));
        }
    }
  }
}

}  // namespace
}  // namespace kaldiq::kernels
