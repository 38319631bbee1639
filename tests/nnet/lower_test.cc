// Lowering of hand-built Kaldi nnets: TimeHeightConvolution against the convolution written out
// directly, and clear errors for unsupported structures.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>

#include "kaldi/nnet3/model_io.h"
#include "kaldi/nnet3/nnet.h"
#include "nnet/executor.h"
#include "nnet/lower.h"
#include "nnet/params.h"
#include "test_graphs.h"
#include "util/error.h"

namespace kaldiq::nnet {
namespace {

kaldi::Descriptor NodeDesc(const std::string& name, int32_t index) {
  kaldi::Descriptor d;
  d.type = kaldi::DescriptorType::kNode;
  d.node_name = name;
  d.node_index = index;
  return d;
}

// input(input_dim) -> one component node `name` -> output.
kaldi::Nnet OneComponentNnet(const std::string& name, kaldi::ComponentParams params,
                             int32_t input_dim) {
  kaldi::Nnet nnet;
  kaldi::Component c;
  c.name = name;
  c.params = std::move(params);
  nnet.components.push_back(c);
  kaldi::NnetNode in;
  in.type = kaldi::NodeType::kInput;
  in.name = "input";
  in.dim = input_dim;
  kaldi::NnetNode cn;
  cn.type = kaldi::NodeType::kComponent;
  cn.name = name;
  cn.component_name = name;
  cn.component_index = 0;
  cn.input = NodeDesc("input", 0);
  kaldi::NnetNode out;
  out.type = kaldi::NodeType::kOutput;
  out.name = "output";
  out.input = NodeDesc(name, 1);
  nnet.nodes = {in, cn, out};
  return nnet;
}

kaldi::Nnet ConvNet(std::mt19937* rng, kaldi::TimeHeightConvolutionComponent* conv_out) {
  kaldi::TimeHeightConvolutionComponent conv;
  kaldi::ConvolutionModel& m = conv.model;
  m.num_filters_in = 2;
  m.num_filters_out = 3;
  m.height_in = 4;
  m.height_out = 2;
  m.height_subsample_out = 2;
  m.offsets = {{-1, -1}, {-1, 0}, {0, 0}, {1, 1}, {1, 2}};
  m.required_time_offsets = {-1, 0, 1};
  conv.linear_params = testing::RandomMatrix(3, 5 * 2, rng);
  conv.bias_params = {0.1f, -0.2f, 0.3f};
  *conv_out = conv;
  return OneComponentNnet("conv", conv, 8);
}

TEST(Lower, TimeHeightConvolutionMatchesDirectFormula) {
  std::mt19937 rng(21);
  kaldi::TimeHeightConvolutionComponent conv;
  kaldi::Nnet nnet = ConvNet(&rng, &conv);
  ExecutableNet net = Prepare(LowerNnet(nnet, "conv-test"), KernelChoice::kReference);
  EXPECT_EQ(net.left_context, 1);
  EXPECT_EQ(net.right_context, 1);
  MatrixF feats = testing::RandomMatrix(9, 8, &rng);
  ComputeOptions opts;
  opts.frames_per_chunk = 4;
  MatrixF got = Executor(net, opts).Compute(feats, nullptr, nullptr);
  ASSERT_EQ(got.rows(), 9);
  ASSERT_EQ(got.cols(), 6);
  const kaldi::ConvolutionModel& m = conv.model;
  for (int32_t t = 0; t < 9; ++t) {
    for (int32_t h = 0; h < m.height_out; ++h) {
      for (int32_t fo = 0; fo < 3; ++fo) {
        double s = conv.bias_params[fo];
        for (size_t k = 0; k < m.offsets.size(); ++k) {
          int32_t tin = std::clamp<int32_t>(t + m.offsets[k].first, 0, 8);
          int32_t hin = h * m.height_subsample_out + m.offsets[k].second;
          if (hin < 0 || hin >= m.height_in) continue;  // zero padding in height
          for (int32_t fi = 0; fi < 2; ++fi)
            s += double(conv.linear_params(fo, k * 2 + fi)) * feats(tin, hin * 2 + fi);
        }
        EXPECT_NEAR(got(t, h * 3 + fo), s, 1e-5) << "t=" << t << " h=" << h << " f=" << fo;
      }
    }
  }
}

TEST(Lower, RecurrenceIsRejectedWithNodeName) {
  std::mt19937 rng(22);
  kaldi::TimeHeightConvolutionComponent conv;
  kaldi::Nnet nnet = ConvNet(&rng, &conv);
  // conv reads its own output: a cycle at the node level.
  kaldi::Descriptor sum;
  sum.type = kaldi::DescriptorType::kSum;
  sum.args = {NodeDesc("input", 0), NodeDesc("conv", 1)};
  nnet.nodes[1].input = sum;
  try {
    LowerNnet(nnet, "cyclic.raw");
    FAIL() << "no error for a recurrent network";
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("cyclic.raw"), std::string::npos) << what;
    EXPECT_NE(what.find("conv"), std::string::npos) << what;
  }
}

// Kaldi's nnet3-compute runs DropoutComponent in test mode, which scales by (1 - proportion);
// GeneralDropout and NoOp stay identities.
TEST(Lower, DropoutTestModeScalesByKeepProportion) {
  kaldi::DropoutComponent d;
  d.dim = 3;
  d.dropout_proportion = 0.25f;
  kaldi::Nnet nnet = OneComponentNnet("drop", d, 3);
  ExecutableNet net = Prepare(LowerNnet(nnet, "dropout-test"), KernelChoice::kReference);
  MatrixF feats(2, 3);
  for (int i = 0; i < 6; ++i) feats.data()[i] = float(i) - 2.5f;
  MatrixF got = Executor(net, ComputeOptions()).Compute(feats, nullptr, nullptr);
  ASSERT_EQ(got.rows(), 2);
  ASSERT_EQ(got.cols(), 3);
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(got.data()[i], 0.75f * (float(i) - 2.5f));
}

// block-dim (CNN layers: one block per height) only changes Kaldi's self-repair for the
// elementwise nonlinearities, so a block-dim ReLU is a plain ReLU at inference; a block-dim
// softmax would normalise per block, which is not supported and must say so.
TEST(Lower, BlockDimReluIsElementwiseAndBlockDimSoftmaxIsRefused) {
  kaldi::NonlinearComponent relu;
  relu.nonlinearity = kaldi::NonlinearityType::kRectifiedLinear;
  relu.dim = 6;
  relu.block_dim = 2;
  ExecutableNet net = Prepare(LowerNnet(OneComponentNnet("relu", relu, 6), "relu-test"),
                              KernelChoice::kReference);
  MatrixF feats(3, 6);
  for (int i = 0; i < 18; ++i) feats.data()[i] = float(i % 7) - 3.0f;
  MatrixF got = Executor(net, ComputeOptions()).Compute(feats, nullptr, nullptr);
  ASSERT_EQ(got.rows(), 3);
  ASSERT_EQ(got.cols(), 6);
  for (int i = 0; i < 18; ++i) EXPECT_EQ(got.data()[i], std::max(feats.data()[i], 0.0f)) << i;

  kaldi::NonlinearComponent lsm = relu;
  lsm.nonlinearity = kaldi::NonlinearityType::kLogSoftmax;
  try {
    LowerNnet(OneComponentNnet("lsm", lsm, 6), "lsm-test");
    FAIL() << "block-dim LogSoftmax accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("block-dim 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kaldiq::nnet

namespace kaldiq::nnet {
namespace {

std::string TestData(const std::string& rel) { return std::string(KQ_TESTDATA_DIR) + "/" + rel; }

TEST(LowerTraining, KeepsBatchNormDropoutAndBothOutputs) {
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(TestData("tdnn-seed/final.mdl"));
  LowerOptions train;
  train.mode = LowerMode::kTraining;
  Graph g = LowerNnet(km.nnet, "tdnn-seed", train);
  ASSERT_EQ(g.outputs.size(), 2u);
  EXPECT_EQ(g.ops[g.outputs[0]].name, "output");
  EXPECT_EQ(g.ops[g.outputs[1]].name, "output-xent");
  EXPECT_EQ(g.output, g.outputs[0]);
  int batchnorms = 0, trainable = 0;
  for (const Op& op : g.ops) {
    if (op.type == OpType::kInput || op.type == OpType::kOutput) {
      EXPECT_EQ(op.component_index, -1) << op.name;
      continue;
    }
    if (op.component_index < 0) continue;  // descriptor copies of Tdnn inputs
    const kaldi::Component& c = km.nnet.components[op.component_index];
    EXPECT_EQ(op.component, c.name + " (" + c.TypeName() + ")");
    if (op.type == OpType::kBatchNorm) {
      ++batchnorms;
      const BatchNormAttrs* bn = op.Attrs<BatchNormAttrs>();
      ASSERT_NE(bn, nullptr);
      const kaldi::BatchNormComponent* kc = c.As<kaldi::BatchNormComponent>();
      ASSERT_NE(kc, nullptr);
      EXPECT_EQ(bn->block_dim, kc->block_dim);
      EXPECT_EQ(bn->target_rms, kc->target_rms);
      EXPECT_TRUE(bn->has_stats);
      EXPECT_EQ(op.scale.size(), static_cast<size_t>(op.input_dim));
    }
    if (op.trainable) {
      ++trainable;
      EXPECT_EQ(op.type, OpType::kAffine);
      EXPECT_EQ(c.As<kaldi::FixedAffineComponent>(), nullptr) << op.name << ": LDA is fixed";
    }
    if (c.As<kaldi::FixedAffineComponent>()) {
      EXPECT_FALSE(op.trainable);
    }
  }
  // 7 TDNN layers + prefinal-chain + prefinal-xent have a BatchNorm; 7 + 2 prefinal + 2 outputs
  // affine layers are trained (the LDA is not).
  EXPECT_EQ(batchnorms, 9);
  EXPECT_EQ(trainable, 11);
  EXPECT_EQ(TrainableParams(g).size(), 22u);  // weights and biases
  // The inference lowering of the same model folds all of it.
  Graph inf = LowerNnet(km.nnet, "tdnn-seed");
  EXPECT_EQ(inf.outputs.size(), 1u);
  for (const Op& op : inf.ops) {
    EXPECT_NE(op.type, OpType::kBatchNorm);
    EXPECT_FALSE(op.trainable);
  }
}

TEST(LowerTraining, DropoutAndNoOpKeepTheirTrainingSemantics) {
  kaldi::DropoutComponent d;
  d.dim = 4;
  d.dropout_proportion = 0.25f;
  d.dropout_per_frame = true;
  LowerOptions train;
  train.mode = LowerMode::kTraining;
  Graph g = LowerNnet(OneComponentNnet("drop", d, 4), "dropout-test", train);
  const Op& op = g.ops[g.Find("drop")];
  ASSERT_EQ(op.type, OpType::kDropout);
  ASSERT_NE(op.Attrs<DropoutAttrs>(), nullptr);
  EXPECT_EQ(op.Attrs<DropoutAttrs>()->proportion, 0.25f);
  EXPECT_TRUE(op.Attrs<DropoutAttrs>()->per_frame);
  EXPECT_EQ(op.component_index, 0);

  kaldi::NoOpComponent noop;
  noop.dim = 4;
  noop.backprop_scale = 0.5f;
  Graph n = LowerNnet(OneComponentNnet("noop", noop, 4), "noop-test", train);
  const Op& nop = n.ops[n.Find("noop")];
  EXPECT_EQ(nop.type, OpType::kCopy);
  ASSERT_NE(nop.Attrs<CopyAttrs>(), nullptr);
  EXPECT_EQ(nop.Attrs<CopyAttrs>()->backprop_scale, 0.5f);

  // A BatchNorm without statistics lowers for training (train mode only), not for inference.
  kaldi::BatchNormComponent bn;
  bn.dim = 4;
  bn.block_dim = 2;
  bn.stats_mean.assign(2, 0.0f);
  bn.stats_var.assign(2, 0.0f);
  EXPECT_THROW(LowerNnet(OneComponentNnet("bn", bn, 4), "bn-test"), Error);
  Graph b = LowerNnet(OneComponentNnet("bn", bn, 4), "bn-test", train);
  EXPECT_FALSE(b.ops[b.Find("bn")].Attrs<BatchNormAttrs>()->has_stats);
}

}  // namespace
}  // namespace kaldiq::nnet
