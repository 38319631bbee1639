// kaldiq compute-mfcc-feats / compute-fbank-feats / extract-segments through their Run<Name>()
// entry points (linked into this test): Kaldi's per-utterance rules on synthesized WAVs (bad
// rates, stereo, short and truncated files, pipes in wav.scp, segments), the output formats and
// program options, and --config parity with Kaldi when ../shared is present.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "commands.h"
#include "feat/mfcc.h"
#include "feat/online_feature.h"
#include "kaldi/table.h"
#include "kaldi/test_util.h"
#include "kaldi/wave_io.h"

namespace kaldiq::cli {
namespace {

using kaldiq::testing::ReadFileBytes;
using kaldiq::testing::TempDir;
using kaldiq::testing::WriteFileBytes;

int RunCmd(CommandFn fn, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return fn(static_cast<int>(args.size()), argv.data());
}

std::map<std::string, MatrixF> ReadAll(const std::string& rspec) {
  std::map<std::string, MatrixF> out;
  for (kaldi::SequentialMatrixReader r(rspec); !r.Done(); r.Next()) out[r.Key()] = r.Value();
  return out;
}

kaldi::WaveData Synth(int channels, int n, float rate, unsigned seed) {
  kaldi::WaveData w;
  w.samp_freq = rate;
  w.data.Resize(channels, n);
  for (int c = 0; c < channels; ++c)
    for (int i = 0; i < n; ++i)
      w.data(c, i) = std::round((c + 1) * 2000 * std::sin(0.02 * i * (seed + c)) +
                                300 * std::sin(0.31 * i * (c + 1)));
  return w;
}

std::string WavBytes(const kaldi::WaveData& w) {
  std::ostringstream os;
  kaldi::WriteWave(os, w);
  return os.str();
}

void WriteWav(const std::string& path, const kaldi::WaveData& w) { WriteFileBytes(path, WavBytes(w)); }

bool SameMatrix(const MatrixF& a, const MatrixF& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0);
}

TEST(ComputeFeatsCli, KaldiPerUtteranceRules) {
  TempDir d;
  WriteWav(d.File("good.wav"), Synth(1, 16000, 16000, 1));
  WriteWav(d.File("eight.wav"), Synth(1, 8000, 8000, 2));
  WriteWav(d.File("short.wav"), Synth(1, 320, 16000, 3));    // 20 ms < one frame
  WriteWav(d.File("stereo.wav"), Synth(2, 16000, 16000, 4));
  WriteFileBytes(d.File("wav.scp"), "a " + d.File("good.wav") + "\nb " + d.File("eight.wav") +
                                        "\nc " + d.File("short.wav") + "\nd " +
                                        d.File("stereo.wav") + "\ne cat " + d.File("good.wav") +
                                        " |\n");
  const std::string out = d.File("o.ark");
  // As steps/make_mfcc.sh calls it (with Kaldi's standard --verbose / --print-args).
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", "--verbose=2",
                                            "--print-args=false", "--dither=0",
                                            "scp,p:" + d.File("wav.scp"), "ark:" + out}));
  auto feats = ReadAll("ark:" + out);
  EXPECT_EQ(feats.size(), 4u);             // b (8 kHz at 16 kHz) failed
  EXPECT_EQ(feats.count("b"), 0u);
  EXPECT_EQ(feats["a"].rows(), 98);
  EXPECT_EQ(feats["a"].cols(), 13);
  EXPECT_EQ(feats["c"].rows(), 0);         // written as an empty matrix, as Kaldi
  EXPECT_EQ(feats["c"].cols(), 0);
  EXPECT_TRUE(SameMatrix(feats["a"], feats["e"]));  // "cat x.wav |" in wav.scp

  // Stereo without --channel = channel 0 (with a warning); --channel=1 the other one.
  feat::MfccOptions o;
  o.frame_opts.dither = 0;
  kaldi::WaveData st = Synth(2, 16000, 16000, 4);
  MatrixF ch0 = feat::ComputeUtteranceFeatures(feat::MakeMfccComputer(o), {}, 16000,
                                               st.data.Row(0), 16000);
  EXPECT_TRUE(SameMatrix(feats["d"], ch0));
  WriteFileBytes(d.File("st.scp"), "d " + d.File("stereo.wav") + "\n");
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", "--dither=0",
                                            "--channel=1", "scp:" + d.File("st.scp"),
                                            "ark:" + out}));
  MatrixF ch1 = feat::ComputeUtteranceFeatures(feat::MakeMfccComputer(o), {}, 16000,
                                               st.data.Row(1), 16000);
  EXPECT_TRUE(SameMatrix(ReadAll("ark:" + out)["d"], ch1));
  // A channel that does not exist: skipped; nothing succeeded -> exit 1.
  EXPECT_EQ(1, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", "--channel=2",
                                            "scp:" + d.File("st.scp"), "ark:" + out}));
  // 8 kHz with --sample-frequency=8000 works; with --allow-upsample it is upsampled.
  WriteFileBytes(d.File("8k.scp"), "b " + d.File("eight.wav") + "\n");
  EXPECT_EQ(1, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet",
                                            "scp:" + d.File("8k.scp"), "ark:" + out}));
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet",
                                            "--sample-frequency=8000", "scp:" + d.File("8k.scp"),
                                            "ark:" + out}));
  EXPECT_EQ(ReadAll("ark:" + out)["b"].rows(), 98);
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet",
                                            "--allow-upsample=true", "scp:" + d.File("8k.scp"),
                                            "ark:" + out}));
  EXPECT_EQ(ReadAll("ark:" + out)["b"].rows(), 98);
}

