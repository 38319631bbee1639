#include "train/chain/den_graph.h"

#include <cmath>

#include "util/error.h"

namespace kaldiq::train::chain {

DenGraph::DenGraph(const kaldi::StdFst& fst, int32_t num_pdfs) : num_pdfs_(num_pdfs) {
  KQ_CHECK(num_pdfs > 0, kInvalidArgument) << "den.fst: invalid number of pdfs " << num_pdfs;
  num_states_ = fst.NumStates();
  KQ_CHECK(num_states_ > 0 && fst.start >= 0, kInvalidArgument)
      << "den.fst has no states or no start state";
  std::vector<bool> pdf_seen(static_cast<size_t>(num_pdfs), false);
  std::vector<int64_t> in_count(static_cast<size_t>(num_states_) + 1, 0);
  for (int32_t s = 0; s < num_states_; ++s) {
    for (const kaldi::StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      KQ_CHECK(a->ilabel >= 1 && a->ilabel <= num_pdfs, kInvalidArgument)
          << "den.fst: state " << s << " has label " << a->ilabel << ", but the model has "
          << num_pdfs << " pdfs (labels must be pdf-id + 1 in 1.." << num_pdfs
          << "; is this den.fst for another tree?)";
      pdf_seen[a->ilabel - 1] = true;
      ++in_count[a->nextstate + 1];
    }
  }
  for (bool b : pdf_seen) num_pdfs_used_ += b;
  const int64_t num_arcs = fst.NumArcs();
  transitions_.resize(static_cast<size_t>(2 * num_arcs));
  forward_.assign(static_cast<size_t>(num_states_) + 1, 0);
  backward_.assign(static_cast<size_t>(num_states_) + 1, 0);
  for (int32_t s = 0; s < num_states_; ++s) forward_[s + 1] = fst.arc_begin[s + 1];
  backward_[0] = num_arcs;
  for (int32_t s = 0; s < num_states_; ++s) backward_[s + 1] = backward_[s] + in_count[s + 1];
  std::vector<int64_t> fill(backward_.begin(), backward_.end() - 1);
  for (int32_t s = 0; s < num_states_; ++s) {
    for (const kaldi::StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      // Kaldi: exp(-arc.weight.Value()) in double, stored as float.
      const float prob = static_cast<float>(std::exp(-static_cast<double>(a->weight)));
      transitions_[a - fst.arcs.data()] = DenTransition{prob, a->ilabel - 1, a->nextstate};
      transitions_[fill[a->nextstate]++] = DenTransition{prob, a->ilabel - 1, s};
    }
  }
  // Initial probabilities (SetInitialProbs).
  std::vector<double> normalizer(static_cast<size_t>(num_states_));
  for (int32_t s = 0; s < num_states_; ++s) {
    double tot = std::exp(-static_cast<double>(fst.finals[s]));
    for (const kaldi::StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a)
      tot += std::exp(-static_cast<double>(a->weight));
    KQ_CHECK(tot > 0.0 && tot < 100.0, kInvalidArgument)
        << "den.fst: state " << s << " has total probability " << tot
        << " (final + arcs), expected a value in (0, 100)";
    normalizer[s] = 1.0 / tot;
  }
  const int kNumIters = 100;
  std::vector<double> cur(static_cast<size_t>(num_states_), 0.0), next(cur), avg(cur);
  cur[fst.start] = 1.0;
  for (int iter = 0; iter < kNumIters; ++iter) {
    for (int32_t s = 0; s < num_states_; ++s) avg[s] += (1.0 / kNumIters) * cur[s];
    for (int32_t s = 0; s < num_states_; ++s) {
      const double p = cur[s] * normalizer[s];
      for (const kaldi::StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a)
        next[a->nextstate] += p * std::exp(-static_cast<double>(a->weight));
    }
    cur.swap(next);
    std::fill(next.begin(), next.end(), 0.0);
    double sum = 0.0;
    for (double v : cur) sum += v;
    KQ_CHECK(sum > 0.0, kInvalidArgument)
        << "den.fst: no probability mass leaves the start state " << fst.start;
    const double scale = 1.0 / sum;
    for (double& v : cur) v *= scale;
  }
  initial_probs_.resize(static_cast<size_t>(num_states_));
  for (int32_t s = 0; s < num_states_; ++s) initial_probs_[s] = static_cast<float>(avg[s]);
}

}  // namespace kaldiq::train::chain
