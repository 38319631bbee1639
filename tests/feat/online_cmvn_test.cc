// OnlineCmvn against the formula of Kaldi's OnlineCmvn written out directly (window sums,
// speaker then global top-up), the worked examples of the design note, bit equality with
// kaldi::ApplyCmvn, chunking invariance, speaker carry-over, and the fixture's online_cmvn.conf
// on the 60 dev utterances (the fixture has no Kaldi output of online-CMVN features, so those
// are checked against the formula too).
#include "feat/online_cmvn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kaldi/cmvn.h"
#include "kaldi/ivector_model_io.h"
#include "kaldi/table.h"
#include "util/error.h"

namespace kaldiq::feat {
namespace {

MatrixF RandomFeats(int64_t rows, int64_t cols, uint32_t seed, float offset = 3.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 2.0f);
  MatrixF m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = n(rng) + offset * float(i % cols);
  return m;
}

MatrixD StatsOf(const MatrixF& feats) {
  MatrixD s;
  kaldi::AccCmvnStats(feats, nullptr, &s);
  return s;
}

// Kaldi's OnlineCmvn for frame t of `feats`, written as a formula (window of the last
// cmn_window frames including t, topped up with speaker then global stats).
std::vector<double> Oracle(const OnlineCmvnOptions& o, const MatrixF& feats, int64_t t,
                           const MatrixD& speaker, const MatrixD& global) {
  const int64_t D = feats.cols();
  const int64_t first = std::max<int64_t>(0, t - o.cmn_window + 1);
  std::vector<double> sum(D, 0.0), sq(D, 0.0);
  double n = 0.0;
  for (int64_t u = first; u <= t; ++u) {
    for (int64_t d = 0; d < D; ++d) {
      sum[d] += feats(u, d);
      sq[d] += double(feats(u, d)) * feats(u, d);
    }
    n += 1.0;
  }
  auto top_up = [&](const MatrixD& s, double limit) {
    const double c = s(0, D);
    double a = std::min({o.cmn_window - n, limit, c});
    if (a <= 0.0) return;
    for (int64_t d = 0; d < D; ++d) {
      sum[d] += a / c * s(0, d);
      sq[d] += a / c * s(1, d);
    }
    n += a;
  };
  if (n < o.cmn_window && speaker.rows() == 2) top_up(speaker, o.speaker_frames);
  if (n < o.cmn_window) {
    const double c = global(0, D);
    double a = std::min<double>(o.cmn_window - n, o.global_frames);
    if (a > 0.0) {
      for (int64_t d = 0; d < D; ++d) {
        sum[d] += a / c * global(0, d);
        sq[d] += a / c * global(1, d);
      }
      n += a;
    }
  }
  std::vector<double> out(D);
  for (int64_t d = 0; d < D; ++d) {
    double mean = sum[d] / n;
    out[d] = feats(t, d) - mean;
    if (o.normalize_variance) out[d] /= std::sqrt(sq[d] / n - mean * mean);
  }
  return out;
}

void ExpectMatchesOracle(const OnlineCmvnOptions& o, const MatrixF& feats, const MatrixF& got,
                         const MatrixD& speaker, const MatrixD& global, double tol) {
  ASSERT_EQ(got.rows(), feats.rows());
  for (int64_t t = 0; t < feats.rows(); ++t) {
    std::vector<double> want = Oracle(o, feats, t, speaker, global);
    for (int64_t d = 0; d < feats.cols(); ++d) {
      ASSERT_NEAR(got(t, d), want[d], tol * (1.0 + std::abs(want[d]))) << "frame " << t << " dim " << d;
    }
  }
}

TEST(OnlineCmvn, MatchesTheFormulaAcrossTheWindowSlide) {
  OnlineCmvnOptions o;  // Kaldi's defaults: window 600, speaker 600, global 200
  const MatrixF global_feats = RandomFeats(3000, 5, 1, -2.0f);
  const MatrixD global = StatsOf(global_feats);
  const MatrixF feats = RandomFeats(1300, 5, 2);
  MatrixF out;
  OnlineCmvn cmvn(o, OnlineCmvnState(global));
  cmvn.AcceptFeatures(feats, &out);
  ExpectMatchesOracle(o, feats, out, MatrixD(), global, 1e-5);
  // The design note's example: frame 0 uses (x_0 + 200 mean(G)) / 201.
  for (int64_t d = 0; d < 5; ++d) {
    double mean = (feats(0, d) + 200.0 * global(0, d) / global(0, 5)) / 201.0;
    EXPECT_NEAR(out(0, d), feats(0, d) - mean, 1e-5);
  }
  o.normalize_variance = true;
  OnlineCmvn vars(o, OnlineCmvnState(global));
  vars.AcceptFeatures(feats, &out);
  ExpectMatchesOracle(o, feats, out, MatrixD(), global, 1e-4);
}

TEST(OnlineCmvn, SmallWindowsAndLimits) {
  const MatrixD global = StatsOf(RandomFeats(500, 3, 3, 1.0f));
  const MatrixF feats = RandomFeats(60, 3, 4);
  for (auto [w, s, g] : {std::tuple{10, 5, 3}, std::tuple{1, 1, 1}, std::tuple{7, 0, 0},
                         std::tuple{25, 25, 25}}) {
    OnlineCmvnOptions o;
    o.cmn_window = w;
    o.speaker_frames = s;
    o.global_frames = g;
    const MatrixD speaker = StatsOf(RandomFeats(4, 3, 5, -1.0f));  // only 4 frames of history
    OnlineCmvnState state(global);
    state.speaker_cmvn_stats = speaker;
    MatrixF out;
    OnlineCmvn cmvn(o, state);
    cmvn.AcceptFeatures(feats, &out);
    ExpectMatchesOracle(o, feats, out, speaker, global, 1e-5);
  }
}

TEST(OnlineCmvn, BitIdenticalToKaldiApplyCmvnOnTheSameStats) {
  // No smoothing (speaker and global frames 0, a window longer than the input): the stats of
  // frame t are the in-order double sums of frames 0..t, and the output must equal Kaldi's
  // ApplyCmvn on them bit for bit, with and without variance normalisation.
  const MatrixF feats = RandomFeats(200, 7, 6);
  const MatrixD global = StatsOf(feats);
  for (bool vars : {false, true}) {
    OnlineCmvnOptions o;
    o.cmn_window = 1000;
    o.speaker_frames = 0;
    o.global_frames = 0;
    o.normalize_variance = vars;
    MatrixF out;
    OnlineCmvn cmvn(o, OnlineCmvnState(global));
    cmvn.AcceptFeatures(feats, &out);
    MatrixD stats(2, 8);
    for (int64_t t = 0; t < feats.rows(); ++t) {
      for (int64_t d = 0; d < 7; ++d) {
        double v = feats(t, d);
        stats(0, d) += v;
        stats(1, d) += v * v;
      }
      stats(0, 7) += 1.0;
      MatrixF row(1, 7);
      std::copy(feats.Row(t), feats.Row(t) + 7, row.data());
      kaldi::ApplyCmvn(stats, vars, &row);
      for (int64_t d = 0; d < 7; ++d) ASSERT_EQ(out(t, d), row(0, d)) << "t " << t << " vars " << vars;
    }
  }
}

TEST(OnlineCmvn, ChunkingDoesNotChangeAnyBit) {
  const MatrixD global = StatsOf(RandomFeats(800, 4, 7));
  const MatrixF feats = RandomFeats(1500, 4, 8);
  for (bool vars : {false, true}) {
    OnlineCmvnOptions o;
    o.normalize_variance = vars;
    MatrixF whole;
    OnlineCmvn ref(o, OnlineCmvnState(global));
    ref.AcceptFeatures(feats, &whole);
    for (int64_t chunk : {1, 7, 160, 599, 601}) {
      OnlineCmvn c(o, OnlineCmvnState(global));
      MatrixF out(feats.rows(), feats.cols());
      for (int64_t t = 0; t < feats.rows(); t += chunk) {
        int64_t n = std::min(chunk, feats.rows() - t);
        c.AcceptFeatures(feats.Row(t), n, feats.cols(), out.Row(t), out.cols());
      }
      for (int64_t i = 0; i < out.size(); ++i) ASSERT_EQ(out.data()[i], whole.data()[i]) << chunk;
      const MatrixD a = c.GetState().speaker_cmvn_stats, b = ref.GetState().speaker_cmvn_stats;
      for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]);
    }
  }
}

