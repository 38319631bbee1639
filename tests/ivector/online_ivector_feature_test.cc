// OnlineIvectorFeature on a synthetic extractor: the pipeline against an independent oracle
// (online CMVN for posteriors, plain features for statistics, clamped splicing, affine LDA,
// pruned posteriors x 0.1, MAP i-vector every period), readiness lag, chunking invariance,
// adaptation state and LimitFrames, and misuse errors.
#include "ivector/online_ivector_feature.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ivector/ivector_extract.h"
#include "ivector/linear_cgd.h"
#include "ivector/synthetic_extractor.h"
#include "util/error.h"

namespace kaldiq::ivector {
namespace {

using kaldiq::testing::RandomFeatures;

class OnlineIvectorFeatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_path_ = kaldiq::testing::WriteSyntheticExtractor(dir_, dims_, 7);
    config_ = OnlineIvectorExtractionConfig::FromConfigFile(config_path_);
    config_.use_most_recent_ivector = false;
  }
  kaldiq::testing::TempDir dir_;
  kaldiq::testing::SyntheticDims dims_;
  std::string config_path_;
  OnlineIvectorExtractionConfig config_;
};

// The i-vectors of ivector-extract-online2, computed from the definitions with converged
// (exact) solves: stats over frames 0..i*P for row i.
MatrixF Oracle(const OnlineIvectorExtractionInfo& info, const MatrixF& x,
               const OnlineIvectorAdaptationState& start) {
  const int64_t T = x.rows(), D = x.cols(), L = info.splice_opts.left_context,
                R = info.splice_opts.right_context, P = info.ivector_period;
  MatrixF normalized = x;
  feat::OnlineCmvnState cmvn_state = start.cmvn_state;
  feat::ApplyOnlineCmvn(info.cmvn_opts, &cmvn_state, &normalized);
  auto lda = [&](const MatrixF& base, int64_t t) {
    const int64_t out_dim = info.lda_mat.rows(), in_dim = D * (L + 1 + R);
    std::vector<float> y(out_dim);
    for (int64_t o = 0; o < out_dim; ++o) {
      double s = info.lda_mat(o, in_dim);  // affine offset
      for (int64_t k = 0; k <= L + R; ++k) {
        int64_t u = std::clamp<int64_t>(t - L + k, 0, T - 1);
        for (int64_t d = 0; d < D; ++d) s += double(info.lda_mat(o, k * D + d)) * base(u, d);
      }
      y[o] = static_cast<float>(s);
    }
    return y;
  };
  OnlineIvectorEstimationStats stats = start.ivector_stats;
  const int32_t G = info.diag_ubm.NumGauss(), I = info.IvectorDim();
  MatrixF out((T + P - 1) / P, I);
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> u = lda(normalized, t), y = lda(x, t), ll(G);
    info.diag_ubm.LogLikelihoods(u.data(), 1, u.size(), ll.data());
    std::vector<GaussPost> post(1);
    VectorToPosteriorEntry(ll.data(), G, info.num_gselect, info.min_post, &post[0]);
    for (auto& p : post[0]) p.second *= info.posterior_scale;
    stats.AccStats(info.extractor, y.data(), y.size(), post);
    if (t % P == 0) {
      std::vector<double> w(I);
      EXPECT_TRUE(CholeskySolve(I, stats.quadratic_term().data(), stats.linear_term().data(), w.data()));
      for (int32_t i = 0; i < I; ++i) out(t / P, i) = static_cast<float>(w[i]);
      out(t / P, 0) = static_cast<float>(out(t / P, 0) - info.extractor.PriorOffset());
    }
  }
  return out;
}

void ExpectNear(const MatrixF& got, const MatrixF& want, double tol) {
  ASSERT_EQ(got.rows(), want.rows());
  ASSERT_EQ(got.cols(), want.cols());
  for (int64_t r = 0; r < got.rows(); ++r)
    for (int64_t c = 0; c < got.cols(); ++c)
      ASSERT_NEAR(got(r, c), want(r, c), tol * (1 + std::abs(want(r, c)))) << "row " << r << " col " << c;
}

