#include "train/qat.h"

#include <algorithm>
#include <cmath>

#include "kernels/blas.h"
#include "kernels/qgrid.h"
#include "quant/calibrate.h"
#include "quant/export.h"
#include "quant/int8_linear.h"
#include "util/error.h"

namespace kaldiq::train {

namespace {

// 1 where the unclamped code round_half_even(v · inv_scale) + z lies in [qmin, qmax], else 0:
// clamping to one step beyond the grid keeps the rounding of kernels::RoundClamp (the one
// quantize function) and tells the clipped values apart.
inline float InRange(float v, const kernels::QGrid& g) {
  const float lo = static_cast<float>(g.qmin - g.zero_point);
  const float hi = static_cast<float>(g.qmax - g.zero_point);
  const float r = kernels::RoundClamp(v * g.inv_scale, lo - 1.0f, hi + 1.0f);
  return r >= lo && r <= hi ? 1.0f : 0.0f;
}

bool IsTrainedComponent(const kaldi::Component& c) {
  return c.As<kaldi::AffineComponent>() || c.As<kaldi::LinearComponent>() ||
         c.As<kaldi::TdnnComponent>();
}

}  // namespace

// One int8 layer under training: `op` holds the fp32 master weights (in the graph being
// trained); Refresh() makes the QuantizedAffine of the current weights, its int8 kernel, the
// dequantized weights Ŵ and their mask m_w. Forward and AddDerivatives only read that state.
class Qat::Kernel : public nnet::LinearKernel {
 public:
  Kernel(const nnet::Op& op, const quant::LayerPlan& layer, const quant::Scheme& scheme,
         std::string backend)
      : op_(op),
        layer_(layer),
        scheme_(scheme),
        weight_grids_(quant::WeightQParams(layer, scheme.weight)),
        backend_(std::move(backend)) {
    Refresh();
  }

  void Refresh() {
    KQ_CHECK(op_.weight.rows() == op_.output_dim && op_.weight.cols() == op_.input_dim, kInternal)
        << "QAT layer '" << op_.name << "' has no fp32 weights";
    const quant::QuantizedAffine q =
        quant::QuantizeAffine(op_, weight_grids_, scheme_.weight, scheme_.act,
                              quant::RangeMode::kStatic, layer_.act, /*bias_delta=*/{});
    kernel_ = quant::MakeInt8LinearKernel(q, backend_);
    w_hat_ = quant::DequantizedWeights(q);
    w_mask_.Resize(op_.output_dim, op_.input_dim);
    for (int32_t o = 0; o < op_.output_dim; ++o)
      for (int32_t i = 0; i < op_.input_dim; ++i)
        w_mask_(o, i) = InRange(op_.weight(o, i), weight_grids_[o]);
  }

  void Forward(const float* x, int64_t rows, int64_t ldx, float* y, int64_t ldy) const override {
    kernel_->Forward(x, rows, ldx, y, ldy);
  }
  int64_t InputDim() const override { return op_.input_dim; }
  int64_t OutputDim() const override { return op_.output_dim; }
  std::string Describe() const override { return "qat " + kernel_->Describe(); }

  bool AddDerivatives(const nnet::ConstRows& x, const nnet::ConstRows& dy, const nnet::Rows* dx,
                      nnet::OpGradients* grads) const override {
    using kernels::Trans;
    const int64_t rows = dy.rows, in = op_.input_dim, out = op_.output_dim;
    const kernels::QGrid& act = layer_.act;
    if (dx) {
      // dx += (dy · Ŵ) ⊙ m_x
      std::vector<float> g(static_cast<size_t>(rows * in), 0.0f);
      kernels::Sgemm(Trans::kNo, Trans::kNo, rows, in, out, 1.0f, dy.data, dy.stride,
                     w_hat_.data(), in, 0.0f, g.data(), in);
      for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x.Row(r);
        const float* gr = g.data() + r * in;
        float* d = dx->Row(r);
        for (int64_t k = 0; k < in; ++k) d[k] += gr[k] * InRange(xr[k], act);
      }
    }
    if (grads) {
      // dW += (dyᵀ · x̂) ⊙ m_w, with x̂ the fake-quantized input the int8 GEMM saw.
      std::vector<float> x_hat(static_cast<size_t>(rows * in));
      for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x.Row(r);
        float* h = x_hat.data() + r * in;
        for (int64_t k = 0; k < in; ++k) h[k] = kernels::FakeQuantizeOne(xr[k], act);
      }
      std::vector<float> gw(static_cast<size_t>(out * in), 0.0f);
      kernels::Sgemm(Trans::kYes, Trans::kNo, out, in, rows, 1.0f, dy.data, dy.stride,
                     x_hat.data(), in, 0.0f, gw.data(), in);
      float* w = grads->weight.data();
      const float* m = w_mask_.data();
      for (int64_t i = 0; i < out * in; ++i) w[i] += gw[i] * m[i];
      if (!grads->bias.empty()) {
        std::vector<double> sum(static_cast<size_t>(out), 0.0);
        for (int64_t r = 0; r < rows; ++r) {
          const float* g = dy.Row(r);
          for (int64_t j = 0; j < out; ++j) sum[j] += g[j];
        }
        for (int64_t j = 0; j < out; ++j) grads->bias[j] += static_cast<float>(sum[j]);
      }
    }
    return true;
  }

 private:
  const nnet::Op& op_;
  quant::LayerPlan layer_;
  quant::Scheme scheme_;
  std::vector<quant::QParams> weight_grids_;
  std::string backend_;
  std::shared_ptr<const nnet::LinearKernel> kernel_;
  MatrixF w_hat_, w_mask_;
};

