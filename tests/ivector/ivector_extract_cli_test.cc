// kaldiq ivector-extract-online2: Kaldi's arguments and --config, spk2utt order and adaptation,
// --utts-per-spk-max, --repeat, missing utterances, unsupported and bad options; the archive
// equals the library's i-vectors bit for bit.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "commands.h"
#include "ivector/ivector_extract.h"
#include "ivector/synthetic_extractor.h"
#include "kaldi/table.h"

namespace kaldiq::cli {
namespace {

using kaldiq::testing::RandomFeatures;

int RunCmd(std::vector<std::string> args) {
  args.insert(args.begin(), "ivector-extract-online2");
  args.insert(args.begin() + 1, "--quiet");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return RunIvectorExtractOnline2(static_cast<int>(argv.size()), argv.data());
}

class IvectorExtractCli : public ::testing::Test {
 protected:
  void SetUp() override {
    conf_ = kaldiq::testing::WriteSyntheticExtractor(dir_, dims_, 11);
    kaldi::MatrixWriter w("ark:" + dir_.File("feats.ark"));
    for (int i = 0; i < 4; ++i) {
      keys_.push_back("u" + std::to_string(i));
      feats_.push_back(RandomFeatures(30 + 11 * i, dims_.base_dim, 40 + i));
      w.Write(keys_.back(), feats_.back());
    }
    w.Close();
    std::ofstream(dir_.File("spk2utt")) << "s1 u2 u0 u3\ns2 u1\n";
    info_ = ivector::LoadIvectorExtractorForBatch(conf_);
  }
  MatrixF Out(const std::string& key) {
    kaldi::RandomAccessMatrixReader r("ark:" + dir_.File("out.ark"));
    return r.Value(key);
  }
  void ExpectEqual(const MatrixF& a, const MatrixF& b) {
    ASSERT_EQ(a.rows(), b.rows());
    ASSERT_EQ(a.cols(), b.cols());
    for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]);
  }
  std::vector<std::string> Args(std::vector<std::string> opts) {
    opts.insert(opts.begin(), "--config=" + conf_);
    opts.push_back("ark:" + dir_.File("spk2utt"));
    opts.push_back("ark:" + dir_.File("feats.ark"));
    opts.push_back("ark:" + dir_.File("out.ark"));
    return opts;
  }
  kaldiq::testing::TempDir dir_;
  kaldiq::testing::SyntheticDims dims_;
  std::string conf_;
  std::vector<std::string> keys_;
  std::vector<MatrixF> feats_;
  std::shared_ptr<const ivector::OnlineIvectorExtractionInfo> info_;
};

TEST_F(IvectorExtractCli, AdaptsAcrossASpeakersUtterancesInSpk2uttOrder) {
  ASSERT_EQ(RunCmd(Args({})), 0);
  ivector::SpeakerIvectors lib(info_);
  for (int i : {2, 0, 3}) ExpectEqual(Out(keys_[i]), lib.Compute("s1", feats_[i]));
  ExpectEqual(Out("u1"), lib.Compute("s2", feats_[1]));
  // --utts-per-spk-max=2: u2 u0 | u3 (a new pseudo-speaker).
  ASSERT_EQ(RunCmd(Args({"--utts-per-spk-max=2"})), 0);
  ivector::SpeakerIvectors lib2(info_);
  for (int i : {2, 0}) ExpectEqual(Out(keys_[i]), lib2.Compute("s1", feats_[i]));
  ExpectEqual(Out("u3"), lib2.Compute("", feats_[3]));
  // --repeat: one row per frame.
  ASSERT_EQ(RunCmd(Args({"--repeat"})), 0);
  EXPECT_EQ(Out("u1").rows(), feats_[1].rows());
  // Options on the command line override --config (period 4 in the file).
  ASSERT_EQ(RunCmd(Args({"--ivector-period=10"})), 0);
  EXPECT_EQ(Out("u0").rows(), (feats_[0].rows() + 9) / 10);
}

TEST_F(IvectorExtractCli, MissingUtterancesAndErrors) {
  std::ofstream(dir_.File("spk2utt")) << "s1 u0 nope\n";
  ASSERT_EQ(RunCmd(Args({})), 0);  // "Did not find audio", counted, the rest is written
  ExpectEqual(Out("u0"), ivector::SpeakerIvectors(info_).Compute("x", feats_[0]));
  std::ofstream(dir_.File("spk2utt")) << "s1 nope\n";
  EXPECT_EQ(RunCmd(Args({})), 1);  // nothing done
  std::ofstream(dir_.File("spk2utt")) << "s1 u0\n";
  EXPECT_NE(RunCmd(Args({"--frame-weights-rspecifier=ark:w.ark"})), 0);
  EXPECT_NE(RunCmd(Args({"--num-gselect=0"})), 0);
  EXPECT_NE(RunCmd(Args({"--utts-per-spk-max=0"})), 0);
  EXPECT_NE(RunCmd(Args({"--no-such-option"})), 0);
  EXPECT_NE(RunCmd({"ark:" + dir_.File("spk2utt"), "ark:" + dir_.File("feats.ark"),
                    "ark:" + dir_.File("out.ark")}),
            0);  // no extractor given: "--lda-matrix option must be set"
}

}  // namespace
}  // namespace kaldiq::cli