TEST_F(OnlineIvectorFeatureTest, MatchesTheOracleWithExactSolves) {
  OnlineIvectorExtractionInfo info(config_);
  info.num_cg_iters = -1;  // converged conjugate gradient: comparable with exact solves
  OnlineIvectorAdaptationState state(info);
  for (int utt = 0; utt < 3; ++utt) {  // one speaker: adaptation carried across utterances
    MatrixF x = RandomFeatures(37 + 20 * utt, dims_.base_dim, 100 + utt);
    MatrixF want = Oracle(info, x, state);
    MatrixF got = ExtractOnlineIvectors(info, x, /*repeat=*/false, &state);
    ExpectNear(got, want, 2e-4);
  }
}

TEST_F(OnlineIvectorFeatureTest, ReadinessLagsByTheRightContext) {
  OnlineIvectorExtractionInfo info(config_);
  OnlineIvectorFeature f(info);
  MatrixF x = RandomFeatures(10, dims_.base_dim, 1);
  EXPECT_EQ(f.NumFramesReady(), 0);
  f.AcceptFeatures(x.Row(0), 1, x.cols());  // right context 1: nothing ready yet
  EXPECT_EQ(f.NumFramesReady(), 0);
  f.AcceptFeatures(x.Row(1), 5, x.cols());
  EXPECT_EQ(f.NumFramesReady(), 6 - dims_.right);
  EXPECT_FALSE(f.IsLastFrame(f.NumFramesReady() - 1));
  f.InputFinished();
  EXPECT_EQ(f.NumFramesReady(), 6);
  EXPECT_TRUE(f.IsLastFrame(5));
  std::vector<float> iv(f.Dim());
  EXPECT_THROW(f.GetFrame(6, iv.data()), Error);
  EXPECT_THROW(f.AcceptFeatures(x.Row(6), 1, x.cols()), Error);
  f.GetFrame(5, iv.data());
  OnlineIvectorAdaptationState s(info);
  EXPECT_THROW(f.SetAdaptationState(s), Error);  // after frames were processed
  EXPECT_THROW(f.AcceptFeatures(RandomFeatures(2, dims_.base_dim + 1, 2)), Error);
}

TEST_F(OnlineIvectorFeatureTest, ChunkingDoesNotChangeAnyBit) {
  for (bool most_recent : {false, true}) {
    OnlineIvectorExtractionConfig c = config_;
    c.use_most_recent_ivector = most_recent;
    OnlineIvectorExtractionInfo info(c);
    const MatrixF x = RandomFeatures(83, dims_.base_dim, 3);
    // Requests at fixed frames (every 5th), each as soon as it is ready, then the rest.
    auto run = [&](int64_t chunk) {
      OnlineIvectorFeature f(info);
      std::vector<float> out;
      std::vector<float> iv(f.Dim());
      int64_t next = 0;
      auto drain = [&]() {
        for (; next < f.NumFramesReady(); next += 5) {
          f.GetFrame(next, iv.data());
          out.insert(out.end(), iv.begin(), iv.end());
        }
      };
      for (int64_t t = 0; t < x.rows(); t += chunk) {
        f.AcceptFeatures(x.Row(t), std::min(chunk, x.rows() - t), x.cols());
        drain();
      }
      f.InputFinished();
      drain();
      for (int64_t t = 0; t < f.NumFramesReady(); t += 3) {  // earlier frames too
        f.GetFrame(t, iv.data());
        out.insert(out.end(), iv.begin(), iv.end());
      }
      return out;
    };
    const std::vector<float> whole = run(x.rows());
    for (int64_t chunk : {1, 2, 7, 30}) {
      std::vector<float> got = run(chunk);
      ASSERT_EQ(got.size(), whole.size());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], whole[i]) << "chunk " << chunk << " most_recent " << most_recent << " at " << i;
    }
  }
}

