// Looped evaluation (nnet/looped.h) against whole-utterance evaluation (Executor) where Kaldi's
// semantics say they must agree (design note 7.4): feed-forward networks in test mode, the same
// edge padding (frame 0 before the start, the last frame after the end) and the same i-vector
// for every frame. With the scalar reference kernels (row-count independent) the outputs must be
// bit-identical; with the fast fp32 GEMMs, whose rounding may depend on the number of rows per
// call, they agree to 1e-5 relative. Also: the plans carry rows (each chunk computes only its
// new rows), settle into one steady-state plan, and read no input frame Kaldi has not fed yet.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kaldi/table.h"
#include "nnet/executor.h"
#include "nnet/load_model.h"
#include "nnet/looped.h"
#include "util/error.h"

namespace kaldiq::nnet {
namespace {

const std::string kData = KQ_TESTDATA_DIR;

std::vector<MatrixF> ReadFeats(const std::string& rspec, size_t max) {
  std::vector<MatrixF> out;
  for (kaldi::SequentialMatrixReader r(rspec); !r.Done() && out.size() < max; r.Next())
    out.push_back(r.Value());
  return out;
}

// Runs the looped computer over the whole of `feats` (the input is finished: frames past the
// end are the last frame) and returns ceil(T / sf) output rows.
MatrixF RunLooped(LoopedComputer* lc, const MatrixF& feats, int32_t sf,
                  const std::vector<float>* ivector) {
  lc->Reset();
  const int64_t T = feats.rows();
  const int64_t num_out = (T + sf - 1) / sf;
  MatrixF out(num_out, lc->OutputDim());
  std::vector<float> buf;
  for (int64_t done = 0; done < num_out;) {
    int64_t begin, end;
    lc->NewInputRange(lc->NumChunksComputed(), &begin, &end);
    buf.resize(static_cast<size_t>((end - begin) * feats.cols()));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t src = std::clamp<int64_t>(t, 0, T - 1);
      std::copy(feats.Row(src), feats.Row(src) + feats.cols(),
                buf.data() + (t - begin) * feats.cols());
    }
    ConstRows y = lc->ComputeChunk(buf.data(), feats.cols(), ivector ? ivector->data() : nullptr);
    EXPECT_EQ(y.rows, lc->OutputRowsPerChunk());
    for (int64_t r = 0; r < y.rows && done < num_out; ++r, ++done)
      std::copy(y.Row(r), y.Row(r) + y.cols, out.Row(done));
  }
  return out;
}

double MaxRelDiff(const MatrixF& a, const MatrixF& b) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    const double e = double(a.data()[i]) - b.data()[i];
    num += e * e;
    den += double(b.data()[i]) * b.data()[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

ComputeOptions WholeUtterance(int32_t sf) {
  ComputeOptions o;
  o.frame_subsampling_factor = sf;
  o.frames_per_chunk = 1 << 20;  // one chunk: every op computes all its rows in one call
  return o;
}

bool BitEqual(const MatrixF& a, const MatrixF& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (int64_t i = 0; i < a.size(); ++i)
    if (a.data()[i] != b.data()[i]) return false;
  return true;
}

TEST(Looped, TdnnSeedReferenceKernelsBitIdenticalToWholeUtterance) {
  LoadOptions lo;
  lo.kernels = KernelChoice::kReference;
  InferenceModel m = LoadModelForInference(kData + "/tdnn-seed/final.mdl", lo);
  const std::vector<MatrixF> utts = ReadFeats("ark:" + kData + "/tdnn-seed/dev60/feats.ark", 3);
  Executor whole(m.net, WholeUtterance(3));
  for (int32_t fpc : {20, 21, 50, 7}) {
    LoopedOptions o;
    o.frame_subsampling_factor = 3;
    o.frames_per_chunk = fpc;
    LoopedComputer lc(m.net, o);
    EXPECT_EQ(lc.FramesPerChunk() % 3, 0);
    EXPECT_GE(lc.FramesPerChunk(), fpc);
    for (size_t u = 0; u < utts.size(); ++u) {
      const MatrixF expected = whole.Compute(utts[u], nullptr, nullptr);
      const MatrixF got = RunLooped(&lc, utts[u], 3, nullptr);
      EXPECT_TRUE(BitEqual(got, expected))
          << "fpc " << fpc << " utt " << u << ": rel diff " << MaxRelDiff(got, expected);
    }
  }
}

TEST(Looped, TdnnSeedFastKernelsWithinTolerance) {
  InferenceModel m = LoadModelForInference(kData + "/tdnn-seed/final.mdl");
  const std::vector<MatrixF> utts = ReadFeats("ark:" + kData + "/tdnn-seed/dev60/feats.ark", 2);
  Executor whole(m.net, WholeUtterance(3));
  LoopedOptions o;
  o.frame_subsampling_factor = 3;
  o.frames_per_chunk = 20;
  LoopedComputer lc(m.net, o);
  for (const MatrixF& feats : utts) {
    const MatrixF expected = whole.Compute(feats, nullptr, nullptr);
    const MatrixF got = RunLooped(&lc, feats, 3, nullptr);
    ASSERT_EQ(got.rows(), expected.rows());
    EXPECT_LE(MaxRelDiff(got, expected), 1e-5);
  }
}

// TDNN-F with an i-vector input: a fixed utterance i-vector for every chunk must give the
// whole-utterance output with that i-vector (also through a constant online matrix).
TEST(Looped, TdnnfSmallFixedIvectorBitIdentical) {
  LoadOptions lo;
  lo.kernels = KernelChoice::kReference;
  InferenceModel m = LoadModelForInference(kData + "/tdnnf-small/final.raw", lo);
  const std::vector<MatrixF> utts = ReadFeats("ark:" + kData + "/tdnnf-small/feats2.ark", 2);
  ASSERT_GT(m.net.graph.InputDim("ivector"), 0);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> iv(m.net.graph.InputDim("ivector"));
  for (float& x : iv) x = nd(rng);
  LoopedOptions o;
  o.frame_subsampling_factor = 3;
  o.frames_per_chunk = 20;
  LoopedComputer lc(m.net, o);
  EXPECT_EQ(lc.IvectorDim(), static_cast<int32_t>(iv.size()));
  Executor whole(m.net, WholeUtterance(3));
  ComputeOptions online = WholeUtterance(3);
  online.frames_per_chunk = 30;  // several chunks, each taking one (equal) online row
  online.online_ivector_period = 10;
  Executor chunked(m.net, online);
  for (const MatrixF& feats : utts) {
    const MatrixF expected = whole.Compute(feats, &iv, nullptr);
    const MatrixF got = RunLooped(&lc, feats, 3, &iv);
    EXPECT_TRUE(BitEqual(got, expected)) << "rel diff " << MaxRelDiff(got, expected);
    MatrixF rows((feats.rows() + 9) / 10, static_cast<int64_t>(iv.size()));
    for (int64_t r = 0; r < rows.rows(); ++r) std::copy(iv.begin(), iv.end(), rows.Row(r));
    EXPECT_TRUE(BitEqual(chunked.Compute(feats, nullptr, &rows), expected));
  }
  EXPECT_THROW(lc.ComputeChunk(nullptr, 0, nullptr), Error);  // the i-vector is required
}

// The plans: chunk 0 computes everything it needs, later chunks carry rows and compute about F
// new input rows each; the last plan is steady (its layout repeats) and no chunk reads a frame
// at or past Kaldi's end-of-chunk-input (k+1)F + Rc.
TEST(Looped, PlansCarryRowsAndSettle) {
  InferenceModel m = LoadModelForInference(kData + "/tdnn-seed/final.mdl");
  LoopedOptions o;
  o.frame_subsampling_factor = 3;
  o.frames_per_chunk = 20;
  LoopedPlans lp = BuildLoopedPlans(m.net, o);
  EXPECT_EQ(lp.frames_per_chunk, 21);
  EXPECT_EQ(lp.left_context, m.net.left_context);
  EXPECT_EQ(lp.right_context, m.net.right_context);
  ASSERT_GE(lp.plans.size(), 2u);
  const ChunkPlan& first = lp.plans.front();
  const ChunkPlan& steady = lp.plans.back();
  int64_t carried = 0, computed0 = 0, computed = 0;
  for (size_t i = 0; i < steady.ops.size(); ++i) {
    EXPECT_EQ(first.ops[i].num_carried, 0);
    carried += steady.ops[i].num_carried;
    computed0 += first.ops[i].NumComputed();
    computed += steady.ops[i].NumComputed();
  }
  EXPECT_GT(carried, 0);
  EXPECT_LT(computed, computed0);  // the steady state recomputes no left context
  LoopedComputer lc(m.net, o);
  for (int64_t k = 0; k < 6; ++k) {
    int64_t b, e;
    lc.NewInputRange(k, &b, &e);
    EXPECT_LE(e, (k + 1) * 21 + lp.right_context) << "chunk " << k;
    if (k == 0) {
      EXPECT_EQ(b, -lp.left_context);
    }
    if (k >= static_cast<int64_t>(lp.plans.size())) {
      EXPECT_EQ(e - b, 21) << "chunk " << k;
    }
  }
}

TEST(Looped, ChunkSizeFollowsKaldi) {
  InferenceModel m = LoadModelForInference(kData + "/tdnn-seed/final.mdl");
  EXPECT_EQ(GraphModulus(m.net.graph), 1);
  EXPECT_EQ(LoopedChunkSize(m.net.graph, 3, 20), 21);
  EXPECT_EQ(LoopedChunkSize(m.net.graph, 3, 21), 21);
  EXPECT_EQ(LoopedChunkSize(m.net.graph, 1, 20), 20);
  EXPECT_THROW(LoopedChunkSize(m.net.graph, 0, 20), Error);
  LoopedOptions bad;
  bad.extra_left_context_initial = -1;
  EXPECT_THROW(BuildLoopedPlans(m.net, bad), Error);
}

}  // namespace
}  // namespace kaldiq::nnet
