// Lowering of a Kaldi nnet3 Nnet (kaldi/nnet3/nnet.h) into the graph IR, and the exact
// inference-time simplifications applied to it.
#pragma once

#include <string>

#include "kaldi/nnet3/nnet.h"
#include "nnet/graph.h"

namespace kaldiq::nnet {

enum class LowerMode {
  // Test-mode Kaldi semantics folded into plain ops: BatchNorm becomes kScaleOffset from its
  // statistics, DropoutComponent a kScaleOffset by 1 − p, GeneralDropout / SpecAugment / NoOp
  // kCopy.
  kInference,
  // Everything a training step needs, nothing folded: BatchNorm stays a kBatchNorm op (test and
  // train mode), Dropout / GeneralDropout / SpecAugmentTimeMask kDropout ops, NoOp a kCopy with
  // its backprop scale, every output kept (the xent branch: prefinal-xent, output-xent and its
  // LogSoftmax). Ops record Op::component_index, and the weights and biases of Affine,
  // NaturalGradientAffine, Linear and Tdnn components are marked Op::trainable (FixedAffine,
  // i.e. the LDA, stays fixed; TimeHeightConvolution weights are not trained yet).
  kTraining,
};

struct LowerOptions {
  LowerMode mode = LowerMode::kInference;
  // kInference only: apply OptimizeForInference (drop unused ops, forward identities, fuse ReLU
  // into the preceding affine op, fold BatchNorm/ScaleOffset into the following affine ops).
  bool optimize = true;
};

// One op per Kaldi node in dependency order (TdnnComponent time offsets become Offset()
// descriptor parts; a TimeHeightConvolution becomes one affine op over its spliced input).
// Every op records the index of the Kaldi component it applies (Op::component_index).
// Unsupported component types or descriptors throw kaldiq::Error (kUnsupported) naming the
// component, its type and `model_name`.
Graph LowerNnet(const kaldi::Nnet& nnet, const std::string& model_name,
                const LowerOptions& options = LowerOptions());
// The same from a Nnet the caller gives up: weights and biases are moved into the ops rather
// than copied (one copy of the weights in memory instead of two); `nnet` is left empty.
Graph LowerNnet(kaldi::Nnet&& nnet, const std::string& model_name,
                const LowerOptions& options = LowerOptions());

// Inference-time rewrites that keep the output unchanged up to float rounding:
//  * ops the "output" op does not depend on are dropped (e.g. the xent branch);
//  * kCopy ops that forward one op unchanged are bypassed;
//  * a kRelu whose input is an affine op used by nothing else is fused (Op::relu_after);
//  * a kScaleOffset (test-mode BatchNorm, ScaleAndOffset, ...) whose rows are read only by
//    affine ops (through Offset/Append) is folded into their weights and biases.
// The op names of the survivors are Kaldi's node names (a fused affine keeps the affine's).
// fold_scale_offsets = false skips the last rewrite (ScaleOffsets stay ops of their own).
void OptimizeForInference(Graph* graph, bool fold_scale_offsets = true);

}  // namespace kaldiq::nnet
