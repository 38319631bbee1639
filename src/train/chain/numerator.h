// LF-MMI numerator forward-backward over a supervision FST (Kaldi's chain-numerator.{h,cc}).
//
// The FST is a validated supervision acceptor (kaldi::ComputeFstStateTimes) covering
// `num_fst_sequences` consecutive sequences starting at `first_sequence` of a minibatch of N
// sequences of F frames: FST time tau belongs to sequence first_sequence + tau / F, frame
// tau % F, whose network output row is (tau % F) * N + first_sequence + tau / F. An arc with
// label l at time tau scores y[row, l - 1] - weight. In log space, double:
//   alpha(0) = 0;  alpha(s') = logadd(alpha(s'), alpha(s) + y - w)  (states in order)
//   L = logadd over final states of alpha(s) - final(s)
//   beta(s) = logadd(-final(s), y - w + beta(s')) (states in reverse);
//   arc occupation exp(alpha(s) + y - w + beta(s') - L), summed per (row, pdf) in float.
// Kaldi merges sequences by concatenating their FSTs; the log-probabilities of separate
// per-sequence FSTs add up to the same L, so callers may pass one FST per sequence (cheaper,
// and what kaldiq's own merging does) or one FST for all (egs merged by Kaldi).
#pragma once

#include <cstdint>

#include "core/matrix.h"
#include "kaldi/fst_io.h"

namespace kaldiq::train::chain {

struct NumeratorResult {
  double log_prob = 0.0;  // L (unweighted)
  double backward_log_prob = 0.0;  // beta(start); equals L up to rounding
};

// nnet_output: F * N rows x label-dim columns. When deriv is not null, adds
// deriv_weight * occupation to deriv[row, pdf] (as Kaldi's Backward with supervision.weight).
// Throws kInvalidArgument when the FST's length is not num_fst_sequences * F or a label is
// outside the output's columns.
NumeratorResult ComputeNumerator(const kaldi::StdFst& fst, int32_t first_sequence,
                                 int32_t num_fst_sequences, int32_t num_sequences,
                                 const MatrixF& nnet_output, float deriv_weight, MatrixF* deriv);

}  // namespace kaldiq::train::chain
