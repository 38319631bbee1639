// LF-MMI denominator forward-backward over the DenGraph with Kaldi's leaky HMM and per-frame
// rescaling (chain-denominator.{h,cc}, CPU path), for the N sequences of a minibatch.
//
// With x(t, q) = exp(clamp(y[t N + n, q], -30, 30)) (NaN -> exp(-30)), init(i) the graph's
// initial probabilities and lambda the leaky-HMM coefficient, per sequence:
//   alpha(0, i) = init(i);   A(t) = sum_i alpha(t, i);   alpha'(t, i) = alpha(t, i) + lambda A(t) init(i)
//   alpha(t, i) = [ sum over arcs j -> i (p, q) of alpha'(t-1, j) p x(t-1, q) ] / A(t-1)
//   log p_den = log sum_i alpha'(F, i) + sum_{t<F} log A(t)
// Backward (beta scaled so that it is d log p / d alpha):
//   beta'(F, i) = 1 / sum_i alpha'(F, i);  B(t) = lambda sum_i init(i) beta'(t, i);  beta = beta' + B
//   for arcs i -> j (p, q):  v = p beta(t+1, j) x(t, q);  beta'(t, i) += v / A(t);
//   gamma(t, q) += alpha'(t, i) v / A(t)        (sum_q gamma(t, q) = 1 for every t and sequence)
// Precision as Kaldi's CPU code: x, p, init, alpha, beta, A in float; the per-(state, sequence)
// sums over arcs in double, divided before being stored as float; posteriors accumulated in
// float. State sums (A, B, the total) are accumulated in double and stored as float (Kaldi uses
// BLAS float sums there, so results agree to float rounding, not bit for bit).
//
// Loop order: state, then its arcs, then the sequences innermost (contiguous, vectorised); the
// arithmetic per sequence is the same in any order, so the result does not depend on how the
// sequences are split over threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "train/chain/den_graph.h"

namespace kaldiq::train::chain {

struct DenominatorResult {
  // Sum over sequences of log p_den, combined as Kaldi does: float(sum of the per-sequence
  // log totals) + float(sum of all log A(t)).
  float log_prob = 0.0f;
  // False when Kaldi would abandon the minibatch: sum_i alpha'(0) beta'(0) or sum_q gamma(0)
  // differs from N by more than 2, or a non-finite or zero scale appeared.
  bool ok = true;
  // Kaldi's warnings (e.g. "On time 0, alpha-beta product ... != N").
  std::vector<std::string> warnings;
};

// nnet_output: F * N rows (row t * N + n) x DenGraph::NumPdfs() columns. When deriv is not null
// (same shape), adds deriv_weight * gamma to it. The sequences are processed in slices of 16,
// shared by num_threads threads; the result is identical for any num_threads.
DenominatorResult ComputeDenominator(const DenGraph& graph, float leaky_hmm_coefficient,
                                     int32_t num_sequences, const MatrixF& nnet_output,
                                     float deriv_weight, MatrixF* deriv, int num_threads = 1);

}  // namespace kaldiq::train::chain
