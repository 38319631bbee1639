// ScatterAdd is the exact transpose of Gather on the same row programs: for random descriptor
// programs (Append of Offset, Sum, Scale, Const, IfDefined, Failover, ReplaceIndex, Round,
// Switch parts) over several sequences, <G x, y> = <x, Gᵀ y> (G affine because of Const parts:
// the constant G 0 is subtracted).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "nnet/gather.h"
#include "nnet/planner.h"
#include "test_graphs.h"

namespace kaldiq::nnet {
namespace {

using testing::Node;
using testing::Offset;
using testing::SumOf;
using testing::Wrap;
using K = DescExpr::Kind;

DescExpr Const(float v, int32_t dim) {
  DescExpr e;
  e.kind = K::kConst;
  e.scale = v;
  e.dim = dim;
  return e;
}
DescExpr Binary(K kind, DescExpr a, DescExpr b) {
  DescExpr e;
  e.kind = kind;
  e.children.push_back(std::move(a));
  e.children.push_back(std::move(b));
  return e;
}

int32_t AddCopy(Graph* g, const std::string& name, std::vector<DescExpr> parts) {
  Op op;
  op.name = name;
  op.type = OpType::kCopy;
  op.input.parts = std::move(parts);
  op.output_dim = DescriptorDim(*g, op.input);
  return testing::AddOp(g, std::move(op));
}

// A graph whose op "mix" reads a and b (dim 4, copies of the input at two offsets) and the
// i-vector through every descriptor kind, with random offsets and coefficients.
Graph RandomGraph(std::mt19937* rng, int32_t* mix) {
  std::uniform_int_distribution<int> off(-3, 3);
  std::uniform_real_distribution<float> coef(-2.0f, 2.0f);
  Graph g;
  const int32_t in = testing::AddInput(&g, "input", 4);
  const int32_t iv = testing::AddInput(&g, "ivector", 4);
  const int32_t a = AddCopy(&g, "a", {Offset(in, off(*rng))});
  const int32_t b = AddCopy(&g, "b", {Offset(in, off(*rng)), });
  std::vector<DescExpr> parts;
  parts.push_back(Node(a));
  parts.push_back(Offset(b, off(*rng)));
  parts.push_back(SumOf(Offset(a, off(*rng)), Wrap(K::kScale, Offset(b, off(*rng)), 0, coef(*rng))));
  parts.push_back(SumOf(Const(coef(*rng), 4), Wrap(K::kScale, Node(a), 0, coef(*rng))));
  parts.push_back(Wrap(K::kIfDefined, Offset(a, 9 + off(*rng))));  // defined at early t only
  parts.push_back(Binary(K::kFailover, Offset(b, 9 + off(*rng)), Offset(a, off(*rng))));
  parts.push_back(Wrap(K::kReplaceT, Node(iv), 0));
  parts.push_back(Wrap(K::kRound, Node(a), 2));
  parts.push_back(Binary(K::kSwitch, Offset(a, off(*rng)), Offset(b, off(*rng))));
  parts.push_back(SumOf(Offset(a, -1), Offset(a, -1)));  // one source row twice
  *mix = AddCopy(&g, "mix", std::move(parts));
  g.output = AddCopy(&g, "output", {Node(*mix)});
  g.ops[g.output].type = OpType::kOutput;
  g.UpdateIndex();
  ValidateGraph(g);
  return g;
}

double Dot(const std::vector<float>& x, const std::vector<float>& y) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += double(x[i]) * y[i];
  return s;
}

TEST(Gather, ScatterAddIsTheExactTranspose) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (int trial = 0; trial < 20; ++trial) {
    int32_t mix;
    Graph g = RandomGraph(&rng, &mix);
    PlanRequest request;
    request.inputs = {{g.Find("input"), -6, 14}, {g.Find("ivector"), 0, 0}};
    request.outputs = {{g.output, {0, 1, 2, 3, 5, 8}}};
    ChunkPlan plan;
    BuildChunkPlan(g, request, &plan);
    const int32_t num_seq = 1 + trial % 3;
    // Random source rows x for every op the plan computes.
    std::vector<std::vector<float>> x(g.ops.size());
    std::vector<RowView> views(g.ops.size()), zeros(g.ops.size());
    std::vector<std::vector<float>> zero_rows(g.ops.size());
    std::vector<std::vector<float>> grad(g.ops.size());
    std::vector<Rows> derivs(g.ops.size());
    for (int32_t i : plan.order) {
      const int64_t rows = num_seq * static_cast<int64_t>(plan.ops[i].times.size());
      const int64_t dim = g.ops[i].output_dim;
      x[i].resize(rows * dim);
      for (float& v : x[i]) v = normal(rng);
      zero_rows[i].assign(rows * dim, 0.0f);
      grad[i].assign(rows * dim, 0.0f);
      views[i] = RowView::Float(x[i].data(), dim);
      zeros[i] = RowView::Float(zero_rows[i].data(), dim);
      derivs[i] = Rows{grad[i].data(), rows, dim, dim};
    }
    const int64_t rows = num_seq * static_cast<int64_t>(plan.ops[mix].times.size());
    const int64_t dim = g.ops[mix].input_dim;
    ASSERT_GT(rows, 0);
    std::vector<float> gx(rows * dim), g0(rows * dim), y(rows * dim);
    Gather(plan, mix, num_seq, views, gx.data(), dim);
    Gather(plan, mix, num_seq, zeros, g0.data(), dim);
    for (float& v : y) v = normal(rng);
    for (size_t k = 0; k < gx.size(); ++k) gx[k] -= g0[k];
    ScatterAdd(plan, mix, num_seq, y.data(), dim, derivs);
    double lhs = Dot(gx, y), rhs = 0, scale = 0;
    for (int32_t i : plan.order) {
      rhs += Dot(x[i], grad[i]);
      scale += Dot(grad[i], grad[i]);
    }
    EXPECT_NEAR(lhs, rhs, 1e-5 * (std::abs(lhs) + std::sqrt(scale) + 1)) << "trial " << trial;
    // Sources without a derivative buffer are skipped, the others unchanged in meaning.
    std::vector<Rows> none(g.ops.size());
    ScatterAdd(plan, mix, num_seq, y.data(), dim, none);
  }
}

