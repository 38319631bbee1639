// LF-MMI pieces against oracles written from the definitions: the numerator and the leaky-HMM
// denominator against brute-force path enumeration on tiny graphs, per-frame posterior sums,
// thread-count independence, the objective's derivative against finite differences, Kaldi's
// initial probabilities on the fixture den.fst, and the failure rules.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "kaldi/chain_example_merge.h"
#include "kaldi/fst_io.h"
#include "train/chain/chain_objective.h"
#include "train/chain/den_graph.h"
#include "train/chain/denominator.h"
#include "train/chain/numerator.h"
#include "util/error.h"

namespace kaldiq::train::chain {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

MatrixF RandomOutput(int64_t rows, int64_t cols, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  MatrixF y(rows, cols);
  for (int64_t i = 0; i < y.size(); ++i) y.data()[i] = dist(gen);
  return y;
}

// A 5-frame supervision acceptor with exactly two paths that share their first and last arcs
// (states numbered in time order):
//   0 -l1-> 1 -l2-> 2 -l1-> 4 -l3-> 5 -l2-> 6(final 0.5)
//             \-l3-> 3 -l4-/
kaldi::StdFst TwoPathFst() {
  kaldi::StdFst f;
  f.start = 0;
  f.AddState(kInf);
  f.AddArc({1, 1, 0.1f, 1});
  f.AddState(kInf);
  f.AddArc({2, 2, 0.2f, 2});
  f.AddArc({3, 3, 1.3f, 3});
  f.AddState(kInf);
  f.AddArc({1, 1, 0.4f, 4});
  f.AddState(kInf);
  f.AddArc({4, 4, 0.6f, 4});
  f.AddState(kInf);
  f.AddArc({3, 3, 0.7f, 5});
  f.AddState(kInf);
  f.AddArc({2, 2, 0.3f, 6});
  f.AddState(0.5f);
  f.properties = kaldi::ComputeFstProperties(f);
  return f;
}

// All paths of a time-ordered acceptor: (score, the (frame, pdf) of each arc).
void EnumeratePaths(const kaldi::StdFst& f, int32_t s, int32_t t, double score,
                    std::vector<std::pair<int32_t, int32_t>>* used, const std::function<float(int, int)>& y,
                    std::vector<std::pair<double, std::vector<std::pair<int32_t, int32_t>>>>* out) {
  if (f.IsFinal(s)) out->push_back({score - f.finals[s], *used});
  for (const kaldi::StdArc* a = f.ArcsBegin(s); a != f.ArcsEnd(s); ++a) {
    used->push_back({t, a->ilabel - 1});
    EnumeratePaths(f, a->nextstate, t + 1, score + y(t, a->ilabel - 1) - a->weight, used, y, out);
    used->pop_back();
  }
}

TEST(Numerator, EqualsBruteForceEnumeration) {
  const kaldi::StdFst fst = TwoPathFst();
  const int N = 3, F = 5, P = 4, seq = 1;
  const MatrixF y = RandomOutput(N * F, P, 7, 2.0f);
  std::vector<std::pair<double, std::vector<std::pair<int32_t, int32_t>>>> paths;
  std::vector<std::pair<int32_t, int32_t>> used;
  EnumeratePaths(fst, 0, 0, 0.0, &used, [&](int t, int q) { return y(t * N + seq, q); }, &paths);
  ASSERT_EQ(paths.size(), 2u);
  double max = -1e30, sum = 0;
  for (auto& p : paths) max = std::max(max, p.first);
  for (auto& p : paths) sum += std::exp(p.first - max);
  const double total = max + std::log(sum);
  MatrixF expected(N * F, P);
  for (auto& p : paths)
    for (auto [t, q] : p.second) expected(t * N + seq, q) += std::exp(p.first - total);

  const float weight = 0.75f;
  MatrixF deriv(N * F, P);
  const NumeratorResult r = ComputeNumerator(fst, seq, 1, N, y, weight, &deriv);
  EXPECT_NEAR(r.log_prob, total, 1e-6 * std::fabs(total));
  EXPECT_NEAR(r.backward_log_prob, r.log_prob, 1e-6 * std::fabs(total));
  for (int64_t row = 0; row < N * F; ++row) {
    double row_sum = 0;
    for (int q = 0; q < P; ++q) {
      EXPECT_NEAR(deriv(row, q), weight * expected(row, q), 1e-6) << row << "," << q;
      row_sum += deriv(row, q);
    }
    // Every frame of the supervised sequence carries the weight; other sequences nothing.
    EXPECT_NEAR(row_sum, row % N == seq ? weight : 0.0, 1e-6) << row;
  }
}

TEST(Numerator, OneConcatenatedFstEqualsOneFstPerSequence) {
  const int N = 2, F = 5, P = 4;
  const kaldi::StdFst a = TwoPathFst();
  kaldi::StdFst b = TwoPathFst();
  b.arcs[1].weight = 2.5f;  // make the sequences differ
  const kaldi::StdFst ab = kaldi::ConcatSupervisionFsts({&a, &b});
  const MatrixF y = RandomOutput(N * F, P, 11);
  MatrixF d1(N * F, P), d2(N * F, P);
  const double l1 = ComputeNumerator(a, 0, 1, N, y, 1.0f, &d1).log_prob +
                    ComputeNumerator(b, 1, 1, N, y, 1.0f, &d1).log_prob;
  const double l2 = ComputeNumerator(ab, 0, 2, N, y, 1.0f, &d2).log_prob;
  EXPECT_NEAR(l1, l2, 1e-9 * std::fabs(l1));
  for (int64_t i = 0; i < d1.size(); ++i) EXPECT_NEAR(d1.data()[i], d2.data()[i], 1e-6);
  // A wrong length is an error, not a crash.
  EXPECT_THROW(ComputeNumerator(ab, 0, 1, N, y, 1.0f, &d2), Error);
}

// A 3-state, 2-pdf denominator graph (with a self-loop, a cycle and two final states).
kaldi::StdFst TinyDenFst() {
  kaldi::StdFst f;
  f.start = 0;
  f.AddState(kInf);
  f.AddArc({1, 1, 0.7f, 0});
  f.AddArc({2, 2, 0.9f, 1});
  f.AddArc({1, 1, 2.0f, 2});
  f.AddState(1.2f);
  f.AddArc({2, 2, 0.3f, 1});
  f.AddArc({1, 1, 1.6f, 2});
  f.AddState(0.8f);
  f.AddArc({2, 2, 0.5f, 0});
  f.AddArc({1, 1, 1.1f, 2});
  return f;
}

// Brute force of the leaky HMM: at each of the F + 1 frame boundaries a path either stays or
// jumps to any state i with weight lambda init(i); then it takes an arc (p x(t, pdf)). Every
// state is final with probability 1. Returns log of the total and the posteriors per (t, q).
double BruteForceDenominator(const DenGraph& g, float lambda, const std::function<double(int, int)>& x,
                             int F, std::vector<std::vector<double>>* gamma) {
  struct Path {
    double w;
    std::vector<int> pdfs;
  };
  std::vector<Path> done;
  std::function<void(int, int, double, std::vector<int>&)> rec = [&](int t, int state, double w,
                                                                    std::vector<int>& pdfs) {
    std::vector<std::pair<int, double>> options{{state, w}};
    for (int i = 0; i < g.NumStates(); ++i) options.push_back({i, w * lambda * g.InitialProbs()[i]});
    for (auto [c, wc] : options) {
      if (t == F) {
        done.push_back({wc, pdfs});
        continue;
      }
      for (const DenTransition* tr = g.ForwardBegin(c); tr != g.ForwardEnd(c); ++tr) {
        pdfs.push_back(tr->pdf);
        rec(t + 1, tr->state, wc * tr->prob * x(t, tr->pdf), pdfs);
        pdfs.pop_back();
      }
    }
  };
  std::vector<int> pdfs;
  for (int s = 0; s < g.NumStates(); ++s) rec(0, s, g.InitialProbs()[s], pdfs);
  double total = 0;
  for (const Path& p : done) total += p.w;
  gamma->assign(F, std::vector<double>(g.NumPdfs(), 0.0));
  for (const Path& p : done)
    for (int t = 0; t < F; ++t) (*gamma)[t][p.pdfs[t]] += p.w / total;
  return std::log(total);
}

TEST(Denominator, EqualsBruteForceLeakyHmm) {
  const DenGraph g(TinyDenFst(), 2);
  const int N = 2, F = 3;
  for (float lambda : {0.1f, 0.4f}) {
    const MatrixF y = RandomOutput(N * F, 2, 3, 1.5f);
    MatrixF deriv(N * F, 2);
    const float w = 0.5f;
    const DenominatorResult r = ComputeDenominator(g, lambda, N, y, w, &deriv);
    EXPECT_TRUE(r.ok);
    double expected_total = 0;
    for (int n = 0; n < N; ++n) {
      std::vector<std::vector<double>> gamma;
      expected_total += BruteForceDenominator(
          g, lambda, [&](int t, int q) { return std::exp(static_cast<double>(y(t * N + n, q))); }, F,
          &gamma);
      for (int t = 0; t < F; ++t) {
        double sum = 0;
        for (int q = 0; q < 2; ++q) {
          EXPECT_NEAR(deriv(t * N + n, q), w * gamma[t][q], 2e-6) << lambda << " " << t << "," << q;
          sum += deriv(t * N + n, q);
        }
        EXPECT_NEAR(sum, w, 2e-6);  // posteriors sum to one on every frame
      }
    }
    EXPECT_NEAR(r.log_prob, expected_total, 2e-6 * std::fabs(expected_total) + 1e-6) << lambda;
  }
}

TEST(Denominator, ResultDoesNotDependOnThreadCount) {
  const DenGraph g(TinyDenFst(), 2);
  const int N = 37, F = 6;  // three slices of sequences
  const MatrixF y = RandomOutput(N * F, 2, 5);
  MatrixF d1(N * F, 2);
  const DenominatorResult r1 = ComputeDenominator(g, 0.1f, N, y, 1.0f, &d1, 1);
  for (int threads : {2, 3, 4, 16}) {
    MatrixF d(N * F, 2);
    const DenominatorResult r = ComputeDenominator(g, 0.1f, N, y, 1.0f, &d, threads);
    EXPECT_EQ(r.log_prob, r1.log_prob) << threads;
    for (int64_t i = 0; i < d.size(); ++i) ASSERT_EQ(d.data()[i], d1.data()[i]) << threads;
  }
}

TEST(Denominator, OutputsAreClampedAndNaNIsTreatedAsMinusThirty) {
  const DenGraph g(TinyDenFst(), 2);
  MatrixF y = RandomOutput(4, 2, 9);
  MatrixF z = y;
  y(1, 0) = 100.0f;
  z(1, 0) = 30.0f;
  y(2, 1) = std::numeric_limits<float>::quiet_NaN();
  z(2, 1) = -30.0f;
  const float a = ComputeDenominator(g, 0.1f, 1, y, 1.0f, nullptr).log_prob;
  const float b = ComputeDenominator(g, 0.1f, 1, z, 1.0f, nullptr).log_prob;
  EXPECT_EQ(a, b);
  EXPECT_TRUE(std::isfinite(a));
}

TEST(DenGraph, KaldisInitialProbsOnTheFixture) {
  const std::string path = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/den.fst";
  if (!std::ifstream(path).good()) GTEST_SKIP() << "../shared fixtures not found";
  const DenGraph g(kaldi::ReadFstFile(path), 968);
  EXPECT_EQ(g.NumStates(), 5796);
  EXPECT_EQ(g.NumTransitions(), 43430);
  EXPECT_EQ(g.NumPdfsUsed(), 966);
  const std::vector<float>& init = g.InitialProbs();
  double sum = 0;
  for (float p : init) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_NEAR(*std::max_element(init.begin(), init.end()), 0.0200, 5e-5);
  EXPECT_NEAR(*std::min_element(init.begin(), init.end()), 4.96e-6, 1e-8);
  EXPECT_NEAR(init[5795], 0.0100, 1e-7);  // the start state: 1/100, never re-entered
  // A model with fewer pdfs than the graph uses is rejected with a clear error.
  try {
    DenGraph bad(kaldi::ReadFstFile(path), 500);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("500 pdfs"), std::string::npos) << e.what();
  }
}

