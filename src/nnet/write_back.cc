#include "nnet/write_back.h"

#include <cmath>
#include <string>

#include "util/error.h"

namespace kaldiq::nnet {

namespace {

const kaldi::Component& ComponentOf(const Op& op, const kaldi::Nnet& nnet) {
  KQ_CHECK(op.component_index >= 0 &&
               op.component_index < static_cast<int32_t>(nnet.components.size()),
           kInvalidArgument) << "op '" << op.name << "' has no component in this model";
  const kaldi::Component& c = nnet.components[op.component_index];
  KQ_CHECK(op.component == c.name + " (" + c.TypeName() + ")", kInvalidArgument)
      << "op '" << op.name << "' was lowered from '" << op.component << "', the model has '"
      << c.name << "' (" << c.TypeName() << ") at index " << op.component_index;
  return c;
}

void CopyMatrix(const Op& op, MatrixF* dst) {
  KQ_CHECK(dst->rows() == op.weight.rows() && dst->cols() == op.weight.cols(), kInvalidArgument)
      << "op '" << op.name << "': weight is " << op.weight.rows() << "x" << op.weight.cols()
      << ", the component's " << dst->rows() << "x" << dst->cols();
  *dst = op.weight;
}

void CopyBias(const Op& op, std::vector<float>* dst) {
  KQ_CHECK(dst->size() == op.bias.size(), kInvalidArgument)
      << "op '" << op.name << "': bias has " << op.bias.size() << " entries, the component's "
      << dst->size();
  *dst = op.bias;
}

}  // namespace

void WriteBackParameters(const Graph& graph, kaldi::Nnet* nnet) {
  for (const Op& op : graph.ops) {
    if (!op.trainable) continue;
    ComponentOf(op, *nnet);
    kaldi::Component& c = nnet->components[op.component_index];
    try {
      if (auto* a = c.As<kaldi::AffineComponent>()) {
        CopyMatrix(op, &a->linear_params);
        CopyBias(op, &a->bias_params);
      } else if (auto* l = c.As<kaldi::LinearComponent>()) {
        KQ_CHECK(op.bias.empty(), kInvalidArgument) << "a LinearComponent has no bias";
        CopyMatrix(op, &l->params);
      } else if (auto* t = c.As<kaldi::TdnnComponent>()) {
        CopyMatrix(op, &t->linear_params);
        CopyBias(op, &t->bias_params);
      } else {
        KQ_THROW(kInvalidArgument) << "component type has no trained parameters";
      }
    } catch (const Error& e) {
      throw e.WithContext("write-back into component '" + c.name + "' (" + c.TypeName() + ")");
    }
  }
}

Statistics StatisticsFromModel(const Graph& graph, const kaldi::Nnet& nnet) {
  Statistics s = Statistics::For(graph);
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    const Op& op = graph.ops[i];
    if (op.type != OpType::kBatchNorm) continue;
    const kaldi::BatchNormComponent* bn = ComponentOf(op, nnet).As<kaldi::BatchNormComponent>();
    KQ_CHECK(bn != nullptr, kInvalidArgument) << "op '" << op.name << "' is not a BatchNorm";
    BatchNormStats& st = s.batchnorm[i];
    KQ_CHECK(bn->stats_mean.size() == st.sum.size() && bn->stats_var.size() == st.sum.size(),
             kInvalidArgument) << "BatchNorm '" << bn->block_dim << "' statistics size";
    st.count = bn->count;
    for (size_t j = 0; j < st.sum.size(); ++j) {
      const double mean = bn->stats_mean[j], var = bn->stats_var[j];
      st.sum[j] = mean * bn->count;
      st.sumsq[j] = (var + mean * mean) * bn->count;
    }
  }
  return s;
}

void WriteBackBatchNormStats(const Statistics& stats, kaldi::Nnet* nnet, Graph* graph) {
  KQ_CHECK(stats.batchnorm.size() == graph->ops.size(), kInvalidArgument)
      << "statistics of another graph";
  for (size_t i = 0; i < graph->ops.size(); ++i) {
    Op& op = graph->ops[i];
    if (op.type != OpType::kBatchNorm) continue;
    ComponentOf(op, *nnet);
    kaldi::BatchNormComponent* bn = nnet->components[op.component_index].As<kaldi::BatchNormComponent>();
    KQ_CHECK(bn != nullptr, kInvalidArgument) << "op '" << op.name << "' is not a BatchNorm";
    const BatchNormStats& st = stats.batchnorm[i];
    const size_t n = static_cast<size_t>(bn->block_dim);
    KQ_CHECK(st.sum.size() == n && st.sumsq.size() == n, kInvalidArgument)
        << "BatchNorm '" << op.name << "': statistics of size " << st.sum.size();
    bn->count = st.count;
    bn->stats_mean.assign(n, 0.0f);
    bn->stats_var.assign(n, 0.0f);
    const float inv = st.count != 0 ? static_cast<float>(1.0 / st.count) : 1.0f;
    for (size_t j = 0; j < n; ++j) {
      float mean = static_cast<float>(st.sum[j]), var = static_cast<float>(st.sumsq[j]);
      if (st.count != 0) {
        mean *= inv;
        var *= inv;
        var = -1.0f * mean * mean + var;
      }
      bn->stats_mean[j] = mean;
      bn->stats_var[j] = var;
    }
    std::vector<float> scale, offset;
    bool valid = false;
    kaldi::BatchNormTestScaleOffset(*bn, &scale, &offset, &valid);
    BatchNormAttrs attrs = *op.Attrs<BatchNormAttrs>();
    attrs.has_stats = valid;
    op.attrs = attrs;
    op.scale.clear();
    op.offset.clear();
    if (valid) {
      for (int32_t c = 0; c < op.input_dim; ++c) {
        op.scale.push_back(scale[c % n]);
        op.offset.push_back(offset[c % n]);
      }
    }
  }
}

ComponentTraining TrainingOf(const kaldi::Component& c) {
  auto from = [](const kaldi::UpdatableCommon& u, float orthonormal) {
    ComponentTraining t;
    t.learning_rate = u.learning_rate;
    t.learning_rate_factor = u.learning_rate_factor;
    t.max_change = u.max_change;
    t.l2_regularize = u.l2_regularize;
    t.orthonormal_constraint = orthonormal;
    return t;
  };
  if (auto* a = c.As<kaldi::AffineComponent>()) return from(a->common, a->orthonormal_constraint);
  if (auto* l = c.As<kaldi::LinearComponent>()) return from(l->common, l->orthonormal_constraint);
  if (auto* t = c.As<kaldi::TdnnComponent>()) return from(t->common, t->orthonormal_constraint);
  KQ_THROW(kInvalidArgument) << "component '" << c.name << "' (" << c.TypeName()
                             << ") is not trained";
}

}  // namespace kaldiq::nnet
