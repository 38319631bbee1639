#include "quant/plan.h"

#include <climits>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace kaldiq::quant {

const LayerPlan* Plan::Find(const std::string& name) const {
  for (const LayerPlan& l : layers)
    if (l.name == name) return &l;
  return nullptr;
}

namespace {

std::string F(float v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(v));
  return buf;
}

void WriteFloats(std::ostream& os, const char* key, const std::vector<float>& v) {
  os << key << ' ' << v.size();
  for (float x : v) os << ' ' << F(x);
  os << '\n';
}

// Line-oriented reader with line numbers for errors.
class Lines {
 public:
  Lines(std::istream& is, std::string path) : is_(is), path_(std::move(path)) {}
  // Next non-empty, non-comment line split into whitespace-separated words.
  std::vector<std::string> Next() {
    std::string line;
    while (std::getline(is_, line)) {
      ++line_no_;
      auto hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      std::istringstream ss(line);
      std::vector<std::string> words;
      std::string w;
      while (ss >> w) words.push_back(w);
      if (!words.empty()) return words;
    }
    // (Throwing here matters: the callers index the words returned.)
    Throw(line_no_ == 0 ? "empty plan file" : "unexpected end of file (truncated plan?)");
  }
  // The next line, which must start with `key` and have at least min_words words.
  std::vector<std::string> Expect(const std::string& key, size_t min_words) {
    auto w = Next();
    if (w[0] != key) Throw("expected '" + key + "', got '" + QuoteBytes(w[0]) + "'");
    if (w.size() < min_words)
      Throw("'" + key + "' needs " + std::to_string(min_words - 1) + " value(s)");
    return w;
  }
  [[noreturn]] void Throw(const std::string& msg) const {
    throw Error(Error::Code::kFormat, path_ + ": line " + std::to_string(line_no_) + ": " + msg);
  }
  float Float(const std::string& s) const {
    try {
      size_t pos = 0;
      float v = std::stof(s, &pos);
      if (pos != s.size()) Throw("bad number '" + QuoteBytes(s) + "'");
      return v;
    } catch (const std::logic_error&) {
      Throw("bad number '" + QuoteBytes(s) + "'");
    }
  }
  int32_t Int(const std::string& s) const {
    try {
      size_t pos = 0;
      long v = std::stol(s, &pos);
      if (pos != s.size()) Throw("bad integer '" + QuoteBytes(s) + "'");
      if (v < INT32_MIN || v > INT32_MAX) Throw("integer '" + QuoteBytes(s) + "' out of range");
      return static_cast<int32_t>(v);
    } catch (const std::logic_error&) {
      Throw("bad integer '" + QuoteBytes(s) + "'");
    }
  }
  std::vector<float> Floats(const std::vector<std::string>& w) const {
    int32_t n = Int(w[1]);
    if (n < 0 || static_cast<size_t>(n) + 2 != w.size())
      Throw(QuoteBytes(w[0]) + ": declared " + QuoteBytes(w[1]) + " values, found " +
            std::to_string(w.size() - 2));
    std::vector<float> v;
    for (size_t i = 2; i < w.size(); ++i) v.push_back(Float(w[i]));
    return v;
  }

 private:
  std::istream& is_;
  std::string path_;
  int line_no_ = 0;
};

}  // namespace