TEST(ComputeFeatsCli, BadInputIsAnErrorAndLeavesNoOutput) {
  TempDir d;
  WriteFileBytes(d.File("text.wav"), "this is not a wave file\n");
  std::string good = WavBytes(Synth(1, 4000, 16000, 1));
  WriteFileBytes(d.File("trunc.wav"), good.substr(0, good.size() / 2));  // truncated data
  WriteFileBytes(d.File("cut.wav"), good.substr(0, 30));                 // truncated header
  const std::string out = d.File("o.ark");
  for (const char* bad : {"text.wav", "cut.wav", "missing.wav"}) {
    WriteFileBytes(d.File("bad.scp"), std::string("x ") + d.File(bad) + "\n");
    EXPECT_EQ(1, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet",
                                              "scp:" + d.File("bad.scp"), "ark:" + out}))
        << bad;
    EXPECT_FALSE(std::ifstream(out).good()) << bad << ": a failed run left " << out;
  }
  // A truncated data chunk only warns (Kaldi): the samples read are used.
  WriteFileBytes(d.File("t.scp"), "t " + d.File("trunc.wav") + "\n");
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", "--dither=0",
                                            "scp:" + d.File("t.scp"), "ark:" + out}));
  const int64_t samples = static_cast<int64_t>((good.size() / 2 - 44) / 2);
  EXPECT_EQ(ReadAll("ark:" + out)["t"].rows(), 1 + (samples - 400) / 160);
  // Clipping: full-scale squares and -32768 pass unchanged and give finite features.
  kaldi::WaveData clip;
  clip.samp_freq = 16000;
  clip.data.Resize(1, 8000);
  for (int i = 0; i < 8000; ++i) clip.data(0, i) = (i / 40) % 2 ? 32767.0f : -32768.0f;
  WriteWav(d.File("clip.wav"), clip);
  WriteFileBytes(d.File("c.scp"), "c " + d.File("clip.wav") + "\n");
  ASSERT_EQ(0, RunCmd(RunComputeFbankFeats, {"compute-fbank-feats", "--quiet", "--dither=0",
                                             "--use-energy=true", "scp:" + d.File("c.scp"),
                                             "ark:" + out}));
  MatrixF c = ReadAll("ark:" + out)["c"];
  ASSERT_EQ(c.rows(), 48);
  for (int64_t i = 0; i < c.size(); ++i) ASSERT_TRUE(std::isfinite(c.data()[i]));
  // Bad options are errors before any audio is read.
  EXPECT_EQ(1, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--num-ceps=30",
                                            "scp:" + d.File("c.scp"), "ark:" + out}));
  EXPECT_EQ(1, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--output-format=wav",
                                            "scp:" + d.File("c.scp"), "ark:" + out}));
}

