#include "train/average.h"

#include <cmath>
#include <sstream>
#include <string>

#include "util/error.h"

namespace kaldiq::train {

namespace {

// dst = w·dst (first model) or dst += w·src, in float, checking sizes.
void Axpy(const std::vector<float>& src, float w, bool first, std::vector<float>* dst) {
  KQ_CHECK(src.size() == dst->size(), kInvalidArgument)
      << "parameter sizes differ (" << src.size() << " vs " << dst->size() << ")";
  for (size_t i = 0; i < src.size(); ++i) (*dst)[i] = first ? w * src[i] : (*dst)[i] + w * src[i];
}

void Axpy(const MatrixF& src, float w, bool first, MatrixF* dst) {
  KQ_CHECK(src.rows() == dst->rows() && src.cols() == dst->cols(), kInvalidArgument)
      << "matrix sizes differ (" << src.rows() << "x" << src.cols() << " vs " << dst->rows()
      << "x" << dst->cols() << ")";
  for (int64_t i = 0; i < src.size(); ++i)
    dst->data()[i] = first ? w * src.data()[i] : dst->data()[i] + w * src.data()[i];
}

// Weighted statistics: count, and per entry count·value (and count·(var + mean²) for BN).
struct StatSums {
  double count = 0;
  std::vector<double> sum, sumsq;
};

void AddNonlinear(const kaldi::NonlinearComponent& c, double w, StatSums* v, StatSums* o,
                  std::vector<double>* deriv) {
  v->count += w * c.count;
  if (v->sum.empty()) v->sum.assign(c.value_avg.size(), 0.0);
  if (deriv->empty()) deriv->assign(c.deriv_avg.size(), 0.0);
  KQ_CHECK(v->sum.size() == c.value_avg.size() && deriv->size() == c.deriv_avg.size(),
           kInvalidArgument) << "statistics sizes differ";
  for (size_t i = 0; i < c.value_avg.size(); ++i) v->sum[i] += w * c.count * c.value_avg[i];
  for (size_t i = 0; i < c.deriv_avg.size(); ++i) (*deriv)[i] += w * c.count * c.deriv_avg[i];
  o->count += w * c.oderiv_count;
  if (o->sum.empty()) o->sum.assign(c.oderiv_rms.size(), 0.0);
  KQ_CHECK(o->sum.size() == c.oderiv_rms.size(), kInvalidArgument) << "statistics sizes differ";
  for (size_t i = 0; i < c.oderiv_rms.size(); ++i)
    o->sum[i] += w * c.oderiv_count * c.oderiv_rms[i] * c.oderiv_rms[i];
}

}  // namespace

kaldi::Nnet AverageNnets(const std::vector<const kaldi::Nnet*>& nnets, std::vector<float> weights,
                         std::string* warning) {
  KQ_CHECK(!nnets.empty(), kInvalidArgument) << "no models to average";
  const size_t n = nnets.size();
  if (weights.empty()) weights.assign(n, 1.0f / static_cast<float>(n));
  KQ_CHECK(weights.size() == n, kInvalidArgument)
      << "--weights must be a colon-separated list with " << n << " elements, got "
      << weights.size();
  float sum = 0.0f;
  for (float w : weights) {
    KQ_CHECK(w >= 0.0f && std::isfinite(w), kInvalidArgument) << "bad weight " << w;
    sum += w;
  }
  KQ_CHECK(sum > 0.0f, kInvalidArgument) << "the weights sum to 0";
  for (float& w : weights) w /= sum;
  if (std::fabs(sum - 1.0f) > 0.01f && warning != nullptr) {
    std::ostringstream os;
    os << "Normalizing weights to sum to one, sum was " << sum;
    *warning = os.str();
  }
  kaldi::Nnet out = *nnets[0];
  for (size_t c = 0; c < out.components.size(); ++c) {
    kaldi::Component& dst = out.components[c];
    try {
      StatSums v, o, bn;
      std::vector<double> deriv;
      for (size_t m = 0; m < n; ++m) {
        const kaldi::Nnet& nnet = *nnets[m];
        KQ_CHECK(nnet.components.size() == out.components.size(), kInvalidArgument)
            << "model " << m + 1 << " has " << nnet.components.size() << " components, model 1 "
            << out.components.size();
        const kaldi::Component& src = nnet.components[c];
        KQ_CHECK(src.name == dst.name && src.TypeName() == dst.TypeName(), kInvalidArgument)
            << "model " << m + 1 << " has component '" << src.name << "' (" << src.TypeName()
            << ") where model 1 has '" << dst.name << "' (" << dst.TypeName() << ")";
        const float w = weights[m];
        const bool first = m == 0;
        if (auto* a = dst.As<kaldi::AffineComponent>()) {
          const auto* s = src.As<kaldi::AffineComponent>();
          Axpy(s->linear_params, w, first, &a->linear_params);
          Axpy(s->bias_params, w, first, &a->bias_params);
        } else if (auto* l = dst.As<kaldi::LinearComponent>()) {
          Axpy(src.As<kaldi::LinearComponent>()->params, w, first, &l->params);
        } else if (auto* t = dst.As<kaldi::TdnnComponent>()) {
          const auto* s = src.As<kaldi::TdnnComponent>();
          Axpy(s->linear_params, w, first, &t->linear_params);
          Axpy(s->bias_params, w, first, &t->bias_params);
        } else if (auto* so = dst.As<kaldi::ScaleAndOffsetComponent>()) {
          const auto* s = src.As<kaldi::ScaleAndOffsetComponent>();
          Axpy(s->scales, w, first, &so->scales);
          Axpy(s->offsets, w, first, &so->offsets);
        } else if (auto* ps = dst.As<kaldi::PerElementScaleComponent>()) {
          Axpy(src.As<kaldi::PerElementScaleComponent>()->params, w, first, &ps->params);
        } else if (auto* po = dst.As<kaldi::PerElementOffsetComponent>()) {
          Axpy(src.As<kaldi::PerElementOffsetComponent>()->offsets, w, first, &po->offsets);
        } else if (dst.As<kaldi::NonlinearComponent>() != nullptr) {
          AddNonlinear(*src.As<kaldi::NonlinearComponent>(), w, &v, &o, &deriv);
        } else if (dst.As<kaldi::BatchNormComponent>() != nullptr) {
          const auto* s = src.As<kaldi::BatchNormComponent>();
          KQ_CHECK(s->stats_mean.size() == s->stats_var.size(), kInvalidArgument)
              << "statistics sizes differ";
          bn.count += w * s->count;
          if (bn.sum.empty()) {
            bn.sum.assign(s->stats_mean.size(), 0.0);
            bn.sumsq.assign(s->stats_mean.size(), 0.0);
          }
          KQ_CHECK(bn.sum.size() == s->stats_mean.size(), kInvalidArgument)
              << "statistics sizes differ";
          for (size_t i = 0; i < bn.sum.size(); ++i) {
            const double mean = s->stats_mean[i], var = s->stats_var[i];
            bn.sum[i] += w * s->count * mean;
            bn.sumsq[i] += w * s->count * (var + mean * mean);
          }
        } else if (dst.As<kaldi::TimeHeightConvolutionComponent>() != nullptr) {
          KQ_THROW(kUnsupported) << "averaging TimeHeightConvolutionComponent is not supported";
        }
        // Other components: Kaldi's Scale/Add do nothing; model 1's values stay.
      }
      if (auto* nl = dst.As<kaldi::NonlinearComponent>()) {
        // NonlinearComponent::Write: value_avg = value_sum / count, oderiv_rms =
        // sqrt(oderiv_sumsq / oderiv_count); num_dims_* are scaled and added like the sums.
        double self_repaired = 0, processed = 0;
        for (size_t m = 0; m < n; ++m) {
          const auto* s = nnets[m]->components[c].As<kaldi::NonlinearComponent>();
          self_repaired += weights[m] * s->num_dims_self_repaired;
          processed += weights[m] * s->num_dims_processed;
        }
        nl->count = v.count;
        nl->oderiv_count = o.count;
        nl->num_dims_self_repaired = self_repaired;
        nl->num_dims_processed = processed;
        for (size_t i = 0; i < v.sum.size(); ++i)
          nl->value_avg[i] = v.count > 0 ? static_cast<float>(v.sum[i] / v.count) : 0.0f;
        for (size_t i = 0; i < deriv.size(); ++i)
          nl->deriv_avg[i] = v.count > 0 ? static_cast<float>(deriv[i] / v.count) : 0.0f;
        for (size_t i = 0; i < o.sum.size(); ++i)
          nl->oderiv_rms[i] = o.count > 0 ? static_cast<float>(std::sqrt(o.sum[i] / o.count)) : 0.0f;
      } else if (auto* b = dst.As<kaldi::BatchNormComponent>()) {
        // BatchNormComponent::Write: mean = sum / count, var = sumsq / count − mean².
        b->count = bn.count;
        for (size_t i = 0; i < bn.sum.size(); ++i) {
          if (bn.count > 0) {
            const double mean = bn.sum[i] / bn.count;
            b->stats_mean[i] = static_cast<float>(mean);
            b->stats_var[i] = static_cast<float>(bn.sumsq[i] / bn.count - mean * mean);
          }
        }
      }
    } catch (const Error& e) {
      throw e.WithContext("component '" + dst.name + "' (" + dst.TypeName() + ")");
    }
  }
  return out;
}

}  // namespace kaldiq::train
