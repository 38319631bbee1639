// Every op's Backward against finite differences of its Forward (testutil/grad_check.h), and
// the property bits of its traits row: row-wise ops compute each row on its own, Backward adds
// into the input derivative (Kaldi's kBackpropAdds) and reads the forward input / output only
// when it declares kBackwardNeedsInput / kBackwardNeedsOutput (the others get null rows).
// Objective: f(x) = Σ w ∘ op(x) with fixed random w; ε = 1e-3, tolerance 1e-2 relative + 1e-4·‖∇f‖
// (see GradCheck), directional and per-coordinate checks.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "nnet/linear_kernel.h"
#include "nnet/op_traits.h"
#include "nnet/params.h"
#include "testutil/grad_check.h"

namespace kaldiq::nnet {
namespace {

using testing::GradCheck;
using testing::Pointers;

struct OpCase {
  std::string label;
  Op op;
  ComputeMode mode = ComputeMode::kTest;
  int32_t num_sequences = 1;
  int32_t rows_per_seq = 5;
  float margin = 0.0f;  // inputs kept at |x| >= margin (ReLU kinks)
};

void PrintTo(const OpCase& c, std::ostream* os) { *os << c.label; }

class Harness {
 public:
  explicit Harness(OpCase c, uint32_t seed = 3) : c_(std::move(c)), rng_(seed) {
    const Op& op = c_.op;
    rows_ = static_cast<int64_t>(c_.num_sequences) * c_.rows_per_seq;
    std::normal_distribution<float> n;
    x_.resize(rows_ * op.input_dim);
    for (float& v : x_) {
      v = n(rng_);
      if (std::abs(v) < c_.margin) v = v < 0 ? v - c_.margin : v + c_.margin;
    }
    w_.resize(rows_ * op.output_dim);
    for (float& v : w_) v = n(rng_);
    y_.resize(rows_ * op.output_dim);
    for (int32_t t = 0; t < c_.rows_per_seq; ++t) times_.push_back(2 * t - 3);
    if (op.type == OpType::kAffine) kernel_ = MakeWeightViewKernel(c_.op);
  }

  Op& op() { return c_.op; }
  std::vector<float>& x() { return x_; }

  void Forward() {
    ForwardArgs a;
    a.op = &c_.op;
    a.mode = c_.mode;
    a.in = ConstRows{x_.data(), rows_, c_.op.input_dim, c_.op.input_dim};
    a.out = Rows{y_.data(), rows_, c_.op.output_dim, c_.op.output_dim};
    a.kernel = kernel_.get();
    a.num_sequences = c_.num_sequences;
    a.times = times_.data();
    a.memo = &memo_;
    a.seed = 12345;  // fixed masks
    if (Traits(c_.op.type).forward) {
      Traits(c_.op.type).forward(a);
      return;
    }
    // A kView op: the computer's view, i.e. a copy of the selected columns.
    const int32_t col = Traits(c_.op.type).view_column ? Traits(c_.op.type).view_column(c_.op) : 0;
    for (int64_t r = 0; r < rows_; ++r)
      for (int32_t j = 0; j < c_.op.output_dim; ++j)
        y_[r * c_.op.output_dim + j] = x_[r * c_.op.input_dim + col + j];
  }

  double Objective() {
    Forward();
    double s = 0;
    for (size_t i = 0; i < y_.size(); ++i) s += double(w_[i]) * y_[i];
    return s;
  }

  // ∂f/∂x (added to `dx`, which the caller sizes) and, for trainable ops, ∂f/∂W and ∂f/∂b.
  void Backward(std::vector<float>* dx, OpGradients* grads) {
    Forward();
    const uint32_t props = Traits(c_.op.type).props;
    BackwardArgs a;
    a.op = &c_.op;
    a.mode = c_.mode;
    if (props & kBackwardNeedsInput)
      a.in = ConstRows{x_.data(), rows_, c_.op.input_dim, c_.op.input_dim};
    if (BackwardNeedsOutput(c_.op))
      a.out = ConstRows{y_.data(), rows_, c_.op.output_dim, c_.op.output_dim};
    a.out_deriv = ConstRows{w_.data(), rows_, c_.op.output_dim, c_.op.output_dim};
    a.in_deriv = Rows{dx->data(), rows_, c_.op.input_dim, c_.op.input_dim};
    a.num_sequences = c_.num_sequences;
    a.times = times_.data();
    a.memo = &memo_;
    a.kernel = kernel_.get();
    a.grads = grads;
    Traits(c_.op.type).backward(a);
  }

  std::vector<float> Output() {
    Forward();
    return y_;
  }
  int64_t rows() const { return rows_; }

