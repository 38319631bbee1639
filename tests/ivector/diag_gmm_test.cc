// The UBM (gconsts, log-likelihoods) against Kaldi's formulas in double, the Gaussian
// selection against hand-worked cases, and Kaldi's stored gconsts in the fixture's final.dubm.
#include "ivector/diag_gmm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <vector>

#include "util/error.h"

namespace kaldiq::ivector {
namespace {

kaldi::DiagGmmFile RandomGmm(int G, int D, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.5, 2.0);
  std::normal_distribution<double> n(0.0, 1.0);
  kaldi::DiagGmmFile g;
  g.means_invvars.Resize(G, D);
  g.inv_vars.Resize(G, D);
  for (int i = 0; i < G; ++i) {
    g.weights.push_back(static_cast<float>(1.0 / G));
    for (int d = 0; d < D; ++d) {
      g.inv_vars(i, d) = static_cast<float>(u(rng));
      g.means_invvars(i, d) = static_cast<float>(n(rng));
    }
  }
  return g;
}

TEST(DiagGmm, LogLikelihoodsAreKaldisFormula) {
  const int G = 9, D = 6;
  kaldi::DiagGmmFile file = RandomGmm(G, D, 1);
  DiagGmm gmm(file);
  std::mt19937 rng(2);
  std::normal_distribution<float> n(0.0f, 1.5f);
  const int T = 11;
  std::vector<float> x(T * 8);  // row stride 8 > D
  for (float& v : x) v = n(rng);
  std::vector<float> ll(T * G);
  gmm.LogLikelihoods(x.data(), T, 8, ll.data());
  for (int g = 0; g < G; ++g) {
    // log N(x; mu, Sigma) + log w with mu = mi / iv, Sigma = 1 / iv.
    double gc = std::log(double(file.weights[g])) - 0.5 * D * std::log(2 * M_PI);
    for (int d = 0; d < D; ++d) {
      double iv = file.inv_vars(g, d), mu = file.means_invvars(g, d) / iv;
      gc += 0.5 * std::log(iv) - 0.5 * mu * mu * iv;
    }
    EXPECT_NEAR(gmm.gconsts()[g], gc, 1e-5 * (1 + std::abs(gc)));
    for (int t = 0; t < T; ++t) {
      double want = gc;
      for (int d = 0; d < D; ++d) {
        double xv = x[t * 8 + d], iv = file.inv_vars(g, d);
        want += file.means_invvars(g, d) * xv - 0.5 * iv * xv * xv;
      }
      EXPECT_NEAR(ll[t * G + g], want, 1e-4 * (1 + std::abs(want)));
    }
  }
}

TEST(DiagGmm, RejectsNegativeWeightsAndBadVariances) {
  kaldi::DiagGmmFile f = RandomGmm(3, 2, 3);
  f.weights[1] = -0.1f;
  EXPECT_THROW(DiagGmm{f}, Error);
  f = RandomGmm(3, 2, 3);
  f.inv_vars(2, 1) = -1.0f;
  EXPECT_THROW(DiagGmm{f}, Error);
  f = RandomGmm(3, 2, 3);
  f.weights[0] = 0.0f;  // a zero weight gives gconst -inf, which Kaldi accepts
  DiagGmm g(f);
  EXPECT_TRUE(std::isinf(g.gconsts()[0]) && g.gconsts()[0] < 0);
}

TEST(DiagGmm, FixtureGconstsEqualTheStoredOnes) {
  const std::string path = std::string(KQ_SHARED_DIR) + "/fixtures/audio/extractor/final.dubm";
  if (!std::ifstream(path).good()) GTEST_SKIP() << "needs ../shared fixtures (" << path << ")";
  kaldi::DiagGmmFile f = kaldi::ReadDiagGmmFile(path);
  ASSERT_EQ(f.gconsts.size(), 64u);
  DiagGmm g(f);  // recomputed, as Kaldi does at load
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(g.gconsts()[i], f.gconsts[i], 2e-5 * std::abs(f.gconsts[i]));
}

std::vector<std::pair<int32_t, float>> Select(const std::vector<float>& ll, int gselect, float min_post,
                                              float* ret = nullptr) {
  std::vector<std::pair<int32_t, float>> post;
  float r = VectorToPosteriorEntry(ll.data(), static_cast<int32_t>(ll.size()), gselect, min_post, &post);
  if (ret) *ret = r;
  return post;
}

TEST(VectorToPosteriorEntry, SelectsPrunesAndRenormalises) {
  // Posteriors before pruning (relative to the best): 1, e^-1, e^-2, e^-5, e^-10.
  const std::vector<float> ll = {-12.0f, -3.0f, -2.0f, -7.0f, -4.0f};
  // min_post 0.025: log(0.025) = -3.69, so -7 and -12 fall below the cutoff; 3 remain and all
  // three pass the final check (e^-2 / (1 + e^-1 + e^-2) = 0.09 >= 0.025).
  float ret = 0;
  auto p = Select(ll, 5, 0.025f, &ret);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].first, 2);
  EXPECT_EQ(p[1].first, 1);
  EXPECT_EQ(p[2].first, 4);
  const double tot = 1 + std::exp(-1.0) + std::exp(-2.0);
  EXPECT_NEAR(p[0].second, 1 / tot, 1e-6);
  EXPECT_NEAR(p[2].second, std::exp(-2.0) / tot, 1e-6);
  EXPECT_NEAR(ret, -2.0 + std::log(tot), 1e-5);
  // num_gselect 2 keeps the best two.
  p = Select(ll, 2, 0.025f);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NEAR(p[0].second + p[1].second, 1.0, 1e-6);
  // A larger min_post prunes the tail after selection: e^-1 / (1 + e^-1) = 0.27 < 0.3.
  p = Select(ll, 2, 0.3f);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].first, 2);
  EXPECT_FLOAT_EQ(p[0].second, 1.0f);
  // min_post 0: plain top-k of the softmax.
  p = Select(ll, 4, 0.0f);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[3].first, 3);
  // num_gselect larger than the number of Gaussians.
  EXPECT_EQ(Select({0.0f, 0.0f}, 10, 0.0f).size(), 2u);
  EXPECT_THROW(Select(ll, 0, 0.1f), Error);
  EXPECT_THROW(Select(ll, 2, 1.0f), Error);
}

}  // namespace
}  // namespace kaldiq::ivector
