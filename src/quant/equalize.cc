#include "quant/equalize.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "util/error.h"

namespace kaldiq::quant {

using nnet::DescExpr;
using nnet::Graph;
using nnet::Op;
using nnet::OpType;

namespace {

bool Mentions(const DescExpr& e, const std::vector<bool>& set) {
  if (e.kind == DescExpr::Kind::kNode && set[static_cast<size_t>(e.node)]) return true;
  for (const DescExpr& c : e.children)
    if (Mentions(c, set)) return true;
  return false;
}

// The site of producer p, or a site with no consumers when p cannot be equalised.
EqualizeSite SiteOf(const Graph& g, int32_t p) {
  EqualizeSite site;
  site.producer = p;
  const Op& prod = g.ops[p];
  if (prod.type != OpType::kAffine || p == g.output) return site;
  // `alias[i]`: op i's value is the producer's (the producer itself or an identity copy of it).
  std::vector<bool> alias(g.ops.size(), false);
  alias[p] = true;
  std::vector<std::pair<int32_t, std::vector<int32_t>>> consumers;
  for (size_t i = static_cast<size_t>(p) + 1; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    bool reads = false;
    for (const DescExpr& part : op.input.parts) reads |= Mentions(part, alias);
    if (!reads) continue;
    if (static_cast<int32_t>(i) == g.output) return site;
    if (op.type == OpType::kCopy && op.input.parts.size() == 1 &&
        op.input.parts[0].kind == DescExpr::Kind::kNode && op.input_dim == op.output_dim) {
      alias[i] = true;
      continue;
    }
    if (op.type != OpType::kAffine) return site;
    std::vector<int32_t> cols;
    int32_t col0 = 0;
    for (const DescExpr& part : op.input.parts) {
      if (Mentions(part, alias)) {
        int32_t n = nnet::SelectedOp(part);
        if (n < 0 || !alias[static_cast<size_t>(n)]) return site;
        cols.push_back(col0);
      }
      col0 += nnet::ExprDim(g, part);
    }
    consumers.emplace_back(static_cast<int32_t>(i), std::move(cols));
  }
  site.consumers = std::move(consumers);
  return site;
}

}  // namespace

std::vector<EqualizeSite> FindEqualizeSites(const Graph& graph) {
  std::vector<EqualizeSite> out;
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    EqualizeSite s = SiteOf(graph, static_cast<int32_t>(i));
    if (!s.consumers.empty()) out.push_back(std::move(s));
  }
  return out;
}

void ApplyEqualization(const std::vector<Equalization>& eq, Graph* g, const std::string& what) {
  for (const Equalization& e : eq) {
    const int32_t p = g->Find(e.producer);
    KQ_CHECK(p >= 0, kInvalidArgument) << what << ": equalize: no op '" << e.producer << "'";
    EqualizeSite site = SiteOf(*g, p);
    KQ_CHECK(!site.consumers.empty(), kInvalidArgument)
        << what << ": equalize: '" << e.producer
        << "' is not an affine op whose output only feeds affine ops";
    Op& prod = g->ops[p];
    KQ_CHECK(static_cast<int32_t>(e.scale.size()) == prod.output_dim, kInvalidArgument)
        << what << ": equalize: '" << e.producer << "' has " << e.scale.size()
        << " scales, its output dimension is " << prod.output_dim;
    for (float s : e.scale)
      KQ_CHECK(std::isfinite(s) && s > 0.0f, kInvalidArgument)
          << what << ": equalize: '" << e.producer << "' has a scale " << s
          << " (scales must be finite and > 0)";
    for (int32_t j = 0; j < prod.output_dim; ++j) {
      const float inv = 1.0f / e.scale[j];
      float* w = prod.weight.Row(j);
      for (int32_t i = 0; i < prod.input_dim; ++i) w[i] *= inv;
      if (!prod.bias.empty()) prod.bias[j] *= inv;
    }
    for (const auto& [c, cols] : site.consumers) {
      Op& op = g->ops[c];
      for (int32_t o = 0; o < op.output_dim; ++o) {
        float* w = op.weight.Row(o);
        for (int32_t col0 : cols)
          for (int32_t j = 0; j < prod.output_dim; ++j) w[col0 + j] *= e.scale[j];
      }
    }
  }
}

std::vector<float> ChooseEqualizationScales(const Graph& graph, const EqualizeSite& site,
                                            const std::vector<float>& act_max,
                                            EqualizeMethod method, float alpha) {
  const Op& prod = graph.ops[site.producer];
  const int32_t n = prod.output_dim;
  KQ_CHECK(method != EqualizeMethod::kSmooth || static_cast<int32_t>(act_max.size()) == n,
           kInternal)
      << "equalisation of '" << prod.name << "': " << act_max.size() << " activation ranges for "
      << n << " channels";
  std::vector<double> w(static_cast<size_t>(n), 0.0), r1(static_cast<size_t>(n), 0.0);
  for (const auto& [c, cols] : site.consumers) {
    const Op& op = graph.ops[c];
    for (int32_t o = 0; o < op.output_dim; ++o)
      for (int32_t col0 : cols)
        for (int32_t j = 0; j < n; ++j)
          w[j] = std::max(w[j], double(std::fabs(op.weight(o, col0 + j))));
  }
  for (int32_t j = 0; j < n; ++j)
    for (int32_t i = 0; i < prod.input_dim; ++i)
      r1[j] = std::max(r1[j], double(std::fabs(prod.weight(j, i))));
  auto floor_at = [](std::vector<double>* v) {
    double mx = *std::max_element(v->begin(), v->end());
    if (!(mx > 0.0)) mx = 1.0;
    for (double& x : *v) x = std::max(x, 0.01 * mx);
  };
  floor_at(&w);
  floor_at(&r1);
  std::vector<double> s(static_cast<size_t>(n), 1.0);
  if (method == EqualizeMethod::kSmooth) {
    std::vector<double> a(act_max.begin(), act_max.end());
    floor_at(&a);
    for (int32_t j = 0; j < n; ++j) s[j] = std::pow(a[j], alpha) / std::pow(w[j], 1.0 - alpha);
  } else if (method == EqualizeMethod::kDfq) {
    // Producer rows become r1/s, consumer columns w·s: equal when s = sqrt(r1 / w).
    for (int32_t j = 0; j < n; ++j) s[j] = std::sqrt(r1[j] / w[j]);
  }
  double log_mean = 0.0;
  for (double x : s) log_mean += std::log(x);
  log_mean /= n;
  std::vector<float> out(static_cast<size_t>(n));
  for (int32_t j = 0; j < n; ++j) out[j] = static_cast<float>(std::exp(std::log(s[j]) - log_mean));
  return out;
}

}  // namespace kaldiq::quant
