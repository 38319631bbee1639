// The lowered graph IR: plain data that the executor runs and that quantization can
// inspect, serialize and re-target. Produced from a Kaldi nnet3 Nnet by lower.h; knows nothing
// of Kaldi's file formats.
//
// Time is the row dimension. Every op computes rows for a set of time indices t chosen by the
// executor's planner; an op's input is a Descriptor evaluated at each of those t, which names
// earlier ops at (possibly) other times (Kaldi's Offset/ReplaceIndex/Round/Switch semantics).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/matrix.h"

namespace kaldiq::nnet {

// One expression of a descriptor, evaluated at an output time t to one row of `Dim()` values.
struct DescExpr {
  enum class Kind {
    kNode,       // row t of op `node`
    kOffset,     // children[0] evaluated at t + value
    kReplaceT,   // children[0] evaluated at t = value (ReplaceIndex(x, t, value))
    kRound,      // children[0] evaluated at floor(t / value) * value
    kSwitch,     // children[t mod children.size()] evaluated at t
    kScale,      // scale * children[0]
    kSum,        // children[0] + children[1]
    kConst,      // `dim` columns, all equal to `scale`
    kIfDefined,  // children[0] if it can be computed at t, else zeros
    kFailover,   // children[0] if it can be computed at t, else children[1]
  };
  Kind kind = Kind::kNode;
  int32_t node = -1;  // kNode: index into Graph::ops (always an earlier op)
  int32_t value = 0;  // kOffset / kReplaceT / kRound
  float scale = 1.0f;  // kScale / kConst
  int32_t dim = 0;     // kConst
  std::vector<DescExpr> children;
};

// Kaldi's Append(...): the parts' rows are concatenated column-wise, in order.
struct Descriptor {
  std::vector<DescExpr> parts;
};

// The op families; what each computes, which fields it reads and how it backpropagates is in
// its traits row (op_traits.h, bodies in nnet/ops/*.cc). Append new types at the end: the int8
// model file stores these numbers.
enum class OpType {
  kInput,               // network input ("input", "ivector"); no descriptor
  kOutput,              // network output: the descriptor's value
  kCopy,                // identity: NoOp, GeneralDropout, SpecAugmentTimeMask (test mode)
  kDimRange,            // columns [ints[0], ints[0] + output_dim) of the input
  kAffine,              // y = x Wᵀ + b (Affine, NaturalGradientAffine, FixedAffine, Linear, Tdnn)
  kRelu,                // max(x, 0)
  kScaleOffset,         // y = x ∘ scale + offset (BatchNorm test mode, ScaleAndOffset, PerElement*,
                        // FixedScale, FixedBias); scale/offset have input_dim entries, empty = 1 / 0
  kNormalize,           // Kaldi NormalizeComponent (target_rms, add_log_stddev)
  kSigmoid,
  kTanh,
  kSoftmax,             // with Kaldi's output floor 1e-20
  kLogSoftmax,
  kElementwiseProduct,  // y[i] = prod_k x[i + k * output_dim]
  kSumGroup,            // y[g] = sum of the ints[g] consecutive inputs of group g
  kPermute,             // y[i] = x[ints[i]]
  // Training lowering only (LowerOptions::mode = kTraining); inference lowers them to
  // kScaleOffset / kCopy.
  kBatchNorm,           // Kaldi BatchNormComponent: test mode y = x ∘ scale + offset (from the
                        // stored statistics), train mode batch statistics (BatchNormAttrs)
  kDropout,             // DropoutComponent / GeneralDropoutComponent (DropoutAttrs)
};

// The op type's name ("Affine", "BatchNorm", ...), from its traits row.
const char* OpTypeName(OpType type);

// Attributes of the op families added for training. (The older families keep the shared
// fields of Op below, which quant/ reads and int8_model_io serializes; they move here when
// those readers are converted.)
struct BatchNormAttrs {
  int32_t block_dim = 0;  // statistics per column of a block; input_dim is a multiple of it
  float epsilon = 0.001f;
  float target_rms = 1.0f;
  // The component has statistics (count > 0), so Op::scale / Op::offset hold its test-mode
  // transform; without them only train mode can run.
  bool has_stats = false;
};
struct DropoutAttrs {
  enum class Kind {
    kDropout,         // DropoutComponent: train y = x ∘ mask, mask ∈ {0, 1} per element (per row
                      // when per_frame); test y = x · (1 − proportion)
    kGeneralDropout,  // GeneralDropoutComponent: one mask row of block_dim per (sequence,
                      // ⌊t / time_period⌋) (per sequence when time_period = 0), binary
                      // {0, 1/(1−p)} or continuous U[1−2p, 1+2p]; test mode identity
    kSpecAugmentTimeMask,  // SpecAugmentTimeMaskComponent: test mode identity (train mode is
                           // not implemented and throws kUnsupported)
  };
  Kind kind = Kind::kDropout;
  float proportion = 0.0f;
  bool per_frame = false;   // kDropout
  int32_t block_dim = 0;    // kGeneralDropout
  int32_t time_period = 0;  // kGeneralDropout
  bool continuous = false;  // kGeneralDropout
  // kGeneralDropout with specaugment-max-proportion (frequency masking): train mode is not
  // implemented and throws kUnsupported.
  bool specaugment = false;
};
// kCopy from a NoOpComponent: the derivative is scaled by backprop_scale.
struct CopyAttrs {
  float backprop_scale = 1.0f;
};
using OpAttrs = std::variant<std::monostate, BatchNormAttrs, DropoutAttrs, CopyAttrs>;

struct Op {
  std::string name;       // Kaldi node name (unique in the graph)
  std::string component;  // Kaldi component name and type, for messages ("tdnn1.affine (Tdnn)")
  OpType type = OpType::kCopy;
  Descriptor input;       // empty for kInput
  int32_t input_dim = 0;  // = the descriptor's dimension
  int32_t output_dim = 0;

