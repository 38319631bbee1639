// The network input of one utterance, as Kaldi's nnet3-compute takes it: the features, and at
// most one of an utterance i-vector (--ivectors) or online i-vectors (--online-ivectors, one
// row every online-ivector-period frames). Plain data shared by the commands that read
// utterances and the library code that computes them (nnet::Executor, decode runs).
#pragma once

#include <optional>
#include <vector>

#include "core/matrix.h"

namespace kaldiq {

struct UtteranceInput {
  MatrixF feats;                             // frames × feature dim
  std::optional<std::vector<float>> ivector;  // one i-vector for the whole utterance
  std::optional<MatrixF> online_ivectors;     // one row per online-ivector-period frames

  const std::vector<float>* Ivector() const { return ivector ? &*ivector : nullptr; }
  const MatrixF* OnlineIvectors() const { return online_ivectors ? &*online_ivectors : nullptr; }
};

}  // namespace kaldiq