TEST(OnlineCmvn, SpeakerStateCarriesOverAndInPlaceWorks) {
  OnlineCmvnOptions o;
  const MatrixD global = StatsOf(RandomFeats(900, 3, 9));
  const MatrixF utt1 = RandomFeats(700, 3, 10), utt2 = RandomFeats(50, 3, 11);
  OnlineCmvnState state(global);
  MatrixF a = utt1;
  ApplyOnlineCmvn(o, &state, &a);  // in place
  // The speaker stats are exactly utt1's (both rows, never capped).
  const MatrixD expect = StatsOf(utt1);
  ASSERT_EQ(state.speaker_cmvn_stats.rows(), 2);
  for (int64_t i = 0; i < expect.size(); ++i)
    EXPECT_NEAR(state.speaker_cmvn_stats.data()[i], expect.data()[i], 1e-6 * (1 + std::abs(expect.data()[i])));  // Kaldi squares in double here, in float in AccCmvnStats
  MatrixF b = utt2;
  ApplyOnlineCmvn(o, &state, &b);
  ExpectMatchesOracle(o, utt2, b, expect, global, 1e-5);
  // Frame 0 of the second utterance: 599 frames' worth of speaker mean, no global stats.
  for (int64_t d = 0; d < 3; ++d) {
    double mean = (utt2(0, d) + 599.0 * expect(0, d) / expect(0, 3)) / 600.0;
    EXPECT_NEAR(b(0, d), utt2(0, d) - mean, 1e-5);
  }
  EXPECT_DOUBLE_EQ(state.speaker_cmvn_stats(0, 3), 750.0);
}

