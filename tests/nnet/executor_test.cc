// Executor vs a direct per-frame reference on hand-built graphs: chunking, frame subsampling,
// edge padding, i-vectors (utterance and online, per chunk), optimisation passes, errors.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "nnet/executor.h"
#include "nnet/lower.h"
#include "test_graphs.h"
#include "util/error.h"

namespace kaldiq::nnet {
namespace {

using namespace kaldiq::nnet::testing;  // NOLINT
using K = DescExpr::Kind;

// A small TDNN-F-like graph: LDA over spliced input + i-vector, ReLU/ScaleOffset layers,
// splicing with strides 1 and 3, a scaled bypass sum and a LogSoftmax branch nobody reads.
Graph MakeGraph(std::mt19937* rng) {
  Graph g;
  int32_t in = AddInput(&g, "input", 5);
  int32_t iv = AddInput(&g, "ivector", 3);
  int32_t lda = AddAffine(&g, "lda",
                          {Offset(in, -1), Node(in), Offset(in, 1),
                           Wrap(K::kReplaceT, Node(iv), 0)}, 8, rng);
  int32_t r1 = AddUnary(&g, "relu1", OpType::kRelu, Node(lda));
  int32_t bn1 = AddScaleOffset(&g, "bn1", Node(r1), rng);
  int32_t a2 = AddAffine(&g, "a2", {Offset(bn1, -1), Node(bn1), Offset(bn1, 1)}, 8, rng);
  int32_t r2 = AddUnary(&g, "relu2", OpType::kRelu, Node(a2));
  int32_t bn2 = AddScaleOffset(&g, "bn2", Node(r2), rng);
  int32_t a3 = AddAffine(&g, "a3", {Offset(bn2, -3), Node(bn2), Offset(bn2, 3)}, 6, rng);
  int32_t r3 = AddUnary(&g, "relu3", OpType::kRelu, Node(a3));
  int32_t sum = AddUnary(&g, "bypass", OpType::kCopy,
                         SumOf(Wrap(K::kScale, Node(r3), 0, 0.66f), Offset(r3, 3)));
  int32_t out_aff = AddAffine(&g, "output.affine", {Node(sum)}, 4, rng);
  AddUnary(&g, "xent.log-softmax", OpType::kLogSoftmax, Node(out_aff));
  g.output = AddUnary(&g, "output", OpType::kOutput, Node(out_aff));
  return g;
}

double MaxAbsDiff(const MatrixF& a, const MatrixF& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  double m = 0;
  for (int64_t i = 0; i < std::min(a.size(), b.size()); ++i)
    m = std::max(m, std::abs(double(a.data()[i]) - b.data()[i]));
  return m;
}

MatrixF Reference(const Graph& g, const MatrixF& feats, const std::vector<float>& ivector,
                  int32_t sf) {
  ReferenceEvaluator ref(g, feats, &ivector);
  int32_t num_sub = (static_cast<int32_t>(feats.rows()) + sf - 1) / sf;
  MatrixF out(num_sub, g.OutputDim());
  for (int32_t s = 0; s < num_sub; ++s) {
    const std::vector<float>& row = ref.Eval(g.output, s * sf);
    std::copy(row.begin(), row.end(), out.Row(s));
  }
  return out;
}

TEST(Executor, ContextOfHandBuiltGraph) {
  std::mt19937 rng(1);
  ExecutableNet net = Prepare(MakeGraph(&rng));
  EXPECT_EQ(net.left_context, 1 + 1 + 3);
  EXPECT_EQ(net.right_context, 1 + 1 + 3 + 3);
}

TEST(Executor, MatchesPerFrameReferenceForAllChunkings) {
  std::mt19937 rng(2);
  Graph g = MakeGraph(&rng);
  MatrixF feats = RandomMatrix(37, 5, &rng);
  std::vector<float> ivector(3);
  FillRandom(&ivector, &rng);
  Graph optimized = g;
  OptimizeForInference(&optimized);
  ExecutableNet ref_net = Prepare(g, KernelChoice::kReference);
  ExecutableNet fast_net = Prepare(optimized, KernelChoice::kFast);
  for (int32_t sf : {1, 3}) {
    MatrixF expected = Reference(g, feats, ivector, sf);
    for (int32_t fpc : {1, 7, 20, 50}) {
      ComputeOptions opts;
      opts.frame_subsampling_factor = sf;
      opts.frames_per_chunk = fpc;
      opts.extra_left_context = fpc % 2 ? 4 : 0;
      Executor ex_ref(ref_net, opts), ex_fast(fast_net, opts);
      MatrixF a = ex_ref.Compute(feats, &ivector, nullptr);
      MatrixF b = ex_fast.Compute(feats, &ivector, nullptr);
      EXPECT_LT(MaxAbsDiff(a, expected), 1e-5) << "sf=" << sf << " fpc=" << fpc;
      EXPECT_LT(MaxAbsDiff(b, expected), 1e-4) << "sf=" << sf << " fpc=" << fpc;
    }
  }
}

TEST(Executor, OptimizationFusesReluAndFoldsScaleOffset) {
  std::mt19937 rng(3);
  Graph g = MakeGraph(&rng);
  OptimizeForInference(&g);
  std::set<std::string> names;
  for (const Op& op : g.ops) names.insert(op.name);
  EXPECT_FALSE(names.count("xent.log-softmax"));  // not needed by the output
  EXPECT_FALSE(names.count("relu1"));             // fused into lda
  EXPECT_FALSE(names.count("bn1"));               // folded into a2
  EXPECT_FALSE(names.count("bn2"));               // folded into a3
  EXPECT_FALSE(names.count("relu3"));             // fused into a3, then bypassed
  EXPECT_TRUE(g.ops[g.Find("lda")].relu_after);
  EXPECT_TRUE(g.ops[g.Find("a2")].relu_after);
}

TEST(Executor, ComputesOnlyNeededTimesAtSubsampledRate) {
  std::mt19937 rng(4);
  Graph g = MakeGraph(&rng);
  ExecutableNet net = Prepare(g, KernelChoice::kFast);
  ComputeOptions opts;
  opts.frame_subsampling_factor = 3;
  opts.frames_per_chunk = 30;
  Executor ex(net, opts);
  std::map<std::string, std::set<int32_t>> seen;
  ex.SetObserver([&](const Op& op, const ActivationView& in, const ActivationView& out) {
    EXPECT_EQ(in.rows, out.rows);
    for (int64_t r = 0; r < out.rows; ++r) seen[op.name].insert(out.times[r]);
  });
  MatrixF feats = RandomMatrix(30, 5, &rng);
  std::vector<float> ivector(3, 0.5f);
  ex.Compute(feats, &ivector, nullptr);
  // a2 feeds only the stride-3 layer: it runs at multiples of 3 only.
  ASSERT_FALSE(seen["a2"].empty());
  for (int32_t t : seen["a2"]) EXPECT_EQ(((t % 3) + 3) % 3, 0) << t;
  EXPECT_EQ(seen["output.affine"].size(), 10u);
  EXPECT_EQ(seen.count("xent.log-softmax"), 0u);
  // lda runs at every frame the a2 splice needs: [-1-3, 27+3+1] minus nothing.
  EXPECT_EQ(*seen["lda"].begin(), -4);
}

TEST(Executor, OnlineIvectorsUseTheRowAtTheChunkMiddle) {
  std::mt19937 rng(5);
  Graph g = MakeGraph(&rng);
  ExecutableNet net = Prepare(g, KernelChoice::kReference);
  MatrixF feats = RandomMatrix(61, 5, &rng);
  MatrixF online = RandomMatrix(7, 3, &rng);  // period 10 -> rows cover frames 0..69
  const int32_t sf = 3, fpc = 33;
  ComputeOptions opts;
  opts.frame_subsampling_factor = sf;
  opts.frames_per_chunk = fpc;
  opts.online_ivector_period = 10;
  Executor ex(net, opts);
  MatrixF got = ex.Compute(feats, nullptr, &online);
  const int32_t num_sub = (61 + sf - 1) / sf, per_chunk = fpc / sf;
  ASSERT_EQ(got.rows(), num_sub);
  for (int32_t start = 0; start < num_sub; start += per_chunk) {
    int32_t n = std::min(per_chunk, num_sub - start);
    int32_t first = start * sf, last = (start + n - 1) * sf;
    int32_t row = std::min<int32_t>((first + (last - first) / 2) / 10, 6);
    std::vector<float> iv(online.Row(row), online.Row(row) + 3);
    MatrixF expected = Reference(g, feats, iv, sf);
    for (int32_t s = start; s < start + n; ++s)
      for (int32_t c = 0; c < got.cols(); ++c)
        EXPECT_NEAR(got(s, c), expected(s, c), 1e-5) << "row " << s;
  }
}

TEST(Executor, PriorsAndExp) {
  std::mt19937 rng(6);
  ExecutableNet net = Prepare(MakeGraph(&rng), KernelChoice::kReference);
  net.priors = {0.1f, 0.2f, 0.3f, 0.4f};
  MatrixF feats = RandomMatrix(9, 5, &rng);
  std::vector<float> iv(3, 0.1f);
  ComputeOptions plain;
  MatrixF base = Executor(net, plain).Compute(feats, &iv, nullptr);
  ComputeOptions opts;
  opts.use_priors = true;
  opts.apply_exp = true;
  MatrixF got = Executor(net, opts).Compute(feats, &iv, nullptr);
  for (int64_t r = 0; r < got.rows(); ++r)
    for (int64_t c = 0; c < got.cols(); ++c)
      EXPECT_NEAR(got(r, c), std::exp(base(r, c) - std::log(net.priors[c])),
                  1e-5 * std::max(1.0f, got(r, c)));
}

TEST(Executor, RejectsBadInput) {
  std::mt19937 rng(7);
  ExecutableNet net = Prepare(MakeGraph(&rng));
  Executor ex(net, ComputeOptions());
  std::vector<float> iv(3, 0.0f);
  MatrixF wrong_dim = RandomMatrix(10, 6, &rng);
  try {
    ex.Compute(wrong_dim, &iv, nullptr);
    FAIL() << "no error for a wrong feature dimension";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dimension 5"), std::string::npos) << e.what();
  }
  MatrixF feats = RandomMatrix(10, 5, &rng);
  feats(4, 2) = std::nanf("");
  try {
    ex.Compute(feats, &iv, nullptr);
    FAIL() << "no error for NaN";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("frame 4"), std::string::npos) << e.what();
  }
  feats(4, 2) = 1.0f / 0.0f;
  EXPECT_THROW(ex.Compute(feats, &iv, nullptr), Error);
  feats(4, 2) = 0;
  EXPECT_THROW(ex.Compute(feats, nullptr, nullptr), Error);  // missing i-vector
  std::vector<float> short_iv(2, 0.0f);
  EXPECT_THROW(ex.Compute(feats, &short_iv, nullptr), Error);
  EXPECT_THROW(ex.Compute(MatrixF(), &iv, nullptr), Error);  // empty utterance
  MatrixF online = RandomMatrix(1, 3, &rng);                 // period not set
  EXPECT_THROW(ex.Compute(feats, nullptr, &online), Error);
  ComputeOptions bad;
  bad.frames_per_chunk = 0;
  EXPECT_THROW(Executor(net, bad), Error);
}

}  // namespace
}  // namespace kaldiq::nnet
