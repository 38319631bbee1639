// Backward through whole graphs (ChunkComputer via MinibatchComputer) against finite
// differences: a TdnnComponent with asymmetric time offsets {−3, 0}; every descriptor kind
// (Append, Offset, Sum, Scale, Const, IfDefined, ReplaceIndex of an i-vector) through the
// transposed row programs; and a small chain TDNN with LDA, Affine + ReLU + train-mode
// BatchNorm, Tdnn, GeneralDropout with fixed masks, a TDNN-F-style bypass sum, Linear and both
// outputs (output, output-xent with LogSoftmax), two sequences at once. Objective
// f = Σ_k Σ W_k ∘ output_k with fixed random W_k; ε = 3e-3 (see NetworkOptions), tolerance
// 1e-2 relative + 1e-4·‖∇f‖ (GradCheck).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kaldi/nnet3/nnet.h"
#include "nnet/lower.h"
#include "nnet/minibatch.h"
#include "testutil/grad_check.h"

namespace kaldiq::nnet {
namespace {

using testing::GradCheck;
using testing::GradCheckOptions;
using testing::Pointers;

MatrixF RandomMatrix(int64_t rows, int64_t cols, std::mt19937* rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  MatrixF m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = d(*rng);
  return m;
}
std::vector<float> RandomVector(int64_t n, std::mt19937* rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(*rng);
  return v;
}

// Builds a kaldi::Nnet from (name, component, descriptor text) lines.
class NetBuilder {
 public:
  void Input(const std::string& name, int32_t dim) {
    kaldi::NnetNode n;
    n.type = kaldi::NodeType::kInput;
    n.name = name;
    n.dim = dim;
    nnet_.nodes.push_back(n);
  }
  void Add(const std::string& name, kaldi::ComponentParams params, const std::string& input) {
    kaldi::Component c;
    c.name = name;
    c.params = std::move(params);
    nnet_.components.push_back(std::move(c));
    kaldi::NnetNode n;
    n.type = kaldi::NodeType::kComponent;
    n.name = name;
    n.component_name = name;
    n.input = kaldi::ParseDescriptor(input);
    nnet_.nodes.push_back(std::move(n));
  }
  void Output(const std::string& name, const std::string& input) {
    kaldi::NnetNode n;
    n.type = kaldi::NodeType::kOutput;
    n.name = name;
    n.input = kaldi::ParseDescriptor(input);
    nnet_.nodes.push_back(std::move(n));
  }
  kaldi::Nnet Done() {
    nnet_.Check();
    return nnet_;
  }