 private:
  OpCase c_;
  std::mt19937 rng_;
  int64_t rows_;
  std::vector<float> x_, w_, y_;
  std::vector<int32_t> times_;
  OpMemo memo_;
  std::shared_ptr<const LinearKernel> kernel_;
};

Op MakeOp(OpType type, int32_t in, int32_t out) {
  Op op;
  op.name = OpTypeName(type);
  op.type = type;
  op.input_dim = in;
  op.output_dim = out;
  return op;
}

std::vector<float> Random(size_t n, std::mt19937* rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(*rng);
  return v;
}

std::vector<OpCase> AllCases() {
  std::mt19937 rng(17);
  std::vector<OpCase> cases;
  auto add = [&](std::string label, Op op, ComputeMode mode = ComputeMode::kTest, int32_t seqs = 1,
                 int32_t rows = 5, float margin = 0.0f) {
    cases.push_back(OpCase{std::move(label), std::move(op), mode, seqs, rows, margin});
  };
  {
    Op a = MakeOp(OpType::kAffine, 7, 4);
    a.weight.Resize(4, 7);
    std::vector<float> w = Random(28, &rng, 0.5f);
    std::copy(w.begin(), w.end(), a.weight.data());
    a.bias = Random(4, &rng);
    a.trainable = true;
    add("Affine", a);
    a.bias.clear();  // LinearComponent / TDNN-F linear factor
    add("Linear (no bias)", a);
    a.bias = Random(4, &rng);
    a.relu_after = true;  // the inference lowering's fused ReLU (what QAT trains)
    add("Affine fused ReLU", a);
  }
  add("Relu", MakeOp(OpType::kRelu, 6, 6), ComputeMode::kTest, 1, 5, 0.05f);
  add("Sigmoid", MakeOp(OpType::kSigmoid, 6, 6));
  add("Tanh", MakeOp(OpType::kTanh, 6, 6));
  {
    Op s = MakeOp(OpType::kScaleOffset, 6, 6);
    s.scale = Random(6, &rng);
    s.offset = Random(6, &rng);
    add("ScaleOffset", s);
  }
  add("ElementwiseProduct", MakeOp(OpType::kElementwiseProduct, 9, 3));
  {
    Op s = MakeOp(OpType::kSumGroup, 6, 3);
    s.ints = {1, 3, 2};
    add("SumGroup", s);
    Op p = MakeOp(OpType::kPermute, 5, 5);
    p.ints = {3, 0, 4, 1, 2};
    add("Permute", p);
  }
  add("Softmax", MakeOp(OpType::kSoftmax, 6, 6));
  add("LogSoftmax", MakeOp(OpType::kLogSoftmax, 6, 6));
  {
    Op n = MakeOp(OpType::kNormalize, 6, 6);
    n.target_rms = 0.7f;
    add("Normalize", n);
    Op l = MakeOp(OpType::kNormalize, 6, 7);
    l.add_log_stddev = true;
    add("Normalize add-log-stddev", l);
  }
  {
    Op bn = MakeOp(OpType::kBatchNorm, 6, 6);
    bn.attrs = BatchNormAttrs{6, 0.001f, 1.0f, true};
    bn.scale = Random(6, &rng);
    bn.offset = Random(6, &rng);
    add("BatchNorm test mode", bn);
    add("BatchNorm train mode", bn, ComputeMode::kTrain, 2, 6);
    bn.attrs = BatchNormAttrs{3, 0.01f, 0.5f, true};  // block-dim 3 of 6, target-rms 0.5
    add("BatchNorm train mode block-dim", bn, ComputeMode::kTrain, 1, 4);
  }
  {
    Op d = MakeOp(OpType::kDropout, 6, 6);
    DropoutAttrs a;
    a.proportion = 0.3f;
    d.attrs = a;
    add("Dropout test mode", d);
    add("Dropout train mode", d, ComputeMode::kTrain);
    a.per_frame = true;
    d.attrs = a;
    add("Dropout train mode per frame", d, ComputeMode::kTrain);
    a = DropoutAttrs();
    a.kind = DropoutAttrs::Kind::kGeneralDropout;
    a.proportion = 0.4f;
    a.block_dim = 6;
    d.attrs = a;
    add("GeneralDropout test mode", d);
    add("GeneralDropout train mode", d, ComputeMode::kTrain, 2, 5);
    a.block_dim = 3;
    a.time_period = 3;
    d.attrs = a;
    add("GeneralDropout train mode block-dim time-period", d, ComputeMode::kTrain, 2, 5);
    a.continuous = true;
    d.attrs = a;
    add("GeneralDropout train mode continuous", d, ComputeMode::kTrain, 2, 5);
  }
  add("Copy", MakeOp(OpType::kCopy, 5, 5));
  {
    Op r = MakeOp(OpType::kDimRange, 7, 3);
    r.ints = {2};
    add("DimRange", r);
  }
  add("Output", MakeOp(OpType::kOutput, 4, 4));
  return cases;
}

class OpGrad : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpGrad, InputDerivativeMatchesFiniteDifferences) {
  Harness h(GetParam());
  const Op& op = h.op();
  std::vector<float> dx(h.x().size(), 0.0f);
  h.Backward(&dx, nullptr);
  std::vector<double> analytic(dx.begin(), dx.end());
  EXPECT_TRUE(GradCheck([&] { return h.Objective(); }, Pointers(&h.x()), analytic))
      << GetParam().label << " (" << OpTypeName(op.type) << ")";
}

TEST_P(OpGrad, BackwardAddsIntoTheInputDerivative) {
  Harness h(GetParam());
  std::vector<float> once(h.x().size(), 0.0f), twice(h.x().size(), 0.5f);
  h.Backward(&once, nullptr);
  h.Backward(&twice, nullptr);
  h.Backward(&twice, nullptr);
  for (size_t i = 0; i < once.size(); ++i)
    ASSERT_NEAR(twice[i], 0.5f + 2 * once[i], 1e-5f * (1 + std::abs(once[i]))) << i;
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpGrad, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<OpCase>& p) {
                           std::string s;
                           for (char ch : p.param.label) s += std::isalnum(ch) ? ch : '_';
                           return s;
                         });

