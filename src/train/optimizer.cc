#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "nnet/orthonormal.h"
#include "util/error.h"

namespace kaldiq::train {

SgdOptimizer::SgdOptimizer(const nnet::Graph& graph, const kaldi::Nnet& nnet,
                           const SgdOptions& options)
    : options_(options), params_(nnet::TrainableParams(graph)) {
  KQ_CHECK(options.momentum >= 0.0f && options.momentum < 1.0f, kInvalidArgument)
      << "--momentum must be in [0, 1), got " << options.momentum;
  KQ_CHECK(options.max_param_change >= 0.0f, kInvalidArgument)
      << "--max-param-change must be >= 0, got " << options.max_param_change;
  std::map<int32_t, size_t> by_component;
  for (size_t i = 0; i < params_.size(); ++i) {
    const int32_t c = params_[i].component_index;
    KQ_CHECK(c >= 0 && c < static_cast<int32_t>(nnet.components.size()), kInvalidArgument)
        << "trained op '" << graph.ops[params_[i].op].name << "' has no component";
    auto it = by_component.find(c);
    if (it == by_component.end()) {
      it = by_component.emplace(c, components_.size()).first;
      Component comp;
      comp.component_index = c;
      comp.name = nnet.components[c].name;
      comp.training = nnet::TrainingOf(nnet.components[c]);
      if (!options.orthonormal_constraints) comp.training.orthonormal_constraint = 0.0f;
      components_.push_back(comp);
    }
    components_[it->second].params.push_back(i);
    delta_.emplace_back(static_cast<size_t>(nnet::ParamSize(graph, params_[i])), 0.0f);
  }
}

void SgdOptimizer::SetDelta(std::vector<std::vector<float>> delta) {
  KQ_CHECK(delta.size() == delta_.size(), kInvalidArgument)
      << "momentum state has " << delta.size() << " parameters, the model " << delta_.size();
  for (size_t i = 0; i < delta.size(); ++i)
    KQ_CHECK(delta[i].size() == delta_[i].size(), kInvalidArgument)
        << "momentum state of parameter " << i << " has " << delta[i].size()
        << " values, the model " << delta_[i].size();
  delta_ = std::move(delta);
}

UpdateStats SgdOptimizer::Step(const nnet::Gradients& grads, float lr_scale,
                               int32_t num_sequences, KaldiRand* rng, nnet::Graph* graph) {
  const float momentum = options_.momentum;
  const float l2_scale = static_cast<float>(num_sequences) * options_.l2_regularize_factor;
  // delta = momentum·delta + lr·g − 2·lr·l2·(N·factor)·θ; norms per component.
  std::vector<double> norms(components_.size(), 0.0);
  for (size_t c = 0; c < components_.size(); ++c) {
    const Component& comp = components_[c];
    const float lr = lr_scale * comp.training.learning_rate;
    const float l2 = -2.0f * lr * comp.training.l2_regularize * l2_scale;
    double sum_sq = 0.0;
    for (size_t i : comp.params) {
      float* d = delta_[i].data();
      const float* g = grads.Data(params_[i]);
      const float* theta = nnet::ParamData(*graph, params_[i]);
      for (size_t j = 0; j < delta_[i].size(); ++j) {
        float v = momentum * d[j] + lr * g[j];
        if (l2 != 0.0f) v += l2 * theta[j];
        d[j] = v;
        sum_sq += static_cast<double>(v) * v;
      }
    }
    norms[c] = std::sqrt(sum_sq);
  }
  // Kaldi's UpdateNnetWithMaxChange.
  UpdateStats stats;
  const float sigma = 1.0f - momentum;
  std::vector<float> factors(components_.size(), 1.0f);
  double total_sq = 0.0;
  for (size_t c = 0; c < components_.size(); ++c) {
    const float m = components_[c].training.max_change;
    const double n = norms[c] * std::fabs(sigma);
    if (m > 0.0f && n > m) {
      factors[c] = static_cast<float>(m / n);
      ++stats.num_limited;
    }
    total_sq += static_cast<double>(factors[c]) * factors[c] * norms[c] * norms[c];
  }
  stats.global_norm = std::fabs(sigma) * std::sqrt(total_sq);
  float scale = sigma;
  if (!std::isfinite(stats.global_norm)) {
    stats.skipped = true;
    for (std::vector<float>& d : delta_) std::fill(d.begin(), d.end(), 0.0f);
    stats.scale = 0.0f;
    return stats;
  }
  if (options_.max_param_change > 0.0f && stats.global_norm > options_.max_param_change)
    scale = static_cast<float>(scale * options_.max_param_change / stats.global_norm);
  stats.scale = scale;
  for (size_t c = 0; c < components_.size(); ++c) {
    const float f = scale * factors[c];
    for (size_t i : components_[c].params) {
      float* theta = nnet::ParamData(graph, params_[i]);
      const float* d = delta_[i].data();
      for (size_t j = 0; j < delta_[i].size(); ++j) theta[j] += f * d[j];
    }
  }
  // ConstrainOrthonormal: each constrained weight with probability 1/4.
  for (const Component& comp : components_) {
    if (comp.training.orthonormal_constraint == 0.0f) continue;
    if (rng != nullptr && rng->RandInt(0, 3) != 0) continue;
    for (size_t i : comp.params) {
      if (params_[i].slot != nnet::ParamSlot::kWeight) continue;
      nnet::ConstrainOrthonormal(comp.training.orthonormal_constraint,
                                 &graph->ops[params_[i].op].weight);
    }
  }
  for (std::vector<float>& d : delta_)
    for (float& v : d) v *= momentum;
  return stats;
}

}  // namespace kaldiq::train