 private:
  kaldi::Nnet nnet_;
};

kaldi::AffineComponent Affine(int32_t in, int32_t out, std::mt19937* rng) {
  kaldi::AffineComponent a;
  a.natural_gradient = true;
  a.linear_params = RandomMatrix(out, in, rng, 1.0f / std::sqrt(float(in)));
  a.bias_params = RandomVector(out, rng, 0.3f);
  return a;
}
kaldi::NonlinearComponent Nonlinear(kaldi::NonlinearityType t, int32_t dim) {
  kaldi::NonlinearComponent c;
  c.nonlinearity = t;
  c.dim = dim;
  c.block_dim = dim;
  return c;
}
kaldi::BatchNormComponent BatchNorm(int32_t dim, std::mt19937* rng) {
  kaldi::BatchNormComponent b;
  b.dim = b.block_dim = dim;
  b.count = 100;
  b.stats_mean = RandomVector(dim, rng, 0.5f);
  b.stats_var.assign(dim, 1.5f);
  return b;
}

// Runs forward/backward of `g` and checks ∂f/∂inputs and ∂f/∂(every trained parameter).
struct Problem {
  Graph g;
  int32_t num_sequences = 2;
  std::vector<MatrixF> inputs;        // one per input op in `input_ops`
  std::vector<int32_t> input_ops, input_first_t;
  std::vector<MinibatchOutput> outputs;
  std::vector<MatrixF> weights;       // objective weights, one per output (t-major)
  ComputeMode mode = ComputeMode::kTrain;
};

double Objective(Problem* p, MinibatchComputer* mb) {
  std::vector<MinibatchInput> in;
  for (size_t k = 0; k < p->inputs.size(); ++k)
    in.push_back({p->input_ops[k], &p->inputs[k], p->input_first_t[k]});
  ForwardOptions opts;
  opts.mode = p->mode;
  opts.seed = 99;  // the same dropout masks in every evaluation
  mb->Forward(p->num_sequences, in, p->outputs, opts);
  double s = 0;
  for (size_t k = 0; k < p->outputs.size(); ++k) {
    const MatrixF& y = mb->Output(k);
    if (p->weights.size() <= k) p->weights.push_back(MatrixF());
    if (p->weights[k].rows() != y.rows()) {
      std::mt19937 rng(1000 + static_cast<uint32_t>(k));
      p->weights[k] = RandomMatrix(y.rows(), y.cols(), &rng);
    }
    for (int64_t i = 0; i < y.size(); ++i) s += double(p->weights[k].data()[i]) * y.data()[i];
  }
  return s;
}

// ε = 3e-3: the float forward of a whole network (train-mode BatchNorm divides by the batch
// standard deviation) has rounding noise of about 1e-6 relative in f, which at ε = 1e-3 is
// already a few 1e-3 of a directional derivative; at 3e-3 the O(ε²) truncation is still far
// below the tolerance.
GradCheckOptions NetworkOptions() {
  GradCheckOptions o;
  o.epsilon = 3e-3;
  return o;
}

void CheckGradients(Problem* p, const GradCheckOptions& opts = NetworkOptions()) {
  MinibatchComputer mb(p->g);
  Objective(p, &mb);
  Gradients grads = Gradients::For(p->g);
  std::vector<const MatrixF*> d;
  for (const MatrixF& w : p->weights) d.push_back(&w);
  mb.Backward(d, &grads, /*input_derivs=*/true);
  auto f = [&] { return Objective(p, &mb); };
  for (size_t k = 0; k < p->inputs.size(); ++k) {
    MatrixF dx = mb.InputDeriv(k);
    std::vector<double> analytic(dx.data(), dx.data() + dx.size());
    EXPECT_TRUE(GradCheck(f, Pointers(p->inputs[k].data(), p->inputs[k].size()), analytic, opts))
        << "input " << p->g.ops[p->input_ops[k]].name;
  }
  std::vector<ParamRef> params = TrainableParams(p->g);
  ASSERT_FALSE(params.empty());
  std::vector<float*> x;
  std::vector<double> analytic;
  for (const ParamRef& r : params) {
    float* v = ParamData(&p->g, r);
    const float* gr = grads.Data(r);
    const int64_t n = ParamSize(p->g, r);
    std::vector<float*> px = Pointers(v, static_cast<size_t>(n));
    x.insert(x.end(), px.begin(), px.end());
    analytic.insert(analytic.end(), gr, gr + n);
    // Each parameter on its own as well (a few coordinates each).
    GradCheckOptions one = opts;
    one.directions = 2;
    one.coordinates = 3;
    EXPECT_TRUE(GradCheck(f, px, std::vector<double>(gr, gr + n), one))
        << p->g.ops[r.op].name << (r.slot == ParamSlot::kWeight ? " weight" : " bias");
  }
  EXPECT_TRUE(GradCheck(f, x, analytic, opts)) << "all parameters";
}

TEST(NetworkGrad, TdnnWithAsymmetricOffsets) {
  std::mt19937 rng(5);
  NetBuilder b;
  b.Input("input", 5);
  kaldi::TdnnComponent t;
  t.time_offsets = {-3, 0};
  t.linear_params = RandomMatrix(4, 10, &rng, 0.4f);
  t.bias_params = RandomVector(4, &rng);
  b.Add("tdnn", t, "input");
  b.Output("output", "tdnn");
  Problem p;
  p.g = LowerNnet(b.Done(), "tdnn-test", {LowerMode::kTraining, false});
  p.inputs = {RandomMatrix(2 * 12, 5, &rng)};
  p.input_ops = {p.g.Find("input")};
  p.input_first_t = {-4};
  p.outputs = {{p.g.Find("output"), {-1, 0, 2, 5, 7}}};
  CheckGradients(&p);
  // The output is the formula y(t) = W[:, 0:5]·x(t − 3) + W[:, 5:10]·x(t) + b.
  MinibatchComputer mb(p.g);
  Objective(&p, &mb);
  const MatrixF& y = mb.Output(0);
  for (int32_t n = 0; n < 2; ++n) {
    for (size_t f = 0; f < p.outputs[0].times.size(); ++f) {
      const int32_t time = p.outputs[0].times[f];
      const float* x0 = p.inputs[0].Row(n * 12 + (time - 3 + 4));
      const float* x1 = p.inputs[0].Row(n * 12 + (time + 4));
      for (int32_t o = 0; o < 4; ++o) {
        double s = t.bias_params[o];
        for (int32_t c = 0; c < 5; ++c)
          s += double(t.linear_params(o, c)) * x0[c] + double(t.linear_params(o, 5 + c)) * x1[c];
        EXPECT_NEAR(y(static_cast<int64_t>(f) * 2 + n, o), s, 1e-4);
      }
    }
  }
}

TEST(NetworkGrad, EveryDescriptorKind) {
  std::mt19937 rng(8);
  NetBuilder b;
  b.Input("input", 4);
  b.Input("ivector", 3);
  b.Add("a", Affine(4, 3, &rng), "input");
  b.Add("a.tanh", Nonlinear(kaldi::NonlinearityType::kTanh, 3), "a");
  b.Add("b", Affine(8, 3, &rng), "Append(Offset(input, -1), input)");
  b.Add("c", Affine(12, 5, &rng),
        "Append(Offset(a.tanh, -1), Sum(Scale(0.5, b), Offset(a.tanh, 2)), "
        "IfDefined(Offset(b, 6)), Sum(ReplaceIndex(ivector, t, 0), Const(0.3, 3)))");
  b.Add("c.sigmoid", Nonlinear(kaldi::NonlinearityType::kSigmoid, 5), "c");
  b.Output("output", "c.sigmoid");
  Problem p;
  p.g = LowerNnet(b.Done(), "descriptor-test", {LowerMode::kTraining, false});
  p.inputs = {RandomMatrix(2 * 10, 4, &rng), RandomMatrix(2, 3, &rng)};
  p.input_ops = {p.g.Find("input"), p.g.Find("ivector")};
  p.input_first_t = {-2, 0};
  p.outputs = {{p.g.Find("output"), {-1, 0, 1, 3, 5}}};  // Offset(b, 6) defined for t <= 1
  CheckGradients(&p);
}

TEST(NetworkGrad, SmallChainTdnnBothOutputsTrainMode) {
  std::mt19937 rng(21);
  NetBuilder b;
  b.Input("input", 6);
  kaldi::FixedAffineComponent lda;
  lda.linear_params = RandomMatrix(10, 18, &rng, 0.3f);
  lda.bias_params = RandomVector(10, &rng, 0.1f);
  b.Add("lda", lda, "Append(Offset(input, -1), input, Offset(input, 1))");
  b.Add("tdnn1.affine", Affine(30, 8, &rng), "Append(Offset(lda, -1), lda, Offset(lda, 1))");
  b.Add("tdnn1.relu", Nonlinear(kaldi::NonlinearityType::kRectifiedLinear, 8), "tdnn1.affine");
  b.Add("tdnn1.batchnorm", BatchNorm(8, &rng), "tdnn1.relu");
  kaldi::TdnnComponent t2;
  t2.time_offsets = {-3, 0};
  t2.linear_params = RandomMatrix(6, 16, &rng, 0.4f);
  t2.bias_params = RandomVector(6, &rng, 0.2f);
  b.Add("tdnn2.affine", t2, "tdnn1.batchnorm");
  b.Add("tdnn2.relu", Nonlinear(kaldi::NonlinearityType::kRectifiedLinear, 6), "tdnn2.affine");
  b.Add("tdnn2.batchnorm", BatchNorm(6, &rng), "tdnn2.relu");
  kaldi::GeneralDropoutComponent drop;
  drop.dim = drop.block_dim = 6;
  drop.dropout_proportion = 0.3f;
  drop.continuous = true;
  b.Add("tdnn2.dropout", drop, "tdnn2.batchnorm");
  kaldi::LinearComponent lin;
  lin.params = RandomMatrix(5, 6, &rng, 0.4f);
  lin.orthonormal_constraint = -1.0f;
  b.Add("prefinal.linear", lin, "Sum(Scale(0.66, tdnn2.dropout), Offset(tdnn2.dropout, -3))");
  b.Add("output.affine", Affine(5, 7, &rng), "prefinal.linear");
  b.Output("output", "output.affine");
  b.Add("output-xent.affine", Affine(6, 7, &rng), "tdnn2.dropout");
  b.Add("output-xent.log-softmax", Nonlinear(kaldi::NonlinearityType::kLogSoftmax, 7),
        "output-xent.affine");
  b.Output("output-xent", "output-xent.log-softmax");
  Problem p;
  p.g = LowerNnet(b.Done(), "chain-test", {LowerMode::kTraining, false});
  p.inputs = {RandomMatrix(2 * 27, 6, &rng)};  // t = −12 … 14 per sequence
  p.input_ops = {p.g.Find("input")};
  p.input_first_t = {-12};
  const std::vector<int32_t> times = {0, 3, 6};
  p.outputs = {{p.g.Find("output"), times}, {p.g.Find("output-xent"), times}};
  CheckGradients(&p);
  p.mode = ComputeMode::kTest;  // BatchNorm from its statistics, dropout the identity
  CheckGradients(&p);
  // The LDA is fixed: no gradient slot.
  EXPECT_FALSE(p.g.ops[p.g.Find("lda")].trainable);
  // A backward with only the xent derivative leaves the chain-only layers' gradients at zero.
  MinibatchComputer mb(p.g);
  Objective(&p, &mb);
  Gradients grads = Gradients::For(p.g);
  mb.Backward({nullptr, &p.weights[1]}, &grads);
  const OpGradients& out = grads.ops[p.g.Find("output.affine")];
  for (int64_t i = 0; i < out.weight.size(); ++i) ASSERT_EQ(out.weight.data()[i], 0.0f);
  double xent = 0;
  for (float v : grads.ops[p.g.Find("output-xent.affine")].bias) xent += std::abs(v);
  EXPECT_GT(xent, 0.0);
}

}  // namespace
}  // namespace kaldiq::nnet