TEST(OpProps, RowWiseOpsComputeEveryRowOnItsOwn) {
  int checked = 0;
  for (const OpCase& c : AllCases()) {
    const uint32_t props = Traits(c.op.type).props;
    if (!(props & kRowWise) || (props & kView) || c.mode == ComputeMode::kTrain) continue;
    ++checked;
    Harness all(c);
    std::vector<float> y = all.Output();
    for (int64_t r = 0; r < all.rows(); ++r) {
      OpCase one = c;
      one.rows_per_seq = 1;
      one.num_sequences = 1;
      Harness h(one);
      std::copy(all.x().begin() + r * c.op.input_dim, all.x().begin() + (r + 1) * c.op.input_dim,
                h.x().begin());
      std::vector<float> yr = h.Output();
      for (int32_t j = 0; j < c.op.output_dim; ++j)
        ASSERT_EQ(yr[j], y[r * c.op.output_dim + j]) << c.label << " row " << r;
    }
  }
  EXPECT_GE(checked, 15);
}

TEST(OpGradParams, AffineWeightAndBiasGradients) {
  for (int k : {0, 1, 2}) {  // Affine, Linear (no bias), Affine fused ReLU
    OpCase c = AllCases()[k];
    Harness h(c);
    Op& op = h.op();
    OpGradients g;
    g.weight.Resize(op.weight.rows(), op.weight.cols());
    g.bias.assign(op.bias.size(), 0.0f);
    std::vector<float> dx(h.x().size(), 0.0f);
    h.Backward(&dx, &g);
    std::vector<float*> params = Pointers(op.weight.data(), static_cast<size_t>(op.weight.size()));
    std::vector<double> analytic(g.weight.data(), g.weight.data() + g.weight.size());
    for (size_t i = 0; i < op.bias.size(); ++i) {
      params.push_back(&op.bias[i]);
      analytic.push_back(g.bias[i]);
    }
    EXPECT_TRUE(GradCheck([&] { return h.Objective(); }, params, analytic)) << c.label;
    // Not trainable: no parameter gradient is touched.
    op.trainable = false;
    OpGradients none = g;
    h.Backward(&dx, &none);
    for (int64_t i = 0; i < g.weight.size(); ++i) ASSERT_EQ(none.weight.data()[i], g.weight.data()[i]);
  }
}

TEST(OpGradParams, NoOpBackpropScaleScalesTheDerivative) {
  Op op = MakeOp(OpType::kCopy, 4, 4);
  op.attrs = CopyAttrs{0.25f};
  OpCase c{"Copy backprop-scale", op};
  Harness h(c);
  std::vector<float> dx(h.x().size(), 0.0f);
  h.Backward(&dx, nullptr);
  Harness plain(OpCase{"Copy", MakeOp(OpType::kCopy, 4, 4)});
  std::vector<float> d1(dx.size(), 0.0f);
  plain.Backward(&d1, nullptr);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_FLOAT_EQ(dx[i], 0.25f * d1[i]);
}

TEST(OpGradParams, TrainModeBatchNormIsKaldisFormula) {
  // z = (x − μ) · t / √(σ² + ε) over the rows (one column, 8 rows), and the input derivative
  // sums to zero (shifting every row by a constant changes nothing).
  Op bn = MakeOp(OpType::kBatchNorm, 1, 1);
  bn.attrs = BatchNormAttrs{1, 0.01f, 0.8f, true};
  Harness h(OpCase{"bn", bn, ComputeMode::kTrain, 1, 8});
  std::vector<float> dx(h.x().size(), 0.0f);
  h.Backward(&dx, nullptr);
  const std::vector<float>& x = h.x();
  double mean = 0, var = 0;
  for (float v : x) mean += v;
  mean /= x.size();
  for (float v : x) var += (v - mean) * (v - mean);
  var /= x.size();
  const double scale = 0.8 / std::sqrt(var + 0.01);
  std::vector<float> y = h.Output();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], (x[i] - mean) * scale, 1e-5);
  double sum_dx = 0;
  for (float v : dx) sum_dx += v;
  EXPECT_NEAR(sum_dx, 0.0, 1e-5);
}

}  // namespace
}  // namespace kaldiq::nnet
