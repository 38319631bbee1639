// `kaldiq forward --ivector-extraction-config` (in-process online i-vectors) equals the Kaldi
// pipeline it replaces, ivector-extract-online2 then forward --online-ivectors, bit for bit:
// per utterance and with --spk2utt / --utt2spk adaptation; and its option conflicts. Runs the
// kaldiq binary (skips when it has not been built) on a synthetic extractor and a small text
// nnet3 model whose output depends on the i-vectors.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "ivector/synthetic_extractor.h"
#include "kaldi/table.h"

namespace kaldiq {
namespace {

const std::string kBinary = std::string(KQ_BINARY_DIR) + "/tools/kaldiq/kaldiq";

// input (5-dim, frames t-1..t+1) and ReplaceIndex(ivector, t, 0) (3-dim) -> affine -> 4 outputs.
std::string TextModel(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.5f);
  std::ostringstream os;
  os << "<Nnet3> \ninput-node name=input dim=5\ninput-node name=ivector dim=3\n"
     << "component-node name=aff component=aff input=Append(Offset(input, -1), input, "
        "Offset(input, 1), ReplaceIndex(ivector, t, 0))\n"
     << "output-node name=output input=aff objective=linear\n\n<NumComponents> 1 \n"
     << "<ComponentName> aff <AffineComponent> <LearningRate> 0.001 <LinearParams>  [";
  for (int r = 0; r < 4; ++r) {
    os << "\n  ";
    for (int c = 0; c < 18; ++c) os << n(rng) << ' ';
  }
  os << "]\n<BiasParams>  [ 0.1 0.2 0.3 0.4 ]\n</AffineComponent> \n</Nnet3> ";
  return os.str();
}

class ForwardIvectorCli : public ::testing::Test {
 protected:
  void SetUp() override {
    struct stat st;
    if (stat(kBinary.c_str(), &st) != 0) GTEST_SKIP() << "kaldiq binary not built: " << kBinary;
    conf_ = kaldiq::testing::WriteSyntheticExtractor(dir_, dims_, 21);
    std::ofstream(dir_.File("model.raw")) << TextModel(5);
    kaldi::MatrixWriter w("ark:" + dir_.File("feats.ark"));
    for (int i = 0; i < 4; ++i)
      w.Write("u" + std::to_string(i), kaldiq::testing::RandomFeatures(23 + 9 * i, 5, 60 + i));
    w.Close();
    std::ofstream(dir_.File("spk2utt")) << "a u0 u1 u3\nb u2\n";
    std::ofstream(dir_.File("utt2spk")) << "u0 a\nu1 a\nu2 b\nu3 a\n";
    std::ofstream(dir_.File("utt2utt")) << "u0 u0\nu1 u1\nu2 u2\nu3 u3\n";
  }
  int Run(const std::string& args) {
    return std::system((kBinary + " " + args + " 2>" + dir_.File("stderr.txt")).c_str());
  }
  std::string Err() {
    std::ifstream is(dir_.File("stderr.txt"));
    std::stringstream ss;
    ss << is.rdbuf();
    return ss.str();
  }
  void ExpectSameArchives(const std::string& a, const std::string& b) {
    kaldi::SequentialMatrixReader ra("ark:" + dir_.File(a));
    kaldi::RandomAccessMatrixReader rb("ark:" + dir_.File(b));
    int n = 0;
    for (; !ra.Done(); ra.Next(), ++n) {
      const MatrixF& x = ra.Value();
      const MatrixF& y = rb.Value(ra.Key());
      ASSERT_EQ(x.rows(), y.rows());
      for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(x.data()[i], y.data()[i]) << ra.Key();
    }
    EXPECT_EQ(n, 4);
  }
  std::string F(const std::string& name) { return dir_.File(name); }
  kaldiq::testing::TempDir dir_;
  kaldiq::testing::SyntheticDims dims_;
  std::string conf_;
};

TEST_F(ForwardIvectorCli, EqualsIvectorExtractOnline2ThenOnlineIvectors) {
  for (const std::string map : {"utt2utt", "spk2utt"}) {
    ASSERT_EQ(Run("ivector-extract-online2 --quiet --config=" + conf_ + " ark:" + F(map) +
                  " ark:" + F("feats.ark") + " ark:" + F("ivec.ark")),
              0)
        << Err();
    ASSERT_EQ(Run("forward --quiet --online-ivectors=ark:" + F("ivec.ark") +
                  " --online-ivector-period=4 --frames-per-chunk=7 " + F("model.raw") + " ark:" +
                  F("feats.ark") + " ark:" + F("kaldi_way_" + map + ".ark")),
              0)
        << Err();
    const std::string adapt = map == "spk2utt" ? " --spk2utt=ark:" + F("spk2utt") : "";
    ASSERT_EQ(Run("forward --quiet --ivector-extraction-config=" + conf_ + adapt +
                  " --frames-per-chunk=7 " + F("model.raw") + " ark:" + F("feats.ark") +
                  " ark:" + F("in_process.ark")),
              0)
        << Err();
    ExpectSameArchives("kaldi_way_" + map + ".ark", "in_process.ark");
    if (map == "spk2utt") {  // --utt2spk gives the same speakers
      ASSERT_EQ(Run("forward --quiet --ivector-extraction-config=" + conf_ + " --utt2spk=ark:" +
                    F("utt2spk") + " --frames-per-chunk=7 --num-threads=2 " + F("model.raw") +
                    " ark:" + F("feats.ark") + " ark:" + F("in_process2.ark")),
                0)
          << Err();
      ExpectSameArchives("kaldi_way_spk2utt.ark", "in_process2.ark");
    }
  }
  // Adaptation matters: u1 (second of speaker a) differs from its per-utterance output.
  kaldi::RandomAccessMatrixReader spk("ark:" + F("kaldi_way_spk2utt.ark")),
      utt("ark:" + F("kaldi_way_utt2utt.ark"));
  EXPECT_NE(spk.Value("u1")(0, 0), utt.Value("u1")(0, 0));
  EXPECT_EQ(spk.Value("u0")(0, 0), utt.Value("u0")(0, 0));
}

TEST_F(ForwardIvectorCli, OptionConflicts) {
  const std::string tail = " " + F("model.raw") + " ark:" + F("feats.ark") + " ark:" + F("o.ark");
  EXPECT_NE(Run("forward --ivector-extraction-config=" + conf_ + " --online-ivector-period=10" + tail), 0);
  EXPECT_NE(Err().find("--online-ivector-period"), std::string::npos) << Err();
  EXPECT_NE(Run("forward --ivector-extraction-config=" + conf_ + " --online-ivectors=ark:x.ark" + tail), 0);
  EXPECT_NE(Run("forward --ivector-extraction-config=" + conf_ + " --spk2utt=ark:" + F("spk2utt") +
                " --utt2spk=ark:" + F("utt2spk") + tail),
            0);
  EXPECT_NE(Run("forward --spk2utt=ark:" + F("spk2utt") + tail), 0);
  EXPECT_NE(Run("forward --ivector-extraction-config=" + F("no-such.conf") + tail), 0);
}

}  // namespace
}  // namespace kaldiq
