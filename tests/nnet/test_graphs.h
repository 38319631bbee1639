// Small hand-built graphs and a direct (per-frame, recursive) reference evaluator for them.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <vector>

#include "nnet/graph.h"
#include "nnet/ops.h"

namespace kaldiq::nnet::testing {

inline DescExpr Node(int32_t op) {
  DescExpr e;
  e.kind = DescExpr::Kind::kNode;
  e.node = op;
  return e;
}
inline DescExpr Wrap(DescExpr::Kind kind, DescExpr child, int32_t value = 0, float scale = 1) {
  DescExpr e;
  e.kind = kind;
  e.value = value;
  e.scale = scale;
  e.children.push_back(std::move(child));
  return e;
}
inline DescExpr Offset(int32_t op, int32_t o) {
  return Wrap(DescExpr::Kind::kOffset, Node(op), o);
}
inline DescExpr SumOf(DescExpr a, DescExpr b) {
  DescExpr e;
  e.kind = DescExpr::Kind::kSum;
  e.children.push_back(std::move(a));
  e.children.push_back(std::move(b));
  return e;
}

inline void FillRandom(std::vector<float>* v, std::mt19937* rng, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  for (float& x : *v) x = d(*rng);
}
inline MatrixF RandomMatrix(int64_t rows, int64_t cols, std::mt19937* rng, float scale = 1.0f) {
  MatrixF m(rows, cols);
  std::normal_distribution<float> d(0.0f, scale);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = d(*rng);
  return m;
}

inline int32_t AddOp(Graph* g, Op op) {
  op.input_dim = op.type == OpType::kInput ? 0 : DescriptorDim(*g, op.input);
  g->ops.push_back(std::move(op));
  return static_cast<int32_t>(g->ops.size()) - 1;
}

inline int32_t AddInput(Graph* g, const std::string& name, int32_t dim) {
  Op op;
  op.name = name;
  op.type = OpType::kInput;
  op.output_dim = dim;
  return AddOp(g, std::move(op));
}

inline int32_t AddAffine(Graph* g, const std::string& name, std::vector<DescExpr> parts,
                         int32_t out_dim, std::mt19937* rng, bool bias = true) {
  Op op;
  op.name = name;
  op.component = name;
  op.type = OpType::kAffine;
  op.input.parts = std::move(parts);
  int32_t in_dim = DescriptorDim(*g, op.input);
  op.weight = RandomMatrix(out_dim, in_dim, rng, 1.0f / std::sqrt(float(in_dim)));
  if (bias) {
    op.bias.resize(out_dim);
    FillRandom(&op.bias, rng, 0.1f);
  }
  op.output_dim = out_dim;
  return AddOp(g, std::move(op));
}

inline int32_t AddUnary(Graph* g, const std::string& name, OpType type, DescExpr in) {
  Op op;
  op.name = name;
  op.component = name;
  op.type = type;
  op.input.parts.push_back(std::move(in));
  op.output_dim = DescriptorDim(*g, op.input);
  return AddOp(g, std::move(op));
}

inline int32_t AddScaleOffset(Graph* g, const std::string& name, DescExpr in, std::mt19937* rng) {
  int32_t id = AddUnary(g, name, OpType::kScaleOffset, std::move(in));
  Op& op = g->ops[id];
  op.scale.resize(op.input_dim);
  op.offset.resize(op.input_dim);
  FillRandom(&op.scale, rng);
  FillRandom(&op.offset, rng);
  return id;
}

// Direct evaluation of op `i` at absolute time t: input rows clamp(t) of feats, the i-vector
// at any time (the caller gives the one the chunk uses). Memoised per (op, t).
class ReferenceEvaluator {
 public:
  ReferenceEvaluator(const Graph& g, const MatrixF& feats, const std::vector<float>* ivector)
      : g_(g), feats_(feats), ivector_(ivector) {}

  const std::vector<float>& Eval(int32_t i, int32_t t) {
    auto key = std::make_pair(i, t);
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
    const Op& op = g_.ops[i];
    std::vector<float> out(op.output_dim);
    if (op.type == OpType::kInput) {
      if (op.name == "input") {
        int32_t r = std::clamp<int32_t>(t, 0, static_cast<int32_t>(feats_.rows()) - 1);
        std::copy(feats_.Row(r), feats_.Row(r) + op.output_dim, out.begin());
      } else {
        out = *ivector_;
      }
      return memo_[key] = out;
    }
    std::vector<float> x;
    for (const DescExpr& p : op.input.parts) {
      std::vector<float> v = EvalExpr(p, t);
      x.insert(x.end(), v.begin(), v.end());
    }
    switch (op.type) {
      case OpType::kOutput:
      case OpType::kCopy:
        out = x;
        break;
      case OpType::kDimRange:
        std::copy(x.begin() + op.ints[0], x.begin() + op.ints[0] + op.output_dim, out.begin());
        break;
      case OpType::kAffine:
        for (int32_t o = 0; o < op.output_dim; ++o) {
          double s = op.bias.empty() ? 0.0 : op.bias[o];
          for (int32_t c = 0; c < op.input_dim; ++c) s += double(op.weight(o, c)) * x[c];
          out[o] = op.relu_after ? std::max(float(s), 0.0f) : float(s);
        }
        break;
      default:
        RunElementwiseOp(op, x.data(), op.input_dim, 1, out.data(), op.output_dim);
    }
    return memo_[key] = out;
  }

  std::vector<float> EvalExpr(const DescExpr& e, int32_t t) {
    using K = DescExpr::Kind;
    switch (e.kind) {
      case K::kNode: return Eval(e.node, t);
      case K::kOffset: return EvalExpr(e.children[0], t + e.value);
      case K::kReplaceT: return EvalExpr(e.children[0], e.value);
      case K::kScale: {
        std::vector<float> v = EvalExpr(e.children[0], t);
        for (float& x : v) x *= e.scale;
        return v;
      }
      case K::kSum: {
        std::vector<float> a = EvalExpr(e.children[0], t), b = EvalExpr(e.children[1], t);
        for (size_t j = 0; j < a.size(); ++j) a[j] += b[j];
        return a;
      }
      case K::kConst: return std::vector<float>(e.dim, e.scale);
      default: return EvalExpr(e.children[0], t);  // tests use no IfDefined at edges
    }
  }

 private:
  const Graph& g_;
  const MatrixF& feats_;
  const std::vector<float>* ivector_;
  std::map<std::pair<int32_t, int32_t>, std::vector<float>> memo_;
};

}  // namespace kaldiq::nnet::testing