ChainSupervisionRef TinySupervision(const std::vector<kaldi::StdFst>& fsts, int F, float w) {
  ChainSupervisionRef sup;
  sup.weight = w;
  sup.frames_per_sequence = F;
  sup.label_dim = 2;
  for (const kaldi::StdFst& f : fsts) sup.pieces.push_back({&f, sup.num_sequences++, 1});
  return sup;
}

// A 4-frame supervision over the tiny graph's pdfs (labels 1, 2).
kaldi::StdFst TinySupervisionFst(int variant) {
  kaldi::StdFst f;
  f.start = 0;
  f.AddState(kInf);
  f.AddArc({1, 1, 0.7f, 1});
  f.AddArc({2, 2, 0.9f, 2});
  f.AddState(kInf);
  f.AddArc({2, 2, 0.2f, 3});
  f.AddState(kInf);
  f.AddArc({variant ? 1 : 2, variant ? 1 : 2, 0.3f, 3});
  f.AddState(kInf);
  f.AddArc({1, 1, 1.1f, 4});
  f.AddState(kInf);
  f.AddArc({2, 2, 0.5f, 5});
  f.AddState(0.0f);
  return f;
}

TEST(ChainObjective, DerivativeMatchesFiniteDifferences) {
  const DenGraph g(TinyDenFst(), 2);
  const std::vector<kaldi::StdFst> fsts{TinySupervisionFst(0), TinySupervisionFst(1)};
  const int N = 2, F = 4;
  const ChainSupervisionRef sup = TinySupervision(fsts, F, 0.8f);
  ChainTrainingOptions opts;
  opts.l2_regularize = 0.05f;
  opts.leaky_hmm_coefficient = 0.1f;
  MatrixF y = RandomOutput(N * F, 2, 21, 1.0f);
  MatrixF deriv, xent;
  const ChainObjective obj = ComputeChainObjective(opts, g, sup, y, &deriv, &xent);
  EXPECT_TRUE(obj.ok);
  EXPECT_EQ(obj.weight, 0.8f * N * F);
  EXPECT_LE(obj.objf, 0.0f);  // every numerator path is a denominator path
  auto total = [&](const MatrixF& m) {
    const ChainObjective o = ComputeChainObjective(opts, g, sup, m, nullptr, nullptr);
    return static_cast<double>(o.objf) + o.l2_term;
  };
  const float eps = 1e-2f;
  for (int64_t i = 0; i < y.size(); ++i) {
    MatrixF plus = y, minus = y;
    plus.data()[i] += eps;
    minus.data()[i] -= eps;
    const double fd = (total(plus) - total(minus)) / (2 * eps);
    EXPECT_NEAR(deriv.data()[i], fd, 2e-3 * std::max(1.0, std::fabs(fd))) << i;
  }
  // The xent "posteriors" are the weighted numerator occupations: each row sums to w.
  for (int64_t r = 0; r < xent.rows(); ++r) EXPECT_NEAR(xent(r, 0) + xent(r, 1), 0.8f, 1e-6);
}

