#include "quant/fold.h"

#include <algorithm>

#include "util/error.h"

namespace kaldiq::quant {

using nnet::DescExpr;
using nnet::Graph;
using nnet::Op;
using nnet::OpType;

namespace {

// Calls f(expr) for every kNode expression in `e`.
template <typename F>
void ForEachNode(const DescExpr& e, F&& f) {
  if (e.kind == DescExpr::Kind::kNode) f(e);
  for (const DescExpr& c : e.children) ForEachNode(c, f);
}

bool References(const DescExpr& e, int32_t node) {
  bool found = false;
  ForEachNode(e, [&](const DescExpr& n) { found |= n.node == node; });
  return found;
}

// True when `e` is a pure time selection of op `node` (its value at t is a row of `node`).
bool IsTimeSelectionOf(const DescExpr& e, int32_t node) { return nnet::SelectedOp(e) == node; }

// Indices of ops whose descriptor mentions `node`.
std::vector<int32_t> Consumers(const Graph& g, int32_t node) {
  std::vector<int32_t> out;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    for (const DescExpr& p : g.ops[i].input.parts) {
      if (References(p, node)) {
        out.push_back(static_cast<int32_t>(i));
        break;
      }
    }
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool TryFoldScaleOffset(Graph* g, int32_t s_idx, const std::vector<std::string>& keep,
                        std::vector<std::string>* log) {
  Op& s = g->ops[s_idx];
  if (s.type != OpType::kScaleOffset || s_idx == g->output || Contains(keep, s.name)) return false;
  if (s.input_dim != s.output_dim) return false;
  std::vector<int32_t> consumers = Consumers(*g, s_idx);
  if (consumers.empty()) return false;
  for (int32_t c : consumers) {
    const Op& b = g->ops[c];
    if (b.type != OpType::kAffine || Contains(keep, b.name)) return false;
    for (const DescExpr& p : b.input.parts)
      if (References(p, s_idx) && !IsTimeSelectionOf(p, s_idx)) return false;
  }
  const int32_t d = s.output_dim;
  for (int32_t c : consumers) {
    Op& b = g->ops[c];
    if (b.bias.empty()) b.bias.assign(static_cast<size_t>(b.output_dim), 0.0f);
    int32_t col0 = 0;
    for (const DescExpr& p : b.input.parts) {
      int32_t pd = nnet::ExprDim(*g, p);
      if (IsTimeSelectionOf(p, s_idx)) {
        for (int32_t o = 0; o < b.output_dim; ++o) {
          float* w = b.weight.Row(o) + col0;
          double add = 0.0;
          for (int32_t j = 0; j < d; ++j) {
            float sc = s.scale.empty() ? 1.0f : s.scale[j];
            float of = s.offset.empty() ? 0.0f : s.offset[j];
            add += double(w[j]) * of;
            w[j] *= sc;
          }
          b.bias[o] = static_cast<float>(b.bias[o] + add);
        }
      }
      col0 += pd;
    }
    log->push_back(s.name + " -> " + b.name);
  }
  s.type = OpType::kCopy;
  s.scale.clear();
  s.offset.clear();
  return true;
}

bool TryFoldAffineIntoNext(Graph* g, int32_t a_idx, const std::vector<std::string>& keep,
                           std::vector<std::string>* log) {
  const Op& a = g->ops[a_idx];
  if (a.type != OpType::kAffine || a.relu_after || a_idx == g->output || Contains(keep, a.name))
    return false;
  std::vector<int32_t> consumers = Consumers(*g, a_idx);
  if (consumers.size() != 1) return false;
  Op& b = g->ops[consumers[0]];
  if (b.type != OpType::kAffine || Contains(keep, b.name)) return false;
  if (b.input.parts.size() != 1 || b.input.parts[0].kind != DescExpr::Kind::kNode) return false;
  // Folding widens the layer when A expands its input; only fold when it does not grow B.
  if (a.input_dim > a.output_dim) return false;
  MatrixF w(b.output_dim, a.input_dim);
  std::vector<float> bias(static_cast<size_t>(b.output_dim));
  for (int32_t o = 0; o < b.output_dim; ++o) {
    double bo = b.bias.empty() ? 0.0 : b.bias[o];
    for (int32_t m = 0; m < a.output_dim; ++m) {
      double wb = b.weight(o, m);
      if (!a.bias.empty()) bo += wb * a.bias[m];
    }
    bias[o] = static_cast<float>(bo);
    for (int32_t i = 0; i < a.input_dim; ++i) {
      double s = 0.0;
      for (int32_t m = 0; m < a.output_dim; ++m) s += double(b.weight(o, m)) * a.weight(m, i);
      w(o, i) = static_cast<float>(s);
    }
  }
  log->push_back(a.name + " -> " + b.name);
  b.weight = std::move(w);
  b.bias = std::move(bias);
  b.input = a.input;
  b.input_dim = a.input_dim;
  RemoveOp(g, a_idx);
  return true;
}

void Renumber(DescExpr* e, int32_t removed) {
  if (e->kind == DescExpr::Kind::kNode && e->node > removed) --e->node;
  for (DescExpr& c : e->children) Renumber(&c, removed);
}

bool IsPlainNodeOp(const Op& op) {
  return op.input.parts.size() == 1 && op.input.parts[0].kind == DescExpr::Kind::kNode;
}

}  // namespace

std::vector<std::string> FoldScalesBackward(Graph* g) {
  std::vector<std::string> log;
  for (size_t s = 0; s < g->ops.size(); ++s) {
    Op& so = g->ops[s];
    if (so.type != OpType::kScaleOffset || so.scale.empty() || !IsPlainNodeOp(so)) continue;
    const int32_t r = so.input.parts[0].node;
    Op& relu = g->ops[r];
    if (relu.type != OpType::kRelu || !IsPlainNodeOp(relu)) continue;
    const int32_t a = relu.input.parts[0].node;
    Op& aff = g->ops[a];
    if (aff.type != OpType::kAffine || aff.relu_after || a == g->output) continue;
    if (Consumers(*g, a).size() != 1 || Consumers(*g, r).size() != 1) continue;
    if (*std::min_element(so.scale.begin(), so.scale.end()) <= 0.0f) continue;
    for (int32_t o = 0; o < aff.output_dim; ++o) {
      float sc = so.scale[o];
      float* w = aff.weight.Row(o);
      for (int32_t i = 0; i < aff.input_dim; ++i) w[i] *= sc;
      if (!aff.bias.empty()) aff.bias[o] *= sc;
    }
    so.scale.clear();
    log.push_back(so.name + " scale -> " + aff.name);
  }
  return log;
}

void RemoveOp(Graph* g, int32_t index) {
  for (size_t i = 0; i < g->ops.size(); ++i)
    for (const DescExpr& p : g->ops[i].input.parts)
      KQ_CHECK(static_cast<int32_t>(i) == index || !References(p, index), kInternal)
          << "cannot remove op '" << g->ops[index].name << "': '" << g->ops[i].name
          << "' still reads it";
  g->ops.erase(g->ops.begin() + index);
  for (Op& op : g->ops)
    for (DescExpr& p : op.input.parts) Renumber(&p, index);
  if (g->output > index) --g->output;
}

std::vector<std::string> FoldForInt8(Graph* graph, const std::vector<std::string>& keep) {
  std::vector<std::string> log;
  for (int32_t i = 0; i < static_cast<int32_t>(graph->ops.size()); ++i)
    TryFoldScaleOffset(graph, i, keep, &log);
  // Affine-into-affine removes ops, so restart the scan after each fold.
  bool changed = true;
  while (changed) {
    changed = false;
    for (int32_t i = 0; i < static_cast<int32_t>(graph->ops.size()) && !changed; ++i)
      changed = TryFoldAffineIntoNext(graph, i, keep, &log);
  }
  nnet::ValidateGraph(*graph);
  return log;
}

}  // namespace kaldiq::quant
