// Each element-wise op against its formula written out directly.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "nnet/linear_kernel.h"
#include "nnet/ops.h"
#include "test_graphs.h"

namespace kaldiq::nnet {
namespace {

Op MakeOp(OpType type, int32_t in, int32_t out) {
  Op op;
  op.name = "op";
  op.type = type;
  op.input_dim = in;
  op.output_dim = out;
  return op;
}

std::vector<float> RunOp(const Op& op, const std::vector<float>& x) {
  std::vector<float> y(op.output_dim, -999.0f);
  RunElementwiseOp(op, x.data(), op.input_dim, 1, y.data(), op.output_dim);
  return y;
}

const std::vector<float> kX = {-2.0f, -0.5f, 0.0f, 0.25f, 1.5f, 3.0f};

TEST(Ops, Relu) {
  std::vector<float> y = RunOp(MakeOp(OpType::kRelu, 6, 6), kX);
  for (size_t i = 0; i < kX.size(); ++i) EXPECT_EQ(y[i], kX[i] > 0 ? kX[i] : 0.0f);
}

TEST(Ops, ScaleOffset) {
  Op op = MakeOp(OpType::kScaleOffset, 6, 6);
  op.scale = {1, 2, 3, 4, 5, 6};
  op.offset = {0.5f, 0, -1, 0, 1, 2};
  std::vector<float> y = RunOp(op, kX);
  for (size_t i = 0; i < kX.size(); ++i) EXPECT_FLOAT_EQ(y[i], kX[i] * op.scale[i] + op.offset[i]);
  op.scale.clear();  // offset only
  y = RunOp(op, kX);
  for (size_t i = 0; i < kX.size(); ++i) EXPECT_FLOAT_EQ(y[i], kX[i] + op.offset[i]);
}

TEST(Ops, SigmoidTanh) {
  std::vector<float> s = RunOp(MakeOp(OpType::kSigmoid, 6, 6), kX);
  std::vector<float> t = RunOp(MakeOp(OpType::kTanh, 6, 6), kX);
  for (size_t i = 0; i < kX.size(); ++i) {
    EXPECT_NEAR(s[i], 1.0 / (1.0 + std::exp(-double(kX[i]))), 1e-7);
    EXPECT_NEAR(t[i], std::tanh(double(kX[i])), 1e-7);
  }
}

TEST(Ops, SoftmaxAndLogSoftmax) {
  std::vector<float> x = {1.0f, 2.0f, 3.0f, -60.0f};
  std::vector<float> p = RunOp(MakeOp(OpType::kSoftmax, 4, 4), x);
  std::vector<float> lp = RunOp(MakeOp(OpType::kLogSoftmax, 4, 4), x);
  double z = 0;
  for (float v : x) z += std::exp(double(v));
  for (size_t i = 0; i < x.size(); ++i) {
    double expect = std::exp(double(x[i])) / z;
    EXPECT_NEAR(p[i], std::max(expect, 1e-20), 1e-7);
    EXPECT_NEAR(lp[i], double(x[i]) - std::log(z), 1e-5);
  }
  // Kaldi's softmax output floor.
  std::vector<float> far = {0.0f, -100.0f};
  EXPECT_FLOAT_EQ(RunOp(MakeOp(OpType::kSoftmax, 2, 2), far)[1], 1e-20f);
}

TEST(Ops, Normalize) {
  Op op = MakeOp(OpType::kNormalize, 6, 7);
  op.target_rms = 0.5f;
  op.add_log_stddev = true;
  std::vector<float> y = RunOp(op, kX);
  double sumsq = 0;
  for (float v : kX) sumsq += double(v) * v;
  double rms = std::sqrt(sumsq / 6);
  for (size_t i = 0; i < kX.size(); ++i) EXPECT_NEAR(y[i], kX[i] * 0.5 / rms, 1e-6);
  EXPECT_NEAR(y[6], std::log(rms), 1e-6);
  // A zero row stays finite (Kaldi's 2^-66 floor).
  std::vector<float> zero(6, 0.0f);
  for (float v : RunOp(op, zero)) EXPECT_TRUE(std::isfinite(v));
}

TEST(Ops, ElementwiseProductSumGroupPermute) {
  std::vector<float> p = RunOp(MakeOp(OpType::kElementwiseProduct, 6, 2), kX);
  EXPECT_FLOAT_EQ(p[0], kX[0] * kX[2] * kX[4]);
  EXPECT_FLOAT_EQ(p[1], kX[1] * kX[3] * kX[5]);
  Op sg = MakeOp(OpType::kSumGroup, 6, 3);
  sg.ints = {1, 3, 2};
  std::vector<float> s = RunOp(sg, kX);
  EXPECT_FLOAT_EQ(s[0], kX[0]);
  EXPECT_FLOAT_EQ(s[1], kX[1] + kX[2] + kX[3]);
  EXPECT_FLOAT_EQ(s[2], kX[4] + kX[5]);
  Op perm = MakeOp(OpType::kPermute, 6, 6);
  perm.ints = {5, 4, 0, 1, 3, 2};
  std::vector<float> q = RunOp(perm, kX);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(q[i], kX[perm.ints[i]]);
}

TEST(Ops, AffineKernelsAgreeWithDirectSum) {
  std::mt19937 rng(11);
  Op op = MakeOp(OpType::kAffine, 37, 19);
  op.weight = testing::RandomMatrix(19, 37, &rng);
  op.bias.resize(19);
  testing::FillRandom(&op.bias, &rng);
  MatrixF x = testing::RandomMatrix(13, 40, &rng);  // row stride 40 > input dim 37
  for (bool relu : {false, true}) {
    op.relu_after = relu;
    auto fast = MakeF32LinearKernel(op);
    auto ref = MakeRefLinearKernel(op);
    MatrixF y_fast(13, 19), y_ref(13, 19);
    fast->Forward(x.data(), 13, 40, y_fast.data(), 19);
    ref->Forward(x.data(), 13, 40, y_ref.data(), 19);
    for (int64_t r = 0; r < 13; ++r) {
      for (int64_t o = 0; o < 19; ++o) {
        double s = op.bias[o];
        for (int64_t c = 0; c < 37; ++c) s += double(x(r, c)) * op.weight(o, c);
        if (relu) s = std::max(s, 0.0);
        EXPECT_NEAR(y_ref(r, o), s, 1e-5);
        EXPECT_NEAR(y_fast(r, o), s, 1e-4);
      }
    }
  }
}

}  // namespace
}  // namespace kaldiq::nnet
