#include "nnet/planner.h"

#include <algorithm>
#include <set>
#include <string>
#include <unordered_map>

#include "util/error.h"

namespace kaldiq::nnet {

namespace {

int32_t FloorDiv(int32_t a, int32_t b) {
  int32_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int32_t Mod(int32_t a, int32_t b) {
  int32_t m = a % b;
  return m < 0 ? m + b : m;
}

struct Ref {
  int32_t op;
  int32_t t;
  float coef;
};

// Answers "can op i be computed at time t" given the available inputs, with memoisation.
class Availability {
 public:
  // context_mode: every input time exists, IfDefined inputs are treated as absent and Failover
  // takes its fallback (so the result is the minimal context Kaldi reports).
  // ranges[i]: the times input op i can supply (first > last: none).
  Availability(const Graph& g, std::vector<std::pair<int32_t, int32_t>> ranges, bool context_mode)
      : g_(g), ranges_(std::move(ranges)), context_mode_(context_mode), memo_(g.ops.size()) {}

  bool Op(int32_t i, int32_t t) {
    if (context_mode_) return true;
    auto it = memo_[i].find(t);
    if (it != memo_[i].end()) return it->second;
    const nnet::Op& op = g_.ops[i];
    bool ok;
    if (op.type == OpType::kInput) {
      ok = t >= ranges_[i].first && t <= ranges_[i].second;
    } else {
      ok = true;
      for (const DescExpr& p : op.input.parts) ok = ok && Expr(p, t);
    }
    memo_[i][t] = ok;
    return ok;
  }

  bool Expr(const DescExpr& e, int32_t t) {
    using K = DescExpr::Kind;
    switch (e.kind) {
      case K::kNode: return Op(e.node, t);
      case K::kOffset: return Expr(e.children[0], t + e.value);
      case K::kReplaceT: return Expr(e.children[0], e.value);
      case K::kRound: return Expr(e.children[0], FloorDiv(t, e.value) * e.value);
      case K::kSwitch:
        return Expr(e.children[Mod(t, static_cast<int32_t>(e.children.size()))], t);
      case K::kScale: return Expr(e.children[0], t);
      case K::kSum: return Expr(e.children[0], t) && Expr(e.children[1], t);
      case K::kConst: return true;
      case K::kIfDefined: return true;
      case K::kFailover: return Expr(e.children[0], t) || Expr(e.children[1], t);
    }
    return false;
  }

  // Appends the (op, time, coefficient) references that evaluating e at t reads; adds constant
  // contributions to *constant.
  void Collect(const DescExpr& e, int32_t t, float coef, std::vector<Ref>* refs,
               float* constant) {
    using K = DescExpr::Kind;
    switch (e.kind) {
      case K::kNode: refs->push_back(Ref{e.node, t, coef}); return;
      case K::kOffset: Collect(e.children[0], t + e.value, coef, refs, constant); return;
      case K::kReplaceT: Collect(e.children[0], e.value, coef, refs, constant); return;
      case K::kRound:
        Collect(e.children[0], FloorDiv(t, e.value) * e.value, coef, refs, constant);
        return;
      case K::kSwitch:
        Collect(e.children[Mod(t, static_cast<int32_t>(e.children.size()))], t, coef, refs,
                constant);
        return;
      case K::kScale: Collect(e.children[0], t, coef * e.scale, refs, constant); return;
      case K::kSum:
        Collect(e.children[0], t, coef, refs, constant);
        Collect(e.children[1], t, coef, refs, constant);
        return;
      case K::kConst: *constant += coef * e.scale; return;
      case K::kIfDefined:
        if (!context_mode_ && Expr(e.children[0], t)) Collect(e.children[0], t, coef, refs, constant);
        return;
      case K::kFailover:
        if (!context_mode_ && Expr(e.children[0], t))
          Collect(e.children[0], t, coef, refs, constant);
        else
          Collect(e.children[1], t, coef, refs, constant);
        return;
    }
  }

 private:
  const Graph& g_;
  std::vector<std::pair<int32_t, int32_t>> ranges_;
  bool context_mode_;
  std::vector<std::unordered_map<int32_t, bool>> memo_;
};

// Propagates the needed time sets from the requested outputs down to the inputs.
std::vector<std::set<int32_t>> NeededTimes(const Graph& g, Availability* avail,
                                           const std::vector<PlanRequest::Output>& outputs) {
  std::vector<std::set<int32_t>> needed(g.ops.size());
  int32_t last = -1;
  for (const PlanRequest::Output& o : outputs) {
    needed[o.op].insert(o.times.begin(), o.times.end());
    last = std::max(last, o.op);
  }
  std::vector<Ref> refs;
  for (int32_t i = last; i >= 0; --i) {
    const Op& op = g.ops[i];
    if (op.type == OpType::kInput) continue;
    for (int32_t t : needed[i]) {
      for (const DescExpr& p : op.input.parts) {
        refs.clear();
        float constant = 0;
        avail->Collect(p, t, 1.0f, &refs, &constant);
        for (const Ref& r : refs) needed[r.op].insert(r.t);
      }
    }
  }
  return needed;
}

// Fills plan->order and, for the computed rows of every op with times (rows num_carried ..),
// the row programs and aliases; plan->ops[i].times (row order) and num_carried are given.
void BuildPrograms(const Graph& g, Availability* avail, ChunkPlan* plan) {
  plan->order.clear();
  // Row index of (op, t): times are dense enough that a per-op offset table is simplest.
  std::vector<int32_t> min_t(g.ops.size(), 0);
  std::vector<std::vector<int32_t>> row_of(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const std::vector<int32_t>& times = plan->ops[i].times;
    if (times.empty()) continue;
    const auto [lo, hi] = std::minmax_element(times.begin(), times.end());
    min_t[i] = *lo;
    row_of[i].assign(*hi - *lo + 1, -1);
    for (size_t r = 0; r < times.size(); ++r) {
      KQ_CHECK(row_of[i][times[r] - *lo] < 0, kInternal)
          << "planner: time " << times[r] << " twice in op '" << g.ops[i].name << "'";
      row_of[i][times[r] - *lo] = static_cast<int32_t>(r);
    }
    plan->order.push_back(static_cast<int32_t>(i));
  }
  auto row = [&](int32_t op, int32_t t) {
    int32_t k = t - min_t[op];
    KQ_CHECK(k >= 0 && k < static_cast<int32_t>(row_of[op].size()) && row_of[op][k] >= 0,
             kInternal) << "planner: time " << t << " of op '" << g.ops[op].name
                        << "' was not scheduled";
    return row_of[op][k];
  };

  std::vector<Ref> refs;
  for (int32_t i : plan->order) {
    const Op& op = g.ops[i];
    if (op.type == OpType::kInput) continue;
    OpPlan& op_plan = plan->ops[i];
    op_plan.parts.clear();
    op_plan.alias_op = -1;
    op_plan.alias_row = 0;
    int32_t col = 0;
    for (const DescExpr& p : op.input.parts) {
      PartProgram prog;
      prog.col_offset = col;
      prog.dim = ExprDim(g, p);
      col += prog.dim;
      bool simple = true;
      int32_t src_op = -1;
      prog.row_begin.push_back(0);
      for (size_t r = static_cast<size_t>(op_plan.num_carried); r < op_plan.times.size(); ++r) {
        const int32_t t = op_plan.times[r];
        refs.clear();
        float constant = 0;
        avail->Collect(p, t, 1.0f, &refs, &constant);
        for (const Ref& ref : refs) prog.terms.push_back({ref.op, row(ref.op, ref.t), ref.coef});
        prog.row_begin.push_back(static_cast<int32_t>(prog.terms.size()));
        prog.constants.push_back(constant);
        if (refs.size() != 1 || refs[0].coef != 1.0f || constant != 0.0f ||
            (src_op >= 0 && refs[0].op != src_op)) {
          simple = false;
        } else {
          src_op = refs[0].op;
        }
      }
      if (simple && src_op >= 0) {
        prog.src_op = src_op;
        for (const PartProgram::Term& term : prog.terms) prog.src_rows.push_back(term.src_row);
        prog.terms.clear();
        prog.row_begin.clear();
        prog.constants.clear();
      }
      op_plan.parts.push_back(std::move(prog));
    }
    // A single part that copies consecutive rows of one op needs no gather at all.
    if (op_plan.parts.size() == 1 && op_plan.parts[0].src_op >= 0) {
      const std::vector<int32_t>& rows = op_plan.parts[0].src_rows;
      bool consecutive = !rows.empty();
      for (size_t r = 1; r < rows.size() && consecutive; ++r)
        consecutive = rows[r] == rows[0] + static_cast<int32_t>(r);
      if (consecutive) {
        op_plan.alias_op = op_plan.parts[0].src_op;
        op_plan.alias_row = rows[0];
      }
    }
  }
}

// Every input op supplies every time within this range (an unbounded stream, for looped
// plans).
constexpr int32_t kUnboundedTime = 1 << 28;

}  // namespace

void BuildChunkPlan(const Graph& g, const PlanRequest& request, ChunkPlan* plan) {
  const int32_t num_ops = static_cast<int32_t>(g.ops.size());
  std::vector<std::pair<int32_t, int32_t>> ranges(g.ops.size(), {1, 0});
  plan->inputs.clear();
  for (const PlanRequest::Input& in : request.inputs) {
    KQ_CHECK(in.op >= 0 && in.op < num_ops && g.ops[in.op].type == OpType::kInput, kInternal)
        << "plan request: op " << in.op << " is not an input op";
    ranges[in.op] = {in.first_t, in.last_t};
    plan->inputs.push_back(in.op);
  }
  Availability avail(g, ranges, false);
  plan->outputs.clear();
  for (const PlanRequest::Output& out : request.outputs) {
    KQ_CHECK(out.op >= 0 && out.op < num_ops && !out.times.empty(), kInternal)
        << "plan request: bad output op " << out.op;
    for (size_t k = 0; k < out.times.size(); ++k) {
      const int32_t t = out.times[k];
      KQ_CHECK(k == 0 || t > out.times[k - 1], kInternal)
          << "plan request: output times of '" << g.ops[out.op].name << "' not increasing";
      if (avail.Op(out.op, t)) continue;
      std::string inputs;
      for (const PlanRequest::Input& in : request.inputs) {
        inputs += (inputs.empty() ? "'" : ", '") + g.ops[in.op].name + "' at [" +
                  std::to_string(in.first_t) + ", " + std::to_string(in.last_t) + "]";
      }
      KQ_THROW(kInvalidArgument)
          << "the network output '" << g.ops[out.op].name << "' at relative time " << t
          << " cannot be computed from the chunk's inputs (" << inputs
          << ") (missing input or i-vector)";
    }
    plan->outputs.push_back(out.op);
  }
  std::vector<std::set<int32_t>> needed = NeededTimes(g, &avail, request.outputs);

  plan->ops.assign(g.ops.size(), OpPlan());
  for (size_t i = 0; i < g.ops.size(); ++i)
    plan->ops[i].times.assign(needed[i].begin(), needed[i].end());
  BuildPrograms(g, &avail, plan);
}

void BuildChunkPlan(const Graph& g, int32_t num_output_rows, int32_t subsampling,
                    int32_t first_input, int32_t last_input, ChunkPlan* plan) {
  PlanRequest request;
  const int32_t input = g.Find("input"), ivector = g.Find("ivector");
  if (input >= 0 && g.ops[input].type == OpType::kInput)
    request.inputs.push_back({input, first_input, last_input});
  if (ivector >= 0 && g.ops[ivector].type == OpType::kInput) request.inputs.push_back({ivector, 0, 0});
  KQ_CHECK(g.output >= 0, kFormat) << "network has no output node named 'output'";
  PlanRequest::Output out;
  out.op = g.output;
  for (int32_t i = 0; i < num_output_rows; ++i) out.times.push_back(i * subsampling);
  request.outputs.push_back(std::move(out));
  BuildChunkPlan(g, request, plan);
}

std::vector<std::vector<int32_t>> NeededTimesUnbounded(
    const Graph& g, const std::vector<PlanRequest::Output>& outputs) {
  std::vector<std::pair<int32_t, int32_t>> ranges(g.ops.size(), {1, 0});
  for (size_t i = 0; i < g.ops.size(); ++i)
    if (g.ops[i].type == OpType::kInput) ranges[i] = {-kUnboundedTime, kUnboundedTime};
  for (const PlanRequest::Output& o : outputs) {
    KQ_CHECK(o.op >= 0 && o.op < static_cast<int32_t>(g.ops.size()) && !o.times.empty(),
             kInternal) << "plan request: bad output op " << o.op;
  }
  Availability avail(g, ranges, false);
  std::vector<std::set<int32_t>> needed = NeededTimes(g, &avail, outputs);
  std::vector<std::vector<int32_t>> out(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i) out[i].assign(needed[i].begin(), needed[i].end());
  return out;
}

void CompleteLaidOutPlan(const Graph& g, ChunkPlan* plan) {
  KQ_CHECK(plan->ops.size() == g.ops.size(), kInternal) << "plan of another graph";
  std::vector<std::pair<int32_t, int32_t>> ranges(g.ops.size(), {1, 0});
  for (size_t i = 0; i < g.ops.size(); ++i)
    if (g.ops[i].type == OpType::kInput) ranges[i] = {-kUnboundedTime, kUnboundedTime};
  Availability avail(g, ranges, false);
  BuildPrograms(g, &avail, plan);
}

void ComputeContext(const Graph& g, int32_t* left_context, int32_t* right_context) {
  *left_context = 0;
  *right_context = 0;
  int32_t input = g.Find("input");
  KQ_CHECK(input >= 0 && g.ops[input].type == OpType::kInput, kFormat)
      << "network has no input node named 'input'";
  KQ_CHECK(g.output >= 0, kFormat) << "network has no output node named 'output'";
  Availability avail(g, {}, true);
  PlanRequest::Output out;
  out.op = g.output;
  out.times = {0};
  std::vector<std::set<int32_t>> needed = NeededTimes(g, &avail, {out});
  KQ_CHECK(!needed[input].empty(), kFormat) << "the output does not depend on 'input'";
  *left_context = std::max(0, -*needed[input].begin());
  *right_context = std::max(0, *needed[input].rbegin());
}

}  // namespace kaldiq::nnet
