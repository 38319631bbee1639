// Plain-data view of a Kaldi nnet3 network (the <Nnet3> object of final.mdl / *.raw), as read by
// kaldi/nnet3/model_io.h. Only src/kaldi knows how these are serialised; src/nnet lowers them.
//
// Conventions every consumer must know (all mirror Kaldi exactly):
//  * Matrices are kaldiq::MatrixF, row-major. Kaldi stores weight matrices as OUT x IN
//    ("LinearParams"): y = W x + b with x a column, i.e. for row-major activations
//    Y(frames x out) = X(frames x in) * W^T + b.
//  * Time is the row dimension of activations; "t" below is Kaldi's frame index.
//  * Fields that only matter for training (learning rates, max-change, natural-gradient ranks,
//    nonlinearity statistics, ...) are kept only so that writing reproduces Kaldi's bytes; they
//    have no effect on inference. Change parameters freely (e.g. quantization snapping weights);
//    the writer emits whatever the structs hold, in Kaldi's token order.
//  * Fields Kaldi stores as double (binary size byte 8) are double here; everything else float.
//  * Vectors that Kaldi writes "derived" (BatchNorm StatsMean/StatsVar, nonlinearity ValueAvg...)
//    are kept exactly as stored, NOT re-derived, so a read/write round trip is byte-identical.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/matrix.h"

