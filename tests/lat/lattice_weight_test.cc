// Semiring properties of Kaldi's lattice weights, their Kaldi tie-breaking, and I/O forms.
#include "lat/lattice_weight.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "util/error.h"

namespace kaldiq::lat {
namespace {

std::vector<LatticeWeight> SomeWeights() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-5.0F, 20.0F);
  std::vector<LatticeWeight> w = {LatticeWeight::One(), LatticeWeight::Zero(),
                                  LatticeWeight(1, 2), LatticeWeight(2, 1),  // same total
                                  LatticeWeight(0.5F, -3.0F)};
  for (int i = 0; i < 12; ++i) w.emplace_back(std::round(u(rng) * 4) / 4, std::round(u(rng) * 4) / 4);
  return w;
}

std::vector<CompactLatticeWeight> SomeCompactWeights() {
  std::vector<CompactLatticeWeight> out = {CompactLatticeWeight::One(), CompactLatticeWeight::Zero()};
  int i = 0;
  for (const LatticeWeight& w : SomeWeights()) {
    if (w == LatticeWeight::Zero()) continue;
    std::vector<int32_t> s;
    for (int k = 0; k < i % 4; ++k) s.push_back(1 + (i * 7 + k) % 5);
    out.emplace_back(w, s);
    ++i;
  }
  return out;
}

TEST(LatticeWeight, TypesAndIdentities) {
  EXPECT_EQ(LatticeWeight::Type(), "lattice4");
  EXPECT_EQ(CompactLatticeWeight::Type(), "compactlattice44");
  EXPECT_EQ(LatticeArc::Type(), "lattice4");
  EXPECT_EQ(CompactLatticeArc::Type(), "compactlattice44");
  for (const LatticeWeight& a : SomeWeights()) {
    EXPECT_EQ(Times(a, LatticeWeight::One()), a);
    EXPECT_EQ(Times(LatticeWeight::One(), a), a);
    EXPECT_EQ(Plus(a, LatticeWeight::Zero()), a);
    EXPECT_EQ(Plus(LatticeWeight::Zero(), a), a);
    EXPECT_EQ(Times(a, LatticeWeight::Zero()), LatticeWeight::Zero());
    EXPECT_EQ(Plus(a, a), a);  // idempotent
    EXPECT_TRUE(a.Member());
  }
  EXPECT_FALSE(LatticeWeight(std::numeric_limits<float>::infinity(), 1).Member());
  EXPECT_FALSE(LatticeWeight::NoWeight().Member());
}

TEST(LatticeWeight, PlusIsKaldiMinWithGraphTieBreak) {
  // Lower total wins; equal totals: the lower graph cost wins, whatever the argument order.
  EXPECT_EQ(Plus(LatticeWeight(3, 4), LatticeWeight(1, 5)), LatticeWeight(1, 5));
  EXPECT_EQ(Plus(LatticeWeight(1, 2), LatticeWeight(2, 1)), LatticeWeight(1, 2));
  EXPECT_EQ(Plus(LatticeWeight(2, 1), LatticeWeight(1, 2)), LatticeWeight(1, 2));
  EXPECT_EQ(Compare(LatticeWeight(1, 2), LatticeWeight(2, 1)), 1);
  EXPECT_EQ(Compare(LatticeWeight(2, 1), LatticeWeight(1, 2)), -1);
  EXPECT_EQ(Compare(LatticeWeight(2, 1), LatticeWeight(2, 1)), 0);
  EXPECT_EQ(Times(LatticeWeight(1, 2), LatticeWeight(10, 20)), LatticeWeight(11, 22));
}

TEST(LatticeWeight, SemiringAxioms) {
  const auto ws = SomeWeights();
  for (const auto& a : ws)
    for (const auto& b : ws) {
      EXPECT_EQ(Plus(a, b), Plus(b, a));
      EXPECT_EQ(Times(a, b), Times(b, a));
      for (const auto& c : ws) {
        EXPECT_EQ(Plus(Plus(a, b), c), Plus(a, Plus(b, c)));
        EXPECT_EQ(Times(Times(a, b), c), Times(a, Times(b, c)));  // exact: quarter-integers
        EXPECT_EQ(Times(a, Plus(b, c)), Plus(Times(a, b), Times(a, c)));
      }
    }
}

TEST(LatticeWeight, NaturalLessAndDivide) {
  fst::NaturalLess<LatticeWeight> less;
  const auto ws = SomeWeights();
  for (const auto& a : ws)
    for (const auto& b : ws) {
      EXPECT_EQ(less(a, b), Compare(a, b) == 1) << a << " vs " << b;
      if (b != LatticeWeight::Zero()) {
        const LatticeWeight q = Divide(Times(a, b), b);
        if (a == LatticeWeight::Zero()) {
          EXPECT_EQ(q, LatticeWeight::Zero());
        } else {
          EXPECT_TRUE(ApproxEqual(q, a, 1e-4F)) << a << " " << b << " " << q;
        }
      }
    }
  EXPECT_EQ(Divide(LatticeWeight(1, 1), LatticeWeight::Zero()), LatticeWeight::Zero());
  EXPECT_EQ(Divide(LatticeWeight::Zero(), LatticeWeight::Zero()), LatticeWeight::Zero());
}

TEST(LatticeWeight, QuantizeAndText) {
  EXPECT_EQ(LatticeWeight(1.0003F, 2.4998F).Quantize(0.5F), LatticeWeight(1.0F, 2.5F));
  EXPECT_EQ(LatticeWeight::Zero().Quantize(), LatticeWeight::Zero());
  std::ostringstream os;
  os << LatticeWeight(1.5F, -2.25F) << ' ' << LatticeWeight::Zero();
  EXPECT_EQ(os.str(), "1.5,-2.25 Infinity,Infinity");
  std::istringstream is("3.5,-1 Infinity,Infinity garbage");
  LatticeWeight a, b, c;
  is >> a >> b;
  EXPECT_EQ(a, LatticeWeight(3.5F, -1.0F));
  EXPECT_EQ(b, LatticeWeight::Zero());
  is >> c;
  EXPECT_TRUE(is.fail());
}

