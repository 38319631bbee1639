// SGD with momentum and Kaldi's max-change, as nnet3-chain-train updates a model
// (NnetChainTrainer::TrainInternal, nnet-utils.cc ApplyL2Regularization,
// UpdateNnetWithMaxChange, ConstrainOrthonormal), without natural gradient.
//
// Per trained Kaldi component c (its ops' weights and biases together), with the component's
// stored learning rate lr_c (Kaldi stores lr · learning-rate-factor), max-change m_c, l2 l2_c
// and orthonormal constraint, and a step's learning-rate multiplier k (the trainer's decay):
//   delta_c = momentum · delta_c + k·lr_c · g_c                                 (g = ∂objf/∂θ)
//   delta_c += −2 · k·lr_c · l2_c · (N · l2_regularize_factor) · θ_c           (N = sequences)
//   n_c = ‖delta_c‖_F;  σ = 1 − momentum;  f_c = min(1, m_c / (n_c·|σ|))   (m_c = 0: f_c = 1)
//   n = |σ| · sqrt(Σ_c f_c² n_c²);  if n > max_param_change: σ ← σ · max_param_change / n
//   θ_c += σ · f_c · delta_c;  then, for components with a constraint, with probability 1/4
//   (Kaldi's RandInt(0, 3) == 0) one ConstrainOrthonormal step;  delta ← momentum · delta.
// A non-finite n skips the update and zeroes delta (Kaldi's behaviour); the trainer treats it
// as an error before it gets here. Everything is sums in double over float values, in a fixed
// order, so a step is a deterministic function of (θ, delta, g, k, N, rng).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kaldi/nnet3/nnet.h"
#include "nnet/graph.h"
#include "nnet/params.h"
#include "nnet/write_back.h"
#include "util/kaldi_rand.h"

namespace kaldiq::train {

struct SgdOptions {
  float momentum = 0.0f;              // --momentum, in [0, 1)
  float max_param_change = 2.0f;      // --max-param-change (0 = no global limit)
  float l2_regularize_factor = 1.0f;  // --l2-regularize-factor (train.py: 1 / num_jobs)
  // Apply the components' orthonormal constraints. QAT turns them off: it trains the folded,
  // equalised weights, which are the constrained matrix times per-channel scales.
  bool orthonormal_constraints = true;
};

struct UpdateStats {
  double global_norm = 0.0;  // n before the global limit (|σ| · sqrt(Σ f_c² n_c²))
  float scale = 1.0f;        // σ as applied
  int32_t num_limited = 0;   // components whose max-change applied (f_c < 1)
  bool skipped = false;      // n was not finite
};

class SgdOptimizer {
 public:
  // The components of graph's trainable ops and their training settings, read from `nnet`
  // (the model the graph was lowered from). Throws kInvalidArgument for a bad momentum.
  SgdOptimizer(const nnet::Graph& graph, const kaldi::Nnet& nnet, const SgdOptions& options);

  // One update of *graph's trainable parameters from grads (Gradients::For(*graph) layout).
  UpdateStats Step(const nnet::Gradients& grads, float lr_scale, int32_t num_sequences,
                   KaldiRand* rng, nnet::Graph* graph);

  struct Component {
    int32_t component_index = -1;
    std::string name;
    nnet::ComponentTraining training;
    std::vector<size_t> params;  // indexes into params()
  };
  const std::vector<Component>& components() const { return components_; }
  const std::vector<nnet::ParamRef>& params() const { return params_; }

  // The momentum buffer, one vector per params() entry (what a checkpoint saves).
  const std::vector<std::vector<float>>& delta() const { return delta_; }
  // Throws kInvalidArgument when the sizes differ from the graph's parameters.
  void SetDelta(std::vector<std::vector<float>> delta);

 private:
  SgdOptions options_;
  std::vector<nnet::ParamRef> params_;
  std::vector<Component> components_;
  std::vector<std::vector<float>> delta_;
};

}  // namespace kaldiq::train
