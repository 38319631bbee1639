// OnlineBaseFeature (feat/online_feature.h): the streaming path equals the whole-utterance path
// bit for bit for any chunking (snip-edges true and false, dither, resampling), what is ready
// before InputFinished, the API's edge cases, and bounded memory.
#include "feat/online_feature.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "feat/framing.h"
#include "feat/mfcc.h"
#include "util/error.h"

namespace kaldiq::feat {
namespace {

using Factory = std::function<std::unique_ptr<FeatureComputer>()>;

std::vector<float> Speechy(int n, float rate, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 300);
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) {
    const double t = i / rate;
    x[i] = static_cast<float>(std::round(3000 * std::sin(2 * M_PI * 220 * t) *
                                             (1 + std::sin(2 * M_PI * 3 * t)) +
                                         g(rng)));
  }
  return x;
}

MatrixF Whole(const Factory& make, const std::vector<float>& x, float rate,
              OnlineBaseFeature::Options o = {}) {
  return ComputeUtteranceFeatures(make(), o, rate, x.data(), static_cast<int64_t>(x.size()));
}

// Feeds x in random chunks (0 .. max_chunk samples, some empty) and checks the frames
// available before InputFinished against the final ones.
MatrixF Chunked(const Factory& make, const std::vector<float>& x, float rate, unsigned seed,
                int max_chunk, OnlineBaseFeature::Options o = {}) {
  OnlineBaseFeature feat(make(), o);
  std::mt19937 rng(seed);
  size_t pos = 0;
  std::vector<std::vector<float>> early;
  while (pos < x.size()) {
    size_t n = std::min<size_t>(rng() % (max_chunk + 1), x.size() - pos);
    feat.AcceptWaveform(rate, x.data() + pos, static_cast<int64_t>(n));
    pos += n;
    EXPECT_FALSE(feat.IsLastFrame(feat.NumFramesReady() - 1));
    while (static_cast<int>(early.size()) < feat.NumFramesReady()) {
      early.emplace_back(feat.Dim());
      feat.GetFrame(static_cast<int>(early.size()) - 1, early.back().data());
    }
  }
  feat.InputFinished();
  EXPECT_TRUE(feat.NumFramesReady() == 0 || feat.IsLastFrame(feat.NumFramesReady() - 1));
  MatrixF out(feat.NumFramesReady(), feat.Dim());
  for (int t = 0; t < feat.NumFramesReady(); ++t) feat.GetFrame(t, out.Row(t));
  for (size_t t = 0; t < early.size(); ++t)
    EXPECT_EQ(0, std::memcmp(early[t].data(), out.Row(t), sizeof(float) * out.cols())) << t;
  return out;
}

void ExpectBitIdentical(const MatrixF& a, const MatrixF& b, const char* what) {
  ASSERT_EQ(a.rows(), b.rows()) << what;
  ASSERT_EQ(a.cols(), b.cols()) << what;
  if (a.size() == 0) return;
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(float) * a.size())) << what;
}

struct Config {
  const char* name;
  Factory make;
  float rate;  // of the audio fed in
};

std::vector<Config> Configs() {
  MfccOptions hires;
  hires.frame_opts.dither = 0;
  hires.mel_opts.num_bins = 40;
  hires.num_ceps = 40;
  hires.use_energy = false;
  hires.mel_opts.high_freq = -400;
  MfccOptions nosnip = hires;
  nosnip.frame_opts.snip_edges = false;
  MfccOptions dither = hires;
  dither.frame_opts.dither = 1.0f;
  dither.frame_opts.snip_edges = false;
  FbankOptions fbank;
  fbank.use_energy = true;
  fbank.frame_opts.dither = 0;
  MfccOptions up = nosnip;
  up.frame_opts.allow_upsample = true;
  MfccOptions down = hires;
  down.frame_opts.allow_downsample = true;
  MfccOptions sparse = nosnip;  // shift longer than the window: samples between frames dropped
  sparse.frame_opts.frame_length_ms = 10;
  sparse.frame_opts.frame_shift_ms = 25;
  MfccOptions sparse_snip = sparse;
  sparse_snip.frame_opts.snip_edges = true;
  return {
      {"hires", [=] { return MakeMfccComputer(hires); }, 16000},
      {"nosnip", [=] { return MakeMfccComputer(nosnip); }, 16000},
      {"dither+nosnip", [=] { return MakeMfccComputer(dither); }, 16000},
      {"fbank+energy", [=] { return MakeFbankComputer(fbank); }, 16000},
      {"8k->16k", [=] { return MakeMfccComputer(up); }, 8000},
      {"44.1k->16k", [=] { return MakeMfccComputer(down); }, 44100},
      {"shift > length, nosnip", [=] { return MakeMfccComputer(sparse); }, 16000},
      {"shift > length, snip", [=] { return MakeMfccComputer(sparse_snip); }, 16000},
  };
}