namespace kaldiq::kaldi {

// ---------------------------------------------------------------------------------------------
// Descriptors: the "input=..." expressions of component-node and output-node config lines.
// A Descriptor tree computes, for an output index (n, t, x), a row of dimension Dim() from other
// nodes' rows. Semantics (Kaldi's nnet-descriptor.h):
//   kNode          the row of node `node_name` at the same (t, x).
//   kOffset        args[0] at (t + t_offset, x + x_offset).                 "Offset(a, t[, x])"
//   kRound         args[0] at (t rounded down to a multiple of t_modulus).    "Round(a, m)"
//   kReplaceIndex  args[0] with t (or x) replaced by `value`.  "ReplaceIndex(a, t, 0)"
//                  (typical use: ReplaceIndex(ivector, t, 0) = the one i-vector row per chunk.)
//   kIfDefined     args[0] if computable, else zeros (does not make its input required).
//                  (With nnet3-compute's edge padding every in-range frame is computable, so
//                  IfDefined only yields zeros outside the padded utterance, e.g. for
//                  recurrences at the first frame.)
//   kFailover      args[0] if computable, else args[1].
//   kSwitch        args[t mod args.size()].
//   kAppend        concatenation of args along the dimension (dims add).
//   kSum           elementwise sum of args (Kaldi's Sum is binary; nesting is preserved as read).
//   kScale         scale * args[0].                                           "Scale(s, a)"
//   kConst         a constant row of dimension const_dim filled with const_value. "Const(v, d)"
// ---------------------------------------------------------------------------------------------
enum class DescriptorType {
  kNode, kOffset, kRound, kReplaceIndex, kIfDefined, kFailover, kSwitch, kAppend, kSum, kScale,
  kConst
};

struct Descriptor {
  DescriptorType type = DescriptorType::kNode;
  std::string node_name;        // kNode
  int32_t node_index = -1;      // kNode: index into Nnet::nodes (resolved by the reader)
  std::vector<Descriptor> args; // children (see table above)
  int32_t t_offset = 0;         // kOffset
  int32_t x_offset = 0;         // kOffset (written only when != 0, as Kaldi does)
  int32_t t_modulus = 1;        // kRound
  char variable = 't';          // kReplaceIndex: 't' or 'x'
  int32_t value = 0;            // kReplaceIndex
  float scale = 1.0f;           // kScale
  float const_value = 0.0f;     // kConst
  int32_t const_dim = 0;        // kConst
};

// Kaldi's config-line text of a descriptor (Descriptor::WriteConfig), e.g.
// "Append(Offset(input, -1), input, Offset(input, 1))".
std::string DescriptorToString(const Descriptor& d);
// Parses Kaldi's descriptor syntax; node names are left unresolved (node_index = -1).
// Throws kaldiq::Error (kFormat) quoting the text on a syntax error.
Descriptor ParseDescriptor(const std::string& text);

// ---------------------------------------------------------------------------------------------
// Nodes, in the order of the config lines (Kaldi writes them in its internal node order, and
// every node's inputs precede it except for recurrences through IfDefined/Failover).
// ---------------------------------------------------------------------------------------------
enum class NodeType { kInput, kComponent, kOutput, kDimRange };

struct NnetNode {
  NodeType type = NodeType::kInput;
  std::string name;
  // kInput: the feature dim. kDimRange: the dim of the range.
  int32_t dim = 0;
  // kComponent, kOutput: the input descriptor.
  Descriptor input;
  // kComponent: the component this node applies.
  std::string component_name;
  int32_t component_index = -1;  // index into Nnet::components
  // kOutput: "linear" or "quadratic" (Kaldi's objective=).
  std::string objective = "linear";
  // kDimRange: rows of node input_node_name, columns [dim_offset, dim_offset + dim).
  std::string input_node_name;
  int32_t input_node_index = -1;
  int32_t dim_offset = 0;
};

// ---------------------------------------------------------------------------------------------
// Components. Every component struct is plain data; `Component` below pairs it with its name.
// ---------------------------------------------------------------------------------------------

// Kaldi's UpdatableComponent header, written after the opening tag. Optional tokens are written
// exactly when Kaldi writes them: <LearningRateFactor> if != 1, <IsGradient> if true,
// <MaxChange> if > 0, <L2Regularize> if > 0; <LearningRate> always.
struct UpdatableCommon {
  float learning_rate_factor = 1.0f;
  bool is_gradient = false;
  float max_change = 0.0f;
  float l2_regularize = 0.0f;
  float learning_rate = 0.001f;
};

// AffineComponent and NaturalGradientAffineComponent: y = linear_params * x + bias_params.
// linear_params: OUT x IN. bias_params: OUT.
struct AffineComponent {
  bool natural_gradient = false;  // true = NaturalGradientAffineComponent
  UpdatableCommon common;
  MatrixF linear_params;
  std::vector<float> bias_params;
  float orthonormal_constraint = 0.0f;  // written only if != 0
  // NaturalGradientAffineComponent only:
  int32_t rank_in = 20, rank_out = 80, update_period = 4;
  float num_samples_history = 2000.0f, alpha = 4.0f;
};

// FixedAffineComponent (e.g. the LDA transform): y = linear_params * x + bias_params.
struct FixedAffineComponent {
  MatrixF linear_params;  // OUT x IN
  std::vector<float> bias_params;
};

// LinearComponent: y = params * x (no bias). params: OUT x IN. (Kaldi token <Params>.)
struct LinearComponent {
  UpdatableCommon common;
  MatrixF params;
  float orthonormal_constraint = 0.0f;
  bool use_natural_gradient = true;
  int32_t rank_in = 20, rank_out = 80;
  float alpha = 4.0f, num_samples_history = 2000.0f;
  int32_t update_period = 4;
};

// TdnnComponent: output at time t = linear_params * [x(t+o_0); x(t+o_1); ...] + bias, where
// o_k = time_offsets[k] (strictly increasing, as Kaldi requires) and the spliced input is the
// CONCATENATION over offsets in that order, so linear_params is OUT x (IN * time_offsets.size())
// with columns [k*IN, (k+1)*IN) multiplying x(t+o_k). bias_params may be EMPTY (no bias; e.g. the
// TDNN-F ".linear" factor) -- check before adding.
struct TdnnComponent {
  UpdatableCommon common;
  std::vector<int32_t> time_offsets;
  MatrixF linear_params;
  std::vector<float> bias_params;  // OUT, or empty
  float orthonormal_constraint = 0.0f;
  bool use_natural_gradient = true;
  float num_samples_history = 2000.0f;
  float alpha_in = 4.0f, alpha_out = 4.0f;
  int32_t rank_in = 20, rank_out = 80;
};

// Elementwise nonlinearities sharing Kaldi's NonlinearComponent storage:
// RectifiedLinear (max(0,x)), Sigmoid, Tanh, Softmax (per row; Kaldi then floors the output at
// 1e-20), LogSoftmax (per row). block_dim only matters for training statistics.
// Statistics are training diagnostics (kept only for the round trip).
enum class NonlinearityType { kRectifiedLinear, kSigmoid, kTanh, kSoftmax, kLogSoftmax };
struct NonlinearComponent {
  NonlinearityType nonlinearity = NonlinearityType::kRectifiedLinear;
  int32_t dim = 0;
  int32_t block_dim = 0;  // written only if != dim (Kaldi's <BlockDim>); == dim when absent
  std::vector<float> value_avg, deriv_avg;  // as stored (<ValueAvg>, <DerivAvg>)
  double count = 0.0;
  std::vector<float> oderiv_rms;  // as stored (<OderivRms>)
  double oderiv_count = 0.0;
  double num_dims_self_repaired = 0.0, num_dims_processed = 0.0;
  // Written only when set (Kaldi's kUnsetThreshold = -1000 means unset, scale 0 = unset).
  float self_repair_lower_threshold = -1000.0f, self_repair_upper_threshold = -1000.0f;
  float self_repair_scale = 0.0f;
};

// BatchNormComponent. dim is a multiple of block_dim; the input row is viewed as dim/block_dim
// blocks of block_dim and every block is normalised with the same per-block_dim statistics.
// Inference ("test mode"; Kaldi uses it in nnet3-compute regardless of test_mode) is
//   y = x * scale + offset, per element, with scale/offset from BatchNormTestScaleOffset().
// stats_mean / stats_var are exactly what the file stores (<StatsMean>, <StatsVar>, length
// block_dim); count is the frame count (double in Kaldi). Note: Kaldi itself keeps double sums
// and re-derives mean/var on every Write, so a Kaldi nnet3-copy may change their last bit; we
// keep them as stored (our read/write round trip is byte-identical).
struct BatchNormComponent {
  int32_t dim = 0, block_dim = 0;
  float epsilon = 0.001f, target_rms = 1.0f;
  bool test_mode = false;
  double count = 0.0;
  std::vector<float> stats_mean, stats_var;
};

// Kaldi's test-mode transform (BatchNormComponent::ComputeDerived) computed as Kaldi does:
//   var = max(stats_var, 0) (after Kaldi's own mean/var -> sums -> mean/var float round trip),
//   scale = target_rms / sqrt(var + epsilon), offset = -stats_mean * scale;  (length block_dim)
// If count == 0 (no statistics) Kaldi invents random statistics with a warning ("only makes
// sense in unit tests"); we return scale = 1, offset = 0 and *valid = false so that callers can
// refuse such a model (pass nullptr to ignore).
void BatchNormTestScaleOffset(const BatchNormComponent& bn, std::vector<float>* scale,
                              std::vector<float>* offset, bool* valid = nullptr);

// NormalizeComponent (Kaldi's cu::NormalizePerRow), per block of D = block_dim inputs x:
//   y = x / sqrt(max(sum(x^2) / (D * target_rms^2), 2^-66))
// and, when add_log_stddev, one extra output column per block (after the block's D values)
// holding log(sqrt(max(sum(x^2) / D, 2^-66))). Output dim = input_dim (+ input_dim/block_dim).
struct NormalizeComponent {
  int32_t input_dim = 0;
  int32_t block_dim = 0;  // written only if != input_dim; == input_dim when absent
  float target_rms = 1.0f;
  bool add_log_stddev = false;
};

// Inference ("test mode", which nnet3-compute sets for all of these):
//   DropoutComponent:              y = x * (1 - dropout_proportion)   <-- NOT the identity
//   GeneralDropoutComponent, SpecAugmentTimeMaskComponent, NoOpComponent: y = x
// The other fields are kept for the round trip only.
struct DropoutComponent {
  int32_t dim = 0;
  float dropout_proportion = 0.0f;
  bool dropout_per_frame = false;
  bool test_mode = false;
};
struct GeneralDropoutComponent {
  int32_t dim = 0, block_dim = 0, time_period = 0;
  float dropout_proportion = 0.0f;
  float specaugment_max_proportion = 0.0f;      // <SpecAugmentMaxProportion> written if != 0
  int32_t specaugment_max_regions = 1;          // written if != 1 (and max_proportion != 0)
  bool continuous = false;                      // bare <Continuous> token present
  bool test_mode = false;                       // <TestMode> T written only when true
};
struct SpecAugmentTimeMaskComponent {
  int32_t dim = 0;
  float zeroed_proportion = 0.0f;
  int32_t time_mask_max_frames = 0;
  bool test_mode = false;  // <TestMode> T written only when true
};
struct NoOpComponent {
  int32_t dim = 0;
  float backprop_scale = 1.0f;
};

// ScaleAndOffsetComponent: y = x * s + offsets, both of length block_dim = scales.size(),
// applied to each block of block_dim of a dim-wide row (dim is a multiple of block_dim).
// CAREFUL: Kaldi uses s = EnsureNonzero(scales, 1e-4): any |scale| < 1e-4 is replaced by
// +1e-4 (scale >= 0) or -1e-4 (scale < 0) before multiplying.
struct ScaleAndOffsetComponent {
  UpdatableCommon common;
  int32_t dim = 0;
  std::vector<float> scales, offsets;
  bool use_natural_gradient = true;
  int32_t rank = 20;
};

// PerElementScaleComponent / NaturalGradientPerElementScaleComponent: y = x .* params.
struct PerElementScaleComponent {
  bool natural_gradient = false;
  UpdatableCommon common;
  std::vector<float> params;
  // NaturalGradient variant only:
  int32_t rank = 8, update_period = 10;
  float num_samples_history = 2000.0f, alpha = 4.0f;
};

// PerElementOffsetComponent: y = x + offsets, offsets of length block dim (= offsets.size());
// dim is a multiple of it (each block gets the same offsets).
struct PerElementOffsetComponent {
  UpdatableCommon common;
  std::vector<float> offsets;
  int32_t dim = 0;
  bool use_natural_gradient = true;
};

// FixedScaleComponent: y = x .* scales. FixedBiasComponent: y = x + bias.
struct FixedScaleComponent {
  std::vector<float> scales;
};
struct FixedBiasComponent {
  std::vector<float> bias;
};

// SumGroupComponent: output j = sum of the sizes[j] consecutive inputs starting at
// sum(sizes[0..j)). Output dim = sizes.size(), input dim = sum(sizes).
struct SumGroupComponent {
  std::vector<int32_t> sizes;
};

// ElementwiseProductComponent: input of input_dim = k * output_dim; output = product over the
// k consecutive blocks of output_dim.
struct ElementwiseProductComponent {
  int32_t input_dim = 0, output_dim = 0;
};

// PermuteComponent: output column i = input column column_map[i] (Kaldi's CopyCols).
struct PermuteComponent {
  std::vector<int32_t> column_map;
};

// TimeHeightConvolutionComponent (CNN-TDNN). Input row at time t is laid out height-major:
// column = h * num_filters_in + f (h in [0, height_in)), output likewise with height_out and
// num_filters_out. For output height index h_out and each (time_offset, height_offset) pair k of
// `offsets`, the input used is time t + time_offset, height h_out*height_subsample_out +
// height_offset (zero if out of [0, height_in)). linear_params: num_filters_out x
// (offsets.size() * num_filters_in), columns [k*num_filters_in, (k+1)*num_filters_in) apply to
// offset k. bias_params: num_filters_out. required_time_offsets: the time offsets that must be
// present (others are treated as zero-padding if missing).
struct ConvolutionModel {
  int32_t num_filters_in = 0, num_filters_out = 0, height_in = 0, height_out = 0,
          height_subsample_out = 1;
  std::vector<std::pair<int32_t, int32_t>> offsets;  // (time_offset, height_offset)
  std::vector<int32_t> required_time_offsets;
};
struct TimeHeightConvolutionComponent {
  UpdatableCommon common;
  ConvolutionModel model;
  MatrixF linear_params;
  std::vector<float> bias_params;
  float max_memory_mb = 200.0f;
  bool use_natural_gradient = true;
  float num_minibatches_history = 4.0f;
  float alpha_in = 4.0f, alpha_out = 4.0f;
  int32_t rank_in = 20, rank_out = 80;
};

using ComponentParams =
    std::variant<AffineComponent, FixedAffineComponent, LinearComponent, TdnnComponent,
                 NonlinearComponent, BatchNormComponent, NormalizeComponent, DropoutComponent,
                 GeneralDropoutComponent, SpecAugmentTimeMaskComponent, NoOpComponent,
                 ScaleAndOffsetComponent, PerElementScaleComponent, PerElementOffsetComponent,
                 FixedScaleComponent, FixedBiasComponent, SumGroupComponent,
                 ElementwiseProductComponent, PermuteComponent, TimeHeightConvolutionComponent>;

struct Component {
  std::string name;      // <ComponentName>
  ComponentParams params;

