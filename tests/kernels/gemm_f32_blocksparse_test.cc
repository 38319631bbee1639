// BlockSparseLinearF32 against the dense product written out (double accumulation): a
// convolution's affine form (height padding, subsampling, several time blocks), irregular
// sparsity with short zero gaps, bias + ReLU, strided operands, and refusal of dense weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/gemm_f32_blocksparse.h"

namespace kaldiq::kernels {
namespace {

std::vector<float> Random(size_t n, std::mt19937* rng) {
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& x : v) x = d(*rng);
  return v;
}

// The dense weight of a 3×3 (time × height) convolution, fin -> fout filters, height_in ->
// height_out with subsampling `sub`, zero padding in height; input is 3 time blocks of
// height_in × fin (Kaldi's layout: filter fastest).
std::vector<float> ConvWeight(int64_t hin, int64_t hout, int64_t sub, int64_t fin, int64_t fout,
                              std::mt19937* rng, int64_t* n, int64_t* k) {
  *n = hout * fout;
  *k = 3 * hin * fin;
  std::vector<float> filt = Random(static_cast<size_t>(fout * 9 * fin), rng);
  std::vector<float> w(static_cast<size_t>(*n * *k), 0.0f);
  for (int64_t h = 0; h < hout; ++h)
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t dh = -1; dh <= 1; ++dh) {
        int64_t hi = h * sub + dh;
        if (hi < 0 || hi >= hin) continue;
        for (int64_t fo = 0; fo < fout; ++fo)
          for (int64_t fi = 0; fi < fin; ++fi)
            w[(h * fout + fo) * *k + t * hin * fin + hi * fin + fi] =
                filt[(fo * 9 + t * 3 + (dh + 1)) * fin + fi];
      }
  return w;
}

void ExpectMatchesDense(int64_t n, int64_t k, const std::vector<float>& w, bool with_bias,
                        bool relu, std::mt19937* rng) {
  std::vector<float> bias = Random(static_cast<size_t>(n), rng);
  auto layer =
      BlockSparseLinearF32::TryCreate(n, k, w.data(), with_bias ? bias.data() : nullptr, relu);
  ASSERT_NE(layer, nullptr);
  for (int64_t m : {1, 7, 64}) {
    const int64_t ldx = k + 5, ldy = n + 3;
    std::vector<float> x = Random(static_cast<size_t>(m * ldx), rng);
    std::vector<float> y(static_cast<size_t>(m * ldy), 12345.0f);
    layer->Run(m, x.data(), ldx, y.data(), ldy);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double s = with_bias ? bias[j] : 0.0;
        double mag = std::abs(s);
        for (int64_t p = 0; p < k; ++p) {
          s += double(w[j * k + p]) * x[i * ldx + p];
          mag += std::abs(double(w[j * k + p]) * x[i * ldx + p]);
        }
        if (relu) s = std::max(s, 0.0);
        ASSERT_NEAR(y[i * ldy + j], s, 1e-5 * (mag + 1)) << "m=" << m << " i=" << i << " j=" << j;
      }
      // Padding columns of y are untouched.
      for (int64_t j = n; j < ldy; ++j) ASSERT_EQ(y[i * ldy + j], 12345.0f);
    }
  }
}

TEST(BlockSparseLinearF32, ConvolutionShapesMatchDenseProduct) {
  std::mt19937 rng(5);
  struct Shape {
    int64_t hin, hout, sub, fin, fout;
  };
  for (Shape s : {Shape{40, 40, 1, 1, 16}, Shape{40, 20, 2, 16, 24}, Shape{12, 6, 2, 3, 5}}) {
    int64_t n, k;
    std::vector<float> w = ConvWeight(s.hin, s.hout, s.sub, s.fin, s.fout, &rng, &n, &k);
    auto layer = BlockSparseLinearF32::TryCreate(n, k, w.data(), nullptr, false);
    ASSERT_NE(layer, nullptr) << s.hin << "x" << s.fin;
    // Interior heights share one span pattern per output height: one group per height.
    EXPECT_EQ(layer->NumGroups(), s.hout);
    EXPECT_LT(layer->Density(), 0.25);
    ExpectMatchesDense(n, k, w, true, true, &rng);
    ExpectMatchesDense(n, k, w, false, false, &rng);
  }
}

TEST(BlockSparseLinearF32, IrregularSparsityAndAllZeroRows) {
  std::mt19937 rng(6);
  const int64_t n = 30, k = 200;
  std::vector<float> w(n * k, 0.0f);
  std::uniform_int_distribution<int> col(0, k - 1);
  for (int64_t r = 0; r < n; ++r) {
    if (r % 7 == 3) continue;  // an all-zero row
    for (int e = 0; e < 10; ++e) w[r * k + col(rng)] = 1.0f + 0.1f * e;
    // A run with a short zero gap inside (kept in the span) and a long one (split).
    w[r * k + 50] = 2.0f;
    w[r * k + 52] = -2.0f;
    w[r * k + 120] = 0.5f;
  }
  ExpectMatchesDense(n, k, w, true, false, &rng);
  ExpectMatchesDense(n, k, w, false, true, &rng);
}

TEST(BlockSparseLinearF32, DenseWeightsAreRefused) {
  std::mt19937 rng(7);
  std::vector<float> w = Random(64 * 96, &rng);
  EXPECT_EQ(BlockSparseLinearF32::TryCreate(64, 96, w.data(), nullptr, false), nullptr);
  // Sparse rows but too much of the matrix overall is also dense enough to refuse.
  std::vector<float> half(64 * 96, 0.0f);
  for (int64_t r = 0; r < 64; ++r)
    for (int64_t c = 0; c < 40; ++c) half[r * 96 + c] = 1.0f;
  EXPECT_EQ(BlockSparseLinearF32::TryCreate(64, 96, half.data(), nullptr, false), nullptr);
  EXPECT_EQ(BlockSparseLinearF32::TryCreate(0, 96, half.data(), nullptr, false), nullptr);
}

}  // namespace
}  // namespace kaldiq::kernels
