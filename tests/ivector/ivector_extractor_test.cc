// IvectorExtractor derived quantities and OnlineIvectorEstimationStats against their
// definitions written densely: U_g = M' S^-1 M, the linear/quadratic terms, the prior, the
// max-count prior re-weighting, Scale(), and the MAP i-vector.
#include "ivector/ivector_extractor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ivector/linear_cgd.h"
#include "util/error.h"

namespace kaldiq::ivector {
namespace {

kaldi::IvectorExtractorFile RandomExtractor(int G, int D, int I, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  kaldi::IvectorExtractorFile e;
  e.prior_offset = 50.0;
  for (int g = 0; g < G; ++g) {
    MatrixD m(D, I);
    for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = 0.5 * n(rng);
    e.M.push_back(m);
    kaldi::PackedMatrixD s;
    s.dim = D;
    std::vector<double> b(D * D);
    for (double& v : b) v = 0.4 * n(rng);
    for (int i = 0; i < D; ++i)
      for (int j = 0; j <= i; ++j) {
        double v = i == j ? 1.0 : 0.0;
        for (int k = 0; k < D; ++k) v += b[i * D + k] * b[j * D + k];
        s.data.push_back(v);
      }
    e.sigma_inv.push_back(s);
  }
  return e;
}

double SigmaInv(const kaldi::IvectorExtractorFile& e, int g, int i, int j) {
  if (j > i) std::swap(i, j);
  return e.sigma_inv[g].data[PackedSize(i) + j];
}

TEST(IvectorExtractor, DerivedQuantitiesAreTheDefinitionsForAnyThreadCount) {
  const int G = 5, D = 4, I = 3;
  kaldi::IvectorExtractorFile f = RandomExtractor(G, D, I, 1);
  IvectorExtractor e1(f, 1), e3(f, 3);
  for (int g = 0; g < G; ++g) {
    for (int d = 0; d < D; ++d)
      for (int i = 0; i < I; ++i) {
        double want = 0;
        for (int k = 0; k < D; ++k) want += SigmaInv(f, g, d, k) * f.M[g](k, i);
        EXPECT_NEAR(e1.SigmaInvM(g)[d * I + i], want, 1e-12 * (1 + std::abs(want)));
      }
    for (int i = 0; i < I; ++i)
      for (int j = 0; j <= i; ++j) {
        double want = 0;
        for (int a = 0; a < D; ++a)
          for (int b = 0; b < D; ++b) want += f.M[g](a, i) * SigmaInv(f, g, a, b) * f.M[g](b, j);
        EXPECT_NEAR(e1.U(g)[PackedSize(i) + j], want, 1e-11 * (1 + std::abs(want)));
      }
    for (int64_t k = 0; k < PackedSize(I); ++k) EXPECT_EQ(e1.U(g)[k], e3.U(g)[k]);
  }
  f.w.Resize(G, I);
  EXPECT_THROW(IvectorExtractor{f}, Error);
}

struct Frames {
  std::vector<float> y;          // T x D
  std::vector<GaussPost> posts;  // T
};

Frames RandomFrames(int T, int G, int D, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::uniform_int_distribution<int> gi(0, G - 1);
  Frames f;
  for (int t = 0; t < T * D; ++t) f.y.push_back(n(rng));
  for (int t = 0; t < T; ++t) {
    GaussPost p{{gi(rng), 0.06f}, {gi(rng), 0.03f}, {gi(rng), 0.01f}};
    f.posts.push_back(p);
  }
  return f;
}

TEST(OnlineIvectorEstimationStats, TermsAreTheDefinitions) {
  const int G = 4, D = 3, I = 3, T = 25;
  kaldi::IvectorExtractorFile file = RandomExtractor(G, D, I, 2);
  IvectorExtractor e(file);
  Frames fr = RandomFrames(T, G, D, 3);
  OnlineIvectorEstimationStats s(I, static_cast<float>(file.prior_offset), 0.0f);
  // Prior only: the default i-vector, and zero objective change.
  std::vector<double> iv(I, 0.0);
  s.GetIvector(15, iv.data());
  EXPECT_EQ(iv, (std::vector<double>{50.0, 0.0, 0.0}));
  // Accumulate in two batches; the result is the sum over frames.
  std::vector<GaussPost> first(fr.posts.begin(), fr.posts.begin() + 10),
      second(fr.posts.begin() + 10, fr.posts.end());
  s.AccStats(e, fr.y.data(), D, first);
  s.AccStats(e, fr.y.data() + 10 * D, D, second);
  std::vector<double> lin(I, 0.0), quad(PackedSize(I), 0.0);
  lin[0] = 50.0;
  AddToDiag(I, 1.0, quad.data());
  double count = 0;
  for (int t = 0; t < T; ++t) {
    for (auto [g, w] : fr.posts[t]) {
      count += w;
      for (int i = 0; i < I; ++i)
        for (int d = 0; d < D; ++d) lin[i] += w * e.SigmaInvM(g)[d * I + i] * fr.y[t * D + d];
      for (size_t k = 0; k < quad.size(); ++k) quad[k] += w * e.U(g)[k];
    }
  }
  EXPECT_NEAR(s.Count(), count, 1e-6);
  for (int i = 0; i < I; ++i) EXPECT_NEAR(s.linear_term()[i], lin[i], 1e-9 * (1 + std::abs(lin[i])));
  for (size_t k = 0; k < quad.size(); ++k) EXPECT_NEAR(s.quadratic_term()[k], quad[k], 1e-9 * (1 + quad[k]));
  // Enough CG iterations give the MAP solution A w = b.
  std::vector<double> exact(I);
  ASSERT_TRUE(CholeskySolve(I, quad.data(), lin.data(), exact.data()));
  s.GetIvector(-1, iv.data());
  for (int i = 0; i < I; ++i) EXPECT_NEAR(iv[i], exact[i], 1e-8 * (1 + std::abs(exact[i])));
  EXPECT_GT(s.ObjfChange(iv.data()), 0.0);
}

TEST(OnlineIvectorEstimationStats, ScaleKeepsThePriorAndMaxCountReweightsIt) {
  const int G = 4, D = 3, I = 3;
  kaldi::IvectorExtractorFile file = RandomExtractor(G, D, I, 4);
  IvectorExtractor e(file);
  Frames fr = RandomFrames(40, G, D, 5);
  OnlineIvectorEstimationStats s(I, 50.0f, 0.0f), prior(I, 50.0f, 0.0f);
  s.AccStats(e, fr.y.data(), D, fr.posts);
  OnlineIvectorEstimationStats half = s;
  half.Scale(0.5);
  EXPECT_NEAR(half.Count(), 0.5 * s.Count(), 1e-12);
  for (int i = 0; i < I; ++i) {  // data halved, prior [50, 0, 0] / I kept whole
    double want = 0.5 * (s.linear_term()[i] - prior.linear_term()[i]) + prior.linear_term()[i];
    EXPECT_NEAR(half.linear_term()[i], want, 1e-9 * (1 + std::abs(want)));
  }
  for (size_t k = 0; k < s.quadratic_term().size(); ++k) {
    double want = 0.5 * (s.quadratic_term()[k] - prior.quadratic_term()[k]) + prior.quadratic_term()[k];
    EXPECT_NEAR(half.quadratic_term()[k], want, 1e-9 * (1 + std::abs(want)));
  }
  OnlineIvectorEstimationStats zero = s;
  zero.Scale(0.0);
  EXPECT_EQ(zero.Count(), 0.0);
  for (int i = 0; i < I; ++i) EXPECT_NEAR(zero.linear_term()[i], prior.linear_term()[i], 1e-12);
  EXPECT_THROW(zero.Scale(1.5), Error);

  // max_count m: the prior weight becomes max(count, m) / m.
  const float m = 1.0f;  // 40 frames x 0.1 posterior = 4 > m
  OnlineIvectorEstimationStats capped(I, 50.0f, m);
  capped.AccStats(e, fr.y.data(), D, fr.posts);
  const double r = std::max(capped.Count(), double(m)) / m;
  ASSERT_GT(r, 1.0);
  for (int i = 0; i < I; ++i) {
    double data = s.linear_term()[i] - prior.linear_term()[i];
    double want = data + r * prior.linear_term()[i];
    EXPECT_NEAR(capped.linear_term()[i], want, 1e-9 * (1 + std::abs(want)));
  }
  EXPECT_NEAR(capped.quadratic_term()[0], s.quadratic_term()[0] - 1.0 + r, 1e-9 * r);
  // Scale() re-targets the prior weight to the new count.
  capped.Scale(0.5);
  const double r2 = std::max(capped.Count(), double(m)) / m;
  EXPECT_NEAR(capped.quadratic_term()[0], 0.5 * (s.quadratic_term()[0] - 1.0) + r2, 1e-9 * r2);
}

}  // namespace
}  // namespace kaldiq::ivector
