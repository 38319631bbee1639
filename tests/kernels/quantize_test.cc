// The one quantize function (kernels/qgrid.h) against an oracle written from its definition
// (float product x · inv_scale, std::nearbyint's ties-to-even, + zero point, clamp), and the row
// kernels (every ISA clone the CPU picks) against QuantizeOne, bit for bit, on random data with
// exact ties, near-ties, values far outside the grid, infinities and NaN.
#include "kernels/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/qgrid.h"

namespace kaldiq::kernels {
namespace {

int32_t Oracle(float x, const QGrid& g) {
  if (std::isnan(x)) return g.zero_point;
  const float v = x * g.inv_scale;  // the float product, as the definition says
  double q = std::nearbyint(static_cast<double>(v)) + g.zero_point;
  q = std::min<double>(std::max<double>(q, g.qmin), g.qmax);
  return static_cast<int32_t>(q);
}

// Random values plus, for every grid step in range, the exact tie (k + 0.5)·scale and its float
// neighbours (near-ties), and special values.
std::vector<float> TestValues(const QGrid& g, std::mt19937* rng) {
  std::vector<float> v;
  std::uniform_real_distribution<float> u(-1.2f, 1.2f);
  const float span = static_cast<float>(g.qmax - g.qmin) * g.scale;
  for (int i = 0; i < 4000; ++i) v.push_back(u(*rng) * span);
  for (int32_t q = g.qmin - g.zero_point - 3; q <= g.qmax - g.zero_point + 3; ++q) {
    // A float x with x · inv_scale == q + 0.5 exactly, searched among the neighbours of
    // (q + 0.5) · scale (there is not always one).
    const float want = static_cast<float>(q) + 0.5f;
    float tie = want * g.scale;
    for (int step = 0; step < 32 && tie * g.inv_scale != want; ++step)
      tie = std::nextafter(tie, tie * g.inv_scale < want ? 1e30f : -1e30f);
    v.push_back(tie);
    v.push_back(std::nextafter(tie, 1e30f));
    v.push_back(std::nextafter(tie, -1e30f));
    v.push_back(static_cast<float>(q) * g.scale);
  }
  for (float s : {0.0f, -0.0f, 1e30f, -1e30f, std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min()})
    v.push_back(s);
  return v;
}

std::vector<QGrid> TestGrids() {
  return {QGrid::Make(0.25f, 0, 0, 255),          // ties are exact in float
          QGrid::Make(0.0304f, 16, 0, 255),        // a calibrated u8 grid
          QGrid::Make(0.013f, 128, 0, 255),
          QGrid::Make(1.0f / 127.0f, 0, -127, 127),  // symmetric narrow s8 (weights)
          QGrid::Make(0.7f, -3, -64, 63),            // 7-bit
          QGrid::Make(3.1e-5f, 255, 0, 255)};
}

TEST(QGrid, MakeStoresTheFloatInverse) {
  QGrid g = QGrid::Make(0.0304f, 16, 0, 255);
  EXPECT_EQ(g.inv_scale, 1.0f / 0.0304f);
  g.SetScale(0.5f);
  EXPECT_EQ(g.inv_scale, 2.0f);
}

TEST(QGrid, QuantizeOneFollowsTheDefinition) {
  std::mt19937 rng(5);
  for (const QGrid& g : TestGrids()) {
    int ties_seen = 0;
    for (float x : TestValues(g, &rng)) {
      ASSERT_EQ(QuantizeOne(x, g), Oracle(x, g)) << "x=" << x << " scale=" << g.scale;
      float v = x * g.inv_scale;
      ties_seen += v - std::floor(v) == 0.5f;
      ASSERT_EQ(FakeQuantizeOne(x, g),
                static_cast<float>(Oracle(x, g) - g.zero_point) * g.scale);
    }
    EXPECT_GT(ties_seen, 10) << "scale " << g.scale;  // the ties really are ties
  }
  // Ties go to even: 0.5 → 0, 1.5 → 2, 2.5 → 2 (scale 0.25: x = 0.125, 0.375, 0.625).
  const QGrid g = QGrid::Make(0.25f, 10, 0, 255);
  EXPECT_EQ(QuantizeOne(0.125f, g), 10);
  EXPECT_EQ(QuantizeOne(0.375f, g), 12);
  EXPECT_EQ(QuantizeOne(0.625f, g), 12);
  EXPECT_EQ(QuantizeOne(-0.125f, g), 10);
}

TEST(QuantizeRows, RowKernelsEqualQuantizeOneBitForBit) {
  std::mt19937 rng(11);
  for (const QGrid& g : TestGrids()) {
    std::vector<float> v = TestValues(g, &rng);
    v.erase(std::remove_if(v.begin(), v.end(), [](float x) { return std::isnan(x); }), v.end());
    const int64_t cols = 37, rows = static_cast<int64_t>(v.size()) / cols, ldx = cols + 3;
    std::vector<float> x(static_cast<size_t>(rows * ldx), 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) x[r * ldx + c] = v[r * cols + c];
    const int32_t shift = g.qmin < 0 ? 128 : 0;
    std::vector<uint8_t> q(static_cast<size_t>(rows * (cols + 1)));
    QuantizeRowsU8(x.data(), rows, cols, ldx, g, shift, q.data(), cols + 1);
    std::vector<float> f(static_cast<size_t>(rows * cols));
    FakeQuantizeRows(x.data(), rows, cols, ldx, g, f.data(), cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const float xv = x[r * ldx + c];
        ASSERT_EQ(int32_t(q[r * (cols + 1) + c]), QuantizeOne(xv, g) + shift) << xv;
        ASSERT_EQ(f[r * cols + c], FakeQuantizeOne(xv, g)) << xv;
      }
  }
}

TEST(QuantizeRows, NaNMapsToTheZeroPoint) {
  const QGrid g = QGrid::Make(0.1f, 7, 0, 255);
  float x[3] = {std::numeric_limits<float>::quiet_NaN(), 1.0f, -1e9f};
  uint8_t q[3];
  QuantizeRowsU8(x, 1, 3, 3, g, 0, q, 3);
  EXPECT_EQ(q[0], 7);
  EXPECT_EQ(q[1], 17);
  EXPECT_EQ(q[2], 0);
}

}  // namespace
}  // namespace kaldiq::kernels
