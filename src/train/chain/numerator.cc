#include "train/chain/numerator.h"

#include <cmath>
#include <limits>
#include <unordered_map>
#include <vector>

#include "kaldi/chain_example.h"
#include "util/error.h"

namespace kaldiq::train::chain {

namespace {

// Kaldi's LogAdd(double, double).
inline double LogAdd(double x, double y) {
  if (x < y) std::swap(x, y);
  // x >= y (or NaN)
  const double diff = y - x;
  if (diff >= -36.04365338911715) {  // Kaldi's kMinLogDiffDouble = log(DBL_EPSILON)
    return x + std::log1p(std::exp(diff));
  }
  return x;
}

}  // namespace

NumeratorResult ComputeNumerator(const kaldi::StdFst& fst, int32_t first_sequence,
                                 int32_t num_fst_sequences, int32_t num_sequences,
                                 const MatrixF& y, float deriv_weight, MatrixF* deriv) {
  const double kNegInf = -std::numeric_limits<double>::infinity();
  KQ_CHECK(num_sequences > 0 && y.rows() % num_sequences == 0 && first_sequence >= 0 &&
               num_fst_sequences > 0 && first_sequence + num_fst_sequences <= num_sequences,
           kInvalidArgument)
      << "numerator: sequences " << first_sequence << "+" << num_fst_sequences << " of "
      << num_sequences << " with " << y.rows() << " output rows";
  const int32_t F = static_cast<int32_t>(y.rows() / num_sequences);
  std::vector<int32_t> times;
  const int32_t length = kaldi::ComputeFstStateTimes(fst, &times);
  KQ_CHECK(length == num_fst_sequences * F, kInvalidArgument)
      << "numerator: supervision FST has " << length << " frames, expected "
      << num_fst_sequences << " x " << F;
  const int32_t num_states = fst.NumStates();
  // Kaldi's ComputeLookupIndexes: one (row, pdf) cell per distinct pdf on each frame; the
  // loglikes are gathered as floats.
  std::vector<int32_t> arc_cell(static_cast<size_t>(fst.NumArcs()));
  std::vector<std::pair<int64_t, int32_t>> cells;  // (row, pdf)
  std::unordered_map<int32_t, int32_t> this_frame;
  int32_t cur_time = 0;
  for (int32_t s = 0; s < num_states; ++s) {
    if (times[s] != cur_time) {
      this_frame.clear();
      cur_time = times[s];
    }
    const int32_t seq = first_sequence + times[s] / F, frame = times[s] % F;
    const int64_t row = static_cast<int64_t>(frame) * num_sequences + seq;
    for (const kaldi::StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      const int32_t pdf = a->ilabel - 1;
      KQ_CHECK(pdf >= 0 && pdf < y.cols(), kInvalidArgument)
          << "numerator: label " << a->ilabel << " outside the network's " << y.cols()
          << " outputs";
      auto [it, inserted] = this_frame.emplace(pdf, static_cast<int32_t>(cells.size()));
      if (inserted) cells.emplace_back(row, pdf);
      arc_cell[a - fst.arcs.data()] = it->second;
    }
  }
  std::vector<float> loglike(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) loglike[i] = y(cells[i].first, cells[i].second);

  std::vector<double> alpha(static_cast<size_t>(num_states), kNegInf);
  alpha[0] = 0.0;
  double tot = kNegInf;
  for (int32_t s = 0; s < num_states; ++s) {
    const double this_alpha = alpha[s];
    for (const kaldi::StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      // Kaldi: float pseudo_loglike + float transition_logprob, then + double alpha.
      const float arc_score = loglike[arc_cell[a - fst.arcs.data()]] + -a->weight;
      alpha[a->nextstate] = LogAdd(alpha[a->nextstate], arc_score + this_alpha);
    }
    if (fst.IsFinal(s)) tot = LogAdd(tot, this_alpha + -fst.finals[s]);
  }
  NumeratorResult result;
  result.log_prob = tot;
  if (deriv == nullptr) return result;

  std::vector<double> beta(static_cast<size_t>(num_states));
  std::vector<float> occupation(cells.size(), 0.0f);
  for (int32_t s = num_states - 1; s >= 0; --s) {
    double this_beta = -static_cast<double>(fst.finals[s]);
    const double this_alpha = alpha[s];
    for (const kaldi::StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      const int32_t cell = arc_cell[a - fst.arcs.data()];
      const float arc_score = loglike[cell] + -a->weight;
      const double next_beta = beta[a->nextstate];
      this_beta = LogAdd(this_beta, arc_score + next_beta);
      const float occupation_logprob =
          static_cast<float>(this_alpha + arc_score + next_beta - tot);
      occupation[cell] += std::exp(occupation_logprob);
    }
    beta[s] = this_beta;
  }
  result.backward_log_prob = beta[0];
  for (size_t i = 0; i < cells.size(); ++i)
    (*deriv)(cells[i].first, cells[i].second) += deriv_weight * occupation[i];
  return result;
}

}  // namespace kaldiq::train::chain
