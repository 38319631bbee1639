#include "nnet/params.h"

#include <algorithm>

#include "util/error.h"

namespace kaldiq::nnet {

std::vector<ParamRef> TrainableParams(const Graph& graph) {
  std::vector<ParamRef> out;
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    const Op& op = graph.ops[i];
    if (!op.trainable) continue;
    KQ_CHECK(op.type == OpType::kAffine && op.weight.size() > 0, kInternal)
        << "op '" << op.name << "' is marked trainable but has no weight";
    const int32_t index = static_cast<int32_t>(i);
    out.push_back(ParamRef{index, ParamSlot::kWeight, op.component_index});
    if (!op.bias.empty()) out.push_back(ParamRef{index, ParamSlot::kBias, op.component_index});
  }
  return out;
}

float* ParamData(Graph* graph, const ParamRef& p) {
  Op& op = graph->ops.at(p.op);
  return p.slot == ParamSlot::kWeight ? op.weight.data() : op.bias.data();
}

const float* ParamData(const Graph& graph, const ParamRef& p) {
  const Op& op = graph.ops.at(p.op);
  return p.slot == ParamSlot::kWeight ? op.weight.data() : op.bias.data();
}

int64_t ParamSize(const Graph& graph, const ParamRef& p) {
  const Op& op = graph.ops.at(p.op);
  return p.slot == ParamSlot::kWeight ? op.weight.size() : static_cast<int64_t>(op.bias.size());
}

Gradients Gradients::For(const Graph& graph) {
  Gradients g;
  g.ops.resize(graph.ops.size());
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    const Op& op = graph.ops[i];
    if (!op.trainable) continue;
    g.ops[i].weight.Resize(op.weight.rows(), op.weight.cols());
    g.ops[i].bias.assign(op.bias.size(), 0.0f);
  }
  return g;
}

void Gradients::SetZero() {
  for (OpGradients& o : ops) {
    std::fill(o.weight.data(), o.weight.data() + o.weight.size(), 0.0f);
    std::fill(o.bias.begin(), o.bias.end(), 0.0f);
  }
}

float* Gradients::Data(const ParamRef& p) {
  OpGradients& o = ops.at(p.op);
  return p.slot == ParamSlot::kWeight ? o.weight.data() : o.bias.data();
}

const float* Gradients::Data(const ParamRef& p) const {
  const OpGradients& o = ops.at(p.op);
  return p.slot == ParamSlot::kWeight ? o.weight.data() : o.bias.data();
}

Statistics Statistics::For(const Graph& graph) {
  Statistics s;
  s.batchnorm.resize(graph.ops.size());
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    const BatchNormAttrs* bn = graph.ops[i].Attrs<BatchNormAttrs>();
    if (graph.ops[i].type != OpType::kBatchNorm || !bn) continue;
    s.batchnorm[i].sum.assign(bn->block_dim, 0.0);
    s.batchnorm[i].sumsq.assign(bn->block_dim, 0.0);
  }
  return s;
}

void Statistics::Scale(double factor) {
  for (BatchNormStats& b : batchnorm) {
    b.count *= factor;
    for (double& v : b.sum) v *= factor;
    for (double& v : b.sumsq) v *= factor;
  }
}

}  // namespace kaldiq::nnet
