// kaldiq apply-cmvn-online: Kaldi's arguments, --spk2utt carry-over in spk2utt order, options
// from the command line and --config, and errors; output compared with the library.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "commands.h"
#include "feat/online_cmvn.h"
#include "kaldi/cmvn.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/matrix_io.h"
#include "kaldi/table.h"
#include "kaldi/test_util.h"

namespace kaldiq::cli {
namespace {

int RunCmd(std::vector<std::string> args) {
  args.insert(args.begin(), "apply-cmvn-online");
  args.insert(args.begin() + 1, "--quiet");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return RunApplyCmvnOnline(static_cast<int>(argv.size()), argv.data());
}

MatrixF Feats(int64_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(1.0f, 3.0f);
  MatrixF m(rows, 4);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = n(rng);
  return m;
}

class ApplyCmvnOnlineCli : public ::testing::Test {
 protected:
  void SetUp() override {
    feats_ = {{"a1", Feats(300, 1)}, {"a2", Feats(80, 2)}, {"b1", Feats(120, 3)}};
    kaldi::MatrixWriter w("ark:" + dir_.File("feats.ark"));
    for (auto& [k, m] : feats_) w.Write(k, m);
    w.Close();
    kaldi::AccCmvnStats(Feats(500, 4), nullptr, &global_);
    kaldi::Output out(dir_.File("global.stats"), /*binary=*/true);
    kaldi::WriteMatrix(out.Stream(), true, global_);
    out.Commit();
    std::ofstream(dir_.File("spk2utt")) << "b b1\na a2 a1 missing\n";
  }
  MatrixF Read(const std::string& key) {
    kaldi::RandomAccessMatrixReader r("ark:" + dir_.File("out.ark"));
    return r.Value(key);
  }
  testing::TempDir dir_;
  std::vector<std::pair<std::string, MatrixF>> feats_;
  MatrixD global_;
};

TEST_F(ApplyCmvnOnlineCli, PerUtteranceAndPerSpeakerInSpk2uttOrder) {
  feat::OnlineCmvnOptions o;
  o.cmn_window = 100;
  o.global_frames = 50;
  ASSERT_EQ(RunCmd({"--cmn-window=100", "--global-frames=50", dir_.File("global.stats"),
                    "ark:" + dir_.File("feats.ark"), "ark:" + dir_.File("out.ark")}),
            0);
  for (auto& [k, m] : feats_) {
    feat::OnlineCmvnState fresh(global_);
    MatrixF want = m;
    feat::ApplyOnlineCmvn(o, &fresh, &want);
    MatrixF got = Read(k);
    for (int64_t i = 0; i < want.size(); ++i) ASSERT_EQ(got.data()[i], want.data()[i]) << k;
  }
  // --spk2utt: a2 then a1 share a speaker (in that order); "missing" is reported and skipped.
  std::ofstream(dir_.File("c.conf")) << "--cmn-window=100\n--global-frames=50\n";
  ASSERT_EQ(RunCmd({"--config=" + dir_.File("c.conf"), "--spk2utt=ark:" + dir_.File("spk2utt"),
                 dir_.File("global.stats"), "ark:" + dir_.File("feats.ark"),
                 "ark:" + dir_.File("out.ark")}),
            0);
  feat::OnlineCmvnState a(global_);
  MatrixF a2 = feats_[1].second, a1 = feats_[0].second;
  feat::ApplyOnlineCmvn(o, &a, &a2);
  feat::ApplyOnlineCmvn(o, &a, &a1);
  MatrixF got = Read("a1");
  for (int64_t i = 0; i < a1.size(); ++i) ASSERT_EQ(got.data()[i], a1.data()[i]);
  got = Read("a2");
  for (int64_t i = 0; i < a2.size(); ++i) ASSERT_EQ(got.data()[i], a2.data()[i]);
}

TEST_F(ApplyCmvnOnlineCli, Errors) {
  const std::string in = "ark:" + dir_.File("feats.ark"), out = "ark:" + dir_.File("out.ark");
  EXPECT_EQ(RunCmd({"--cmn-window=100", dir_.File("global.stats"), in, out}), 0);
  EXPECT_NE(RunCmd({"--cmn-window=0", dir_.File("global.stats"), in, out}), 0);
  EXPECT_NE(RunCmd({"--norm-means=false", "--norm-vars=true", dir_.File("global.stats"), in, out}), 0);
  EXPECT_NE(RunCmd({"--no-such-option=1", dir_.File("global.stats"), in, out}), 0);
  EXPECT_NE(RunCmd({dir_.File("no-such.stats"), in, out}), 0);
  EXPECT_NE(RunCmd({dir_.File("global.stats"), in}), 0);
}

}  // namespace
}  // namespace kaldiq::cli
