// OptimizeForInference (declared in lower.h).
#include <cmath>
#include <functional>
#include <vector>

#include "nnet/lower.h"
#include "util/error.h"

namespace kaldiq::nnet {

namespace {

using K = DescExpr::Kind;

void ForEachNodeRef(DescExpr* e, const std::function<void(DescExpr*)>& f) {
  if (e->kind == K::kNode) f(e);
  for (DescExpr& c : e->children) ForEachNodeRef(&c, f);
}

void ForEachNodeRef(Graph* g, const std::function<void(DescExpr*)>& f) {
  for (Op& op : g->ops)
    for (DescExpr& p : op.input.parts) ForEachNodeRef(&p, f);
}

// Drops ops the output does not depend on (inputs are always kept) and renumbers.
void Prune(Graph* g) {
  const int32_t n = static_cast<int32_t>(g->ops.size());
  std::vector<bool> keep(n, false);
  keep[g->output] = true;
  for (int32_t i = n - 1; i >= 0; --i) {
    if (g->ops[i].type == OpType::kInput) keep[i] = true;
    if (!keep[i]) continue;
    for (DescExpr& p : g->ops[i].input.parts)
      ForEachNodeRef(&p, [&](DescExpr* e) { keep[e->node] = true; });
  }
  std::vector<int32_t> new_index(n, -1);
  std::vector<Op> ops;
  for (int32_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    new_index[i] = static_cast<int32_t>(ops.size());
    ops.push_back(std::move(g->ops[i]));
  }
  g->ops = std::move(ops);
  g->output = new_index[g->output];
  ForEachNodeRef(g, [&](DescExpr* e) { e->node = new_index[e->node]; });
}

std::vector<int32_t> RefCounts(Graph* g) {
  std::vector<int32_t> counts(g->ops.size(), 0);
  ForEachNodeRef(g, [&](DescExpr* e) { ++counts[e->node]; });
  return counts;
}

bool IsPlainNode(const Op& op) {
  return op.input.parts.size() == 1 && op.input.parts[0].kind == K::kNode;
}

// References to a kCopy op that forwards one op unchanged go to that op instead.
void BypassCopies(Graph* g) {
  std::vector<int32_t> target(g->ops.size());
  for (size_t i = 0; i < g->ops.size(); ++i) {
    target[i] = static_cast<int32_t>(i);
    const Op& op = g->ops[i];
    if (op.type == OpType::kCopy && IsPlainNode(op)) target[i] = target[op.input.parts[0].node];
  }
  ForEachNodeRef(g, [&](DescExpr* e) { e->node = target[e->node]; });
}

void FuseRelu(Graph* g) {
  std::vector<int32_t> counts = RefCounts(g);
  for (Op& op : g->ops) {
    if (op.type != OpType::kRelu || !IsPlainNode(op)) continue;
    Op& src = g->ops[op.input.parts[0].node];
    if (src.type != OpType::kAffine || src.relu_after || counts[op.input.parts[0].node] != 1)
      continue;
    src.relu_after = true;
    op.type = OpType::kCopy;
  }
}

// True if e is a chain of time mappings ending at op `s`; *leaf is that kNode.
bool IsTimeMappedRef(DescExpr* e, int32_t s, DescExpr** leaf) {
  if (e->kind == K::kNode) {
    *leaf = e;
    return e->node == s;
  }
  if (e->kind == K::kOffset || e->kind == K::kReplaceT || e->kind == K::kRound)
    return IsTimeMappedRef(&e->children[0], s, leaf);
  return false;
}

// Folds y = x∘scale + offset into every affine op reading y: W' = W·diag(scale),
// b' = b + W·offset (per spliced part).
void FoldScaleOffsets(Graph* g) {
  for (size_t s = 0; s < g->ops.size(); ++s) {
    Op& so = g->ops[s];
    if (so.type != OpType::kScaleOffset || !IsPlainNode(so)) continue;
    const int32_t src = so.input.parts[0].node;
    const int32_t sid = static_cast<int32_t>(s);
    // Every reference to s must be a whole part of an affine op's input.
    int32_t refs = 0, foldable = 0;
    for (Op& op : g->ops) {
      for (DescExpr& p : op.input.parts) {
        ForEachNodeRef(&p, [&](DescExpr* e) { refs += e->node == sid; });
        DescExpr* leaf = nullptr;
        if (op.type == OpType::kAffine && IsTimeMappedRef(&p, sid, &leaf)) ++foldable;
      }
    }
    if (refs == 0 || refs != foldable) continue;
    for (Op& op : g->ops) {
      if (op.type != OpType::kAffine) continue;
      int32_t col = 0;
      for (DescExpr& p : op.input.parts) {
        const int32_t dim = ExprDim(*g, p);
        DescExpr* leaf = nullptr;
        if (IsTimeMappedRef(&p, sid, &leaf)) {
          if (op.bias.empty()) op.bias.assign(op.output_dim, 0.0f);
          for (int32_t o = 0; o < op.output_dim; ++o) {
            float* w = op.weight.Row(o) + col;
            double add = 0;
            for (int32_t c = 0; c < dim; ++c) {
              if (!so.offset.empty()) add += double(w[c]) * so.offset[c];
              if (!so.scale.empty()) w[c] *= so.scale[c];
            }
            op.bias[o] = static_cast<float>(op.bias[o] + add);
          }
          leaf->node = src;
        }
        col += dim;
      }
    }
  }
}

}  // namespace

void OptimizeForInference(Graph* g, bool fold_scale_offsets) {
  KQ_CHECK(g->output >= 0, kInternal) << "graph without output";
  Prune(g);
  BypassCopies(g);
  Prune(g);
  FuseRelu(g);
  BypassCopies(g);
  Prune(g);
  if (fold_scale_offsets) {
    FoldScaleOffsets(g);
    Prune(g);
  }
  g->UpdateIndex();
  ValidateGraph(*g);
}

}  // namespace kaldiq::nnet