void WritePlan(const std::string& path, const Plan& plan) {
  std::ostringstream os;
  const Scheme& s = plan.scheme;
  // Versions 2 and 3 only add optional lines; plans without them stay readable by older readers.
  bool v3 = !plan.target.empty();
  for (const LayerPlan& l : plan.layers) v3 |= !l.act_mean.empty();
  const bool v2 = s.equalize != EqualizeMethod::kNone || !plan.equalize.empty();
  os << "kaldiq-plan " << (v3 ? 3 : v2 ? 2 : 1) << "\n";
  os << "scheme " << (s.name.empty() ? "custom" : s.name) << '\n';
  os << "weight " << FormatTensorSpec(s.weight) << '\n';
  os << "weight-per-channel " << s.weight_per_channel << '\n';
  os << "weight-quantizer " << ToString(s.weight_quantizer) << '\n';
  os << "act " << FormatTensorSpec(s.act) << '\n';
  os << "act-range " << ToString(s.act_range) << '\n';
  os << "observer " << ToString(s.observer) << ' ' << F(s.percentile) << '\n';
  os << "bias-correction " << s.bias_correction << '\n';
  os << "fold-input-affine " << s.fold_input_affine << '\n';
  os << "input-layer-float " << s.input_layer_float << '\n';
  if (!plan.target.empty()) os << "target " << plan.target << '\n';
  if (!s.fold_batchnorm) os << "fold-batchnorm 0\n";  // optional line; absent = 1
  if (s.equalize != EqualizeMethod::kNone)
    os << "equalize-method " << ToString(s.equalize) << ' ' << F(s.equalize_alpha) << '\n';
  for (const std::string& f : plan.folds) os << "fold " << f << '\n';
  for (const Equalization& e : plan.equalize) {
    os << "equalize ";
    WriteFloats(os, e.producer.c_str(), e.scale);
  }
  for (const LayerPlan& l : plan.layers) {
    os << "layer " << l.name << ' ' << (l.keep_float ? "float" : "int8") << ' ' << l.input_dim
       << ' ' << l.output_dim << '\n';
    if (!l.keep_float) {
      os << "act-min-max " << F(l.act_min) << ' ' << F(l.act_max) << '\n';
      os << "act-qparams " << F(l.act.scale) << ' ' << l.act.zero_point << '\n';
      os << "weight-zero-point " << l.weight_zero_point << '\n';
      WriteFloats(os, "weight-scales", l.weight_scales);
      WriteFloats(os, "bias-delta", l.bias_delta);
      if (!l.act_mean.empty()) WriteFloats(os, "act-mean", l.act_mean);
    }
    os << "end-layer\n";
  }
  os << "end\n";
  // Written to a temporary name and renamed, so a failed run never leaves half a plan.
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    KQ_CHECK(f.good(), kIo) << "cannot write plan '" << path << "'";
    f << os.str();
    f.close();
    KQ_CHECK(!f.fail(), kIo) << "error writing plan '" << tmp << "'";
  }
  KQ_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, kIo)
      << "cannot rename '" << tmp << "' to '" << path << "'";
}

Plan ReadPlan(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  KQ_CHECK(f.good(), kIo) << "cannot open plan '" << path << "'";
  return ReadPlan(f, path);
}

Plan ReadPlan(std::istream& is, const std::string& path) {
  Lines in(is, path);
  Plan plan;
  auto w = in.Expect("kaldiq-plan", 2);
  if (w[1] != "1" && w[1] != "2" && w[1] != "3")
    in.Throw("unsupported plan version " + QuoteBytes(w[1]) +
             " (this kaldiq reads versions 1 to 3)");
  Scheme& s = plan.scheme;
  s.name = in.Expect("scheme", 2)[1];
  try {
    s.weight = ParseTensorSpec(in.Expect("weight", 2)[1]);
    s.weight_per_channel = in.Int(in.Expect("weight-per-channel", 2)[1]) != 0;
    s.weight_quantizer = ParseWeightQuantizer(in.Expect("weight-quantizer", 2)[1]);
    s.act = ParseTensorSpec(in.Expect("act", 2)[1]);
    s.act_range = ParseRangeMode(in.Expect("act-range", 2)[1]);
    auto ob = in.Expect("observer", 3);
    s.observer = ParseObserverKind(ob[1]);
    s.percentile = in.Float(ob[2]);
    if (!std::isfinite(s.percentile)) in.Throw("observer parameter must be finite");
    s.bias_correction = in.Int(in.Expect("bias-correction", 2)[1]) != 0;
    s.fold_input_affine = in.Int(in.Expect("fold-input-affine", 2)[1]) != 0;
    s.input_layer_float = in.Int(in.Expect("input-layer-float", 2)[1]) != 0;
  } catch (const Error& e) {
    if (std::string(e.what()).rfind(path, 0) == 0) throw;
    in.Throw(e.what());
  }
  for (;;) {
    w = in.Next();
    if (w[0] == "end") break;
    if (w[0] == "fold") {
      std::string f;
      for (size_t i = 1; i < w.size(); ++i) f += (i > 1 ? " " : "") + w[i];
      plan.folds.push_back(f);
      continue;
    }
    if (w[0] == "target" && w.size() == 2) {
      plan.target = w[1];
      continue;
    }
    if (w[0] == "fold-batchnorm" && w.size() == 2) {
      s.fold_batchnorm = in.Int(w[1]) != 0;
      continue;
    }
    if (w[0] == "equalize-method" && w.size() == 3) {
      try {
        s.equalize = ParseEqualizeMethod(w[1]);
      } catch (const Error& e) {
        in.Throw(e.what());
      }
      s.equalize_alpha = in.Float(w[2]);
      if (!std::isfinite(s.equalize_alpha)) in.Throw("equalize-method alpha must be finite");
      continue;
    }
    if (w[0] == "equalize") {
      if (w.size() < 3) in.Throw("expected 'equalize <producer> <count> <scales...>'");
      Equalization e;
      e.producer = w[1];
      e.scale = in.Floats(std::vector<std::string>(w.begin() + 1, w.end()));
      for (float sc : e.scale)
        if (!(sc > 0.0f) || !std::isfinite(sc))
          in.Throw("equalize " + QuoteBytes(e.producer) + ": scales must be finite and > 0");
      plan.equalize.push_back(std::move(e));
      continue;
    }
    if (w[0] != "layer" || w.size() != 5) in.Throw("expected 'layer <name> int8|float <in> <out>'");
    LayerPlan l;
    l.name = w[1];
    if (w[2] != "int8" && w[2] != "float") in.Throw("layer kind must be int8 or float");
    l.keep_float = w[2] == "float";
    l.input_dim = in.Int(w[3]);
    l.output_dim = in.Int(w[4]);
    if (l.input_dim <= 0 || l.output_dim <= 0) in.Throw("bad layer dimensions");
    if (!l.keep_float) {
      auto mm = in.Expect("act-min-max", 3);
      l.act_min = in.Float(mm[1]);
      l.act_max = in.Float(mm[2]);
      auto qp = in.Expect("act-qparams", 3);
      try {
        l.act = ChooseQParams(std::min(l.act_min, l.act_max), l.act_max, s.act);
      } catch (const Error& e) {
        in.Throw("layer " + QuoteBytes(l.name) + ": " + e.what());
      }
      l.act.SetScale(in.Float(qp[1]));
      l.act.zero_point = in.Int(qp[2]);
      if (!(l.act.scale > 0.0f) || !std::isfinite(l.act.scale))
        in.Throw("activation scale must be positive and finite");
      if (l.act.zero_point < l.act.qmin || l.act.zero_point > l.act.qmax)
        in.Throw("activation zero point outside the grid");
      l.weight_zero_point = in.Int(in.Expect("weight-zero-point", 2)[1]);
      l.weight_scales = in.Floats(in.Expect("weight-scales", 2));
      l.bias_delta = in.Floats(in.Expect("bias-delta", 2));
      if (static_cast<int32_t>(l.weight_scales.size()) != l.output_dim)
        in.Throw("layer " + QuoteBytes(l.name) +
                 ": weight-scales count differs from the output dimension");
      for (float sc : l.weight_scales)
        if (!(sc > 0.0f) || !std::isfinite(sc))
          in.Throw("layer " + QuoteBytes(l.name) + ": weight scales must be positive and finite");
      for (float d : l.bias_delta)
        if (!std::isfinite(d)) in.Throw("layer " + QuoteBytes(l.name) + ": bias-delta must be finite");
      if (!l.bias_delta.empty() && static_cast<int32_t>(l.bias_delta.size()) != l.output_dim)
        in.Throw("layer " + QuoteBytes(l.name) +
                 ": bias-delta count differs from the output dimension");
    }
    w = in.Next();
    if (w[0] == "act-mean" && !l.keep_float) {
      l.act_mean = in.Floats(w);
      if (static_cast<int32_t>(l.act_mean.size()) != l.input_dim)
        in.Throw("layer " + l.name + ": act-mean count differs from the input dimension");
      w = in.Next();
    }
    if (w[0] != "end-layer") in.Throw("expected 'end-layer', got '" + w[0] + "'");
    plan.layers.push_back(std::move(l));
  }
  return plan;
}