  // Kaldi's type name without brackets, e.g. "NaturalGradientAffineComponent".
  std::string TypeName() const;
  int32_t InputDim() const;
  int32_t OutputDim() const;
  // Number of trainable parameters as nnet3-info counts them (0 for fixed components:
  // FixedAffine, FixedScale, FixedBias, BatchNorm, nonlinearities ...).
  int64_t NumParameters() const;

  template <typename T> T* As() { return std::get_if<T>(&params); }
  template <typename T> const T* As() const { return std::get_if<T>(&params); }
};

// ---------------------------------------------------------------------------------------------
// The network.
// ---------------------------------------------------------------------------------------------
struct Nnet {
  std::vector<NnetNode> nodes;           // config order
  std::vector<Component> components;     // <ComponentName> order

  // -1 if absent.
  int32_t NodeIndex(const std::string& name) const;
  int32_t ComponentIndex(const std::string& name) const;
  // Output dimension of a node (input: dim; component: component output dim; output: its
  // descriptor's dim; dim-range: dim). Throws on bad index.
  int32_t NodeDim(int32_t node_index) const;
  int32_t DescriptorDim(const Descriptor& d) const;
  // Dim of input node "input" / output node "output" (-1 if absent), as nnet3-am-info prints.
  int32_t InputDim(const std::string& name = "input") const;
  int32_t OutputDim(const std::string& name = "output") const;
  int64_t NumParameters() const;

  // Re-resolves node_index / component_index / input_node_index from the names and checks
  // dims agree (descriptor dim == component input dim ...). Call after editing the graph.
  // Throws kaldiq::Error naming the node.
  void Check();
};

}  // namespace kaldiq::kaldi
