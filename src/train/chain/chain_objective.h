// The LF-MMI objective of one minibatch, as Kaldi's ComputeChainObjfAndDeriv
// (chain-training.cc) computes it for non-e2e supervision:
//   1. deriv := 0; den = w log p_den (denominator.h); deriv += -w gamma_den
//   2. only when a derivative is requested, on a random half of the minibatches: deriv -=
//      2 oor (y - 30) where y > 30 and 2 oor (y + 30) where y < -30 (never in the objective)
//   3. num = w sum of the supervision FSTs' log-probs (numerator.h); deriv += w gamma_num; the
//      xent "posterior" (if requested) is w gamma_num
//   4. objf = num - den, weight = w N F; if objf is inf/NaN or the denominator check failed:
//      deriv = 0, xent = 0, objf = -10 weight
//   5. l2_term = -0.5 w l2 sum(y^2); deriv += -w l2 y
// deriv_weights are not applied here (the trainer multiplies derivative rows by them).
// Everything is a sum over frames; divide by `weight` only for display.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "kaldi/chain_example.h"
#include "train/chain/den_graph.h"
#include "util/kaldi_rand.h"

namespace kaldiq::train::chain {

// Kaldi's ChainTrainingOptions (same names, same defaults).
struct ChainTrainingOptions {
  float l2_regularize = 0.0f;              // --l2-regularize
  float out_of_range_regularize = 0.01f;   // --out-of-range-regularize
  float leaky_hmm_coefficient = 1.0e-05f;  // --leaky-hmm-coefficient
  float xent_regularize = 0.0f;            // --xent-regularize
};

// A minibatch's supervision as the objective reads it: N sequences of F frames with weight w,
// and FSTs that each cover a run of consecutive sequences (one per sequence when kaldiq merges,
// one for all when the eg was merged by Kaldi's nnet3-chain-merge-egs).
struct ChainSupervisionRef {
  struct Piece {
    const kaldi::StdFst* fst = nullptr;
    int32_t first_sequence = 0;
    int32_t num_sequences = 1;
  };
  float weight = 1.0f;
  int32_t num_sequences = 0;
  int32_t frames_per_sequence = 0;
  int32_t label_dim = 0;
  std::vector<Piece> pieces;
};

// The supervision of a (merged or unmerged) eg's output. e2e supervision is kUnsupported.
ChainSupervisionRef SupervisionRefOf(const kaldi::ChainSupervision& sup);
// Unmerged supervisions (one sequence each) of the egs of one minibatch, in order; they must
// agree on weight, frames per sequence and label-dim (kInvalidArgument).
ChainSupervisionRef SupervisionRefOf(const std::vector<const kaldi::ChainSupervision*>& sups);

struct ChainObjective {
  float objf = 0.0f;     // num - den (or -10 weight on failure)
  float l2_term = 0.0f;  // -0.5 w l2 sum y^2
  float weight = 0.0f;   // w N F
  float num_logprob = 0.0f;  // w sum L_num (for diagnostics)
  float den_logprob = 0.0f;  // w log p_den
  bool ok = true;             // false: the -10 rule was applied
  // Wall seconds spent in the denominator and numerator forward-backward (profiling only).
  double den_seconds = 0.0, num_seconds = 0.0;
  std::vector<std::string> warnings;
};

// nnet_output: F * N rows (t-major) x label-dim columns. deriv / xent_deriv may be null; when
// given they are resized and overwritten. `rng` draws the out-of-range coin as Kaldi's
// RandInt(0, 1) (only when deriv is requested); pass nullptr to apply the penalty always.
// num_threads splits the denominator over sequences (results independent of it).
ChainObjective ComputeChainObjective(const ChainTrainingOptions& opts, const DenGraph& den_graph,
                                     const ChainSupervisionRef& supervision,
                                     const MatrixF& nnet_output, MatrixF* deriv,
                                     MatrixF* xent_deriv, KaldiRand* rng = nullptr,
                                     int num_threads = 1);

}  // namespace kaldiq::train::chain