TEST(CompactLatticeWeight, CompareTieBreaksOnStringLengthThenLexicographic) {
  const LatticeWeight w(1, 2);
  const CompactLatticeWeight shorter(w, {5}), longer(w, {1, 2}), lo(w, {1, 3}), hi(w, {2, 1});
  EXPECT_EQ(Compare(shorter, longer), 1);  // shorter string wins on equal cost
  EXPECT_EQ(Plus(longer, shorter), shorter);
  EXPECT_EQ(Compare(lo, hi), -1);  // Kaldi: lexicographically smaller compares as worse
  EXPECT_EQ(Plus(lo, hi), hi);
  EXPECT_EQ(Plus(hi, lo), hi);
  EXPECT_EQ(Compare(CompactLatticeWeight(LatticeWeight(0, 0), {1, 2, 3}), shorter), 1);
}

TEST(CompactLatticeWeight, SemiringAxiomsAndDivide) {
  const auto ws = SomeCompactWeights();
  for (const auto& a : ws) {
    EXPECT_EQ(Times(a, CompactLatticeWeight::One()), a);
    EXPECT_EQ(Times(CompactLatticeWeight::One(), a), a);
    EXPECT_EQ(Plus(a, CompactLatticeWeight::Zero()), a);
    EXPECT_EQ(Times(a, CompactLatticeWeight::Zero()), CompactLatticeWeight::Zero());
    EXPECT_TRUE(Times(a, CompactLatticeWeight::Zero()).Member());
    for (const auto& b : ws) {
      EXPECT_EQ(Plus(a, b), Plus(b, a));
      for (const auto& c : ws) {
        EXPECT_EQ(Plus(Plus(a, b), c), Plus(a, Plus(b, c)));
        EXPECT_EQ(Times(Times(a, b), c), Times(a, Times(b, c)));
      }
      if (a == CompactLatticeWeight::Zero() || b == CompactLatticeWeight::Zero()) continue;
      const CompactLatticeWeight ab = Times(a, b);
      const CompactLatticeWeight left = Divide(ab, a, fst::DIVIDE_LEFT);
      EXPECT_EQ(left.String(), b.String());
      EXPECT_TRUE(ApproxEqual(left.Weight(), b.Weight(), 1e-4F));
      const CompactLatticeWeight right = Divide(ab, b, fst::DIVIDE_RIGHT);
      EXPECT_EQ(right.String(), a.String());
    }
  }
  const CompactLatticeWeight x(LatticeWeight(1, 1), {1, 2}), y(LatticeWeight(0, 0), {2});
  EXPECT_THROW(Divide(x, y, fst::DIVIDE_LEFT), Error);  // {2} is not a prefix of {1,2}
  EXPECT_THROW(Divide(x, CompactLatticeWeight::Zero(), fst::DIVIDE_LEFT), Error);
  EXPECT_THROW(Divide(x, y, fst::DIVIDE_ANY), Error);
  EXPECT_EQ(Divide(x, y, fst::DIVIDE_RIGHT).String(), std::vector<int32_t>({1}));
  EXPECT_EQ(Divide(CompactLatticeWeight::Zero(), x, fst::DIVIDE_LEFT), CompactLatticeWeight::Zero());
  EXPECT_EQ(x.Reverse().String(), std::vector<int32_t>({2, 1}));
}

TEST(CompactLatticeWeight, TextAndBinaryForms) {
  const CompactLatticeWeight w(LatticeWeight(41.1204F, -92.2592F), {2, 1, 356});
  std::ostringstream os;
  os << w << ' ' << CompactLatticeWeight(LatticeWeight(1, 2), {});
  EXPECT_EQ(os.str(), "41.1204,-92.2592,2_1_356 1,2,");
  std::istringstream is(os.str());
  CompactLatticeWeight r1, r2;
  is >> r1 >> r2;
  ASSERT_FALSE(is.fail());
  EXPECT_EQ(r1.String(), w.String());
  EXPECT_TRUE(ApproxEqual(r1.Weight(), w.Weight(), 1e-3F));
  EXPECT_EQ(r2, CompactLatticeWeight(LatticeWeight(1, 2), {}));
  std::istringstream bad("1,2,3_x");
  bad >> r1;
  EXPECT_TRUE(bad.fail());

  std::ostringstream bin;
  w.Write(bin);
  EXPECT_EQ(bin.str().size(), 8u + 4u + 12u);
  std::istringstream bin_in(bin.str());
  CompactLatticeWeight back;
  back.Read(bin_in);
  EXPECT_EQ(back, w);
  std::istringstream truncated(bin.str().substr(0, 15));
  back.Read(truncated);
  EXPECT_TRUE(truncated.fail());
}

TEST(LatticeScale, MatrixAndZero) {
  const LatticeScaleMatrix s = {{2.0, 0.5}, {0.0, 0.1}};
  const LatticeWeight w = ScaleLatticeWeight(LatticeWeight(4, 10), s);
  EXPECT_FLOAT_EQ(w.Value1(), 2 * 4 + 0.5 * 10);
  EXPECT_FLOAT_EQ(w.Value2(), 0.1F * 10);
  EXPECT_EQ(ScaleLatticeWeight(LatticeWeight::Zero(), {{0, 0}, {0, 0}}), LatticeWeight::Zero());
}

}  // namespace
}  // namespace kaldiq::lat