TEST(OnlineFeatureTest, AnyChunkingIsBitIdenticalToTheWholeUtterance) {
  for (const Config& c : Configs()) {
    std::vector<float> x = Speechy(static_cast<int>(c.rate * 1.37f), c.rate, 11);
    OnlineBaseFeature::Options o;
    o.dither_seed = 99;
    MatrixF whole = Whole(c.make, x, c.rate, o);
    EXPECT_GT(whole.rows(), 50) << c.name;
    for (int max_chunk : {1, 7, 160, 2999}) {
      if (max_chunk == 1 && c.rate > 16000) continue;  // slow and nothing new
      ExpectBitIdentical(Chunked(c.make, x, c.rate, max_chunk, max_chunk, o), whole, c.name);
    }
  }
}

TEST(OnlineFeatureTest, WhatIsReadyBeforeInputFinished) {
  for (bool snip : {true, false}) {
    MfccOptions m;
    m.frame_opts.dither = 0;
    m.frame_opts.snip_edges = snip;
    OnlineBaseFeature feat(MakeMfccComputer(m));
    std::vector<float> x = Speechy(16000, 16000, 2);
    feat.AcceptWaveform(16000, x.data(), 16000);
    EXPECT_EQ(feat.NumFramesReady(), NumFrames(16000, m.frame_opts, /*flush=*/false));
    EXPECT_EQ(feat.NumFramesReady(), snip ? 98 : 99);
    EXPECT_FALSE(feat.IsLastFrame(feat.NumFramesReady() - 1));
    feat.InputFinished();
    EXPECT_EQ(feat.NumFramesReady(), snip ? 98 : 100);
    EXPECT_TRUE(feat.IsLastFrame(feat.NumFramesReady() - 1));
    EXPECT_FALSE(feat.IsLastFrame(0));
    feat.InputFinished();  // idempotent
    EXPECT_EQ(feat.NumFramesReady(), snip ? 98 : 100);
    EXPECT_FLOAT_EQ(feat.FrameShiftInSeconds(), 0.01f);
    EXPECT_EQ(feat.Dim(), 13);
  }
}

