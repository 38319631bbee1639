#include "quant/calibrate.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <sstream>

#include "nnet/lower.h"
#include "quant/fold.h"
#include "util/error.h"

namespace kaldiq::quant {

std::vector<std::string> SplitCommaList(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  std::string item;
  while (std::getline(is, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::string> InputLayers(const nnet::Graph& graph) {
  std::vector<std::string> out;
  const int32_t input = graph.Find("input");
  for (const nnet::Op& op : graph.ops) {
    if (op.type != nnet::OpType::kAffine) continue;
    bool reads_input = false;
    std::function<void(const nnet::DescExpr&)> visit = [&](const nnet::DescExpr& e) {
      if (e.kind == nnet::DescExpr::Kind::kNode && e.node == input) reads_input = true;
      for (const auto& c : e.children) visit(c);
    };
    for (const auto& p : op.input.parts) visit(p);
    if (reads_input) out.push_back(op.name);
  }
  return out;
}

nnet::Graph LowerForInt8(const kaldi::Nnet& nnet, const std::string& model_name,
                         const Int8Lowering& lowering, std::vector<std::string>* folds) {
  nnet::LowerOptions lower;
  lower.optimize = false;
  nnet::Graph g = nnet::LowerNnet(nnet, model_name, lower);
  std::vector<std::string> log;
  if (lowering.fold_scales_backward) log = FoldScalesBackward(&g);
  nnet::OptimizeForInference(&g, lowering.fold_batchnorm);
  std::vector<std::string> keep;
  if (!lowering.fold_input_affine) keep = InputLayers(g);
  if (!lowering.fold_batchnorm)
    for (const nnet::Op& op : g.ops)
      if (op.type == nnet::OpType::kScaleOffset) keep.push_back(op.name);
  std::vector<std::string> more = FoldForInt8(&g, keep);
  log.insert(log.end(), more.begin(), more.end());
  if (folds) *folds = std::move(log);
  return g;
}

void CheckKeepFloat(const nnet::Graph& graph, const std::vector<std::string>& keep_float) {
  for (const std::string& name : keep_float) {
    int32_t i = graph.Find(name);
    if (i >= 0 && graph.ops[i].type == nnet::OpType::kAffine) continue;
    std::string known;
    for (const nnet::Op& op : graph.ops)
      if (op.type == nnet::OpType::kAffine) known += (known.empty() ? "" : ", ") + op.name;
    KQ_THROW(kInvalidArgument) << "--keep-float: '" << name
                               << "' is not an affine layer of the model (layers: " << known
                               << ")";
  }
}

Calibrator::Calibrator(const nnet::Graph& graph, const Scheme& scheme,
                       const std::vector<std::string>& keep_float)
    : graph_(graph), scheme_(scheme), keep_float_(keep_float) {
  CheckKeepFloat(graph, keep_float);
  if (scheme.input_layer_float)
    for (const std::string& name : InputLayers(graph)) keep_float_.push_back(name);
  for (const nnet::Op& op : graph.ops) {
    if (op.type != nnet::OpType::kAffine) continue;
    if (std::find(keep_float_.begin(), keep_float_.end(), op.name) != keep_float_.end()) continue;
    observers_.emplace(op.name, Observer(op.input_dim));
  }
}

nnet::ActivationObserver Calibrator::Hook() {
  return [this](const nnet::Op& op, const nnet::ActivationView& in, const nnet::ActivationView&) {
    if (op.type != nnet::OpType::kAffine) return;
    auto it = observers_.find(op.name);
    if (it == observers_.end()) return;
    it->second.Update(in.data, in.rows, in.cols, in.stride);
  };
}

Plan Calibrator::MakePlan(const std::vector<std::string>& folds) const {
  Plan plan;
  plan.scheme = scheme_;
  plan.folds = folds;
  for (const nnet::Op& op : graph_.ops) {
    if (op.type != nnet::OpType::kAffine) continue;
    LayerPlan l;
    l.name = op.name;
    l.input_dim = op.input_dim;
    l.output_dim = op.output_dim;
    auto it = observers_.find(op.name);
    if (it == observers_.end()) {
      l.keep_float = true;
      plan.layers.push_back(std::move(l));
      continue;
    }
    const Observer& ob = it->second;
    KQ_CHECK(ob.count() > 0, kInvalidArgument)
        << "calibration saw no input for layer '" << op.name << "'";
    auto range = ob.Range(scheme_.observer, scheme_.act, scheme_.percentile);
    l.act_min = range.first;
    l.act_max = range.second;
    l.act = ChooseQParams(range.first, range.second, scheme_.act);
    // Kept in the plan (as floats, which is also what the bias correction uses), so that
    // quantize can re-derive the weights at another bit width exactly as here.
    for (double m : ob.ColumnMeans()) l.act_mean.push_back(static_cast<float>(m));
    ChooseLayerWeights(op, scheme_, &l);
    plan.layers.push_back(std::move(l));
  }
  return plan;
}

std::vector<Equalization> Calibrator::ChooseEqualization() const {
  std::vector<Equalization> out;
  if (scheme_.equalize == EqualizeMethod::kNone) return out;
  nnet::Graph work = graph_;
  for (const EqualizeSite& site : FindEqualizeSites(graph_)) {
    const int32_t n = graph_.ops[site.producer].output_dim;
    std::vector<float> act_max(static_cast<size_t>(n), 0.0f);
    bool observed = false;
    for (const auto& [c, cols] : site.consumers) {
      auto it = observers_.find(graph_.ops[c].name);
      if (it == observers_.end() || it->second.count() == 0) continue;
      observed = true;
      const std::vector<float>& m = it->second.ColumnAbsMax();
      for (int32_t col0 : cols)
        for (int32_t j = 0; j < n; ++j) act_max[j] = std::max(act_max[j], m[col0 + j]);
    }
    if (!observed) continue;
    Equalization e;
    e.producer = graph_.ops[site.producer].name;
    e.scale = ChooseEqualizationScales(work, site, act_max, scheme_.equalize,
                                       scheme_.equalize_alpha);
    ApplyEqualization({e}, &work, "equalisation");
    out.push_back(std::move(e));
  }
  return out;
}

void ChooseLayerWeights(const nnet::Op& op, const Scheme& scheme, LayerPlan* l) {
  std::vector<QParams> wq =
      ChooseWeightQParams(op.weight.data(), op.output_dim, op.input_dim, op.input_dim,
                          scheme.weight, scheme.weight_per_channel, scheme.weight_quantizer);
  l->weight_zero_point = wq[0].zero_point;
  l->weight_scales.clear();
  for (const QParams& p : wq) l->weight_scales.push_back(p.scale);
  l->bias_delta.clear();
  if (!scheme.bias_correction) return;
  KQ_CHECK(static_cast<int32_t>(l->act_mean.size()) == op.input_dim, kInvalidArgument)
      << "layer '" << op.name << "': bias correction needs the calibration input means "
      << "(a plan from an older kaldiq calibrate has none: calibrate again)";
  // E[ŷ − y] = (Ŵ − W)·E[x]: subtract the expected shift caused by weight rounding.
  l->bias_delta.assign(static_cast<size_t>(op.output_dim), 0.0f);
  for (int32_t o = 0; o < op.output_dim; ++o) {
    double shift = 0.0;
    for (int32_t i = 0; i < op.input_dim; ++i) {
      float w = op.weight(o, i);
      shift += (double(FakeQuantize(w, wq[o])) - w) * double(l->act_mean[i]);
    }
    l->bias_delta[o] = static_cast<float>(-shift);
  }
}

Plan WithWeightBits(const Plan& plan, const nnet::Graph& graph, int bits) {
  Plan out = plan;
  if (bits == plan.scheme.weight.bits) return out;
  out.scheme.weight.bits = bits;
  out.target.clear();
  for (LayerPlan& l : out.layers) {
    if (l.keep_float) continue;
    const nnet::Op* op = nullptr;
    for (const nnet::Op& o : graph.ops)
      if (o.name == l.name && o.type == nnet::OpType::kAffine) op = &o;
    KQ_CHECK(op != nullptr, kInvalidArgument) << "plan layer '" << l.name << "' not in the model";
    ChooseLayerWeights(*op, out.scheme, &l);
  }
  return out;
}

Plan CalibrateGraph(const nnet::Graph& graph, const Scheme& scheme,
                    const std::vector<std::string>& keep_float,
                    const std::vector<std::string>& folds, const nnet::ComputeOptions& opts,
                    const std::function<void(nnet::Executor&)>& run,
                    const kernels::KernelSelection& kernels) {
  auto calibrate = [&](const nnet::Graph& g) {
    auto cal = std::make_unique<Calibrator>(g, scheme, keep_float);
    nnet::ExecutableNet net = nnet::Prepare(g, kernels);
    nnet::Executor ex(net, opts);
    ex.SetObserver(cal->Hook());
    run(ex);
    return cal;
  };
  std::unique_ptr<Calibrator> first = calibrate(graph);
  std::vector<Equalization> eq = first->ChooseEqualization();
  if (eq.empty()) return first->MakePlan(folds);
  nnet::Graph equalized = graph;
  ApplyEqualization(eq, &equalized, "equalisation");
  Plan plan = calibrate(equalized)->MakePlan(folds);
  plan.equalize = std::move(eq);
  return plan;
}

}  // namespace kaldiq::quant
