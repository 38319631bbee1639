// Every int8 path is bit-exact with the scalar reference: raw accumulators and each epilogue.
#include "kernels/gemm_s8.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace kaldiq::kernels {
namespace {

struct Case {
  int64_t m, n, k;
};

std::vector<int8_t> RandomWeights(int64_t n, int64_t k, int lo, int hi, std::mt19937* rng) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  for (auto& v : w) v = static_cast<int8_t>(d(*rng));
  return w;
}

std::vector<uint8_t> RandomActs(int64_t m, int64_t ld, std::mt19937* rng) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<uint8_t> x(static_cast<size_t>(m * ld));
  for (auto& v : x) v = static_cast<uint8_t>(d(*rng));
  return x;
}

// The oracle straight from the definition in gemm_s8.h, in int64.
std::vector<int64_t> Oracle(const Case& c, const uint8_t* x, int64_t ldx, int32_t zx,
                            const int8_t* w, int32_t zw, const std::vector<int32_t>& bias) {
  std::vector<int64_t> acc(static_cast<size_t>(c.m * c.n));
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      int64_t s = 0;
      for (int64_t p = 0; p < c.k; ++p)
        s += (int64_t(x[i * ldx + p]) - zx) * (int64_t(w[j * c.k + p]) - zw);
      acc[i * c.n + j] = s + bias[j];
    }
  return acc;
}

class Int8GemmTest : public ::testing::TestWithParam<Case> {};

TEST_P(Int8GemmTest, AllOutputsBitExactWithReference) {
  const Case c = GetParam();
  std::mt19937 rng(1234 + c.m * 7 + c.n * 13 + c.k);
  // Weights within the fast path's exact range on this CPU so both backends are exercised.
  const int wmax = std::max<int>(FastPathMaxAbsWeight(), 64);
  for (int32_t zw : {0, 3}) {
    auto w = RandomWeights(c.n, c.k, -std::min(wmax, 127), std::min(wmax, 127), &rng);
    const int64_t ldx = c.k + 5;
    auto x = RandomActs(c.m, ldx, &rng);
    const int32_t zx = 117;
    std::vector<int32_t> bias(static_cast<size_t>(c.n));
    std::vector<float> scale(static_cast<size_t>(c.n));
    for (int64_t j = 0; j < c.n; ++j) {
      bias[j] = static_cast<int32_t>(rng() % 20001) - 10000;
      scale[j] = 1e-4f * (1.0f + static_cast<float>(j % 7));
    }
    Int8Gemm ref(c.n, c.k, w.data(), c.k, zw, Int8Backend::kReference);
    Int8Gemm fast(c.n, c.k, w.data(), c.k, zw, Int8Backend::kAuto);
    EXPECT_FALSE(ref.UsesFastPath());
    auto expect = Oracle(c, x.data(), ldx, zx, w.data(), zw, bias);

    Requant rq;
    rq.bias = bias.data();
    rq.scale = scale.data();
    // s32
    rq.output = Requant::Output::kS32;
    std::vector<int32_t> a_ref(static_cast<size_t>(c.m * c.n)), a_fast(a_ref.size());
    ref.Compute(c.m, x.data(), ldx, zx, rq, a_ref.data(), c.n);
    fast.Compute(c.m, x.data(), ldx, zx, rq, a_fast.data(), c.n);
    for (size_t i = 0; i < a_ref.size(); ++i) {
      ASSERT_EQ(a_ref[i], expect[i]) << "reference, element " << i;
      ASSERT_EQ(a_fast[i], expect[i]) << "fast path, element " << i;
    }
    // f32 with ReLU
    rq.output = Requant::Output::kF32;
    rq.relu = true;
    std::vector<float> f_ref(a_ref.size()), f_fast(a_ref.size());
    ref.Compute(c.m, x.data(), ldx, zx, rq, f_ref.data(), c.n);
    fast.Compute(c.m, x.data(), ldx, zx, rq, f_fast.data(), c.n);
    for (size_t i = 0; i < f_ref.size(); ++i) {
      float want = std::max(static_cast<float>(expect[i]) * scale[i % c.n], 0.0f);
      ASSERT_EQ(f_ref[i], want) << i;
      ASSERT_EQ(f_fast[i], want) << i;
    }
    // u8 with zero point and ReLU as the clamp's lower bound
    rq.output = Requant::Output::kU8;
    rq.out_zero_point = 20;
    rq.lo = 20;
    std::vector<uint8_t> u_ref(a_ref.size()), u_fast(a_ref.size());
    ref.Compute(c.m, x.data(), ldx, zx, rq, u_ref.data(), c.n);
    fast.Compute(c.m, x.data(), ldx, zx, rq, u_fast.data(), c.n);
    int saturated = 0;
    for (size_t i = 0; i < u_ref.size(); ++i) {
      float v = std::nearbyint(static_cast<float>(expect[i]) * scale[i % c.n]) + 20.0f;
      v = std::min(std::max(v, 20.0f), 255.0f);
      saturated += v == 255.0f;
      ASSERT_EQ(u_ref[i], static_cast<uint8_t>(v)) << i;
      ASSERT_EQ(u_fast[i], u_ref[i]) << i;
    }
    EXPECT_LT(saturated, static_cast<int>(u_ref.size()));
    // s8, with an output row stride larger than n
    rq.output = Requant::Output::kS8;
    rq.out_zero_point = -3;
    rq.lo = INT32_MIN;
    std::vector<int8_t> s_ref(static_cast<size_t>(c.m * (c.n + 2))), s_fast(s_ref.size());
    ref.Compute(c.m, x.data(), ldx, zx, rq, s_ref.data(), c.n + 2);
    fast.Compute(c.m, x.data(), ldx, zx, rq, s_fast.data(), c.n + 2);
    EXPECT_EQ(s_ref, s_fast);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Int8GemmTest,
                         ::testing::Values(Case{1, 1, 1}, Case{3, 5, 7}, Case{17, 33, 65},
                                           Case{130, 40, 120}, Case{300, 64, 768},
                                           Case{50, 256, 256}));

TEST(Int8Gemm, FastPathChosenWhenExact) {
  std::mt19937 rng(7);
  auto w7 = RandomWeights(16, 32, -64, 64, &rng);
  auto w8 = RandomWeights(16, 32, -127, 127, &rng);
  w8[3] = 127;
  Int8Gemm g7(16, 32, w7.data(), 32, 0);
  Int8Gemm g8(16, 32, w8.data(), 32, 0);
  if (FastPathMaxAbsWeight() < 0) GTEST_SKIP() << "built without oneDNN";
  EXPECT_TRUE(g7.UsesFastPath()) << Int8IsaName();
  // Full 8-bit weights go to oneDNN only when it is exact (VNNI); otherwise the reference.
  EXPECT_EQ(g8.UsesFastPath(), CpuHasVnni()) << Int8IsaName();
}

TEST(Int8Gemm, RejectsBadShapes) {
  int8_t w[4] = {};
  EXPECT_ANY_THROW(Int8Gemm(0, 4, w, 4, 0));
  EXPECT_ANY_THROW(Int8Gemm(1, 4, w, 2, 0));
}

}  // namespace
}  // namespace kaldiq::kernels
