// Every int8 backend of the table that runs on this CPU, forced by name, is bit-exact with an
// int64 oracle written from the definition in gemm_s8.h: raw accumulators and every epilogue,
// on odd shapes (k not a multiple of 2/4/32, m = 1, n not a multiple of the 8-column panels or
// the register tiles, K longer than one block of the AVX2 kernels), extreme values (weights −128 /
// ±127 / ±64, inputs 0 / 255) and zero points. The AVX2 kernels are forced even on a VNNI CPU
// (where "auto" would pick oneDNN), so this covers them on any machine with AVX2.
#include "kernels/gemm_s8.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "util/error.h"

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

std::vector<Int8BackendInfo> AvailableBackends() {
  std::vector<Int8BackendInfo> out;
  for (const Int8BackendInfo& b : Int8Backends())
    if (b.available) out.push_back(b);
  return out;
}

// Runs every output kind of backend `b` and compares it with the oracle.
void ExpectExact(const Int8BackendInfo& b, const Case& c, const std::vector<int8_t>& w,
                 const std::vector<uint8_t>& x, int64_t ldx, int32_t zx, int32_t zw,
                 std::mt19937* rng) {
  SCOPED_TRACE(b.name + " m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) +
               " k=" + std::to_string(c.k) + " zx=" + std::to_string(zx) +
               " zw=" + std::to_string(zw));
  std::vector<int32_t> bias(static_cast<size_t>(c.n));
  std::vector<float> scale(static_cast<size_t>(c.n));
  for (int64_t j = 0; j < c.n; ++j) {
    bias[j] = static_cast<int32_t>((*rng)() % 20001) - 10000;
    scale[j] = 1e-4f * (1.0f + static_cast<float>(j % 7));
  }
  Int8Gemm g(c.n, c.k, w.data(), c.k, zw, b.name);
  ASSERT_EQ(g.Backend(), b.name);
  const std::vector<int64_t> expect = Oracle(c, x.data(), ldx, zx, w.data(), zw, bias);

  Requant rq;
  rq.bias = bias.data();
  rq.scale = scale.data();
  rq.output = Requant::Output::kS32;
  std::vector<int32_t> acc(static_cast<size_t>(c.m * c.n));
  g.Compute(c.m, x.data(), ldx, zx, rq, acc.data(), c.n);
  for (size_t i = 0; i < acc.size(); ++i) ASSERT_EQ(acc[i], expect[i]) << "s32, element " << i;

  rq.output = Requant::Output::kF32;
  rq.relu = true;
  std::vector<float> f(acc.size());
  g.Compute(c.m, x.data(), ldx, zx, rq, f.data(), c.n);
  for (size_t i = 0; i < f.size(); ++i)
    ASSERT_EQ(f[i], std::max(static_cast<float>(expect[i]) * scale[i % c.n], 0.0f)) << i;

  // u8 with a zero point and ReLU as the clamp's lower bound.
  rq.output = Requant::Output::kU8;
  rq.out_zero_point = 20;
  rq.lo = 20;
  std::vector<uint8_t> u(acc.size());
  g.Compute(c.m, x.data(), ldx, zx, rq, u.data(), c.n);
  for (size_t i = 0; i < u.size(); ++i) {
    float v = std::nearbyint(static_cast<float>(expect[i]) * scale[i % c.n]) + 20.0f;
    v = std::min(std::max(v, 20.0f), 255.0f);
    ASSERT_EQ(u[i], static_cast<uint8_t>(v)) << "u8, element " << i;
  }

  // s8 with an output row stride larger than n.
  rq.output = Requant::Output::kS8;
  rq.out_zero_point = -3;
  rq.lo = INT32_MIN;
  std::vector<int8_t> s(static_cast<size_t>(c.m * (c.n + 2)), 77);
  g.Compute(c.m, x.data(), ldx, zx, rq, s.data(), c.n + 2);
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      float v = std::nearbyint(static_cast<float>(expect[i * c.n + j]) * scale[j]) - 3.0f;
      v = std::min(std::max(v, -128.0f), 127.0f);
      ASSERT_EQ(s[i * (c.n + 2) + j], static_cast<int8_t>(v)) << i << "," << j;
    }
}

class Int8BackendTest : public ::testing::TestWithParam<Case> {};

