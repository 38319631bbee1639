// The LF-MMI denominator graph (Kaldi's chain::DenominatorGraph, chain-den-graph.cc): den.fst
// as transition lists for the forward-backward, with Kaldi's initial probabilities.
//
// Each arc s -> s' (pdf label l, weight w) becomes a transition {prob = exp(-w) as float,
// pdf = l - 1}. The forward lists (transitions leaving each state, in arc order) and backward
// lists (transitions entering each state, by source state then arc order) are kept per state.
// Final probabilities are not used by the forward-backward (every state counts as final with
// probability 1); they only normalise the initial-probability computation:
//   z(s) = 1 / (exp(-final(s)) + sum of exp(-w) over s's arcs)   (double)
//   cur = e_start, avg = 0; 100 times: avg += cur / 100; next(s') = sum cur(s) z(s) p;
//   cur = next / sum(next);   init = float(avg).
#pragma once

#include <cstdint>
#include <vector>

#include "kaldi/fst_io.h"

namespace kaldiq::train::chain {

struct DenTransition {
  float prob;        // exp(-weight)
  int32_t pdf;       // label - 1
  int32_t state;     // the other end: next state (forward list) or previous state (backward)
};

class DenGraph {
 public:
  // Throws kaldiq::Error (kInvalidArgument) naming the state when a label is not a pdf of the
  // model (outside 1..num_pdfs; e.g. a den.fst made for another tree), when the graph has no
  // start state, or when a state's probability mass is not in (0, 100) (Kaldi asserts).
  DenGraph(const kaldi::StdFst& den_fst, int32_t num_pdfs);

  int32_t NumStates() const { return num_states_; }
  int32_t NumPdfs() const { return num_pdfs_; }
  // Kaldi's initial probabilities (averaged power iterations).
  const std::vector<float>& InitialProbs() const { return initial_probs_; }
  // Transitions leaving state s: [ForwardBegin(s), ForwardEnd(s)).
  const DenTransition* ForwardBegin(int32_t s) const { return transitions_.data() + forward_[s]; }
  const DenTransition* ForwardEnd(int32_t s) const { return transitions_.data() + forward_[s + 1]; }
  // Transitions entering state s (DenTransition::state = the source).
  const DenTransition* BackwardBegin(int32_t s) const { return transitions_.data() + backward_[s]; }
  const DenTransition* BackwardEnd(int32_t s) const {
    return transitions_.data() + backward_[s + 1];
  }
  int64_t NumTransitions() const { return static_cast<int64_t>(transitions_.size()) / 2; }
  // Number of distinct pdfs that appear on some transition.
  int32_t NumPdfsUsed() const { return num_pdfs_used_; }

 private:
  int32_t num_states_ = 0, num_pdfs_ = 0, num_pdfs_used_ = 0;
  std::vector<DenTransition> transitions_;  // forward lists, then backward lists
  std::vector<int64_t> forward_, backward_;  // num_states + 1 offsets into transitions_
  std::vector<float> initial_probs_;
};

}  // namespace kaldiq::train::chain
