// One LF-MMI training step on a minibatch of chain egs, as nnet3-chain-train's
// NnetChainTrainer::Train does it (without natural gradient and backstitch):
//   forward "output" and "output-xent" at the egs' output times; ComputeChainObjective
//   (objective, l2 term, ∂/∂output, the xent posteriors); chain and xent derivative rows times
//   the deriv weights (--apply-deriv-weights); xent derivative × xent_regularize; backward;
//   SgdOptimizer::Step (l2, max-change, momentum, orthonormal constraint).
//
// Fine-tuning choices (docs/training.md): BatchNorm runs in test mode from the model's stored
// statistics (a frozen per-channel affine, never updated) -- what the design note recommends
// for fine-tuning at small learning rates and for QAT, and what compute-prob and the decoder
// see, so the objective trained is the one reported; dropout is off (test mode); the LDA
// (FixedAffineComponent) is frozen, as in Kaldi.
//
// Determinism: a minibatch is cut into fixed work units of `unit_sequences` sequences (with test-
// mode BatchNorm the sequences are independent); each unit's forward, objective and backward
// run on one thread into the unit's own gradient, and units are summed in unit order. So the
// result depends on the unit size, never on --num-threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kaldi/chain_example.h"
#include "kaldi/nnet3/nnet.h"
#include "nnet/executor.h"
#include "nnet/graph.h"
#include "train/chain/chain_objective.h"
#include "train/chain/den_graph.h"
#include "train/optimizer.h"
#include "util/kaldi_rand.h"

namespace kaldiq::train {

struct TrainerOptions {
  chain::ChainTrainingOptions chain;
  SgdOptions sgd;
  bool apply_deriv_weights = true;  // --apply-deriv-weights
  int num_threads = 1;              // --num-threads
  int32_t unit_sequences = 16;      // sequences per work unit (see the header comment)
};

struct MinibatchResult {
  int32_t num_sequences = 0;
  double objf = 0.0, l2_term = 0.0, weight = 0.0;  // sums, as ChainObjective
  double xent = 0.0;                               // Σ log-softmax ⊙ w γ_num (0 without xent)
  int64_t output_frames = 0;                        // N · F
  UpdateStats update;
  // CPU seconds summed over the work units (thread-time, so shares add up to 1 with `update`).
  double seconds_network = 0.0, seconds_numerator = 0.0, seconds_denominator = 0.0;
  double seconds_update = 0.0;
};

// What a ChainTrainer trains when it is not the model's own training lowering (QAT: the int8
// lowering with fake-quantizing kernels, train/qat.h).
struct TrainingNetwork {
  // Ops with Op::trainable are trained; Op::component_index names the Kaldi component whose
  // settings (learning rate, max-change, l2) apply.
  nnet::Graph graph;
  nnet::KernelFactory kernels;  // affine kernels for ops of the trainer's copy; null = weight views
  std::function<void()> before_forward;  // called before each step's forward (may be null)
};

class ChainTrainer {
 public:
  // Lowers `nnet` for training (nothing folded). Throws kInvalidArgument when the model has no
  // "output" of den_graph.NumPdfs() columns, or xent is asked for without a matching
  // "output-xent".
  ChainTrainer(const kaldi::Nnet& nnet, const chain::DenGraph& den_graph,
               const TrainerOptions& options, const std::string& model_name);
  // Trains `network` instead (same checks); `nnet` supplies the components' settings.
  ChainTrainer(const kaldi::Nnet& nnet, TrainingNetwork network,
               const chain::DenGraph& den_graph, const TrainerOptions& options,
               const std::string& model_name);
  ~ChainTrainer();
  ChainTrainer(const ChainTrainer&) = delete;
  ChainTrainer& operator=(const ChainTrainer&) = delete;

  // One training step on unmerged egs of one structure (what ChainExampleMerger emits).
  // lr_scale multiplies every component's stored learning rate; `rng` draws Kaldi's random
  // choices (the out-of-range coin, the orthonormal-constraint coins). Throws kaldiq::Error
  // naming `what` and the eg for egs that do not fit the model (feature dim, label-dim, input
  // names, merged egs), and for a non-finite network output, objective or update -- before
  // anything is changed, so the parameters stay those of the previous step.
  MinibatchResult Train(const std::vector<const kaldi::NnetChainExample*>& egs,
                        const std::vector<std::string>& keys, const std::string& what,
                        float lr_scale, KaldiRand* rng);

  // Copies the trained parameters into *nnet (nnet::WriteBackParameters; the model's own
  // training lowering only).
  void WriteBack(kaldi::Nnet* nnet) const;

  const nnet::Graph& graph() const { return graph_; }
  nnet::Graph* mutable_graph() { return &graph_; }
  SgdOptimizer& optimizer() { return optimizer_; }

 private:
  struct Unit;
  void Validate(const std::vector<const kaldi::NnetChainExample*>& egs,
                const std::vector<std::string>& keys, const std::string& what) const;
  void RunUnit(const std::vector<const kaldi::NnetChainExample*>& egs, int32_t begin,
               int32_t end, bool out_of_range, Unit* unit, int worker);

  TrainerOptions options_;
  const chain::DenGraph& den_graph_;
  nnet::Graph graph_;
  SgdOptimizer optimizer_;
  bool use_xent_ = false;
  std::function<void()> before_forward_;
  struct Worker;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Unit>> units_;  // reused across steps (gradient buffers)
};

}  // namespace kaldiq::train
