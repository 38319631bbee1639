// MinibatchComputer on the Kaldi-trained tdnn-seed model: the pruned row sets Kaldi computes for
// a chain eg, test-mode outputs equal to the inference executor's rows, Kaldi's t-major output
// layout, and train-mode BatchNorm statistics over exactly the planned rows of all sequences.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "nnet/executor.h"
#include "nnet/lower.h"
#include "nnet/minibatch.h"
#include "util/error.h"

namespace kaldiq::nnet {
namespace {

std::string TestData(const std::string& rel) { return std::string(KQ_TESTDATA_DIR) + "/" + rel; }

struct Fixture {
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(TestData("tdnn-seed/final.mdl"));
  Graph train = LowerNnet(km.nnet, "tdnn-seed", {LowerMode::kTraining, false});
  MatrixF utt = [] {
    kaldi::SequentialMatrixReader r("ark:" + TestData("tdnn-seed/dev60/feats_cmvn5.ark"));
    return r.Value();
  }();
};

const Fixture& F() {
  static const Fixture* f = new Fixture;
  return *f;
}

// Rows [s − 16, s + 156] of the utterance for each start s: a 47-output chain eg's input.
MatrixF EgInput(const MatrixF& utt, const std::vector<int32_t>& starts) {
  MatrixF m(static_cast<int64_t>(starts.size()) * 173, utt.cols());
  for (size_t n = 0; n < starts.size(); ++n)
    for (int64_t r = 0; r < 173; ++r)
      std::copy(utt.Row(starts[n] - 16 + r), utt.Row(starts[n] - 16 + r) + utt.cols(),
                m.Row(static_cast<int64_t>(n) * 173 + r));
  return m;
}

std::vector<int32_t> ChainTimes(int32_t frames) {
  std::vector<int32_t> t;
  for (int32_t f = 0; f < frames; ++f) t.push_back(3 * f);
  return t;
}

KernelFactory RefKernels() {
  return [](int32_t, const Op& op) { return MakeRefLinearKernel(op); };
}

TEST(Minibatch, PlansKaldisPrunedRowsForAChainEg) {
  const Fixture& f = F();
  ASSERT_GE(f.utt.rows(), 250);
  MinibatchComputer mb(f.train);
  MatrixF in = EgInput(f.utt, {30});
  const Graph& g = f.train;
  mb.Forward(1, {{g.Find("input"), &in, -16}},
             {{g.Find("output"), ChainTimes(47)}, {g.Find("output-xent"), ChainTimes(47)}});
  auto rows = [&](const std::string& name) {
    const int32_t i = g.Find(name);
    EXPECT_GE(i, 0) << name;
    return i < 0 ? -1 : static_cast<int>(mb.plan().ops[i].times.size());
  };
  // lfmmi-training.md §5.1 (and the BatchNorm counts stored in final.mdl).
  EXPECT_EQ(rows("lda"), 167);
  EXPECT_EQ(rows("tdnn1.affine"), 167);
  EXPECT_EQ(rows("tdnn1.batchnorm"), 167);
  EXPECT_EQ(rows("tdnn2.batchnorm"), 165);
  EXPECT_EQ(rows("tdnn3.batchnorm"), 55);
  EXPECT_EQ(rows("tdnn4.batchnorm"), 53);
  EXPECT_EQ(rows("tdnn5.batchnorm"), 51);
  EXPECT_EQ(rows("tdnn6.batchnorm"), 49);
  EXPECT_EQ(rows("tdnn7.batchnorm"), 47);
  EXPECT_EQ(rows("prefinal-chain.batchnorm"), 47);
  EXPECT_EQ(rows("prefinal-xent.batchnorm"), 47);
  EXPECT_EQ(rows("output-xent"), 47);
  // tdnn3 runs at every third t only.
  const std::vector<int32_t>& t3 = mb.plan().ops[g.Find("tdnn3.affine")].times;
  for (int32_t t : t3) EXPECT_EQ((t % 3 + 3) % 3, 0);
  EXPECT_EQ(mb.Output(0).rows(), 47);
  EXPECT_EQ(mb.Output(0).cols(), 968);
  EXPECT_EQ(mb.Output(1).cols(), 968);
}

// Test mode on one sequence = the inference executor on the same rows (where no edge padding
// is involved), bit for bit with reference kernels on both sides and the unfolded inference
// lowering; for both outputs.
TEST(Minibatch, TestModeEqualsTheInferenceExecutor) {
  const Fixture& f = F();
  const int32_t start = 30;
  MatrixF in = EgInput(f.utt, {start});
  for (const char* output : {"output", "output-xent"}) {
    Graph inf = LowerNnet(f.km.nnet, "tdnn-seed", {LowerMode::kInference, false});
    inf.output = inf.Find(output);
    ExecutableNet net = Prepare(inf, KernelChoice::kReference);
    ComputeOptions opts;
    opts.frame_subsampling_factor = 3;
    opts.frames_per_chunk = 3000;  // one chunk
    // The first 220 frames: the 47 outputs at frames 30 … 168 need inputs up to 184 only.
    MatrixF head(220, f.utt.cols());
    std::copy(f.utt.data(), f.utt.data() + head.size(), head.data());
    MatrixF expected = Executor(net, opts).Compute(head, nullptr, nullptr);

    MinibatchComputer ref(f.train, RefKernels());
    const int32_t o = f.train.Find(output);
    ref.Forward(1, {{f.train.Find("input"), &in, -16}}, {{o, ChainTimes(47)}});
    const MatrixF& got = ref.Output(0);
    ASSERT_EQ(got.cols(), expected.cols());
    int64_t differ = 0;
    for (int64_t r = 0; r < 47; ++r)
      for (int64_t c = 0; c < got.cols(); ++c)
        differ += got(r, c) != expected(start / 3 + r, c);
    EXPECT_EQ(differ, 0) << output;

    // The default kernels (OpenBLAS on the weights in place): float rounding only.
    MinibatchComputer fast(f.train);
    fast.Forward(1, {{f.train.Find("input"), &in, -16}}, {{o, ChainTimes(47)}});
    double max_diff = 0;
    for (int64_t r = 0; r < 47; ++r)
      for (int64_t c = 0; c < got.cols(); ++c)
        max_diff = std::max(max_diff, std::abs(double(fast.Output(0)(r, c)) - got(r, c)));
    EXPECT_LT(max_diff, 1e-3) << output;
  }
}

TEST(Minibatch, OutputsAreTimeMajorAcrossSequences) {
  const Fixture& f = F();
  const std::vector<int32_t> starts = {18, 60};
  MatrixF in = EgInput(f.utt, starts);
  MinibatchComputer mb(f.train, RefKernels());
  const int32_t input = f.train.Find("input"), output = f.train.Find("output");
  mb.Forward(2, {{input, &in, -16}}, {{output, ChainTimes(47)}});
  MatrixF all = mb.Output(0);
  ASSERT_EQ(all.rows(), 2 * 47);
  for (size_t n = 0; n < starts.size(); ++n) {
    MatrixF one = EgInput(f.utt, {starts[n]});
    mb.Forward(1, {{input, &one, -16}}, {{output, ChainTimes(47)}});
    for (int64_t fr = 0; fr < 47; ++fr)
      for (int64_t c = 0; c < all.cols(); ++c)
        ASSERT_EQ(all(fr * 2 + static_cast<int64_t>(n), c), mb.Output(0)(fr, c))
            << "sequence " << n << " frame " << fr;
  }
}

TEST(Minibatch, TrainModeBatchNormUsesEveryPlannedRowOfAllSequences) {
  const Fixture& f = F();
  const Graph& g = f.train;
  MatrixF in = EgInput(f.utt, {18, 45});
  MinibatchComputer mb(g);
  Statistics stats = Statistics::For(g);
  ForwardOptions train;
  train.mode = ComputeMode::kTrain;
  train.stats = &stats;
  mb.Forward(2, {{g.Find("input"), &in, -16}},
             {{g.Find("output"), ChainTimes(47)}, {g.Find("output-xent"), ChainTimes(47)}}, train);
  EXPECT_EQ(stats.batchnorm[g.Find("tdnn1.batchnorm")].count, 2 * 167);
  EXPECT_EQ(stats.batchnorm[g.Find("tdnn3.batchnorm")].count, 2 * 55);
  EXPECT_EQ(stats.batchnorm[g.Find("prefinal-xent.batchnorm")].count, 2 * 47);
  // z = (x − μ)·s over the 2·55 rows of tdnn3: column means 0, E[z²] = t²·σ²/(σ² + ε).
  const int32_t bn = g.Find("tdnn3.batchnorm");
  const ConstRows z = mb.chunks().ValueAsFloat(bn);
  const BatchNormStats& st = stats.batchnorm[bn];
  ASSERT_EQ(z.rows, 110);
  const float eps = g.ops[bn].Attrs<BatchNormAttrs>()->epsilon;
  for (int64_t c = 0; c < z.cols; c += 17) {
    double sum = 0, sumsq = 0;
    for (int64_t r = 0; r < z.rows; ++r) {
      sum += z.Row(r)[c];
      sumsq += double(z.Row(r)[c]) * z.Row(r)[c];
    }
    const double mean = st.sum[c] / st.count;
    const double var = st.sumsq[c] / st.count - mean * mean;
    EXPECT_NEAR(sum / z.rows, 0.0, 1e-5) << "column " << c;
    EXPECT_NEAR(sumsq / z.rows, var / (var + eps), 1e-4) << "column " << c;
  }
  // Test mode reads the stored statistics instead: a different output.
  MatrixF train_out = mb.Output(0);
  mb.Forward(2, {{g.Find("input"), &in, -16}}, {{g.Find("output"), ChainTimes(47)}});
  double diff = 0;
  for (int64_t i = 0; i < train_out.size(); ++i)
    diff = std::max(diff, std::abs(double(train_out.data()[i]) - mb.Output(0).data()[i]));
  EXPECT_GT(diff, 1e-3);
}

// TDNN-F (bypass Sum/Scale descriptors, Linear factors, NoOp, GeneralDropout, SpecAugment in
// test mode) with an i-vector input at t = 0 (ReplaceIndex(ivector, t, 0)).
TEST(Minibatch, TestModeEqualsTheInferenceExecutorOnTdnnf) {
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(TestData("tdnnf-small/final.raw"));
  kaldi::SequentialMatrixReader feats("ark:" + TestData("tdnnf-small/feats2.ark"));
  kaldi::SequentialMatrixReader online("ark:" + TestData("tdnnf-small/online_ivectors5.ark"));
  const MatrixF utt = feats.Value();
  MatrixF ivector(1, online.Value().cols());
  std::copy(online.Value().Row(0), online.Value().Row(0) + ivector.cols(), ivector.data());
  const std::vector<float> iv(ivector.data(), ivector.data() + ivector.cols());
  const int32_t start = 15, frames = 20, context = 12;
  ASSERT_GE(utt.rows(), start + 3 * frames + context + 1);
  MatrixF in(3 * (frames - 1) + 2 * context + 1, utt.cols());
  for (int64_t r = 0; r < in.rows(); ++r)
    std::copy(utt.Row(start - context + r), utt.Row(start - context + r) + utt.cols(), in.Row(r));
  Graph train = LowerNnet(km.nnet, "tdnnf-small", {LowerMode::kTraining, false});
  for (const char* output : {"output", "output-xent"}) {
    Graph inf = LowerNnet(km.nnet, "tdnnf-small", {LowerMode::kInference, false});
    inf.output = inf.Find(output);
    ExecutableNet net = Prepare(inf, KernelChoice::kReference);
    ComputeOptions opts;
    opts.frame_subsampling_factor = 3;
    opts.frames_per_chunk = 3000;
    MatrixF expected = Executor(net, opts).Compute(utt, &iv, nullptr);
    MinibatchComputer mb(train, RefKernels());
    mb.Forward(1, {{train.Find("input"), &in, -context}, {train.Find("ivector"), &ivector, 0}},
               {{train.Find(output), ChainTimes(frames)}});
    int64_t differ = 0;
    for (int64_t r = 0; r < frames; ++r)
      for (int64_t c = 0; c < expected.cols(); ++c)
        differ += mb.Output(0)(r, c) != expected(start / 3 + r, c);
    EXPECT_EQ(differ, 0) << output;
  }
}

TEST(Minibatch, RejectsBadRequests) {
  const Fixture& f = F();
  const Graph& g = f.train;
  MinibatchComputer mb(g);
  MatrixF in = EgInput(f.utt, {30});
  const int32_t input = g.Find("input"), output = g.Find("output");
  EXPECT_THROW(mb.Forward(2, {{input, &in, -16}}, {{output, ChainTimes(47)}}), Error);  // 173 rows
  EXPECT_THROW(mb.Forward(1, {{input, &in, -16}}, {{output, ChainTimes(60)}}), Error);  // t > 141
  EXPECT_THROW(mb.Forward(1, {{output, &in, -16}}, {{output, ChainTimes(4)}}), Error);
  EXPECT_THROW(mb.Forward(1, {{input, &in, -16}}, {{input, ChainTimes(4)}}), Error);
  MatrixF narrow(173, 13);
  EXPECT_THROW(mb.Forward(1, {{input, &narrow, -16}}, {{output, ChainTimes(4)}}), Error);
}

}  // namespace
}  // namespace kaldiq::nnet
