#include "score/significance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "util/error.h"

namespace kaldiq::score {
namespace {

std::vector<PairedUtt> Identical(int n) {
  std::vector<PairedUtt> v;
  for (int i = 0; i < n; ++i) v.push_back({i % 3, i % 3, 10});
  return v;
}

TEST(MatchedPairs, IdenticalSystemsGivePOneAndZeroDifference) {
  const auto r = MatchedPairsTest(Identical(50));
  EXPECT_EQ(r.num_segments, 50);
  EXPECT_EQ(r.wer_diff, 0.0);
  EXPECT_EQ(r.z, 0.0);
  EXPECT_EQ(r.p_value, 1.0);
  EXPECT_EQ(r.ci_low, 0.0);
  EXPECT_EQ(r.ci_high, 0.0);
}

TEST(MatchedPairs, HandComputedStatistic) {
  // d = e_B - e_A = {1, 1, 0, 2}: mean 1, sample sd sqrt(2/3), se = sqrt(2/3)/2,
  // Z = 1 / se = 2.449490; p = erfc(Z / sqrt 2) = 0.014306; 40 words -> diff 4 / 40 = 10 %.
  std::vector<PairedUtt> v = {{0, 1, 10}, {1, 2, 10}, {0, 0, 10}, {1, 3, 10}};
  const auto r = MatchedPairsTest(v);
  EXPECT_NEAR(r.wer_diff, 10.0, 1e-12);
  EXPECT_NEAR(r.z, 2.449490, 1e-6);
  EXPECT_NEAR(r.p_value, 0.014306, 1e-6);
  const double se = std::sqrt(2.0 / 3.0) / 2.0;
  EXPECT_NEAR(r.ci_low, (1 - 1.96 * se) * 10.0, 1e-9);  // 4 segments / 40 words * 100 = 10
  EXPECT_NEAR(r.ci_high, (1 + 1.96 * se) * 10.0, 1e-9);
}

TEST(MatchedPairs, ConstantNonZeroDifferenceIsCertain) {
  std::vector<PairedUtt> v(5, PairedUtt{0, 1, 4});
  const auto r = MatchedPairsTest(v);
  EXPECT_EQ(r.p_value, 0.0);
  EXPECT_TRUE(std::isinf(r.z) && r.z > 0);
  EXPECT_NEAR(r.wer_diff, 25.0, 1e-12);
}

TEST(MatchedPairs, BadInput) {
  EXPECT_THROW(MatchedPairsTest({}), Error);
  EXPECT_THROW(MatchedPairsTest({{-1, 0, 3}}), Error);
  EXPECT_EQ(MatchedPairsTest({{0, 2, 3}}).p_value, 1.0);  // one segment: no variance estimate
}

TEST(Bootstrap, IdenticalSystemsGivePOneAndZeroInterval) {
  const auto r = PairedBootstrap(Identical(40), 2000, 7);
  EXPECT_EQ(r.wer_diff, 0.0);
  EXPECT_EQ(r.p_value, 1.0);
  EXPECT_EQ(r.ci_low, 0.0);
  EXPECT_EQ(r.ci_high, 0.0);
  EXPECT_EQ(r.prob_b_better, 0.0);
}

TEST(Bootstrap, StrictlyBetterSystemOnManyUtterancesGivesSmallP) {
  // B is better by one error on 30 of 60 utterances and equal elsewhere.
  std::vector<PairedUtt> v;
  for (int i = 0; i < 60; ++i) v.push_back({2, i % 2 == 0 ? 1 : 2, 10});
  const auto r = PairedBootstrap(v, 5000, 1);
  EXPECT_NEAR(r.wer_diff, -5.0, 1e-12);
  EXPECT_LT(r.p_value, 0.001);
  EXPECT_LT(r.ci_high, 0.0);
  EXPECT_GT(r.ci_low, -10.0);
  EXPECT_EQ(r.prob_b_better, 1.0);
  const auto mp = MatchedPairsTest(v);
  EXPECT_LT(mp.p_value, 1e-6);
  EXPECT_LT(mp.ci_high, 0.0);
}

TEST(Bootstrap, NoisyEqualSystemsAreNotSignificant) {
  // B wins on half the utterances and loses by the same amount on the other half.
  std::vector<PairedUtt> v;
  for (int i = 0; i < 60; ++i) v.push_back({1, i % 2 == 0 ? 0 : 2, 8});
  const auto r = PairedBootstrap(v, 4000, 3);
  EXPECT_EQ(r.wer_diff, 0.0);
  EXPECT_GT(r.p_value, 0.5);
  EXPECT_LT(r.ci_low, 0.0);
  EXPECT_GT(r.ci_high, 0.0);
  EXPECT_GT(MatchedPairsTest(v).p_value, 0.99);
}

TEST(Bootstrap, DeterministicGivenSeed) {
  std::vector<PairedUtt> v;
  for (int i = 0; i < 30; ++i) v.push_back({i % 4, (i * 7) % 5, 6 + i % 3});
  const auto a = PairedBootstrap(v, 1000, 42);
  const auto b = PairedBootstrap(v, 1000, 42);
  EXPECT_EQ(a.ci_low, b.ci_low);
  EXPECT_EQ(a.ci_high, b.ci_high);
  EXPECT_EQ(a.p_value, b.p_value);
  const auto c = PairedBootstrap(v, 1000, 43);
  EXPECT_TRUE(a.ci_low != c.ci_low || a.ci_high != c.ci_high || a.p_value != c.p_value);
  EXPECT_THROW(PairedBootstrap(v, 0, 1), Error);
}

TEST(FormatSignificance, Lines) {
  std::vector<PairedUtt> v(4, PairedUtt{1, 1, 5});
  const std::string s =
      FormatSignificance("fp32", "int8", v, MatchedPairsTest(v), PairedBootstrap(v, 10, 0));
  EXPECT_EQ(s,
            "Comparing A = fp32 and B = int8 on 4 utterances, 20 reference words\n"
            "%WER A 20.00, B 20.00, B - A = +0.00\n"
            "Matched pairs (MAPSSWE, utterance segments): Z = 0.00, p = 1.0000, 95% CI of B - A "
            "[ +0.00, +0.00 ]\n"
            "Paired bootstrap (10 replications, seed 0): p = 1.0000, 95% CI of B - A "
            "[ +0.00, +0.00 ], P(B better) = 0.00%\n");
}

}  // namespace
}  // namespace kaldiq::score
