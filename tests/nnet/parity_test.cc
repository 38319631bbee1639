// Parity with Kaldi's stored nnet3-compute outputs (fixture READMEs give the exact commands):
// max |ours - Kaldi| <= 1e-3 and ||ours - Kaldi||_F / ||Kaldi||_F <= 1e-5 for every utterance.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "nnet/executor.h"
#include "nnet/load_model.h"
#include "util/error.h"

namespace kaldiq::nnet {
namespace {

const std::string kData = KQ_TESTDATA_DIR;
const std::string kShared = KQ_SHARED_DIR;

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

std::map<std::string, MatrixF> ReadAll(const std::string& rspec) {
  std::map<std::string, MatrixF> out;
  for (kaldi::SequentialMatrixReader r(rspec); !r.Done(); r.Next()) out[r.Key()] = r.Value();
  return out;
}

struct Diff {
  double max_abs = 0;
  double rel_frob = 0;
};

Diff Compare(const MatrixF& a, const MatrixF& b) {
  Diff d;
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    double e = double(a.data()[i]) - b.data()[i];
    d.max_abs = std::max(d.max_abs, std::abs(e));
    num += e * e;
    den += double(b.data()[i]) * b.data()[i];
  }
  d.rel_frob = std::sqrt(num / std::max(den, 1e-30));
  return d;
}

// Runs `model` over every utterance of feats_ark and checks it against expected_ark.
// Returns the worst differences seen.
Diff CheckParity(const InferenceModel& model, const ComputeOptions& opts,
                 const std::string& feats_ark, const std::string& expected_ark,
                 const std::string& online_ark = "", size_t max_utts = 1000) {
  std::map<std::string, MatrixF> expected = ReadAll("ark:" + expected_ark);
  std::map<std::string, MatrixF> online;
  if (!online_ark.empty()) online = ReadAll("ark:" + online_ark);
  Executor ex(model.net, opts);
  Diff worst;
  size_t n = 0;
  for (kaldi::SequentialMatrixReader r("ark:" + feats_ark); !r.Done() && n < max_utts; r.Next()) {
    auto it = expected.find(r.Key());
    if (it == expected.end()) continue;
    const MatrixF* iv = online.empty() ? nullptr : &online.at(r.Key());
    MatrixF got = ex.Compute(r.Value(), nullptr, iv);
    EXPECT_EQ(got.rows(), it->second.rows()) << r.Key();
    EXPECT_EQ(got.cols(), it->second.cols()) << r.Key();
    if (got.rows() != it->second.rows() || got.cols() != it->second.cols()) continue;
    Diff d = Compare(got, it->second);
    EXPECT_LE(d.max_abs, 1e-3) << r.Key();
    EXPECT_LE(d.rel_frob, 1e-5) << r.Key();
    worst.max_abs = std::max(worst.max_abs, d.max_abs);
    worst.rel_frob = std::max(worst.rel_frob, d.rel_frob);
    ++n;
  }
  EXPECT_GT(n, 0u) << "no utterance compared for " << feats_ark;
  std::printf("parity %s: %zu utts, max abs %.3g, rel frob %.3g\n", expected_ark.c_str(), n,
              worst.max_abs, worst.rel_frob);
  return worst;
}

ComputeOptions Opts(int32_t sf, int32_t fpc, int32_t extra_left = 0, int32_t period = 0) {
  ComputeOptions o;
  o.frame_subsampling_factor = sf;
  o.frames_per_chunk = fpc;
  o.extra_left_context = extra_left;
  o.online_ivector_period = period;
  return o;
}

TEST(Parity, TdnnSeedVendored) {
  InferenceModel m = LoadModelForInference(kData + "/tdnn-seed/final.mdl");
  EXPECT_TRUE(m.has_transition_model);
  CheckParity(m, Opts(3, 140), kData + "/tdnn-seed/dev60/feats_cmvn5.ark",
              kData + "/tdnn-seed/dev60/loglikes5.ark");
}

TEST(Parity, TdnnSeedScalarReferencePath) {
  LoadOptions lo;
  lo.kernels = KernelChoice::kReference;
  lo.lower.optimize = false;
  InferenceModel m = LoadModelForInference(kData + "/tdnn-seed/final.mdl", lo);
  CheckParity(m, Opts(3, 140), kData + "/tdnn-seed/dev60/feats_cmvn5.ark",
              kData + "/tdnn-seed/dev60/loglikes5.ark", "", 2);
}

TEST(Parity, TdnnfSmallOnlineIvectorsBothChunkings) {
  const std::string dir = kData + "/tdnnf-small";
  InferenceModel m = LoadModelForInference(dir + "/final.raw");
  EXPECT_FALSE(m.has_transition_model);
  CheckParity(m, Opts(3, 150, 0, 10), dir + "/feats2.ark", dir + "/kaldi_out2.ark",
              dir + "/online_ivectors5.ark");
  CheckParity(m, Opts(3, 33, 12, 10), dir + "/feats2.ark", dir + "/kaldi_out2_fpc33.ark",
              dir + "/online_ivectors5.ark");
  // The two Kaldi outputs really differ (chunk-dependent i-vectors), so matching both means
  // the per-chunk i-vector choice is Kaldi's.
  std::map<std::string, MatrixF> a = ReadAll("ark:" + dir + "/kaldi_out2.ark");
  std::map<std::string, MatrixF> b = ReadAll("ark:" + dir + "/kaldi_out2_fpc33.ark");
  EXPECT_GT(Compare(a.begin()->second, b.begin()->second).max_abs, 1e-3);
}

TEST(Parity, TdnnfSmallUnoptimizedGraph) {
  const std::string dir = kData + "/tdnnf-small";
  LoadOptions lo;
  lo.lower.optimize = false;
  InferenceModel m = LoadModelForInference(dir + "/final.raw", lo);
  CheckParity(m, Opts(3, 33, 12, 10), dir + "/feats2.ark", dir + "/kaldi_out2_fpc33.ark",
              dir + "/online_ivectors5.ark");
}

TEST(Parity, SharedSeed625) {
  const std::string dir = kShared + "/fixtures/perf/seed625";
  if (!Exists(dir + "/final.raw")) GTEST_SKIP() << "../shared fixtures absent: " << dir;
  InferenceModel m = LoadModelForInference(dir + "/final.raw");
  CheckParity(m, Opts(3, 140), dir + "/feats5.ark", dir + "/kaldi_out5.ark");
}

TEST(Parity, SharedTdnnSeedAllDev60) {
  const std::string dir = kShared + "/fixtures/models/tdnn-seed";
  if (!Exists(dir + "/dev60/loglikes.ark")) GTEST_SKIP() << "../shared fixtures absent: " << dir;
  InferenceModel m = LoadModelForInference(dir + "/final.mdl");
  CheckParity(m, Opts(3, 140), dir + "/dev60/feats_cmvn.ark", dir + "/dev60/loglikes.ark");
}

TEST(Parity, SharedTdnnfSmallAllFive) {
  const std::string dir = kShared + "/fixtures/topologies/tdnnf-small";
  if (!Exists(dir + "/final.raw")) GTEST_SKIP() << "../shared fixtures absent: " << dir;
  InferenceModel m = LoadModelForInference(dir + "/final.txt.raw");  // text form
  CheckParity(m, Opts(3, 150, 0, 10), dir + "/feats5.ark", dir + "/kaldi_out5.ark",
              dir + "/online_ivectors5.ark");
  CheckParity(m, Opts(3, 33, 12, 10), dir + "/feats5.ark", dir + "/kaldi_out5_fpc33.ark",
              dir + "/online_ivectors5.ark");
}

// CNN-TDNN (cnn_tdnn xconfig layers: idct FixedAffine, TimeHeightConvolution with height
// padding and subsampling, block-dim ReLU and BatchNorm, TDNN-F), both of Kaldi's chunkings.
TEST(Parity, SharedCnnTdnnSmallBothChunkings) {
  const std::string dir = kShared + "/fixtures/topologies/cnntdnn-small";
  if (!Exists(dir + "/final.raw")) GTEST_SKIP() << "../shared fixtures absent: " << dir;
  for (bool optimize : {true, false}) {
    LoadOptions lo;
    lo.lower.optimize = optimize;
    InferenceModel m = LoadModelForInference(dir + "/final.raw", lo);
    CheckParity(m, Opts(3, 150), dir + "/feats5.ark", dir + "/kaldi_out5.ark");
    CheckParity(m, Opts(3, 51, 9), dir + "/feats5.ark", dir + "/kaldi_out5_fpc51.ark");
  }
}

// Lean loading (weights moved from the Kaldi model into the graph, freed once packed; shared
// gather scratch in inference) changes no output bit against the copying path.
TEST(Parity, LeanLoadingIsBitIdenticalToCopyingLoad) {
  for (const std::string& path :
       {kData + "/tdnnf-small/final.raw", kData + "/tdnn-seed/final.mdl"}) {
    InferenceModel lean = LoadModelForInference(path);
    for (const Op& op : lean.net.graph.ops) {
      if (op.type == OpType::kAffine) {
        EXPECT_EQ(op.weight.size(), 0) << path << " " << op.name;
      }
    }
    kaldi::KaldiModel km = kaldi::ReadKaldiModel(path);
    ExecutableNet copied = Prepare(LowerNnet(km.nnet, path));
    ComputeOptions o = Opts(3, 50, 5);
    MatrixF feats = ReadAll(path.find("tdnnf") != std::string::npos
                                ? "ark:" + kData + "/tdnnf-small/feats2.ark"
                                : "ark:" + kData + "/tdnn-seed/dev60/feats_cmvn5.ark")
                        .begin()
                        ->second;
    const int32_t iv_dim = copied.graph.InputDim("ivector");
    std::vector<float> iv(static_cast<size_t>(iv_dim), 0.5f);
    const std::vector<float>* ivp = iv_dim > 0 ? &iv : nullptr;
    MatrixF a = Executor(lean.net, o).Compute(feats, ivp, nullptr);
    MatrixF b = Executor(copied, o).Compute(feats, ivp, nullptr);
    ASSERT_EQ(a.rows(), b.rows());
    ASSERT_EQ(a.cols(), b.cols());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * a.size()), 0) << path;
  }
}

TEST(Parity, ModelFeatureDimensionMismatchNamesDimensions) {
  InferenceModel m = LoadModelForInference(kData + "/tdnnf-small/final.raw");
  Executor ex(m.net, Opts(3, 150, 0, 10));
  MatrixF feats(20, 13);
  MatrixF online(2, 30);
  try {
    ex.Compute(feats, nullptr, &online);
    FAIL() << "dimension mismatch not reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dimension 40"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kaldiq::nnet
