// Runs one ChunkPlan (planner.h) over a batch of sequences: Forward walks plan.order calling
// each op's Forward from the op table (op_traits.h); Backward walks it in reverse calling each
// op's Backward and the transposed row programs (gather.h's ScatterAdd). The plan is the tape:
// nothing is recorded besides the values every op keeps in its own buffers. Inference
// (Executor), training (MinibatchComputer) and, later, streaming all run chunks through this.
//
// Row layout: op i holds num_sequences blocks of plan.ops[i].times.size() rows (n-major),
// sequence n's block at rows [n·T_i, (n+1)·T_i).
//
// Looped plans (looped.h): an op's first OpPlan::num_carried rows are copied from its rows of
// the previous Forward instead of computed (one sequence, test mode, never for view ops), so a
// stream of chunks computes every row once.
//
// int8 inference (quant's integer pipeline): affine kernels with an InputGrid/OutputGrid take and
// produce u8 rows, and ops listed in u8_outputs store their output as u8 too; everything else
// is float. Backward needs float values everywhere (a training graph with float kernels).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "nnet/gather.h"
#include "nnet/graph.h"
#include "nnet/linear_kernel.h"
#include "nnet/op_traits.h"
#include "nnet/params.h"
#include "nnet/planner.h"

namespace kaldiq::nnet {

// Rows of an op's input or output in one chunk. times[r] is the (chunk-relative) time index
// of row r (of one sequence: with several sequences `times` has rows / num_sequences entries);
// row r starts at data + r * stride.
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

// The rows one input op supplies for one sequence: the row for time t is
// data + (t − first_t) · stride, for t in [first_t, first_t + rows). With `clamp` the index is
// clamped into that range instead (Kaldi's edge padding: frames outside the utterance repeat
// the first / last frame; an utterance i-vector is one row for every t).
struct InputRows {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t stride = 0;
  int32_t first_t = 0;
  bool clamp = false;
};

struct ForwardOptions {
  ComputeMode mode = ComputeMode::kTest;
  // Train mode: BatchNorm statistics are added here when set (Kaldi's store_component_stats).
  Statistics* stats = nullptr;
  // Train mode: dropout masks are a function of (seed, op); equal seeds repeat the masks.
  uint64_t seed = 0;
  // false: no Backward follows (inference), so the gathered input rows of an op that is not a
  // view are dead once it (and the observer) ran, and all such ops gather into one shared
  // buffer instead of one each (Kaldi-like activation memory). Backward then throws.
  bool keep_inputs = true;
};

class ChunkComputer {
 public:
  // kernels[i]: the kernel of affine op i (null for other ops). u8_outputs: empty or one per op
  // (ExecutableNet::u8_outputs). All are borrowed and must outlive the computer.
  ChunkComputer(const Graph& graph, std::vector<const LinearKernel*> kernels,
                const std::vector<std::optional<U8Output>>* u8_outputs = nullptr);
  ~ChunkComputer();
  ChunkComputer(const ChunkComputer&) = delete;
  ChunkComputer& operator=(const ChunkComputer&) = delete;

  void SetObserver(ActivationObserver observer) { observer_ = std::move(observer); }

  // Computes every op of `plan` for num_sequences sequences. inputs[k · num_sequences + n]:
  // the rows of input op plan.inputs[k] for sequence n (ignored when the plan computes no row of
  // that op). The plan must stay alive and unchanged until the next Forward (Backward uses it).
  // Throws kaldiq::Error (kInvalidArgument) when an input time is outside its rows.
  void Forward(const ChunkPlan& plan, int32_t num_sequences, const std::vector<InputRows>& inputs,
               const ForwardOptions& options = ForwardOptions());

  // The rows op i computed in the last Forward (float and/or u8; see the header comment).
  const RowView& Value(int32_t op) const { return views_[op]; }
  // rows × cols of Value(op) as float (u8 rows dequantized into scratch). Valid until the next
  // call of Forward or ValueAsFloat.
  ConstRows ValueAsFloat(int32_t op);

  // Backward through the last Forward (same mode, masks and batch statistics).
  // output_derivs[k]: ∂objective/∂(output op plan.outputs[k]) in that op's row layout, or
  // data = null for an output that contributes nothing. Parameter gradients of trainable ops are
  // ADDED to *grads (null = none wanted). Only ops between a given output and something that
  // needs a derivative (a trainable op, or an input op when input_derivs) are visited.
  void Backward(const std::vector<ConstRows>& output_derivs, Gradients* grads,
                bool input_derivs = false);
  // ∂objective/∂(output of op) after Backward (input ops: only with input_derivs); data is null
  // for ops the backward did not reach.
  ConstRows Deriv(int32_t op) const;

 private:
  // Quantizes rows [first_row, first_row + rows) of `in` (op's float rows) into its u8 buffer;
  // returns `in` with the u8 rows added.
  RowView Quantize(const RowView& in, int64_t first_row, int64_t rows, int32_t op,
                   const U8Output& out);
  // Looped plans: makes op i's buffer start with its carried rows (copied from the previous
  // chunk's rows, float and/or u8 as that chunk held them).
  void CarryRows(int32_t i);
  const float* AsFloat(const RowView& view, int64_t rows, int64_t cols, std::vector<float>* buf,
                       int64_t* stride);
  void FillInput(int32_t op, const std::vector<InputRows>& rows);

  const Graph& graph_;
  std::vector<const LinearKernel*> kernels_;
  const std::vector<std::optional<U8Output>>* u8_outputs_;
  ActivationObserver observer_;

  // The last Forward.
  const ChunkPlan* plan_ = nullptr;
  int32_t num_sequences_ = 1;
  ForwardOptions options_;

  // Per op, reused across chunks (grown, never shrunk): output rows (float, or u8 for int8
  // kernels with an output grid), gathered input rows, the train-mode memo, derivatives.
  std::vector<RowView> views_;
  std::vector<int64_t> rows_;  // rows of each op's buffer in the last Forward
  // The Forward before the last, for plans that carry rows over (OpPlan::num_carried): its
  // views, row counts and the buffers they point into.
  std::vector<RowView> prev_views_;
  std::vector<int64_t> prev_rows_;
  std::vector<std::vector<float>> prev_values_;
  std::vector<std::vector<uint8_t>> prev_values_u8_;
  std::vector<RowView> input_views_;
  std::vector<std::vector<float>> values_;
  std::vector<std::vector<uint8_t>> values_u8_;
  std::vector<std::vector<float>> scratch_;
  std::vector<std::vector<uint8_t>> scratch_u8_;
  std::vector<float> shared_scratch_;  // ForwardOptions::keep_inputs = false
  std::vector<uint8_t> shared_scratch_u8_;
  std::vector<OpMemo> memos_;
  std::vector<std::vector<float>> derivs_, in_derivs_;
  std::vector<Rows> deriv_views_;
  std::vector<float> dequant_, observe_in_, observe_out_;  // u8 → float scratch
};

}  // namespace kaldiq::nnet