TEST(ComputeFeatsCli, ProgramOptions) {
  TempDir d;
  WriteWav(d.File("a.wav"), Synth(1, 16000, 16000, 1));
  WriteWav(d.File("b.wav"), Synth(1, 4000, 16000, 2));
  WriteFileBytes(d.File("wav.scp"), "a " + d.File("a.wav") + "\nb " + d.File("b.wav") + "\n");
  const std::string scp = "scp:" + d.File("wav.scp"), out = d.File("o.ark");
  // --subtract-mean
  ASSERT_EQ(0, RunCmd(RunComputeFbankFeats, {"compute-fbank-feats", "--quiet", "--dither=0",
                                             "--subtract-mean", scp, "ark:" + out}));
  MatrixF a = ReadAll("ark:" + out)["a"];
  for (int64_t c = 0; c < a.cols(); ++c) {
    double mean = 0;
    for (int64_t r = 0; r < a.rows(); ++r) mean += a(r, c);
    EXPECT_NEAR(mean / a.rows(), 0.0, 1e-4) << c;
  }
  // --min-duration skips b (0.25 s); --write-utt2dur
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", "--min-duration=0.5",
                                            "--write-utt2dur=ark,t:" + d.File("utt2dur"), scp,
                                            "ark:" + out}));
  EXPECT_EQ(ReadAll("ark:" + out).size(), 1u);
  kaldi::RandomAccessBaseFloatReader utt2dur("ark,t:" + d.File("utt2dur"));
  EXPECT_EQ(utt2dur.Value("a"), 1.0f);
  EXPECT_FALSE(utt2dur.HasKey("b"));
  // Dither (default 1.0) is reproducible: seeded by the utterance id.
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", scp, "ark:" + out}));
  const std::string first = ReadFileBytes(out);
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", scp, "ark:" + out}));
  EXPECT_EQ(first, ReadFileBytes(out));
  // --output-format=htk: 12-byte big-endian header, big-endian floats.
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", "--dither=0",
                                            "--output-format=htk", scp, "ark:" + out}));
  const std::string htk = ReadFileBytes(out);
  ASSERT_EQ(htk.substr(0, 2), "a ");
  auto be32 = [&](size_t at) {
    return uint32_t(uint8_t(htk[at])) << 24 | uint32_t(uint8_t(htk[at + 1])) << 16 |
           uint32_t(uint8_t(htk[at + 2])) << 8 | uint8_t(htk[at + 3]);
  };
  EXPECT_EQ(be32(2), 98u);                          // frames
  EXPECT_EQ(be32(6), 100000u);                      // 10 ms in 100 ns units
  EXPECT_EQ(be32(10), (52u << 16) | (006 | 0100));  // 4*13 bytes per frame; MFCC_E
  feat::MfccOptions o;
  o.frame_opts.dither = 0;
  kaldi::WaveData w = Synth(1, 16000, 16000, 1);
  MatrixF ref = feat::ComputeUtteranceFeatures(feat::MakeMfccComputer(o), {}, 16000,
                                               w.data.Row(0), 16000);
  uint32_t bits = be32(14);
  float first_value;
  std::memcpy(&first_value, &bits, 4);
  EXPECT_EQ(first_value, ref(0, 0));
  // --vtln-map with --utt2spk: per-speaker warps; an utterance without one is skipped.
  WriteFileBytes(d.File("utt2spk"), "a s1\nb s2\n");
  WriteFileBytes(d.File("warps"), "s1 1.1\n");
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", "--dither=0",
                                            "--vtln-map=ark,t:" + d.File("warps"),
                                            "--utt2spk=ark,t:" + d.File("utt2spk"), scp,
                                            "ark:" + out}));
  auto warped = ReadAll("ark:" + out);
  ASSERT_EQ(warped.size(), 1u);
  feat::OnlineBaseFeature::Options wo;
  wo.vtln_warp = 1.1f;
  MatrixF wref = feat::ComputeUtteranceFeatures(feat::MakeMfccComputer(o), wo, 16000,
                                                w.data.Row(0), 16000);
  EXPECT_TRUE(SameMatrix(warped["a"], wref));
  EXPECT_FALSE(SameMatrix(warped["a"], ref));
  EXPECT_EQ(1, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet",
                                            "--utt2spk=ark,t:" + d.File("utt2spk"), scp,
                                            "ark:" + out}));  // --utt2spk needs --vtln-map
}