TEST(OnlineCmvn, SkipDimsAndNoMeanPassThrough) {
  const MatrixD global = StatsOf(RandomFeats(300, 4, 12));
  const MatrixF feats = RandomFeats(40, 4, 13);
  for (bool vars : {false, true}) {
    OnlineCmvnOptions o;
    o.skip_dims = "1:3";
    o.normalize_variance = vars;
    MatrixF out;
    OnlineCmvn cmvn(o, OnlineCmvnState(global));
    cmvn.AcceptFeatures(feats, &out);
    for (int64_t t = 0; t < feats.rows(); ++t) {
      EXPECT_EQ(out(t, 1), feats(t, 1));
      EXPECT_EQ(out(t, 3), feats(t, 3));
      EXPECT_NE(out(t, 0), feats(t, 0));
    }
  }
  OnlineCmvnOptions none;
  none.normalize_mean = false;
  MatrixF out;
  OnlineCmvn pass(none, OnlineCmvnState(global));
  pass.AcceptFeatures(feats, &out);
  for (int64_t i = 0; i < out.size(); ++i) EXPECT_EQ(out.data()[i], feats.data()[i]);
  EXPECT_EQ(ParseSkipDims("13:14:15"), (std::vector<int32_t>{13, 14, 15}));
  EXPECT_TRUE(ParseSkipDims("").empty());
  for (const char* bad : {"1::2", "a", "-1", "1:", ":1"}) EXPECT_THROW(ParseSkipDims(bad), Error) << bad;
}

TEST(OnlineCmvn, RejectsBadOptionsAndStats) {
  const MatrixD global = StatsOf(RandomFeats(10, 3, 14));
  auto make = [&](OnlineCmvnOptions o, const MatrixD& g) { OnlineCmvn c(o, OnlineCmvnState(g)); };
  OnlineCmvnOptions o;
  o.speaker_frames = 700;  // > cmn_window: accepted, as by Kaldi
  EXPECT_NO_THROW(make(o, global));
  o.cmn_window = 0;
  EXPECT_THROW(make(o, global), Error);
  o = OnlineCmvnOptions();
  o.normalize_mean = false;
  o.normalize_variance = true;
  EXPECT_THROW(make(o, global), Error);
  o = OnlineCmvnOptions();
  o.skip_dims = "3";  // dimension 3 of 3
  EXPECT_THROW(make(o, global), Error);
  EXPECT_THROW(make(OnlineCmvnOptions(), MatrixD(1, 4)), Error);
  EXPECT_THROW(make(OnlineCmvnOptions(), MatrixD(2, 4)), Error);  // zero count
  OnlineCmvnState bad_speaker(global);
  bad_speaker.speaker_cmvn_stats.Resize(2, 5);
  EXPECT_THROW((OnlineCmvn{OnlineCmvnOptions(), bad_speaker}), Error);
  OnlineCmvn c{OnlineCmvnOptions(), OnlineCmvnState(global)};
  MatrixF out;
  EXPECT_THROW(c.AcceptFeatures(RandomFeats(2, 4, 1), &out), Error);
}

TEST(OnlineCmvn, ReadsOptionsFromAConfigFile) {
  std::string path = ::testing::TempDir() + "/online_cmvn.conf";
  std::ofstream(path) << "# as Kaldi writes it\n--cmn-window=300\n--norm-vars=true\n--skip-dims=0\n";
  OnlineCmvnOptions o = OnlineCmvnOptions::FromConfigFile(path);
  EXPECT_EQ(o.cmn_window, 300);
  EXPECT_TRUE(o.normalize_variance);
  EXPECT_EQ(o.skip_dims, "0");
  std::ofstream(path) << "--left-context=3\n";  // not an OnlineCmvn option
  EXPECT_THROW(OnlineCmvnOptions::FromConfigFile(path), Error);
}

TEST(OnlineCmvn, FixtureConfigOnDev60MatchesTheFormula) {
  const std::string dir = std::string(KQ_SHARED_DIR) + "/fixtures/audio";
  if (!std::ifstream(dir + "/kaldi/mfcc_hires.ark").good())
    GTEST_SKIP() << "needs ../shared fixtures (" << dir << ")";
  const OnlineCmvnOptions o = OnlineCmvnOptions::FromConfigFile(dir + "/extractor/online_cmvn.conf");
  const MatrixD global = kaldi::ReadMatrixFileD(dir + "/extractor/global_cmvn.stats");
  kaldi::SequentialTokenVectorReader spk2utt("ark:" + dir + "/spk2utt");
  kaldi::RandomAccessMatrixReader feats("ark:" + dir + "/kaldi/mfcc_hires.ark");
  int64_t utts = 0;
  for (; !spk2utt.Done(); spk2utt.Next()) {
    OnlineCmvnState state(global);
    for (const std::string& utt : spk2utt.Value()) {
      const MatrixF& x = feats.Value(utt);
      const MatrixD speaker = state.speaker_cmvn_stats;
      MatrixF out = x;
      ApplyOnlineCmvn(o, &state, &out);
      ExpectMatchesOracle(o, x, out, speaker, global, 1e-5);
      ++utts;
    }
  }
  EXPECT_EQ(utts, 60);
}

}  // namespace
}  // namespace kaldiq::feat