TEST(ChainObjective, OutOfRangePenaltyOnlyInTheDerivative) {
  const DenGraph g(TinyDenFst(), 2);
  const std::vector<kaldi::StdFst> fsts{TinySupervisionFst(0)};
  const ChainSupervisionRef sup = TinySupervision(fsts, 4, 1.0f);
  ChainTrainingOptions opts;
  opts.leaky_hmm_coefficient = 0.1f;
  MatrixF y = RandomOutput(4, 2, 2);
  y(0, 0) = 40.0f;
  y(3, 1) = -35.0f;
  MatrixF with, without;
  const ChainObjective a = ComputeChainObjective(opts, g, sup, y, &with, nullptr, nullptr);
  opts.out_of_range_regularize = 0.0f;
  const ChainObjective b = ComputeChainObjective(opts, g, sup, y, &without, nullptr, nullptr);
  EXPECT_EQ(a.objf, b.objf);
  EXPECT_NEAR(with(0, 0) - without(0, 0), -2 * 0.01f * 10.0f, 1e-5);
  EXPECT_NEAR(with(3, 1) - without(3, 1), -2 * 0.01f * -5.0f, 1e-5);
  EXPECT_EQ(with(1, 0), without(1, 0));
  // With a generator the coin is Kaldi's RandInt(0, 1): the same seed gives the same choices.
  KaldiRand r1(5), r2(5);
  opts.out_of_range_regularize = 0.01f;
  for (int i = 0; i < 8; ++i) {
    MatrixF d1, d2;
    ComputeChainObjective(opts, g, sup, y, &d1, nullptr, &r1);
    ComputeChainObjective(opts, g, sup, y, &d2, nullptr, &r2);
    EXPECT_EQ(d1(0, 0), d2(0, 0));
  }
}