nnet::Graph EqualizedGraph(nnet::Graph graph, const Plan& plan, const std::string& plan_path) {
  ApplyEqualization(plan.equalize, &graph,
                    "plan '" + plan_path + "' does not match the model");
  return graph;
}

void CheckPlanMatchesGraph(const Plan& plan, const nnet::Graph& graph,
                           const std::string& plan_path) {
  size_t li = 0;
  for (const nnet::Op& op : graph.ops) {
    if (op.type != nnet::OpType::kAffine) continue;
    KQ_CHECK(li < plan.layers.size(), kInvalidArgument)
        << "plan '" << plan_path << "' does not match the model: it has no layer for affine op '"
        << op.name << "'";
    const LayerPlan& l = plan.layers[li++];
    KQ_CHECK(l.name == op.name && l.input_dim == op.input_dim && l.output_dim == op.output_dim,
             kInvalidArgument)
        << "plan '" << plan_path << "' does not match the model: plan layer '" << l.name << "' ("
        << l.input_dim << " -> " << l.output_dim << ") vs model op '" << op.name << "' ("
        << op.input_dim << " -> " << op.output_dim << ")";
  }
  KQ_CHECK(li == plan.layers.size(), kInvalidArgument)
      << "plan '" << plan_path << "' does not match the model: extra layer '"
      << plan.layers[li].name << "'";
}

std::vector<QParams> WeightQParams(const LayerPlan& layer, const TensorSpec& spec) {
  std::vector<QParams> out;
  for (float s : layer.weight_scales) {
    QParams p = ChooseQParams(-1.0f, 1.0f, spec);
    p.SetScale(s);
    p.zero_point = layer.weight_zero_point;
    out.push_back(p);
  }
  return out;
}

}  // namespace kaldiq::quant
