// The copy-feats / compute-cmvn-stats / apply-cmvn commands, run through their Run<Name>()
// entry points (linked into this test) and once through the built kaldiq binary.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "commands.h"
#include "kaldi/table.h"
#include "test_util.h"

namespace kaldiq::cli {
namespace {

using kaldiq::testing::ReadFileBytes;
using kaldiq::testing::TempDir;
using kaldiq::testing::TestData;
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

double MaxAbsDiff(const MatrixF& a, const MatrixF& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  if (a.rows() != b.rows() || a.cols() != b.cols()) return INFINITY;
  double m = 0;
  for (int64_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a.data()[i]) - b.data()[i]));
  return m;
}

const std::string kDev = "tdnn-seed/dev60/";

TEST(ApplyCmvn, MatchesKaldiOutput) {
  TempDir tmp;
  std::string out = tmp.File("cmvn_feats.ark");
  ASSERT_EQ(0, RunCmd(RunApplyCmvn, {"apply-cmvn", "--quiet", "--norm-means=true", "--norm-vars=false",
                                  "--utt2spk=ark:" + TestData(kDev + "utt2spk"),
                                  "ark:" + TestData(kDev + "cmvn.ark"),
                                  "ark:" + TestData(kDev + "feats.ark"), "ark:" + out}));
  auto ours = ReadAll("ark:" + out);
  auto kaldi = ReadAll("ark:" + TestData(kDev + "feats_cmvn5.ark"));
  EXPECT_EQ(ours.size(), 60u);
  ASSERT_EQ(kaldi.size(), 5u);
  double worst = 0;
  for (const auto& [key, m] : kaldi) {
    ASSERT_TRUE(ours.count(key)) << key;
    worst = std::max(worst, MaxAbsDiff(ours[key], m));
  }
  EXPECT_LE(worst, 1e-5) << "apply-cmvn vs Kaldi's feats_cmvn5.ark";
  std::printf("apply-cmvn vs Kaldi: max abs diff %g over 5 utterances\n", worst);
}

TEST(ApplyCmvn, MissingSpeakerIsCountedNotFatal) {
  TempDir tmp;
  // utt2spk with only the first utterance: the others have no stats and are skipped.
  std::string utt2spk = ReadFileBytes(TestData(kDev + "utt2spk"));
  WriteFileBytes(tmp.File("u2s"), utt2spk.substr(0, utt2spk.find('\n') + 1));
  std::string out = tmp.File("o.ark");
  ASSERT_EQ(0, RunCmd(RunApplyCmvn, {"apply-cmvn", "--quiet", "--utt2spk=ark:" + tmp.File("u2s"),
                                  "ark:" + TestData(kDev + "cmvn.ark"),
                                  "ark:" + TestData(kDev + "feats.ark"), "ark:" + out}));
  EXPECT_EQ(ReadAll("ark:" + out).size(), 1u);
  // Nothing succeeds -> failure exit status, and no output file is left.
  WriteFileBytes(tmp.File("none"), "nobody nobody\n");
  EXPECT_EQ(1, RunCmd(RunApplyCmvn, {"apply-cmvn", "--quiet", "--utt2spk=ark:" + tmp.File("none"),
                                  "ark:" + TestData(kDev + "cmvn.ark"),
                                  "ark:" + TestData(kDev + "loglikes5.ark"), "ark:" + tmp.File("x")}));
  // Wrong dimension (968-dim log-likelihoods vs 40-dim stats) is a per-utterance failure too.
  EXPECT_EQ(1, RunCmd(RunApplyCmvn, {"apply-cmvn", "--quiet", "--utt2spk=ark:" + TestData(kDev + "utt2spk"),
                                  "ark:" + TestData(kDev + "cmvn.ark"),
                                  "ark:" + TestData(kDev + "loglikes5.ark"), "ark:" + tmp.File("y")}));
  EXPECT_NE(0, RunCmd(RunApplyCmvn, {"apply-cmvn", "--quiet", "ark:" + tmp.File("missing.ark"),
                                  "ark:" + TestData(kDev + "feats.ark"), "ark:" + tmp.File("z")}));
}

