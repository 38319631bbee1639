// `export --dequantized`: the Kaldi model written from an int8 model must be a complete Kaldi
// model (transition model and priors of the original, binary and text), read back by the nnet3
// reader that reads Kaldi's own files byte-exactly, and compute what the int8 model's weights
// mean: its fp32 forward equals the float simulation of the int8 model (dequantized weights,
// float activations). No Kaldi binary is available here to read the file with Kaldi itself.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "kaldi/nnet3/model_io.h"
#include "nnet/executor.h"
#include "nnet/load_model.h"
#include "quant/export.h"
#include "quant/int8_model.h"
#include "quant_fixtures.h"

namespace kaldiq::quant {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/kq_export_" + name;
}

void ExpectClose(const MatrixF& ref, const MatrixF& test, double rel_frob, const char* what) {
  ASSERT_EQ(ref.rows(), test.rows()) << what;
  ASSERT_EQ(ref.cols(), test.cols()) << what;
  double num = 0, den = 0;
  for (int64_t i = 0; i < ref.size(); ++i) {
    double d = double(test.data()[i]) - ref.data()[i];
    num += d * d;
    den += double(ref.data()[i]) * ref.data()[i];
  }
  EXPECT_LT(std::sqrt(num / den), rel_frob) << what;
}

void CheckExport(const testing::QuantizedFixture& c, const std::string& name) {
  kaldi::KaldiModel km = ExportDequantized(c.model);
  const std::string bin = TempPath(name + ".mdl"), txt = TempPath(name + ".txt.mdl");
  kaldi::WriteKaldiModel(bin, km, true);
  kaldi::WriteKaldiModel(txt, km, false);

  // The original's transition model and priors travel through unchanged.
  kaldi::KaldiModel orig = kaldi::ReadKaldiModel(c.model_path);
  kaldi::KaldiModel back = kaldi::ReadKaldiModel(bin);
  ASSERT_EQ(back.has_transition_model, orig.has_transition_model);
  EXPECT_EQ(back.priors, orig.priors);
  if (orig.has_transition_model) {
    const std::string a = TempPath(name + ".tm_orig"), b = TempPath(name + ".tm_back");
    kaldi::WriteTransitionModel(a, orig.trans_model, true);
    kaldi::WriteTransitionModel(b, back.trans_model, true);
    EXPECT_EQ(Slurp(a), Slurp(b)) << "transition model changed";
  }
  // Same context as the original network (Kaldi's decoders take it from the nnet).
  nnet::InferenceModel exported = nnet::LoadModelForInference(bin);
  nnet::InferenceModel original = nnet::LoadModelForInference(c.model_path);
  EXPECT_EQ(exported.net.left_context, original.net.left_context);
  EXPECT_EQ(exported.net.right_context, original.net.right_context);

  // Reading and rewriting reproduces the file byte for byte, binary and text.
  const std::string bin2 = TempPath(name + ".2.mdl"), txt2 = TempPath(name + ".2.txt.mdl");
  kaldi::WriteKaldiModel(bin2, back, true);
  kaldi::WriteKaldiModel(txt2, kaldi::ReadKaldiModel(txt), false);
  EXPECT_EQ(Slurp(bin), Slurp(bin2));
  EXPECT_EQ(Slurp(txt), Slurp(txt2));

  // The exported network computes the int8 model's weights in float.
  nnet::ExecutableNet simulated = nnet::Prepare(DequantizedGraph(c.model));
  nnet::InferenceModel from_text = nnet::LoadModelForInference(txt);
  for (size_t u = 0; u < c.utts.size(); ++u) {
    MatrixF want = c.Run(simulated, u);
    ExpectClose(want, c.Run(exported.net, u), 1e-5, "binary export");
    ExpectClose(want, c.Run(from_text.net, u), 1e-5, "text export");
  }
}

TEST(ExportDequantized, TdnnSeedIsACompleteKaldiModel) {
  CheckExport(testing::TdnnSeed(), "tdnn_seed");
}

TEST(ExportDequantized, TdnnfSmallRawNnet) {
  CheckExport(testing::TdnnfSmallBest(), "tdnnf_small");
}

}  // namespace
}  // namespace kaldiq::quant
