// The op table: for every OpType one row of traits (name, Kaldi-style property bits, Validate,
// Forward, Backward), the way Kaldi's Component pairs Propagate with Backprop and Properties(),
// but as a table over the Graph IR (ggml's type-traits rows). Each op family's bodies live side
// by side in src/nnet/ops/<family>.cc. The inference executor and the training computer call the
// same Forward, so every op has exactly one forward.
//
// Row layout seen by Forward/Backward: `rows` rows are num_sequences blocks of equal size, block
// n holding sequence n at the chunk-relative times times[0 .. rows / num_sequences) (inference:
// one sequence). Only train-mode ops that couple rows (BatchNorm statistics, per-sequence
// dropout masks) look at the layout.
#pragma once

#include <cstdint>
#include <vector>

#include "nnet/graph.h"
#include "nnet/params.h"

namespace kaldiq::nnet {

class LinearKernel;

// Rows of an op's input or output: row r at data + r * stride, `cols` columns.
struct ConstRows {
  const float* data = nullptr;
  int64_t rows = 0, cols = 0, stride = 0;
  const float* Row(int64_t r) const { return data + r * stride; }
};
struct Rows {
  float* data = nullptr;
  int64_t rows = 0, cols = 0, stride = 0;
  float* Row(int64_t r) const { return data + r * stride; }
  operator ConstRows() const { return ConstRows{data, rows, cols, stride}; }
};

// Kaldi's test mode (nnet3-compute, compute-prob: BatchNorm uses its stored statistics, Dropout
// its expected value) or training mode (BatchNorm batch statistics, random dropout masks).
enum class ComputeMode { kTest, kTrain };

// Property bits of an op type (OpTraits::props), after Kaldi's ComponentProperties.
enum OpProperty : uint32_t {
  // In test mode, output row r depends only on input row r (Kaldi's kSimpleComponent).
  kRowWise = 1u << 0,
  // The output is the input rows, or a column range of them (ViewColumn): the computer makes a
  // view and never calls Forward (Input, Output, Copy, DimRange). Backward still runs.
  kView = 1u << 1,
  // Backward reads the forward input / output values (the computer keeps them).
  kBackwardNeedsInput = 1u << 2,
  kBackwardNeedsOutput = 1u << 3,
  // Has trained parameters (Op::weight, Op::bias) when Op::trainable (Kaldi's
  // kUpdatableComponent).
  kUpdatable = 1u << 4,
  // Train-mode Forward computes statistics over all rows of the minibatch (BatchNorm): the rows
  // are coupled, and it must see exactly the rows the plan computes for all sequences.
  kBatchCoupledInTrain = 1u << 5,
  // Train-mode Forward draws random numbers (dropout masks) and keeps them in its memo.
  kRandomInTrain = 1u << 6,
  // Train-mode Forward can accumulate statistics (ForwardArgs::stats; Kaldi's kStoresStats).
  kStoresStats = 1u << 7,
};

// What a train-mode Forward keeps for its Backward (Kaldi's memo): BatchNorm's per-column
// scale, a dropout mask. One per op, owned by the computer, overwritten by every Forward.
struct OpMemo {
  std::vector<float> values;
};

struct ForwardArgs {
  const Op* op = nullptr;
  ComputeMode mode = ComputeMode::kTest;
  ConstRows in;   // rows × op->input_dim
  Rows out;       // rows × op->output_dim
  const LinearKernel* kernel = nullptr;  // kAffine: computes x·Wᵀ + b (+ ReLU if relu_after)
  int32_t num_sequences = 1;
  const int32_t* times = nullptr;        // rows / num_sequences times (see the header comment)
  // Train mode only.
  OpMemo* memo = nullptr;                // what Backward needs (kBatchCoupledInTrain, kRandomInTrain)
  uint64_t seed = 0;                     // kRandomInTrain: masks are a function of the seed
  BatchNormStats* stats = nullptr;       // kStoresStats: when set, batch statistics are added
};

struct BackwardArgs {
  const Op* op = nullptr;
  ComputeMode mode = ComputeMode::kTest;  // the mode of the Forward being differentiated
  ConstRows in, out;     // forward values (valid when props ask for them)
  ConstRows out_deriv;   // ∂objective/∂output
  Rows in_deriv;         // ∂objective/∂input is ADDED here (Kaldi's kBackpropAdds)
  int32_t num_sequences = 1;
  const int32_t* times = nullptr;
  const OpMemo* memo = nullptr;
  const LinearKernel* kernel = nullptr;  // kAffine: the kernel its Forward ran
  // kUpdatable and Op::trainable: ∂objective/∂weight and ∂objective/∂bias are ADDED here;
  // null = no parameter gradient wanted.
  OpGradients* grads = nullptr;
};

struct OpTraits {
  const char* name;
  uint32_t props;
  // Checks the op's fields against its dims (the structural checks are ValidateGraph's).
  // weights_optional: a kAffine op may have no weight matrix (its kernel holds the weights).
  // Throws kaldiq::Error (kFormat).
  void (*validate)(const Op& op, bool weights_optional);
  // Computes args.out from args.in. Null for kView ops.
  void (*forward)(const ForwardArgs& args);
  // Adds the input derivative (and parameter gradients). Null: the op has no backward.
  void (*backward)(const BackwardArgs& args);
  // kView ops: the first input column of the output (DimRange: ints[0]); null = 0.
  int32_t (*view_column)(const Op& op);
};

// The row of `type`. Never fails for a valid OpType.
const OpTraits& Traits(OpType type);

inline bool HasProperty(const Op& op, OpProperty p) { return (Traits(op.type).props & p) != 0; }

// Whether the backward of this op reads its forward output: the type's kBackwardNeedsOutput,
// or an affine op with a fused ReLU (its derivative is masked where the output is 0).
inline bool BackwardNeedsOutput(const Op& op) {
  return HasProperty(op, kBackwardNeedsOutput) || (op.type == OpType::kAffine && op.relu_after);
}

}  // namespace kaldiq::nnet