  // kAffine: weight is output_dim × input_dim (Kaldi's layout, one row per output unit);
  // bias has output_dim entries or is empty. relu_after: a ReLU is fused into the op (set by
  // the optimizer pass in lower.h when the only consumer of the affine op was a kRelu).
  MatrixF weight;
  std::vector<float> bias;
  bool relu_after = false;
  // kScaleOffset: per-column scale and offset (either may be empty = identity).
  std::vector<float> scale;
  std::vector<float> offset;
  // kSumGroup sizes, kPermute column map, kDimRange {first column}.
  std::vector<int32_t> ints;
  // kNormalize.
  float target_rms = 1.0f;
  bool add_log_stddev = false;
  // kBatchNorm, kDropout, kCopy (from NoOp): see the attribute structs above. kBatchNorm also
  // holds its test-mode transform in `scale` / `offset` (tiled to input_dim).
  OpAttrs attrs;

  // Set by the training lowering: the Kaldi component this op came from (index into
  // kaldi::Nnet::components; -1 for inputs, outputs, dim-ranges and descriptor copies), and
  // whether `weight` / `bias` are trained parameters (Affine, NaturalGradientAffine, Linear,
  // Tdnn; not FixedAffine). For a kAffine op `weight` is the component's linear_params
  // (Linear: params) and `bias` its bias_params.
  int32_t component_index = -1;
  bool trainable = false;

  template <typename T> const T* Attrs() const { return std::get_if<T>(&attrs); }
};

struct Graph {
  // Topological order: a descriptor only names ops with a smaller index.
  std::vector<Op> ops;
  // Index of the op "output" (the output inference evaluates); -1 if none.
  int32_t output = -1;
  // The kInput and kOutput ops in graph order ("input", "ivector"; "output", "output-xent").
  // Derived from `ops` by UpdateIndex(), which LowerNnet, OptimizeForInference and Prepare call;
  // code that adds or removes ops calls it again.
  std::vector<int32_t> inputs;
  std::vector<int32_t> outputs;
  void UpdateIndex();

  // Index of the op with this name, or -1.
  int32_t Find(const std::string& name) const;
  // Dimension of an input op ("input", "ivector"), 0 if the graph has no such input.
  int32_t InputDim(const std::string& name) const;
  int32_t OutputDim() const { return output < 0 ? 0 : ops[output].output_dim; }
};

// True when `e` only selects rows (kNode leaves under Offset / ReplaceIndex / Round / Switch; no
// sums, scales, constants or IfDefined/Failover): its value is a copy of rows of earlier ops.
bool IsRowSelection(const DescExpr& e);
// The op whose rows `e` selects when `e` is a row selection of exactly one op, else -1.
int32_t SelectedOp(const DescExpr& e);
// Appends the ops `e` names (its kNode leaves, with repeats).
void CollectOps(const DescExpr& e, std::vector<int32_t>* out);

// Dimension of one descriptor expression / of a whole descriptor, given the ops' output dims.
int32_t ExprDim(const Graph& graph, const DescExpr& expr);
int32_t DescriptorDim(const Graph& graph, const Descriptor& desc);

// Checks the structural invariants above (topological order, dims, weight shapes); throws
// kaldiq::Error naming the op on violation. weights_optional: an affine op may have no weight
// matrix at all (its kernel holds the weights, e.g. an int8 layer).
void ValidateGraph(const Graph& graph, bool weights_optional = false);

}  // namespace kaldiq::nnet
