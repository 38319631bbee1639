// fp32 GEMM paths (OpenBLAS N×K, OpenBLAS K×N) against the scalar reference, including strided
// operands, accumulation and empty shapes.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/gemm_f32.h"

namespace kaldiq::kernels {
namespace {

std::vector<float> Random(size_t n, std::mt19937* rng) {
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& x : v) x = d(*rng);
  return v;
}

TEST(GemmF32, FastPathsMatchReference) {
  std::mt19937 rng(3);
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {7, 5, 3}, {33, 65, 129},
                                                             {50, 300, 625}}) {
    const int64_t lda = k + 3, ldb = k + 1, ldc = n + 2;
    std::vector<float> a = Random(m * lda, &rng), b = Random(n * ldb, &rng);
    // K×N copy of b for GemmF32KN.
    std::vector<float> bt(k * n);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) bt[p * n + j] = b[j * ldb + p];
    for (bool acc : {false, true}) {
      std::vector<float> init = Random(m * ldc, &rng);
      std::vector<float> c_ref = init, c_nk = init, c_kn = init;
      GemmF32Ref(m, n, k, a.data(), lda, b.data(), ldb, c_ref.data(), ldc, acc);
      GemmF32(m, n, k, a.data(), lda, b.data(), ldb, c_nk.data(), ldc, acc);
      GemmF32KN(m, n, k, a.data(), lda, bt.data(), n, c_kn.data(), ldc, acc);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          double expect = acc ? init[i * ldc + j] : 0.0;
          for (int64_t p = 0; p < k; ++p) expect += double(a[i * lda + p]) * b[j * ldb + p];
          const double tol = 1e-5 * (1 + std::sqrt(double(k)));
          ASSERT_NEAR(c_ref[i * ldc + j], expect, 1e-5) << m << "x" << n << "x" << k;
          ASSERT_NEAR(c_nk[i * ldc + j], expect, tol) << m << "x" << n << "x" << k;
          ASSERT_NEAR(c_kn[i * ldc + j], expect, tol) << m << "x" << n << "x" << k;
        }
        // Padding columns beyond n are untouched.
        for (int64_t j = n; j < ldc; ++j) {
          ASSERT_EQ(c_nk[i * ldc + j], init[i * ldc + j]);
          ASSERT_EQ(c_kn[i * ldc + j], init[i * ldc + j]);
        }
      }
    }
  }
}

TEST(GemmF32, EmptyShapesAreNoOps) {
  std::vector<float> c = {1.0f, 2.0f};
  GemmF32(0, 2, 3, nullptr, 3, nullptr, 3, c.data(), 2, false);
  GemmF32KN(1, 0, 3, nullptr, 3, nullptr, 0, c.data(), 2, false);
  EXPECT_EQ(c[0], 1.0f);
  EXPECT_EQ(c[1], 2.0f);
}

}  // namespace
}  // namespace kaldiq::kernels
