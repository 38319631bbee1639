// Parity with Kaldi's compute-mfcc-feats / compute-fbank-feats on the fixture WAVs
// (../shared/fixtures/audio, produced by a real Kaldi build; see its README for the commands).
// Every configuration the README lists, through the library path the commands use
// (ComputeUtteranceFeatures). Tolerances (issue #10): max |diff| <= 2e-3 and relative Frobenius
// error <= 1e-5; linear-magnitude fbank values reach 1e7, where one float ulp is 1, so there the
// element-wise criterion is relative (<= 1e-6 |x|). Measured numbers are printed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "feat/mfcc.h"
#include "feat/online_feature.h"
#include "kaldi/table.h"
#include "kaldi/wave_io.h"
#include "util/error.h"

namespace kaldiq::feat {
namespace {

const std::string kAudio = std::string(KQ_SHARED_DIR) + "/fixtures/audio";

bool HaveFixtures() { return std::ifstream(kAudio + "/kaldi/mfcc_hires.ark").good(); }

#define SKIP_WITHOUT_FIXTURES()                                                      \
  if (!HaveFixtures())                                                               \
  GTEST_SKIP() << "needs ../shared/fixtures/audio (Kaldi features of the fixture WAVs)"

// key -> path of the WAVs listed in a fixture scp (paths relative to the audio folder).
std::vector<std::pair<std::string, std::string>> ReadScp(const std::string& scp) {
  std::ifstream in(kAudio + "/" + scp);
  std::vector<std::pair<std::string, std::string>> out;
  std::string key, path;
  while (in >> key >> path) out.emplace_back(key, kAudio + "/" + path);
  return out;
}

kaldi::WaveData ReadWav(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  kaldi::WaveData w;
  kaldi::ReadWave(is, &w);
  return w;
}

struct Stats {
  double max_abs = 0, max_rel = 0, err2 = 0, ref2 = 0;
  int utts = 0;
  double RelFrob() const { return ref2 > 0 ? std::sqrt(err2 / ref2) : 0; }
};

using Factory = std::function<std::unique_ptr<FeatureComputer>()>;

Stats Compare(const std::string& scp, const std::string& kaldi_ark, const Factory& make,
              int channel = 0) {
  std::map<std::string, MatrixF> ref;
  for (kaldi::SequentialMatrixReader r("ark:" + kAudio + "/kaldi/" + kaldi_ark); !r.Done();
       r.Next())
    ref[r.Key()] = r.Value();
  Stats s;
  for (const auto& [key, path] : ReadScp(scp)) {
    kaldi::WaveData w = ReadWav(path);
    OnlineBaseFeature::Options o;
    o.resample_cutoff_fraction = 0.99f;
    MatrixF ours = ComputeUtteranceFeatures(make(), o, w.samp_freq, w.data.Row(channel),
                                            w.NumSamples());
    auto it = ref.find(key);
    EXPECT_NE(it, ref.end()) << key << " not in " << kaldi_ark;
    if (it == ref.end()) continue;
    const MatrixF& k = it->second;
    EXPECT_EQ(ours.rows(), k.rows()) << key;
    EXPECT_EQ(ours.cols(), k.cols()) << key;
    if (ours.rows() != k.rows() || ours.cols() != k.cols()) continue;
    for (int64_t i = 0; i < k.size(); ++i) {
      const double d = std::fabs(double(ours.data()[i]) - k.data()[i]);
      s.max_abs = std::max(s.max_abs, d);
      s.max_rel = std::max(s.max_rel, d / std::max(1.0, std::fabs(double(k.data()[i]))));
      s.err2 += d * d;
      s.ref2 += double(k.data()[i]) * k.data()[i];
    }
    ++s.utts;
  }
  return s;
}

void Report(const char* name, const Stats& s, bool relative_elementwise = false) {
  std::printf("[ parity ] %-28s %2d utts  max|diff| %.3g  max rel %.3g  rel Frobenius %.3g\n",
              name, s.utts, s.max_abs, s.max_rel, s.RelFrob());
  EXPECT_GT(s.utts, 0);
  if (relative_elementwise) {
    EXPECT_LE(s.max_rel, 1e-6) << name;
  } else {
    EXPECT_LE(s.max_abs, 2e-3) << name;
  }
  EXPECT_LE(s.RelFrob(), 1e-5) << name;
}

MfccOptions HiresMfcc() {  // conf/mfcc_hires.conf
  MfccOptions o;
  o.use_energy = false;
  o.mel_opts.num_bins = 40;
  o.num_ceps = 40;
  o.mel_opts.low_freq = 20;
  o.mel_opts.high_freq = -400;
  o.frame_opts.dither = 0;
  return o;
}

TEST(KaldiParityTest, MfccHires60) {
  SKIP_WITHOUT_FIXTURES();
  MfccOptions o = HiresMfcc();
  Report("mfcc_hires (60 utts)", Compare("wav.scp", "mfcc_hires.ark", [&] { return MakeMfccComputer(o); }));
}

TEST(KaldiParityTest, Mfcc13) {
  SKIP_WITHOUT_FIXTURES();
  MfccOptions o;  // conf/mfcc.conf
  o.use_energy = false;
  o.frame_opts.dither = 0;
  Report("mfcc13", Compare("kaldi/wav5.scp", "mfcc13_5.ark", [&] { return MakeMfccComputer(o); }));
}

TEST(KaldiParityTest, Fbank80) {
  SKIP_WITHOUT_FIXTURES();
  FbankOptions o;
  o.mel_opts.num_bins = 80;
  o.frame_opts.dither = 0;
  Report("fbank80", Compare("kaldi/wav5.scp", "fbank80_5.ark", [&] { return MakeFbankComputer(o); }));
}

TEST(KaldiParityTest, MfccHiresNoSnipEdges) {
  SKIP_WITHOUT_FIXTURES();
  MfccOptions o = HiresMfcc();
  o.frame_opts.snip_edges = false;
  Report("mfcc_hires snip-edges=false",
         Compare("kaldi/wav5.scp", "mfcc_hires_nosnip5.ark", [&] { return MakeMfccComputer(o); }));
}

TEST(KaldiParityTest, MfccHtkStyle) {
  SKIP_WITHOUT_FIXTURES();
  MfccOptions o;
  o.frame_opts.dither = 0;
  o.frame_opts.window_type = "hamming";
  o.frame_opts.preemph_coeff = 0.95f;
  o.frame_opts.remove_dc_offset = false;
  o.use_energy = true;
  o.raw_energy = false;
  o.htk_compat = true;
  o.cepstral_lifter = 0;
  Report("mfcc htk-style", Compare("kaldi/wav5.scp", "mfcc_htk5.ark", [&] { return MakeMfccComputer(o); }));
}

TEST(KaldiParityTest, FbankLinearMagnitudeBlackmanEnergy) {
  SKIP_WITHOUT_FIXTURES();
  FbankOptions o;
  o.frame_opts.dither = 0;
  o.use_energy = true;
  o.use_log_fbank = false;
  o.use_power = false;
  o.frame_opts.window_type = "blackman";
  Report("fbank linear/magnitude", Compare("kaldi/wav5.scp", "fbank_misc5.ark",
                                           [&] { return MakeFbankComputer(o); }),
         /*relative_elementwise=*/true);
}

TEST(KaldiParityTest, EightKilohertz) {
  SKIP_WITHOUT_FIXTURES();
  MfccOptions o;
  o.frame_opts.dither = 0;
  o.frame_opts.samp_freq = 8000;
  o.use_energy = false;
  Report("8 kHz (--sample-frequency=8000)",
         Compare("kaldi/edge8k.scp", "mfcc_8k.ark", [&] { return MakeMfccComputer(o); }));
}

TEST(KaldiParityTest, StereoChannelOne) {
  SKIP_WITHOUT_FIXTURES();
  MfccOptions o;
  o.frame_opts.dither = 0;
  o.use_energy = false;
  Report("stereo --channel=1", Compare("kaldi/edgestereo.scp", "mfcc_stereo_ch1.ark",
                                       [&] { return MakeMfccComputer(o); }, /*channel=*/1));
}

// The streaming path on a real utterance: random chunk sizes give exactly the features of the
// whole utterance, with snip-edges=false (whose last frames depend on InputFinished).
TEST(KaldiParityTest, StreamingChunksEqualWholeUtterance) {
  SKIP_WITHOUT_FIXTURES();
  MfccOptions o = HiresMfcc();
  o.frame_opts.snip_edges = false;
  kaldi::WaveData w = ReadWav(kAudio + "/wav/en029-f1-de00020.wav");
  const float* x = w.data.Row(0);
  const int64_t n = w.NumSamples();
  MatrixF whole = ComputeUtteranceFeatures(MakeMfccComputer(o), {}, w.samp_freq, x, n);
  std::mt19937 rng(5);
  for (int max_chunk : {1, 160, 1000, 4000}) {
    OnlineBaseFeature feat(MakeMfccComputer(o));
    for (int64_t pos = 0; pos < n;) {
      int64_t c = std::min<int64_t>(rng() % (max_chunk + 1), n - pos);
      feat.AcceptWaveform(w.samp_freq, x + pos, c);
      pos += c;
    }
    feat.InputFinished();
    ASSERT_EQ(feat.NumFramesReady(), whole.rows());
    std::vector<float> row(static_cast<size_t>(whole.cols()));
    for (int t = 0; t < feat.NumFramesReady(); ++t) {
      feat.GetFrame(t, row.data());
      ASSERT_EQ(0, std::memcmp(row.data(), whole.Row(t), sizeof(float) * row.size()))
          << "frame " << t << ", chunks up to " << max_chunk;
    }
  }
}

TEST(KaldiParityTest, EdgeFiles) {
  SKIP_WITHOUT_FIXTURES();
  MfccOptions o;
  o.frame_opts.dither = 0;
  o.use_energy = false;
  // 8 kHz audio for a 16 kHz extractor: the utterance fails (Kaldi: "Failed to compute
  // features", 0 of 1 done), naming the option that would allow it.
  kaldi::WaveData w8 = ReadWav(kAudio + "/edge/en029-f1-de00020-8k.wav");
  EXPECT_EQ(w8.samp_freq, 8000.0f);
  try {
    ComputeUtteranceFeatures(MakeMfccComputer(o), {}, w8.samp_freq, w8.data.Row(0), w8.NumSamples());
    ADD_FAILURE() << "8 kHz audio accepted at --sample-frequency=16000";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("allow-upsample"), std::string::npos);
  }
  // Shorter than one frame (20 ms < 25 ms): an empty matrix.
  kaldi::WaveData ws = ReadWav(kAudio + "/edge/en029-f1-de00020-short.wav");
  EXPECT_EQ(ws.NumSamples(), 320);
  EXPECT_EQ(ComputeUtteranceFeatures(MakeMfccComputer(o), {}, ws.samp_freq, ws.data.Row(0),
                                     ws.NumSamples())
                .rows(),
            0);
  // Stereo: read as 2 x samples (channel choice and the warning are the command's; see
  // tests/feat/cli_test.cc).
  kaldi::WaveData st = ReadWav(kAudio + "/edge/en029-f1-de00020-stereo.wav");
  kaldi::WaveData mono = ReadWav(kAudio + "/wav/en029-f1-de00020.wav");
  ASSERT_EQ(st.NumChannels(), 2);
  EXPECT_EQ(st.NumSamples(), mono.NumSamples());
}

}  // namespace
}  // namespace kaldiq::feat