Qat::Qat(quant::Plan plan, const std::string& plan_path, const std::string& int8_backend)
    : plan_(std::move(plan)), plan_path_(plan_path), backend_(int8_backend) {
  KQ_CHECK(plan_.scheme.quantize_activations && plan_.scheme.act_range == quant::RangeMode::kStatic,
           kInvalidArgument)
      << "--qat: plan '" << plan_path << "' does not quantize activations with static ranges "
      << "(act-range " << quant::ToString(plan_.scheme.act_range)
      << "); QAT trains against one fixed grid per layer";
  KQ_CHECK(plan_.scheme.act.rule != quant::ZeroPointRule::kRecipe &&
               plan_.scheme.weight.rule != quant::ZeroPointRule::kRecipe,
           kInvalidArgument)
      << "--qat: plan '" << plan_path << "' uses the recipe's wrap-around grids";
}

Qat::~Qat() = default;

nnet::Graph Qat::MakeGraph(const kaldi::Nnet& nnet, const std::string& model_name) const {
  nnet::Graph g = quant::EqualizedGraph(
      quant::LowerForInt8(nnet, model_name, quant::Int8Lowering::For(plan_.scheme), nullptr),
      plan_, plan_path_);
  quant::CheckPlanMatchesGraph(plan_, g, plan_path_);
  for (nnet::Op& op : g.ops) {
    if (op.type != nnet::OpType::kAffine || op.component_index < 0) continue;
    const kaldi::Component& c = nnet.components.at(static_cast<size_t>(op.component_index));
    const quant::LayerPlan* l = plan_.Find(op.name);
    if (!l->keep_float) {
      KQ_CHECK(IsTrainedComponent(c), kInvalidArgument)
          << "--qat: int8 layer '" << op.name << "' comes from component '" << c.name << "' ("
          << c.TypeName() << "), which kaldiq does not train";
      if (!l->bias_delta.empty()) {
        if (op.bias.empty()) op.bias.assign(static_cast<size_t>(op.output_dim), 0.0f);
        for (int32_t o = 0; o < op.output_dim; ++o) op.bias[o] += l->bias_delta[o];
      }
    }
    op.trainable = IsTrainedComponent(c);
  }
  return g;
}

nnet::KernelFactory Qat::Kernels() {
  return [this](int32_t index, const nnet::Op& op) -> std::shared_ptr<const nnet::LinearKernel> {
    const quant::LayerPlan* l = plan_.Find(op.name);
    if (op.type != nnet::OpType::kAffine || l == nullptr || l->keep_float) return nullptr;
    if (kernels_.size() <= static_cast<size_t>(index)) kernels_.resize(index + 1);
    std::shared_ptr<Kernel>& k = kernels_[index];
    if (!k) {
      try {
        k = std::make_shared<Kernel>(op, *l, plan_.scheme, backend_);
      } catch (const Error& e) {
        throw e.WithContext("QAT layer '" + op.name + "'");
      }
    }
    return k;
  };
}

void Qat::Refresh() {
  for (const std::shared_ptr<Kernel>& k : kernels_)
    if (k) k->Refresh();
}

quant::Plan Qat::UpdatedPlan() const {
  quant::Plan p = plan_;
  p.folds.clear();
  p.equalize.clear();
  for (quant::LayerPlan& l : p.layers) l.bias_delta.clear();
  return p;
}

quant::Int8Model Qat::ToInt8Model(const nnet::Graph& trained,
                                  const kaldi::KaldiModel& source) const {
  nnet::Graph g = trained;
  for (nnet::Op& op : g.ops) op.trainable = false;
  quant::Int8Model m = quant::BuildInt8Model(std::move(g), UpdatedPlan(), plan_path_);
  m.has_transition_model = source.has_transition_model;
  m.trans_model = source.trans_model;
  m.priors = source.priors;
  return m;
}

kaldi::KaldiModel Qat::ToKaldiModel(const nnet::Graph& trained,
                                    const kaldi::KaldiModel& source) const {
  return quant::ExportGraph(trained, source.has_transition_model, source.trans_model,
                            source.priors);
}

}  // namespace kaldiq::train
