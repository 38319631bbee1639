// Kaldi's nnet3-chain-compute-prob (NnetChainComputeProb, nnet-chain-diagnostics.cc): the
// LF-MMI objective, its output-L2 term and the cross-entropy objective of 'output-xent' summed
// over minibatches, printed as Kaldi's LOG lines. The network is behind ChainNetwork, so the same
// accumulation serves any forward (test-mode inference, a training-mode lowering, fake-quant).
//
// Per minibatch: y = output at the output indexes (t-major rows f * N + n), objective with no
// derivative (so no out-of-range coin, deterministic), xent = sum(log-softmax(output-xent) .*
// w gamma_num) when --xent-regularize != 0. Deriv weights are ignored, as in Kaldi. The printed
// per-frame values divide by the total supervision weight sum w N F.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "kaldi/chain_example.h"
#include "train/chain/chain_objective.h"
#include "train/chain/den_graph.h"

namespace kaldiq::train::chain {

// A network forward for chain minibatches.
class ChainNetwork {
 public:
  virtual ~ChainNetwork() = default;
  // Dim of input node `name` (-1: no such input), and of output node "output" / "output-xent"
  // (-1: absent).
  virtual int32_t InputDim(const std::string& name) const = 0;
  virtual int32_t OutputDim(const std::string& name) const = 0;
  // Computes "output" (and "output-xent" when xent != null) at `output_indexes` from the
  // minibatch's inputs (Kaldi's NnetIo: rows with (n, t, x) indexes); row r of the results is
  // output_indexes[r]. Throws kaldiq::Error for inputs the network cannot use (too little
  // context, missing i-vector, ...).
  virtual void Forward(const std::vector<kaldi::NnetIo>& inputs,
                       const std::vector<kaldi::Index>& output_indexes, MatrixF* output,
                       MatrixF* xent) = 0;
};

// Kaldi's ChainObjectiveInfo.
struct ChainObjectiveTotals {
  double tot_weight = 0.0;
  double tot_like = 0.0;
  double tot_l2_term = 0.0;
};

class ChainComputeProb {
 public:
  // Throws kInvalidArgument when the model has no "output", its dim differs from the den
  // graph's pdfs, or xent is requested and there is no "output-xent" of the same dim.
  ChainComputeProb(const ChainTrainingOptions& opts, const DenGraph& den_graph,
                   ChainNetwork* network, int num_threads = 1);

  // One minibatch: a single eg (possibly merged by Kaldi) or several unmerged egs with the
  // same structure (merged here; their FSTs stay apart). keys[i] names egs[i] in errors and
  // warnings, `what` the minibatch ("minibatch 3"). Throws kaldiq::Error naming the eg for egs
  // that do not fit the model (feature dim, pdf count, unknown input or output names) and for
  // non-finite network outputs; a failed objective (Kaldi's -10 per frame) is a warning.
  void Compute(const std::vector<const kaldi::NnetChainExample*>& egs,
               const std::vector<std::string>& keys, const std::string& what);

  // Kaldi's PrintTotalStats lines, without the "LOG (...)" prefix: for 'output-xent' (when
  // computed) "Overall log-probability for 'output-xent' is X per frame, over W frames." and
  // for 'output' "... is A + B = C per frame, over W frames." (A alone when the l2 sum is 0).
  std::vector<std::string> TotalStatsLines() const;
  const ChainObjectiveTotals& output_totals() const { return output_; }
  const ChainObjectiveTotals& xent_totals() const { return xent_; }
  int64_t NumMinibatches() const { return num_minibatches_; }
  // Warnings since the last call (Kaldi's KALDI_WARN lines), e.g. the -10 rule.
  std::vector<std::string> TakeWarnings();

 private:
  ChainTrainingOptions opts_;
  const DenGraph& den_graph_;
  ChainNetwork* network_;
  int num_threads_;
  bool use_xent_;
  ChainObjectiveTotals output_, xent_;
  int64_t num_minibatches_ = 0;
  std::vector<std::string> warnings_;
};

}  // namespace kaldiq::train::chain
