// Executes a lowered graph on one utterance exactly as Kaldi's nnet3-compute does
// (DecodableNnetSimple): output frames are computed in chunks of frames_per_chunk (rounded down
// to a multiple of frame_subsampling_factor), each chunk sees the features of
// [first output frame - left context - extra left, last output frame + right context + extra right]
// with frames outside the utterance replaced by the first/last frame, and each chunk uses one
// online i-vector row (the one current at the middle of the chunk). Only the time indices that
// the requested output rows need are computed in every op.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "kernels/kernel_selection.h"
#include "nnet/graph.h"
#include "nnet/linear_kernel.h"

namespace kaldiq::nnet {

// Mirrors nnet3-compute's options (same names and defaults).
struct ComputeOptions {
  int32_t frames_per_chunk = 50;
  int32_t extra_left_context = 0;
  int32_t extra_right_context = 0;
  int32_t extra_left_context_initial = -1;  // -1: use extra_left_context
  int32_t extra_right_context_final = -1;   // -1: use extra_right_context
  int32_t frame_subsampling_factor = 1;
  int32_t online_ivector_period = 0;
  bool apply_exp = false;   // exp() of the output (after prior subtraction)
  bool use_priors = false;  // subtract log(priors) of the model (ExecutableNet::priors)
};

// A non-kernel op whose output the executor stores as u8 on `grid`.
struct U8Output {
  U8Grid grid;
};

// A graph ready to run: kernels per op and the network's context.
struct ExecutableNet {
  Graph graph;
  // kernels[i] is set for every kAffine op i (null otherwise). Replaceable (e.g. int8 kernels).
  std::vector<std::shared_ptr<const LinearKernel>> kernels;
  // Left/right context of "output" w.r.t. "input" (Kaldi's ComputeSimpleNnetContext).
  int32_t left_context = 0;
  int32_t right_context = 0;
  // Priors as stored in final.mdl (probabilities; empty when absent). Used with use_priors.
  std::vector<float> priors;
  // Empty, or one per op: ops without a kernel whose output is quantized to u8 because int8
  // layers read it (set by the int8 model loader; kernels announce theirs via OutputGrid()).
  // Ignored for ops whose rows are aliases of another op's.
  std::vector<std::optional<U8Output>> u8_outputs;
};

// Which kernels (--kernels=): KernelChoice::kFast (auto), kReference (scalar oracles), or any
// selection by name (kernels/kernel_selection.h).
using KernelChoice = kernels::KernelSelection;
// Supplies the kernel of affine op `index`, or null for the default fp32 kernel.
using KernelFactory =
    std::function<std::shared_ptr<const LinearKernel>(int32_t index, const Op& op)>;
// Builds kernels (from `factory`, else fp32 fast or reference) and computes the context. With a
// factory, affine ops whose kernel it supplies need no weight matrix. Throws on invalid graphs.
ExecutableNet Prepare(Graph graph, KernelChoice kernels = KernelChoice::kFast,
                      const KernelFactory& factory = nullptr);

// Rows of an op's input or output in one chunk. times[r] is the (chunk-relative) time index
// of row r; row r starts at data + r * stride.
struct ActivationView {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t stride = 0;
  const int32_t* times = nullptr;
};
// Called once per op and chunk after the op ran (not for kInput / kOutput). Calibration hook.
// On an optimised graph (lower.h) an affine op's output is post-ReLU when relu_after is set and
// folded BatchNorm/ScaleOffset ops no longer exist; kCopy/kDimRange outputs alias their input.
using ActivationObserver =
    std::function<void(const Op& op, const ActivationView& input, const ActivationView& output)>;

// Computes one utterance at a time. Thread-compatible: use one Executor per thread (they may
// share one ExecutableNet, which must outlive them). Buffers and per-chunk plans are reused.
struct ChunkPlan;  // planner.h
struct RowView;    // planner.h

class Executor {
 public:
  Executor(const ExecutableNet& net, const ComputeOptions& opts);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void SetObserver(ActivationObserver observer) { observer_ = std::move(observer); }

  // feats: frames × input dim. ivector: one i-vector for the utterance (or null).
  // online_ivectors: one row per online_ivector_period frames (or null). Returns
  // ceil(frames / subsampling) × output dim. Throws kaldiq::Error (kInvalidArgument) on
  // dimension mismatch, missing/unexpected i-vectors, NaN/Inf features or an empty input.
  MatrixF Compute(const MatrixF& feats, const std::vector<float>* ivector,
                  const MatrixF* online_ivectors);

 private:
  const ChunkPlan& GetPlan(int32_t num_subsampled_frames, int32_t first_input_rel,
                           int32_t last_input_rel);
  void RunChunk(const ChunkPlan& plan, const MatrixF& feats, int32_t t0, const float* ivector,
                MatrixF* out, int32_t out_row);

  // Quantizes float rows (the output of `op`) into op's u8 buffer.
  RowView Quantize(const RowView& in, int64_t rows, int32_t op, const U8Output& out);
  // The float rows of a view: the view itself, or its u8 values dequantized into *buf.
  static const float* AsFloat(const RowView& view, int64_t rows, int64_t cols,
                              std::vector<float>* buf, int64_t* stride);

  const ExecutableNet& net_;
  ComputeOptions opts_;
  ActivationObserver observer_;
  std::map<std::vector<int32_t>, std::unique_ptr<ChunkPlan>> plans_;
  // Per op, reused across chunks (grown, never shrunk): output rows (float, or u8 for int8
  // kernels with an output grid) and gathered input rows of the current chunk.
  std::vector<RowView> views_;
  std::vector<std::vector<float>> values_;
  std::vector<std::vector<uint8_t>> values_u8_;
  std::vector<std::vector<float>> scratch_;
  std::vector<std::vector<uint8_t>> scratch_u8_;
  std::vector<float> dequant_, observe_in_, observe_out_;  // u8 → float scratch
  std::vector<float> log_priors_;
};

}  // namespace kaldiq::nnet
