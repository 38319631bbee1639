#include "train/chain/chain_objective.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "train/chain/denominator.h"
#include "train/chain/numerator.h"
#include "util/error.h"

namespace kaldiq::train::chain {

ChainSupervisionRef SupervisionRefOf(const kaldi::ChainSupervision& sup) {
  KQ_CHECK(!sup.e2e(), kUnsupported) << "end-to-end (e2e) chain supervision is not supported";
  ChainSupervisionRef ref;
  ref.weight = sup.weight;
  ref.num_sequences = sup.num_sequences;
  ref.frames_per_sequence = sup.frames_per_sequence;
  ref.label_dim = sup.label_dim;
  ref.pieces.push_back({&sup.fst, 0, sup.num_sequences});
  return ref;
}

ChainSupervisionRef SupervisionRefOf(const std::vector<const kaldi::ChainSupervision*>& sups) {
  KQ_CHECK(!sups.empty(), kInvalidArgument) << "no supervision";
  ChainSupervisionRef ref;
  ref.weight = sups[0]->weight;
  ref.frames_per_sequence = sups[0]->frames_per_sequence;
  ref.label_dim = sups[0]->label_dim;
  for (const kaldi::ChainSupervision* s : sups) {
    KQ_CHECK(!s->e2e(), kUnsupported) << "end-to-end (e2e) chain supervision is not supported";
    KQ_CHECK(s->weight == ref.weight && s->frames_per_sequence == ref.frames_per_sequence &&
                 s->label_dim == ref.label_dim,
             kInvalidArgument)
        << "cannot put supervisions with different weight / frames / label-dim in one "
           "minibatch";
    ref.pieces.push_back({&s->fst, ref.num_sequences, s->num_sequences});
    ref.num_sequences += s->num_sequences;
  }
  return ref;
}

ChainObjective ComputeChainObjective(const ChainTrainingOptions& opts, const DenGraph& den_graph,
                                     const ChainSupervisionRef& sup, const MatrixF& y,
                                     MatrixF* deriv, MatrixF* xent_deriv, KaldiRand* rng,
                                     int num_threads) {
  const int64_t rows = static_cast<int64_t>(sup.num_sequences) * sup.frames_per_sequence;
  KQ_CHECK(y.rows() == rows && rows > 0, kInvalidArgument)
      << "chain objective: network output has " << y.rows() << " rows, the supervision "
      << sup.num_sequences << " x " << sup.frames_per_sequence;
  KQ_CHECK(y.cols() == sup.label_dim && y.cols() == den_graph.NumPdfs(), kInvalidArgument)
      << "chain objective: network output has " << y.cols() << " columns, the supervision "
      << "label-dim is " << sup.label_dim << " and den.fst has " << den_graph.NumPdfs()
      << " pdfs";
  ChainObjective result;
  result.weight = sup.weight * sup.num_sequences * sup.frames_per_sequence;
  if (deriv != nullptr) deriv->Resize(y.rows(), y.cols());

  using Clock = std::chrono::steady_clock;
  const Clock::time_point den_start = Clock::now();
  const DenominatorResult den =
      ComputeDenominator(den_graph, opts.leaky_hmm_coefficient, sup.num_sequences, y,
                         -sup.weight, deriv, num_threads);
  const float den_logprob = sup.weight * den.log_prob;
  result.den_seconds = std::chrono::duration<double>(Clock::now() - den_start).count();
  result.warnings = den.warnings;

  if (deriv != nullptr && (rng == nullptr || rng->RandInt(0, 1) == 0)) {
    // PenalizeOutOfRange(y, 30, 2 oor): applied on half of the minibatches, hence the 2.
    const float scale = 2.0f * opts.out_of_range_regularize;
    if (scale != 0.0f) {
      for (int64_t i = 0; i < y.size(); ++i) {
        const float v = y.data()[i];
        if (v < -30.0f) {
          deriv->data()[i] -= scale * (v + 30.0f);
        } else if (v > 30.0f) {
          deriv->data()[i] -= scale * (v - 30.0f);
        }
      }
    }
  }

  MatrixF* num_target = xent_deriv != nullptr ? xent_deriv : deriv;
  if (xent_deriv != nullptr) xent_deriv->Resize(y.rows(), y.cols());
  double num_total = 0.0;
  const Clock::time_point num_start = Clock::now();
  for (const ChainSupervisionRef::Piece& piece : sup.pieces) {
    const NumeratorResult num =
        ComputeNumerator(*piece.fst, piece.first_sequence, piece.num_sequences,
                         sup.num_sequences, y, sup.weight, num_target);
    if (num_target != nullptr &&
        !(std::fabs(num.backward_log_prob - num.log_prob) <=
          1e-4 * std::max(std::fabs(num.log_prob), std::fabs(num.backward_log_prob)))) {
      std::ostringstream w;
      w << "Disagreement in forward/backward log-probs: " << num.backward_log_prob << " vs. "
        << num.log_prob;
      result.warnings.push_back(w.str());
    }
    num_total += num.log_prob;
  }
  result.num_seconds = std::chrono::duration<double>(Clock::now() - num_start).count();
  // Kaldi returns tot_log_prob * weight as a float.
  const float num_logprob = static_cast<float>(num_total * sup.weight);
  if (xent_deriv != nullptr && deriv != nullptr) {
    for (int64_t i = 0; i < deriv->size(); ++i) deriv->data()[i] += xent_deriv->data()[i];
  }

  result.num_logprob = num_logprob;
  result.den_logprob = den_logprob;
  result.objf = num_logprob - den_logprob;
  if (!std::isfinite(result.objf) || !den.ok) {
    if (deriv != nullptr) std::fill(deriv->data(), deriv->data() + deriv->size(), 0.0f);
    if (xent_deriv != nullptr)
      std::fill(xent_deriv->data(), xent_deriv->data() + xent_deriv->size(), 0.0f);
    std::ostringstream w;
    w << "Objective function is " << result.objf
      << " and denominator computation (if done) returned " << std::boolalpha << den.ok
      << ", setting objective function to -10 per frame.";
    result.warnings.push_back(w.str());
    result.objf = -10.0f * result.weight;
    result.ok = false;
  }

  if (opts.l2_regularize != 0.0f) {
    const float scale = sup.weight * opts.l2_regularize;
    double sum_sq = 0.0;
    for (int64_t i = 0; i < y.size(); ++i)
      sum_sq += static_cast<double>(y.data()[i]) * y.data()[i];
    result.l2_term = static_cast<float>(-0.5 * scale * static_cast<float>(sum_sq));
    if (deriv != nullptr) {
      for (int64_t i = 0; i < y.size(); ++i) deriv->data()[i] += -1.0f * scale * y.data()[i];
    }
  }
  return result;
}

}  // namespace kaldiq::train::chain