TEST(ChainObjective, NonFiniteOutputGivesMinusTenPerFrame) {
  const DenGraph g(TinyDenFst(), 2);
  const std::vector<kaldi::StdFst> fsts{TinySupervisionFst(0)};
  const ChainSupervisionRef sup = TinySupervision(fsts, 4, 1.0f);
  ChainTrainingOptions opts;
  opts.leaky_hmm_coefficient = 0.1f;
  MatrixF y = RandomOutput(4, 2, 2);
  y(1, 1) = std::numeric_limits<float>::quiet_NaN();
  y(2, 0) = std::numeric_limits<float>::quiet_NaN();
  MatrixF deriv, xent;
  const ChainObjective o = ComputeChainObjective(opts, g, sup, y, &deriv, &xent);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.objf, -10.0f * 4);
  for (int64_t i = 0; i < deriv.size(); ++i) EXPECT_EQ(deriv.data()[i], 0.0f);
  for (int64_t i = 0; i < xent.size(); ++i) EXPECT_EQ(xent.data()[i], 0.0f);
  EXPECT_FALSE(o.warnings.empty());
}

TEST(ChainObjective, MismatchedSizesAreErrors) {
  const DenGraph g(TinyDenFst(), 2);
  const std::vector<kaldi::StdFst> fsts{TinySupervisionFst(0)};
  ChainSupervisionRef sup = TinySupervision(fsts, 4, 1.0f);
  ChainTrainingOptions opts;
  opts.leaky_hmm_coefficient = 0.1f;
  EXPECT_THROW(ComputeChainObjective(opts, g, sup, RandomOutput(5, 2, 1), nullptr, nullptr), Error);
  EXPECT_THROW(ComputeChainObjective(opts, g, sup, RandomOutput(4, 3, 1), nullptr, nullptr), Error);
  opts.leaky_hmm_coefficient = 0.0f;
  EXPECT_THROW(ComputeChainObjective(opts, g, sup, RandomOutput(4, 2, 1), nullptr, nullptr), Error);
}

}  // namespace
}  // namespace kaldiq::train::chain