TEST(ApplyCmvn, VarianceNormalisationAndReverseRoundTrip) {
  TempDir tmp;
  std::string stats = tmp.File("stats.ark"), norm = tmp.File("n.ark"), back = tmp.File("b.ark");
  std::string feats = "ark:" + TestData(kDev + "feats_cmvn5.ark");
  ASSERT_EQ(0, RunCmd(RunComputeCmvnStats, {"compute-cmvn-stats", "--quiet", feats, "ark:" + stats}));
  ASSERT_EQ(0, RunCmd(RunApplyCmvn, {"apply-cmvn", "--quiet", "--norm-vars=true", "ark:" + stats, feats,
                                  "ark:" + norm}));
  for (const auto& [key, m] : ReadAll("ark:" + norm)) {
    for (int64_t c = 0; c < m.cols(); ++c) {
      double s = 0, ss = 0;
      for (int64_t r = 0; r < m.rows(); ++r) {
        s += m(r, c);
        ss += double(m(r, c)) * m(r, c);
      }
      EXPECT_NEAR(s / m.rows(), 0.0, 1e-4) << key;
      EXPECT_NEAR(ss / m.rows(), 1.0, 1e-3) << key;
    }
  }
  ASSERT_EQ(0, RunCmd(RunApplyCmvn, {"apply-cmvn", "--quiet", "--norm-vars=true", "--reverse=true",
                                  "ark:" + stats, "ark:" + norm, "ark:" + back}));
  auto orig = ReadAll(feats);
  for (const auto& [key, m] : ReadAll("ark:" + back)) EXPECT_LE(MaxAbsDiff(m, orig[key]), 1e-3);
}

TEST(ComputeCmvnStats, MatchesKaldiStats) {
  TempDir tmp;
  // spk2utt from utt2spk in utt2spk order (what utils/utt2spk_to_spk2utt.pl produces).
  std::ifstream u2s(TestData(kDev + "utt2spk"));
  std::vector<std::string> spk_order;
  std::map<std::string, std::string> lines;
  std::string utt, spk;
  while (u2s >> utt >> spk) {
    if (!lines.count(spk)) spk_order.push_back(spk);
    lines[spk] += " " + utt;
  }
  std::string spk2utt;
  for (const auto& s : spk_order) spk2utt += s + lines[s] + "\n";
  WriteFileBytes(tmp.File("spk2utt"), spk2utt);
  std::string out = tmp.File("cmvn.ark");
  ASSERT_EQ(0, RunCmd(RunComputeCmvnStats, {"compute-cmvn-stats", "--quiet",
                                         "--spk2utt=ark:" + tmp.File("spk2utt"),
                                         "ark:" + TestData(kDev + "feats.ark"), "ark:" + out}));
  // Kaldi writes double stats ("DM"); the fixture's copy holds them as float.
  std::string bytes = ReadFileBytes(out);
  EXPECT_NE(bytes.find("\0BDM ", 0, 5), std::string::npos);
  std::map<std::string, MatrixD> ours;
  for (kaldi::SequentialDoubleMatrixReader r("ark:" + out); !r.Done(); r.Next()) ours[r.Key()] = r.Value();
  auto kaldi = ReadAll("ark:" + TestData(kDev + "cmvn.ark"));
  ASSERT_EQ(ours.size(), kaldi.size());
  double worst_rel = 0;
  int compared = 0;
  for (const auto& [key, k] : kaldi) {
    const MatrixD& m = ours[key];
    ASSERT_EQ(m.rows(), 2);
    ASSERT_EQ(m.cols(), 41);
    // The fixture's stats of speaker engb-m2 include an utterance that is not among the 60
    // (count 654 vs 440 frames here); only speakers whose frame counts agree are comparable.
    if (m(0, 40) != k(0, 40)) {
      std::printf("compute-cmvn-stats: speaker %s not comparable (count %g here, %g in fixture)\n",
                  key.c_str(), m(0, 40), double(k(0, 40)));
      continue;
    }
    ++compared;
    for (int64_t i = 0; i < m.size(); ++i) {
      double ref = k.data()[i];
      double rel = std::fabs(m.data()[i] - ref) / std::max(1.0, std::fabs(ref));
      EXPECT_LE(rel, 6e-8) << key << " element " << i << ": ours " << m.data()[i] << " Kaldi " << ref;
      worst_rel = std::max(worst_rel, rel);
    }
  }
  // Tolerance: one float rounding of the stored value (2^-24 relative).
  EXPECT_LE(worst_rel, 6e-8);
  EXPECT_GE(compared, 16);
  std::printf("compute-cmvn-stats vs Kaldi: max relative diff %g over %d speakers\n", worst_rel,
              compared);
}