TEST(OnlineFeatureTest, ApiEdgeCases) {
  MfccOptions m;
  m.frame_opts.dither = 0;
  {
    OnlineBaseFeature feat(MakeMfccComputer(m));  // no audio at all
    feat.InputFinished();
    EXPECT_EQ(feat.NumFramesReady(), 0);
    EXPECT_ANY_THROW({
      float f[13];
      feat.GetFrame(0, f);
    });
    float s = 1;
    EXPECT_THROW(feat.AcceptWaveform(16000, &s, 1), Error);  // after InputFinished
    feat.AcceptWaveform(16000, &s, 0);                       // an empty chunk is a no-op
  }
  {
    std::vector<float> x = Speechy(399, 16000, 1);  // shorter than one frame
    EXPECT_EQ(Whole([&] { return MakeMfccComputer(m); }, x, 16000).rows(), 0);
    MfccOptions ns = m;
    ns.frame_opts.snip_edges = false;
    std::vector<float> y = Speechy(79, 16000, 1);
    EXPECT_EQ(Whole([&] { return MakeMfccComputer(ns); }, y, 16000).rows(), 0);
    y.push_back(1);  // 80 samples: one (mirrored) frame
    MatrixF one = Whole([&] { return MakeMfccComputer(ns); }, y, 16000);
    EXPECT_EQ(one.rows(), 1);
    for (int64_t k = 0; k < one.cols(); ++k) EXPECT_TRUE(std::isfinite(one(0, k)));
  }
  {
    OnlineBaseFeature feat(MakeMfccComputer(m));
    std::vector<float> x = Speechy(800, 8000, 1);
    try {
      feat.AcceptWaveform(8000, x.data(), 800);
      ADD_FAILURE() << "8 kHz audio accepted by a 16 kHz extractor";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--allow-upsample"), std::string::npos) << e.what();
    }
  }
  {
    MfccOptions d = m;
    d.frame_opts.allow_downsample = true;
    OnlineBaseFeature feat(MakeMfccComputer(d));
    std::vector<float> x = Speechy(4410, 44100, 1);
    feat.AcceptWaveform(44100, x.data(), 4410);
    EXPECT_THROW(feat.AcceptWaveform(48000, x.data(), 10), Error);  // rate changed
    OnlineBaseFeature other(MakeMfccComputer(d));
    EXPECT_THROW(other.AcceptWaveform(std::nanf(""), x.data(), 10), Error);
    EXPECT_THROW(other.AcceptWaveform(1e12f, x.data(), 10), Error);
    EXPECT_THROW(other.AcceptWaveform(22050.5f, x.data(), 10), Error);
  }
  {
    std::vector<int16_t> s(3200);
    std::vector<float> f(3200);
    for (int i = 0; i < 3200; ++i) f[i] = s[i] = static_cast<int16_t>((i * 37) % 2000 - 1000);
    OnlineBaseFeature a(MakeMfccComputer(m)), b(MakeMfccComputer(m));
    a.AcceptWaveform(16000, s.data(), 3200);
    b.AcceptWaveform(16000, f.data(), 3200);
    ASSERT_EQ(a.NumFramesReady(), b.NumFramesReady());
    std::vector<float> ra(13), rb(13);
    a.GetFrame(5, ra.data());
    b.GetFrame(5, rb.data());
    EXPECT_EQ(ra, rb);
  }
}

TEST(OnlineFeatureTest, BoundedMemory) {
  MfccOptions m;
  m.frame_opts.dither = 0;
  m.frame_opts.max_feature_vectors = 250;
  OnlineBaseFeature feat(MakeMfccComputer(m));
  MfccOptions all = m;
  all.frame_opts.max_feature_vectors = -1;
  OnlineBaseFeature ref(MakeMfccComputer(all));
  std::vector<float> x = Speechy(16000, 16000, 4);
  for (int sec = 0; sec < 12; ++sec) {
    feat.AcceptWaveform(16000, x.data(), 16000);
    ref.AcceptWaveform(16000, x.data(), 16000);
    EXPECT_LE(feat.NumSamplesHeld(), 400);  // only what the next frame needs
  }
  feat.InputFinished();
  ref.InputFinished();
  const int n = feat.NumFramesReady();
  EXPECT_EQ(n, ref.NumFramesReady());
  EXPECT_EQ(feat.FirstAvailableFrame(), n - 250);
  std::vector<float> a(13), b(13);
  EXPECT_THROW(feat.GetFrame(n - 251, a.data()), Error);
  for (int t : {n - 250, n - 100, n - 1}) {
    feat.GetFrame(t, a.data());
    ref.GetFrame(t, b.data());
    EXPECT_EQ(a, b) << t;
  }
}

TEST(OnlineFeatureTest, DitherIsReproducibleAndSeeded) {
  MfccOptions m;  // default dither 1.0
  std::vector<float> x(16000, 0.0f);  // digital silence: dither decides everything
  Factory make = [&] { return MakeMfccComputer(m); };
  OnlineBaseFeature::Options o1, o2;
  o1.dither_seed = 1;
  o2.dither_seed = 2;
  ExpectBitIdentical(Whole(make, x, 16000, o1), Whole(make, x, 16000, o1), "same seed");
  MatrixF a = Whole(make, x, 16000, o1), b = Whole(make, x, 16000, o2);
  EXPECT_NE(0, std::memcmp(a.data(), b.data(), sizeof(float) * a.size()));
  // Dithered silence has the energy of unit Gaussian noise: ln(400 * 1) ~ 6.
  EXPECT_NEAR(a(10, 0), std::log(400.0f), 0.5f);
}

}  // namespace
}  // namespace kaldiq::feat
