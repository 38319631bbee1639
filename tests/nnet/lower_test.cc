// Lowering of hand-built Kaldi nnets: TimeHeightConvolution against the convolution written out
// directly, and clear errors for unsupported structures.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>

#include "kaldi/nnet3/nnet.h"
#include "nnet/executor.h"
#include "nnet/lower.h"
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

}  // namespace
}  // namespace kaldiq::nnet
