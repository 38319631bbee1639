// Kaldi's nnet3-average (nnet3bin/nnet3-average.cc): out = Σ_i w_i · nnet_i with weights
// normalised to sum to 1, through Kaldi's ScaleNnet / AddNnet, i.e. every component's
// Scale/Add: the parameters of updatable components (Affine, NaturalGradientAffine, Linear,
// Tdnn, ScaleAndOffset, PerElementScale, PerElementOffset) are averaged in float in input order
// (w_0·p_0, then += w_i·p_i); the statistics of nonlinearities and BatchNorm are averaged as
// Kaldi keeps them -- weighted sums of (count, count·mean, count·E[x²]) re-divided by the
// averaged count, as their Write derives the stored values; everything else (FixedAffine,
// config, learning rates, natural-gradient settings) is the first model's. This is what
// train.py's job averaging runs, and what `kaldiq average` does for Kaldi's job model.
#pragma once

#include <vector>

#include "kaldi/nnet3/nnet.h"

namespace kaldiq::train {

// Weights: one per model (empty = equal); normalised to sum 1 (*warning set, as Kaldi warns,
// when their sum differs from 1 by more than 0.01). Throws kInvalidArgument naming the
// component when the models differ in structure (component names, types or sizes), or for
// negative / all-zero weights.
kaldi::Nnet AverageNnets(const std::vector<const kaldi::Nnet*>& nnets, std::vector<float> weights,
                         std::string* warning = nullptr);

}  // namespace kaldiq::train