TEST_P(Int8BackendTest, EveryAvailableBackendIsExact) {
  const Case c = GetParam();
  std::mt19937 rng(1234 + c.m * 7 + c.n * 13 + c.k);
  const int64_t ldx = c.k + 5;
  const std::vector<uint8_t> x = RandomActs(c.m, ldx, &rng);
  for (const Int8BackendInfo& b : AvailableBackends()) {
    // Weights spanning the whole range the backend is exact for (−128 too when it is).
    const int hi = std::min<int>(b.max_abs_weight, 127);
    const int lo = b.max_abs_weight >= 128 ? -128 : -hi;
    const std::vector<int8_t> w = RandomWeights(c.n, c.k, lo, hi, &rng);
    for (int32_t zw : {0, 3})
      for (int32_t zx : {0, 117}) ExpectExact(b, c, w, x, ldx, zx, zw, &rng);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Int8BackendTest,
    ::testing::Values(Case{1, 1, 1}, Case{1, 9, 3}, Case{3, 5, 7}, Case{5, 8, 4},
                      Case{4, 24, 32}, Case{6, 25, 33}, Case{17, 33, 65}, Case{2, 17, 2},
                      Case{130, 40, 120}, Case{50, 256, 256}, Case{7, 49, 1027},
                      Case{300, 64, 768}, Case{9, 20, 2050},
                      // more than one K block of the AVX2 kernels (4096 groups of 2 or 4)
                      Case{3, 9, 8195}, Case{2, 17, 16390}),
    [](const ::testing::TestParamInfo<Case>& info) {
      return "m" + std::to_string(info.param.m) + "_n" + std::to_string(info.param.n) + "_k" +
             std::to_string(info.param.k);
    });

// The worst cases for every pair sum: x all 255 (or 0) against weights at the backend's limits.
TEST(Int8Backends, ExtremeValuesAreExact) {
  for (const Int8BackendInfo& b : AvailableBackends()) {
    const int hi = std::min<int>(b.max_abs_weight, 127);
    const int lo = b.max_abs_weight >= 128 ? -128 : -hi;
    for (int64_t k : {1, 3, 4, 31, 64, 517}) {
      const Case c{5, 19, k};
      std::vector<int8_t> w(static_cast<size_t>(c.n * c.k));
      for (int64_t j = 0; j < c.n; ++j)
        for (int64_t p = 0; p < c.k; ++p)
          w[j * c.k + p] = static_cast<int8_t>(j % 3 == 0 ? hi : (j % 3 == 1 ? lo : (p % 2 ? hi : lo)));
      std::vector<uint8_t> x(static_cast<size_t>(c.m * c.k));
      for (int64_t i = 0; i < c.m; ++i)
        for (int64_t p = 0; p < c.k; ++p)
          x[i * c.k + p] = static_cast<uint8_t>(i == 1 ? 0 : (i == 2 && p % 2 ? 0 : 255));
      std::mt19937 rng(static_cast<unsigned>(k));
      for (int32_t zx : {0, 255}) ExpectExact(b, c, w, x, c.k, zx, 0, &rng);
    }
  }
}

TEST(Int8Backends, TableHasTheReferenceAndChoosesExactBackends) {
  const std::vector<Int8BackendInfo> all = Int8Backends();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0].name, "reference");
  EXPECT_TRUE(all[0].available);
  for (const Int8BackendInfo& b : all) {
    EXPECT_FALSE(b.signed_input) << b.name;
    if (b.name == "avx2-w7" || b.name == "avx2-w8") {
      EXPECT_EQ(b.available, CpuHasAvx2());
    }
    if (b.name == "onednn" && b.available) {
      EXPECT_EQ(b.max_abs_weight, CpuHasVnni() ? 128 : 64) << Int8IsaName();
    }
  }
  for (int32_t max_abs : {1, 63, 64, 65, 127, 128}) {
    const std::string chosen = ChooseInt8Backend(max_abs);
    bool found = false;
    for (const Int8BackendInfo& b : all) {
      if (b.name != chosen) continue;
      found = true;
      EXPECT_TRUE(b.available);
      EXPECT_GE(b.max_abs_weight, max_abs) << chosen;
      // Nothing exact and available is preferred over it.
      for (const Int8BackendInfo& o : all)
        if (o.available && o.max_abs_weight >= max_abs) {
          EXPECT_LE(b.preference, o.preference) << chosen << " vs " << o.name;
        }
    }
    EXPECT_TRUE(found) << chosen;
  }
  // Never the scalar reference for a real run when an AVX2 kernel exists.
  if (CpuHasAvx2()) {
    EXPECT_NE(ChooseInt8Backend(64), "reference");
    EXPECT_NE(ChooseInt8Backend(128), "reference");
  }
}

TEST(Int8Backends, ForcedBackendMustBeKnownAvailableAndExact) {
  EXPECT_THROW(ChooseInt8Backend(10, "no-such-kernel"), Error);
  EXPECT_EQ(ChooseInt8Backend(128, "reference"), "reference");
  for (const Int8BackendInfo& b : Int8Backends()) {
    if (!b.available) {
      EXPECT_THROW(ChooseInt8Backend(1, b.name), Error) << b.name;
      continue;
    }
    EXPECT_EQ(ChooseInt8Backend(b.max_abs_weight, b.name), b.name);
    if (b.max_abs_weight < 128) {
      // Weights the backend would compute wrongly are refused, not run.
      EXPECT_THROW(ChooseInt8Backend(b.max_abs_weight + 1, b.name), Error) << b.name;
      std::vector<int8_t> w(8, 0);
      w[5] = static_cast<int8_t>(-(b.max_abs_weight + 1));
      EXPECT_THROW(Int8Gemm(2, 4, w.data(), 4, 0, b.name), Error) << b.name;
    }
  }
}

TEST(Int8Gemm, RejectsBadShapes) {
  int8_t w[4] = {};
  EXPECT_ANY_THROW(Int8Gemm(0, 4, w, 4, 0));
  EXPECT_ANY_THROW(Int8Gemm(1, 4, w, 2, 0));
}

}  // namespace
}  // namespace kaldiq::kernels