TEST(CopyFeats, TextBinaryCompressedAndSingleFile) {
  TempDir tmp;
  std::string in = "ark:" + TestData(kDev + "feats_cmvn5.ark");
  ASSERT_EQ(0, RunCmd(RunCopyFeats, {"copy-feats", "--quiet", in, "ark,t:" + tmp.File("t.ark")}));
  ASSERT_EQ(0, RunCmd(RunCopyFeats, {"copy-feats", "--quiet", "ark:" + tmp.File("t.ark"),
                                  "ark,scp:" + tmp.File("b.ark") + "," + tmp.File("b.scp")}));
  auto orig = ReadAll(in), back = ReadAll("scp:" + tmp.File("b.scp"));
  ASSERT_EQ(back.size(), 5u);
  for (const auto& [k, m] : orig) EXPECT_LE(MaxAbsDiff(m, back[k]), 1e-4);

  ASSERT_EQ(0, RunCmd(RunCopyFeats, {"copy-feats", "--quiet", "--compress=true", in,
                                  "ark:" + tmp.File("c.ark")}));
  EXPECT_LT(ReadFileBytes(tmp.File("c.ark")).size(),
            ReadFileBytes(TestData(kDev + "feats_cmvn5.ark")).size() / 3);
  auto decompressed = ReadAll("ark:" + tmp.File("c.ark"));
  // 1-byte speech-feature compression: error below one quantisation step of the widest column
  // interval; these features span about +-40, so a step is under 1.0.
  for (const auto& [k, m] : orig) EXPECT_LE(MaxAbsDiff(m, decompressed[k]), 1.0) << k;
  // Re-compressing Kaldi-style is deterministic: same bytes twice.
  ASSERT_EQ(0, RunCmd(RunCopyFeats, {"copy-feats", "--quiet", "--compress=true",
                                  "--compression-method=2", in, "ark:" + tmp.File("c2.ark")}));
  EXPECT_TRUE(ReadFileBytes(tmp.File("c.ark")) == ReadFileBytes(tmp.File("c2.ark")));

  // Single-file mode: rxfilename -> wxfilename (binary=false writes a text matrix).
  std::string scp = ReadFileBytes(tmp.File("b.scp"));
  std::string first_rx = scp.substr(scp.find(' ') + 1, scp.find('\n') - scp.find(' ') - 1);
  ASSERT_EQ(0, RunCmd(RunCopyFeats, {"copy-feats", "--quiet", "--binary=false", first_rx,
                                  tmp.File("one.txt")}));
  EXPECT_EQ(ReadFileBytes(tmp.File("one.txt")).substr(0, 4), " [\n ");

  EXPECT_EQ(1, RunCmd(RunCopyFeats, {"copy-feats", "--quiet", "--compression-method=9", in,
                                  "ark:" + tmp.File("bad.ark")}));
  EXPECT_EQ(1, RunCmd(RunCopyFeats, {"copy-feats", "--quiet", "ark:" + tmp.File("nope.ark"),
                                  "ark:" + tmp.File("bad.ark")}));
  EXPECT_NE(0, access(tmp.File("bad.ark").c_str(), F_OK)) << "output left after a failure";
}

TEST(CopyFeats, BuiltBinaryRoundTripsThroughPipes) {
  std::string bin = std::string(KQ_BINARY_DIR) + "/tools/kaldiq/kaldiq";
  if (access(bin.c_str(), X_OK) != 0) GTEST_SKIP() << "kaldiq binary not built at " << bin;
  TempDir tmp;
  std::string in = TestData(kDev + "loglikes5.ark"), out = tmp.File("o.ark");
  std::string cmd = "cat '" + in + "' | '" + bin + "' copy-feats --quiet ark:- ark:- | '" + bin +
                    "' copy-feats --quiet 'ark:cat |' 'ark:| cat > " + out + "'";
  ASSERT_EQ(0, std::system(cmd.c_str())) << cmd;
  EXPECT_TRUE(ReadFileBytes(in) == ReadFileBytes(out));
}

}  // namespace
}  // namespace kaldiq::cli