TEST_F(OnlineIvectorFeatureTest, PeriodRowsRepeatAndAdaptationIsLimited) {
  OnlineIvectorExtractionInfo info(config_);
  const MatrixF x = RandomFeatures(50, dims_.base_dim, 4);
  OnlineIvectorAdaptationState a(info), b(info);
  MatrixF rows = ExtractOnlineIvectors(info, x, /*repeat=*/false, &a);
  MatrixF every = ExtractOnlineIvectors(info, x, /*repeat=*/true, &b);
  ASSERT_EQ(rows.rows(), (50 + 3) / 4);
  ASSERT_EQ(every.rows(), 50);
  for (int64_t t = 0; t < 50; ++t)
    for (int64_t i = 0; i < rows.cols(); ++i) ASSERT_EQ(every(t, i), rows(t / 4, i));
  // The stats hold frames 0..48 (the last period start), 4.9 frames' worth at scale 0.1, capped to
  // max-remembered-frames (30) x 0.1 = 3; the CMVN speaker stats hold all 50, capped to 30.
  EXPECT_NEAR(a.ivector_stats.Count(), 3.0, 1e-6);
  const MatrixD& spk = a.cmvn_state.speaker_cmvn_stats;
  ASSERT_EQ(spk.rows(), 2);
  EXPECT_NEAR(spk(0, dims_.base_dim), 30.0, 1e-4);
  // A fresh state and an adapted one give different first i-vectors.
  OnlineIvectorAdaptationState fresh(info);
  MatrixF second_fresh = ExtractOnlineIvectors(info, x, false, &fresh);
  MatrixF second_adapted = ExtractOnlineIvectors(info, x, false, &a);
  EXPECT_NE(second_fresh(0, 1), second_adapted(0, 1));
  EXPECT_EQ(second_fresh(0, 1), rows(0, 1));
  // Features with 3 more columns (pitch) lose them; other mismatches are errors.
  MatrixF pitch = RandomFeatures(50, dims_.base_dim + 3, 4);
  for (int64_t t = 0; t < 50; ++t) std::copy(x.Row(t), x.Row(t) + dims_.base_dim, pitch.Row(t));
  OnlineIvectorAdaptationState c(info);
  UtteranceIvectorDiagnostics diag;
  MatrixF dropped = ExtractOnlineIvectors(info, pitch, false, &c, &diag);
  EXPECT_TRUE(diag.dropped_pitch);
  for (int64_t i = 0; i < rows.size(); ++i) ASSERT_EQ(dropped.data()[i], rows.data()[i]);
  EXPECT_THROW(ExtractOnlineIvectors(info, RandomFeatures(5, dims_.base_dim + 1, 1), false, &c), Error);
  EXPECT_THROW(ExtractOnlineIvectors(info, MatrixF(0, dims_.base_dim), false, &c), Error);
}

TEST_F(OnlineIvectorFeatureTest, ConfigErrorsNameTheProblem) {
  OnlineIvectorExtractionConfig c = config_;
  c.diag_ubm_rxfilename.clear();
  try {
    OnlineIvectorExtractionInfo info(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--diag-ubm"), std::string::npos) << e.what();
  }
  c = config_;
  c.splice_config_rxfilename = dir_.File("online_cmvn.conf");  // wrong options in the file
  EXPECT_THROW(OnlineIvectorExtractionInfo{c}, Error);
  c = config_;
  c.lda_mat_rxfilename = dir_.File("global_cmvn.stats");  // wrong dimensions
  EXPECT_THROW(OnlineIvectorExtractionInfo{c}, Error);
  c = config_;
  c.posterior_scale = 2.0f;
  EXPECT_THROW(OnlineIvectorExtractionInfo{c}, Error);
  EXPECT_THROW(OnlineIvectorExtractionConfig::FromConfigFile(dir_.File("splice.conf")), Error);
  // LoadIvectorExtractorForBatch forces the ivector-extract-online2 semantics.
  EXPECT_FALSE(LoadIvectorExtractorForBatch(config_path_)->use_most_recent_ivector);
}

}  // namespace
}  // namespace kaldiq::ivector
