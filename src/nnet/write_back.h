// The way back from a training lowering to the Kaldi model it came from. Parameters stay in
// the original kaldi::Nnet: after an update, WriteBackParameters copies every trained op's
// weight and bias into the component it was lowered from (Op::component_index), and nothing
// else, so WriteKaldiModel of the updated model differs from the original only in those values
// and keeps every other field Kaldi wrote (learning rates, max-change, natural-gradient settings,
// orthonormal constraints, BatchNorm and nonlinearity statistics) byte for byte. BatchNorm
// statistics go back only when asked (WriteBackBatchNormStats), derived as Kaldi's Write does.
#pragma once

#include "kaldi/nnet3/nnet.h"
#include "nnet/graph.h"
#include "nnet/params.h"

namespace kaldiq::nnet {

// Copies the weight (Affine/NaturalGradientAffine/Tdnn linear_params, Linear params) and bias
// (bias_params) of every trainable op of `graph` into its component of *nnet. `graph` must be a
// training lowering of *nnet (same components); throws kaldiq::Error (kInvalidArgument) naming
// the component when a component index, type or shape does not match.
void WriteBackParameters(const Graph& graph, kaldi::Nnet* nnet);

// Kaldi's BatchNorm statistics of every kBatchNorm op as the file holds them (Kaldi's Read:
// sum = mean·count, sumsq = (var + mean²)·count, in double), to continue accumulating from.
Statistics StatisticsFromModel(const Graph& graph, const kaldi::Nnet& nnet);

// Writes `stats` into the BatchNorm components as Kaldi's Write derives them (count; mean =
// float(sum)·float(1/count), var = float(sumsq)·float(1/count) − mean²), and refreshes each op's
// test-mode transform (Op::scale / Op::offset, BatchNormAttrs::has_stats) from the result, so
// test mode then uses the new statistics exactly as the written model would.
void WriteBackBatchNormStats(const Statistics& stats, kaldi::Nnet* nnet, Graph* graph);

// The training settings of a trained op's component (UpdatableCommon, orthonormal-constraint).
// learning_rate is the stored one, which already includes learning_rate_factor (Kaldi stores
// lr·factor); a trainer scales it as nnet3-am-copy --learning-rate does.
struct ComponentTraining {
  float learning_rate = 0.0f;
  float learning_rate_factor = 1.0f;
  float max_change = 0.0f;              // 0 = none
  float l2_regularize = 0.0f;
  float orthonormal_constraint = 0.0f;  // 0 = none, < 0 = floating scale (TDNN-F)
};
// Throws kaldiq::Error (kInvalidArgument) for a component that is not trainable.
ComponentTraining TrainingOf(const kaldi::Component& component);

}  // namespace kaldiq::nnet