TEST(ExtractSegmentsCli, KaldisSegmentRulesAndAPipeIntoComputeMfccFeats) {
  TempDir d;
  kaldi::WaveData rec = Synth(1, 32000, 16000, 5);  // 2 s
  WriteWav(d.File("rec.wav"), rec);
  WriteFileBytes(d.File("wav.scp"), "rec " + d.File("rec.wav") + "\n");
  WriteFileBytes(d.File("segments"),
                 "s1 rec 0.5 1.5\n"        // 16000 samples from 8000
                 "s2 rec 1.25 -1\n"        // to the end
                 "s3 rec 1.0 2.4\n"        // overshoot 0.4 s: clipped
                 "s4 rec 1.0 2.6\n"        // overshoot 0.6 s: skipped
                 "s5 rec 0.2 0.29\n"       // 0.09 s: too short
                 "s6 rec 0.3\n"            // bad line
                 "s7 other 0 1\n"          // unknown recording
                 "s8 rec 2.5 3\n"          // starts after the end
                 "s9 rec 0.1 0.3 1\n"      // channel 1 of a mono file
                 "s10 rec 0.00003 0.2\n"); // rounding: int(0.00003 * 16000 + 0.5) = 0
  const std::string ark = d.File("seg.ark");
  ASSERT_EQ(0, RunCmd(RunExtractSegments, {"extract-segments", "--quiet",
                                           "scp:" + d.File("wav.scp"), d.File("segments"),
                                           "ark:" + ark}));
  std::map<std::string, kaldi::WaveData> segs;
  for (kaldi::SequentialTableReader<kaldi::WaveHolder> r("ark:" + ark); !r.Done(); r.Next())
    segs[r.Key()] = r.Value();
  ASSERT_EQ(segs.size(), 4u);
  struct Want { const char* key; int64_t begin, end; };
  for (const Want& w : {Want{"s1", 8000, 24000}, Want{"s2", 20000, 32000},
                        Want{"s3", 16000, 32000}, Want{"s10", 0, 3200}}) {
    ASSERT_TRUE(segs.count(w.key)) << w.key;
    const kaldi::WaveData& s = segs[w.key];
    EXPECT_EQ(s.samp_freq, 16000.0f);
    ASSERT_EQ(s.NumSamples(), w.end - w.begin) << w.key;
    for (int64_t i = 0; i < s.NumSamples(); ++i)
      ASSERT_EQ(s.data(0, i), rec.data(0, w.begin + i)) << w.key << " " << i;
  }
  // extract-segments | compute-mfcc-feats, as make_mfcc.sh does with a segments file.
  const std::string kaldiq = std::string(KQ_BINARY_DIR) + "/tools/kaldiq/kaldiq";
  if (access(kaldiq.c_str(), X_OK) != 0) GTEST_SKIP() << "the pipe part needs " << kaldiq;
  const std::string feats = d.File("f.ark");
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats,
                      {"compute-mfcc-feats", "--quiet", "--dither=0",
                       "ark:" + kaldiq + " extract-segments --quiet scp:" +
                           d.File("wav.scp") + " " + d.File("segments") + " ark:- |",
                       "ark:" + feats}));
  auto f = ReadAll("ark:" + feats);
  ASSERT_EQ(f.size(), 4u);
  feat::MfccOptions o;
  o.frame_opts.dither = 0;
  MatrixF s1 = feat::ComputeUtteranceFeatures(feat::MakeMfccComputer(o), {}, 16000,
                                              rec.data.Row(0) + 8000, 16000);
  EXPECT_TRUE(SameMatrix(f["s1"], s1));
  // A multi-channel recording needs the channel column (Kaldi: an error).
  WriteWav(d.File("st.wav"), Synth(2, 16000, 16000, 6));
  WriteFileBytes(d.File("st.scp"), "st " + d.File("st.wav") + "\n");
  WriteFileBytes(d.File("seg2"), "a st 0 0.5 1\nb st 0 0.5\n");
  EXPECT_EQ(1, RunCmd(RunExtractSegments, {"extract-segments", "--quiet", "scp:" + d.File("st.scp"),
                                           d.File("seg2"), "ark:" + ark}));
  WriteFileBytes(d.File("seg3"), "a st 0 0.5 1\n");
  ASSERT_EQ(0, RunCmd(RunExtractSegments, {"extract-segments", "--quiet", "scp:" + d.File("st.scp"),
                                           d.File("seg3"), "ark:" + ark}));
  kaldi::SequentialTableReader<kaldi::WaveHolder> r("ark:" + ark);
  ASSERT_FALSE(r.Done());
  EXPECT_EQ(r.Value().NumChannels(), 1);
  EXPECT_EQ(r.Value().data(0, 10), Synth(2, 16000, 16000, 6).data(1, 10));
}

