#include "nnet/graph.h"

#include <string>

#include "nnet/op_traits.h"
#include "util/error.h"

namespace kaldiq::nnet {

void Graph::UpdateIndex() {
  inputs.clear();
  outputs.clear();
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].type == OpType::kInput) inputs.push_back(static_cast<int32_t>(i));
    if (ops[i].type == OpType::kOutput) outputs.push_back(static_cast<int32_t>(i));
  }
}

int32_t Graph::Find(const std::string& name) const {
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].name == name) return static_cast<int32_t>(i);
  return -1;
}

int32_t Graph::InputDim(const std::string& name) const {
  int32_t i = Find(name);
  if (i < 0 || ops[i].type != OpType::kInput) return 0;
  return ops[i].output_dim;
}

int32_t ExprDim(const Graph& graph, const DescExpr& expr) {
  using K = DescExpr::Kind;
  switch (expr.kind) {
    case K::kNode:
      KQ_CHECK(expr.node >= 0 && expr.node < static_cast<int32_t>(graph.ops.size()), kInternal)
          << "descriptor names op " << expr.node << " of " << graph.ops.size();
      return graph.ops[expr.node].output_dim;
    case K::kConst:
      return expr.dim;
    default:
      break;
  }
  KQ_CHECK(!expr.children.empty(), kInternal) << "descriptor expression without operands";
  int32_t dim = ExprDim(graph, expr.children[0]);
  for (size_t i = 1; i < expr.children.size(); ++i) {
    int32_t d = ExprDim(graph, expr.children[i]);
    KQ_CHECK(d == dim, kFormat) << "descriptor operands have different dimensions (" << dim
                                << " vs " << d << ")";
  }
  return dim;
}

int32_t DescriptorDim(const Graph& graph, const Descriptor& desc) {
  int32_t dim = 0;
  for (const DescExpr& part : desc.parts) dim += ExprDim(graph, part);
  return dim;
}

namespace {
void CheckExprOrder(const DescExpr& expr, int32_t op_index) {
  if (expr.kind == DescExpr::Kind::kNode) {
    KQ_CHECK(expr.node >= 0 && expr.node < op_index, kFormat)
        << "descriptor refers to a later op (the graph must be acyclic and ordered)";
  }
  if (expr.kind == DescExpr::Kind::kRound) {
    KQ_CHECK(expr.value > 0, kFormat) << "Round() with modulus " << expr.value;
  }
  for (const DescExpr& c : expr.children) CheckExprOrder(c, op_index);
}
}  // namespace

bool IsRowSelection(const DescExpr& e) {
  using K = DescExpr::Kind;
  switch (e.kind) {
    case K::kNode: return true;
    case K::kOffset:
    case K::kReplaceT:
    case K::kRound:
    case K::kSwitch:
      for (const DescExpr& c : e.children)
        if (!IsRowSelection(c)) return false;
      return !e.children.empty();
    default: return false;
  }
}

int32_t SelectedOp(const DescExpr& e) {
  using K = DescExpr::Kind;
  switch (e.kind) {
    case K::kNode: return e.node;
    case K::kOffset:
    case K::kReplaceT:
    case K::kRound:
      return e.children.size() == 1 ? SelectedOp(e.children[0]) : -1;
    case K::kSwitch: {
      int32_t n = -1;
      for (const DescExpr& c : e.children) {
        int32_t m = SelectedOp(c);
        if (m < 0 || (n >= 0 && m != n)) return -1;
        n = m;
      }
      return n;
    }
    default: return -1;
  }
}

void CollectOps(const DescExpr& e, std::vector<int32_t>* out) {
  if (e.kind == DescExpr::Kind::kNode) out->push_back(e.node);
  for (const DescExpr& c : e.children) CollectOps(c, out);
}

void ValidateGraph(const Graph& graph, bool weights_optional) {
  for (size_t i = 0; i < graph.ops.size(); ++i) {
    const Op& op = graph.ops[i];
    try {
      KQ_CHECK(graph.Find(op.name) == static_cast<int32_t>(i), kFormat) << "duplicate op name";
      if (op.type == OpType::kInput) {
        Traits(op.type).validate(op, weights_optional);
        continue;
      }
      KQ_CHECK(!op.input.parts.empty(), kFormat) << "op has no input";
      for (const DescExpr& p : op.input.parts) CheckExprOrder(p, static_cast<int32_t>(i));
      int32_t in_dim = DescriptorDim(graph, op.input);
      KQ_CHECK(in_dim == op.input_dim, kFormat)
          << "input dimension " << in_dim << " does not match the component's " << op.input_dim;
      Traits(op.type).validate(op, weights_optional);
    } catch (const Error& e) {
      throw e.WithContext("op '" + op.name + "' (" + op.component + ")");
    }
  }
  KQ_CHECK(graph.output >= 0 && graph.output < static_cast<int32_t>(graph.ops.size()), kFormat)
      << "network has no output node named 'output'";
}

}  // namespace kaldiq::nnet
