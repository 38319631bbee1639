// fp32 GEMM paths (OpenBLAS N×K, OpenBLAS K×N) against the scalar reference, including strided
// operands, accumulation and empty shapes; every PackedLinearF32 backend, also concurrently.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/gemm_f32.h"
#include "util/error.h"

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

// Every fp32 linear backend built in, forced by name, against the double-precision oracle, at
// row counts around the oneDNN row buckets (8) and beyond its largest primitive (1024 rows).
TEST(PackedLinearF32, EveryBackendMatchesTheOracle) {
  std::mt19937 rng(9);
  const int64_t n = 37, k = 45;
  std::vector<float> w = Random(n * k, &rng), bias = Random(n, &rng);
  for (const std::string& backend : F32BackendNames()) {
    for (bool relu : {false, true}) {
      PackedLinearF32 layer(n, k, w.data(), bias.data(), relu, backend);
      ASSERT_EQ(layer.Backend(), backend);
      for (int64_t m : {1, 7, 8, 9, 63, 1030}) {
        const int64_t ldx = k + 2, ldy = n + 3;
        std::vector<float> x = Random(m * ldx, &rng), y(static_cast<size_t>(m * ldy), -7.0f);
        layer.Run(m, x.data(), ldx, y.data(), ldy);
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            double e = bias[j];
            for (int64_t p = 0; p < k; ++p) e += double(x[i * ldx + p]) * w[j * k + p];
            if (relu) e = std::max(e, 0.0);
            ASSERT_NEAR(y[i * ldy + j], e, 1e-4) << backend << " m=" << m;
          }
          for (int64_t j = n; j < ldy; ++j) ASSERT_EQ(y[i * ldy + j], -7.0f) << backend;
        }
      }
    }
  }
  EXPECT_THROW(PackedLinearF32(n, k, w.data(), nullptr, false, "no-such-kernel"), Error);
}

// Run() is called concurrently by the utterance threads; the lock-free per-row-count cache must
// give every thread the same results as one thread.
TEST(PackedLinearF32, ConcurrentCallsGiveTheSameResults) {
  std::mt19937 rng(10);
  const int64_t n = 64, k = 80;
  std::vector<float> w = Random(n * k, &rng);
  for (const std::string& backend : F32BackendNames()) {
    PackedLinearF32 layer(n, k, w.data(), nullptr, true, backend);
    std::vector<std::vector<float>> xs, want;
    for (int64_t m = 1; m <= 40; m += 3) {
      xs.push_back(Random(m * k, &rng));
      want.emplace_back(static_cast<size_t>(m * n));
    }
    PackedLinearF32 fresh(n, k, w.data(), nullptr, true, backend);
    for (size_t i = 0; i < xs.size(); ++i)
      fresh.Run(static_cast<int64_t>(xs[i].size()) / k, xs[i].data(), k, want[i].data(), n);
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t]() {
        std::vector<float> y;
        for (int rep = 0; rep < 3; ++rep)
          for (size_t j = 0; j < xs.size(); ++j) {
            size_t i = (j * 7 + static_cast<size_t>(t)) % xs.size();
            y.assign(want[i].size(), 0.0f);
            layer.Run(static_cast<int64_t>(xs[i].size()) / k, xs[i].data(), k, y.data(), n);
            if (y != want[i]) ++mismatches;
          }
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(mismatches.load(), 0) << backend;
  }
}

TEST(PackedLinearF32, ChoiceIsABuiltInBackend) {
  for (auto [n, k] : std::vector<std::array<int64_t, 2>>{{625, 1875}, {160, 1536}, {1536, 320},
                                                          {6016, 1536}, {256, 120}}) {
    const std::string b = ChooseF32Backend(n, k);
    std::vector<std::string> names = F32BackendNames();
    EXPECT_NE(std::find(names.begin(), names.end(), b), names.end()) << b;
    EXPECT_NE(b, "reference");
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
