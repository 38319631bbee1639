// Quantization-aware training (train/qat.h): the straight-through derivatives against their
// formula with the clipping masks at both ends of the grids; the QAT forward equals the int8
// model built from the trained weights bit for bit (reference and fast kernels, and the deployed
// integer-pipeline executor); untrained, that int8 model is the post-training one; and the CLI's
// three outputs agree (`kaldiq quantize <model-out> <plan>` rebuilds `--write-int8`).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "commands.h"
#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "nnet/executor.h"
#include "nnet/minibatch.h"
#include "quant/calibrate.h"
#include "quant/int8_linear.h"
#include "quant/int8_model.h"
#include "quant/int8_model_io.h"
#include "quant/plan.h"
#include "train/qat.h"

namespace kaldiq::train {
namespace {

const std::string kSeed = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/";
const std::string kShared = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed";

// One int8 layer "a" (4 inputs, 3 outputs) on hand-made grids: activations u8 with scale 0.01,
// zero point 0; weights per row with scales 0.01, 0.02 and 0.005 on [-127, 127].
quant::Plan TinyPlan() {
  quant::Plan p;
  p.scheme = quant::PresetScheme("best");
  p.scheme.weight.bits = 8;
  quant::LayerPlan l;
  l.name = "a";
  l.input_dim = 4;
  l.output_dim = 3;
  l.act = quant::ChooseQParams(0.0f, 2.55f, p.scheme.act);
  l.act.SetScale(0.01f);
  l.act.zero_point = 0;
  l.weight_scales = {0.01f, 0.02f, 0.005f};
  p.layers.push_back(l);
  return p;
}

nnet::Op TinyOp() {
  nnet::Op op;
  op.name = "a";
  op.type = nnet::OpType::kAffine;
  op.input_dim = 4;
  op.output_dim = 3;
  op.weight.Resize(3, 4);
  const float w[12] = {0.5f, -0.3f, 1.2f, 0.01f,   // row 0 (scale 0.01): 1.27 is its last point
                       -2.0f, 0.7f, 2.6f, -0.04f,  // row 1 (scale 0.02): 2.6 is clipped
                       0.2f, -0.7f, 0.1f, 0.3f};   // row 2 (scale 0.005): -0.7 is clipped
  std::memcpy(op.weight.data(), w, sizeof(w));
  op.bias = {0.1f, -0.2f, 0.05f};
  op.trainable = true;
  return op;
}

TEST(Qat, StraightThroughDerivativesAndTheirMasks) {
  Qat qat(TinyPlan(), "tiny plan", "reference");
  const nnet::Op op = TinyOp();
  auto kernel = qat.Kernels()(0, op);
  ASSERT_TRUE(kernel != nullptr);
  // Inputs around both ends of the activation grid [0, 2.55]: -0.02 and 2.556 are clipped;
  // 0, 2.55 and 2.554 (less than half a step beyond the last point) pass; 1.0 is inside.
  const std::vector<float> x = {-0.02f, 0.0f, 2.55f, 1.0f, 2.554f, 2.556f, 0.3f, 1.7f};
  const std::vector<float> x_pass = {0, 1, 1, 1, 1, 0, 1, 1};
  const int64_t rows = 2;
  // The forward is the int8 layer built from the same weights (bit for bit).
  const quant::QParams act = TinyPlan().layers[0].act;
  const quant::QuantizedAffine q = quant::QuantizeAffine(
      op, quant::WeightQParams(TinyPlan().layers[0], TinyPlan().scheme.weight),
      TinyPlan().scheme.weight, TinyPlan().scheme.act, quant::RangeMode::kStatic, act, {});
  std::vector<float> y(6), y_ref(6);
  kernel->Forward(x.data(), rows, 4, y.data(), 3);
  quant::MakeInt8LinearKernel(q, "reference")->Forward(x.data(), rows, 4, y_ref.data(), 3);
  EXPECT_EQ(0, std::memcmp(y.data(), y_ref.data(), sizeof(float) * 6));

  const std::vector<float> dy = {0.3f, -1.1f, 0.7f, 2.0f, 0.4f, -0.6f};
  std::vector<float> dx(8, 0.5f);  // derivatives are added
  nnet::OpGradients g;
  g.weight.Resize(3, 4);
  g.bias.assign(3, 0.25f);
  nnet::Rows dx_rows{dx.data(), rows, 4, 4};
  ASSERT_TRUE(kernel->AddDerivatives(nnet::ConstRows{x.data(), rows, 4, 4},
                                     nnet::ConstRows{dy.data(), rows, 3, 3}, &dx_rows, &g));
  const MatrixF w_hat = quant::DequantizedWeights(q);
  // Weight masks: every weight inside its row's grid passes, the two clipped ones do not.
  const float w_pass[12] = {1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1};
  for (int64_t r = 0; r < rows; ++r)
    for (int k = 0; k < 4; ++k) {
      double s = 0;
      for (int o = 0; o < 3; ++o) s += double(dy[r * 3 + o]) * w_hat(o, k);
      EXPECT_NEAR(dx[r * 4 + k], 0.5 + s * x_pass[r * 4 + k], 1e-6) << r << "," << k;
    }
  for (int o = 0; o < 3; ++o) {
    for (int k = 0; k < 4; ++k) {
      double s = 0;
      for (int64_t r = 0; r < rows; ++r)
        s += double(dy[r * 3 + o]) * quant::FakeQuantize(x[r * 4 + k], act);
      EXPECT_NEAR(g.weight(o, k), s * w_pass[o * 4 + k], 1e-6) << o << "," << k;
    }
    EXPECT_NEAR(g.bias[o], 0.25 + dy[o] + dy[3 + o], 1e-6);
  }
}

TEST(Qat, RefusesPlansWithoutOneFixedGridPerLayer) {
  quant::Plan p = TinyPlan();
  p.scheme.act_range = quant::RangeMode::kUtterance;
  EXPECT_THROW(Qat(p, "p"), Error);
  p = TinyPlan();
  p.scheme.act.rule = quant::ZeroPointRule::kRecipe;
  EXPECT_THROW(Qat(p, "p"), Error);
}

struct Seed {
  kaldi::KaldiModel model = kaldi::ReadKaldiModel(kSeed + "final.mdl");
  MatrixF feats = [] {
    kaldi::SequentialMatrixReader r("ark:" + kSeed + "dev60/feats_cmvn5.ark");
    return r.Value();
  }();
};

quant::Plan SeedPlan(const Seed& s, int bits) {
  quant::Scheme scheme = quant::PresetScheme("best");
  scheme.weight.bits = bits;
  std::vector<std::string> folds;
  const nnet::Graph g = quant::LowerForInt8(s.model.nnet, "final.mdl",
                                            quant::Int8Lowering::For(scheme), &folds);
  nnet::ComputeOptions opts;
  opts.frame_subsampling_factor = 3;
  opts.frames_per_chunk = 140;
  return quant::CalibrateGraph(g, scheme, {}, folds, opts,
                               [&](nnet::Executor& ex) { ex.Compute(s.feats, nullptr, nullptr); });
}

bool SameLayers(const quant::Int8Model& a, const quant::Int8Model& b) {
  if (a.layers.size() != b.layers.size()) return false;
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const quant::QuantizedAffine &x = a.layers[i], &y = b.layers[i];
    if (x.name != y.name || x.weight != y.weight || x.weight_scale != y.weight_scale ||
        x.bias != y.bias || x.act != y.act)
      return false;
  }
  return true;
}

// The QAT forward at output times t = 15, 18, ... of the first dev60 utterance (rows 0..T-1).
MatrixF MinibatchOutput(const nnet::Graph& g, const nnet::KernelFactory& kernels,
                        const MatrixF& feats, std::vector<int32_t>* times) {
  nnet::MinibatchComputer mb(g, kernels);
  times->clear();
  for (int32_t t = 15; t + 15 < feats.rows(); t += 3) times->push_back(t);
  mb.Forward(1, {{g.Find("input"), &feats, 0}}, {{g.Find("output"), *times}});
  return mb.Output(0);
}

TEST(Qat, ForwardIsTheInt8ModelBitForBit) {
  const Seed s;
  for (int bits : {8, 7}) {
    SCOPED_TRACE("weight bits " + std::to_string(bits));
    const quant::Plan plan = SeedPlan(s, bits);
    Qat qat(plan, "plan", "reference");
    nnet::Graph g = qat.MakeGraph(s.model.nnet, "final.mdl");
    const nnet::KernelFactory kernels = qat.Kernels();
    // Untrained, the QAT int8 model is the post-training one (the bias correction moved into
    // the trained bias).
    const quant::Int8Model ptq = quant::BuildInt8Model(
        quant::LowerForInt8(s.model.nnet, "final.mdl", quant::Int8Lowering::For(plan.scheme),
                            nullptr),
        plan, "plan");
    nnet::MinibatchComputer warm(g, kernels);  // makes the kernels
    EXPECT_TRUE(SameLayers(qat.ToInt8Model(g, s.model), ptq));
    // "Train": move every trained weight a little, then re-quantize.
    for (nnet::Op& op : g.ops)
      if (op.trainable)
        for (int64_t i = 0; i < op.weight.size(); ++i)
          op.weight.data()[i] += 2e-3f * std::sin(0.37f * static_cast<float>(i));
    qat.Refresh();
    const quant::Int8Model m = qat.ToInt8Model(g, s.model);
    EXPECT_FALSE(SameLayers(m, ptq));
    std::vector<int32_t> times;
    const MatrixF y_qat = MinibatchOutput(g, kernels, s.feats, &times);
    for (const char* backend : {"reference", "auto"}) {
      const MatrixF y = MinibatchOutput(m.graph, quant::Int8LayerKernels(m, backend), s.feats, &times);
      ASSERT_EQ(y.size(), y_qat.size());
      EXPECT_EQ(0, std::memcmp(y.data(), y_qat.data(), sizeof(float) * y.size())) << backend;
    }
    // The deployed path: the executor over the whole utterance with u8 tensors between layers
    // gives the same rows where the context lies inside the utterance.
    nnet::ComputeOptions opts;
    opts.frame_subsampling_factor = 3;
    opts.frames_per_chunk = 10000;
    const nnet::ExecutableNet net = quant::MakeInt8Executable(m);
    nnet::Executor ex(net, opts);
    const MatrixF y_exec = ex.Compute(s.feats, nullptr, nullptr);
    int64_t diff = 0;
    for (size_t f = 0; f < times.size(); ++f)
      diff += std::memcmp(y_exec.Row(times[f] / 3), y_qat.Row(f), sizeof(float) * y_qat.cols()) != 0;
    EXPECT_EQ(diff, 0) << "of " << times.size() << " frames";
  }
}

TEST(TrainCli, QatWritesAnInt8ModelThatQuantizeRebuildsFromItsOutputs) {
  if (!std::ifstream(kShared + "/egs/cegs.1.ark").good())
    GTEST_SKIP() << "../shared fixtures not found (" << kShared << ")";
  const Seed s;
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("kq_qat_cli_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  quant::WritePlan(dir + "/plan.txt", SeedPlan(s, 7));
  const std::string mdl = kSeed + "final.mdl", den = kShared + "/den.fst",
                    egs = "ark:" + kShared + "/egs/cegs.1.ark";
  std::vector<std::string> args = {"train", "--quiet", "--qat=" + dir + "/plan.txt",
                                   "--write-int8=" + dir + "/qat.int8",
                                   "--write-plan=" + dir + "/qat.plan", "--learning-rate=1e-4",
                                   "--minibatch-size=8", "--max-minibatches-per-epoch=2",
                                   "--xent-regularize=0.1", "--leaky-hmm-coefficient=0.1", mdl,
                                   den, egs, dir + "/qat.mdl"};
  auto run = [](std::vector<std::string> a, int (*fn)(int, char**)) {
    std::vector<char*> argv;
    for (std::string& x : a) argv.push_back(x.data());
    return fn(static_cast<int>(argv.size()), argv.data());
  };
  ASSERT_EQ(run(args, cli::RunTrain), 0);
  // The fp32 output is a Kaldi model of the folded graph, and the plan quantizes it into the
  // very int8 model QAT wrote.
  ASSERT_EQ(run({"quantize", "--quiet", dir + "/qat.mdl", dir + "/qat.plan", dir + "/re.int8"},
                cli::RunQuantize),
            0);
  const quant::Int8Model a = quant::ReadInt8Model(dir + "/qat.int8");
  const quant::Int8Model b = quant::ReadInt8Model(dir + "/re.int8");
  EXPECT_TRUE(SameLayers(a, b));
  EXPECT_EQ(a.trans_model.NumPdfs(), 968);
  // --write-int8 without --qat is refused, and nothing is written.
  EXPECT_EQ(run({"train", "--quiet", "--write-int8=" + dir + "/x.int8", mdl, den, egs,
                 dir + "/x.mdl"},
                cli::RunTrain),
            1);
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.mdl"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kaldiq::train