TEST(Gather, ScatterAddOfOneUnitRowHitsTheGatheredSources) {
  // d input = e_(r, c) must land exactly where Gather read row r's column c from.
  std::mt19937 rng(11);
  int32_t mix;
  Graph g = RandomGraph(&rng, &mix);
  PlanRequest request;
  request.inputs = {{g.Find("input"), -6, 14}, {g.Find("ivector"), 0, 0}};
  request.outputs = {{g.output, {0, 2, 4}}};
  ChunkPlan plan;
  BuildChunkPlan(g, request, &plan);
  const int64_t rows = static_cast<int64_t>(plan.ops[mix].times.size());
  const int64_t dim = g.ops[mix].input_dim;
  std::vector<std::vector<float>> grad(g.ops.size()), x(g.ops.size()), z(g.ops.size());
  std::vector<Rows> derivs(g.ops.size());
  std::vector<RowView> views(g.ops.size()), zeros(g.ops.size());
  for (int32_t i : plan.order) {
    const int64_t n = static_cast<int64_t>(plan.ops[i].times.size()) * g.ops[i].output_dim;
    grad[i].assign(n, 0.0f);
    x[i].assign(n, 0.0f);
    z[i].assign(n, 0.0f);
    derivs[i] = Rows{grad[i].data(), n / g.ops[i].output_dim, g.ops[i].output_dim,
                     g.ops[i].output_dim};
    views[i] = RowView::Float(x[i].data(), g.ops[i].output_dim);
    zeros[i] = RowView::Float(z[i].data(), g.ops[i].output_dim);
  }
  std::vector<float> g0(rows * dim), gx(rows * dim);
  Gather(plan, mix, 1, zeros, g0.data(), dim);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < dim; c += 3) {
      std::vector<float> e(rows * dim, 0.0f);
      e[r * dim + c] = 1.0f;
      for (auto& v : grad) std::fill(v.begin(), v.end(), 0.0f);
      ScatterAdd(plan, mix, 1, e.data(), dim, derivs);
      // Gather with x = the scattered gradient reads back ∑ coef² at (r, c) and ∑ coef·coef'
      // elsewhere; at least it must equal <Gᵀe, Gᵀe> at (r, c).
      for (int32_t i : plan.order) x[i] = grad[i];
      Gather(plan, mix, 1, views, gx.data(), dim);
      double norm = 0;
      for (int32_t i : plan.order) norm += Dot(grad[i], grad[i]);
      EXPECT_NEAR(gx[r * dim + c] - g0[r * dim + c], norm, 1e-5 * (1 + norm))
          << "row " << r << " col " << c;
    }
  }
}

}  // namespace
}  // namespace kaldiq::nnet