const std::string kAudio = std::string(KQ_SHARED_DIR) + "/fixtures/audio";

TEST(ComputeFeatsCli, ConfigFileParityWithKaldi) {
  if (!std::ifstream(kAudio + "/kaldi/mfcc_hires.ark").good())
    GTEST_SKIP() << "needs ../shared/fixtures/audio";
  TempDir d;
  std::ifstream in(kAudio + "/kaldi/wav5.scp");
  std::string scp, key, path;
  while (in >> key >> path) scp += key + " " + kAudio + "/" + path + "\n";
  WriteFileBytes(d.File("wav.scp"), scp);
  const std::string out = d.File("o.ark");
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet",
                                            "--config=" + kAudio + "/conf/mfcc_hires.conf",
                                            "scp:" + d.File("wav.scp"), "ark:" + out}));
  auto ours = ReadAll("ark:" + out);
  auto kaldi = ReadAll("ark:" + kAudio + "/kaldi/mfcc_hires.ark");
  ASSERT_EQ(ours.size(), 5u);
  double worst = 0;
  for (const auto& [k, m] : ours) {
    const MatrixF& ref = kaldi.at(k);
    ASSERT_EQ(m.rows(), ref.rows());
    ASSERT_EQ(m.cols(), ref.cols());
    for (int64_t i = 0; i < m.size(); ++i)
      worst = std::max(worst, std::fabs(double(m.data()[i]) - ref.data()[i]));
  }
  EXPECT_LE(worst, 2e-3);
  // The command line overrides the config file: --num-ceps=13 after --config.
  ASSERT_EQ(0, RunCmd(RunComputeMfccFeats, {"compute-mfcc-feats", "--quiet", "--num-ceps=13",
                                            "--config=" + kAudio + "/conf/mfcc_hires.conf",
                                            "scp:" + d.File("wav.scp"), "ark:" + out}));
  EXPECT_EQ(ReadAll("ark:" + out).begin()->second.cols(), 13);
}

}  // namespace
}  // namespace kaldiq::cli
