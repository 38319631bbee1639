#include "nnet/looped.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "util/error.h"

namespace kaldiq::nnet {

namespace {

void ExprModulus(const DescExpr& e, int32_t* modulus) {
  int32_t m = 1;
  if (e.kind == DescExpr::Kind::kRound) m = e.value;
  if (e.kind == DescExpr::Kind::kSwitch) m = static_cast<int32_t>(e.children.size());
  if (m > 1) *modulus = std::lcm(*modulus, m);
  for (const DescExpr& c : e.children) ExprModulus(c, modulus);
}

int32_t InputOp(const Graph& g, const char* name) {
  const int32_t i = g.Find(name);
  return i >= 0 && g.ops[i].type == OpType::kInput ? i : -1;
}

// True when op i's rows at time t (chunk-relative) are needed by a later chunk: t - mF is a
// needed time of the pattern for some m >= 1.
bool NeededLater(const std::vector<int32_t>& needed, int32_t t, int32_t F) {
  for (int32_t u = t - F; !needed.empty() && u >= needed.front(); u -= F)
    if (std::binary_search(needed.begin(), needed.end(), u)) return true;
  return false;
}

// Upper bound on the plans before the layout must repeat: far more than any feed-forward
// network needs (its held rows span at most its context, a few chunks).
constexpr int kMaxLoopedPlans = 64;

}  // namespace

int32_t GraphModulus(const Graph& graph) {
  int32_t modulus = 1;
  for (const Op& op : graph.ops)
    for (const DescExpr& p : op.input.parts) ExprModulus(p, &modulus);
  return modulus;
}

int32_t LoopedChunkSize(const Graph& graph, int32_t frame_subsampling_factor, int32_t advised) {
  KQ_CHECK(frame_subsampling_factor >= 1 && advised >= 1, kInvalidArgument)
      << "--frame-subsampling-factor and --frames-per-chunk must be > 0";
  const int32_t step = std::lcm(GraphModulus(graph), frame_subsampling_factor);
  return (advised + step - 1) / step * step;
}

LoopedPlans BuildLoopedPlans(const ExecutableNet& net, const LoopedOptions& opts) {
  const Graph& g = net.graph;
  KQ_CHECK(opts.extra_left_context_initial >= 0, kInvalidArgument)
      << "--extra-left-context-initial must be >= 0";
  KQ_CHECK(g.output >= 0, kFormat) << "network has no output node named 'output'";
  LoopedPlans lp;
  lp.subsampling = opts.frame_subsampling_factor;
  lp.frames_per_chunk = LoopedChunkSize(g, opts.frame_subsampling_factor, opts.frames_per_chunk);
  lp.left_context = net.left_context + opts.extra_left_context_initial;
  lp.right_context = net.right_context;
  const int32_t F = lp.frames_per_chunk;
  const int32_t n = static_cast<int32_t>(g.ops.size());

  PlanRequest::Output out;
  out.op = g.output;
  for (int32_t t = 0; t < F; t += lp.subsampling) out.times.push_back(t);
  const std::vector<std::vector<int32_t>> needed = NeededTimesUnbounded(g, {out});
  const int32_t input = InputOp(g, "input");
  KQ_CHECK(input >= 0 && !needed[input].empty(), kUnsupported)
      << "looped evaluation needs an 'output' that depends on the 'input' features";
  for (int32_t i = 0; i < n; ++i) {
    const Op& op = g.ops[i];
    if (needed[i].empty() || op.type == OpType::kInput) continue;
    const uint32_t props = Traits(op.type).props;
    KQ_CHECK((props & kView) || (props & kRowWise), kUnsupported)
        << "op '" << op.name << "' (" << op.component
        << ") is not row-wise, so it cannot be evaluated in a loop";
  }
  std::vector<int32_t> inputs;
  for (int32_t i : g.inputs)
    if (g.ops[i].type == OpType::kInput && !needed[i].empty()) inputs.push_back(i);

  std::vector<std::vector<int32_t>> prev_times;  // the previous plan's layout
  for (int k = 0; k < kMaxLoopedPlans; ++k) {
    ChunkPlan plan;
    plan.ops.resize(n);
    plan.inputs = inputs;
    plan.outputs = {g.output};
    for (int32_t i = 0; i < n; ++i) {
      const std::vector<int32_t>& need = needed[i];
      if (need.empty()) continue;
      const Op& op = g.ops[i];
      OpPlan& p = plan.ops[i];
      // Rows of the previous chunk still needed now or later are carried (never for views:
      // their rows are their source's).
      std::vector<std::pair<int32_t, int32_t>> kept;  // (time, row in the previous layout)
      const bool carries = op.type == OpType::kInput || !(Traits(op.type).props & kView);
      if (k > 0 && carries) {
        for (size_t r = 0; r < prev_times[i].size(); ++r) {
          const int32_t t = prev_times[i][r] - F;
          if (std::binary_search(need.begin(), need.end(), t) || NeededLater(need, t, F))
            kept.push_back({t, static_cast<int32_t>(r)});
        }
        std::sort(kept.begin(), kept.end());
      }
      for (const auto& [t, r] : kept) {
        p.times.push_back(t);
        p.carry_rows.push_back(r);
      }
      p.num_carried = static_cast<int32_t>(kept.size());
      size_t j = 0;
      for (int32_t t : need) {
        while (j < kept.size() && kept[j].first < t) ++j;
        if (j < kept.size() && kept[j].first == t) continue;
        p.times.push_back(t);
      }
    }
    CompleteLaidOutPlan(g, &plan);
    const OpPlan& in_plan = plan.ops[input];
    std::pair<int32_t, int32_t> range{1, 0};
    if (in_plan.NumComputed() > 0) {
      const auto first = in_plan.times.begin() + in_plan.num_carried;
      range = {*std::min_element(first, in_plan.times.end()),
               *std::max_element(first, in_plan.times.end())};
      // The chunk reads the contiguous frames [first, last] (the caller copies them).
      KQ_CHECK(range.second - range.first + 1 == in_plan.NumComputed(), kUnsupported)
          << "looped evaluation: the new input frames of a chunk are not contiguous";
    }
    std::vector<std::vector<int32_t>> times(n);
    for (int32_t i = 0; i < n; ++i) times[i] = plan.ops[i].times;
    const bool steady = k > 0 && times == prev_times;
    lp.plans.push_back(std::move(plan));
    lp.new_input.push_back(range);
    if (steady) return lp;
    prev_times = std::move(times);
  }
  KQ_THROW(kUnsupported) << "looped evaluation: the chunk layout does not settle after "
                         << kMaxLoopedPlans << " chunks (a recurrent network?)";
}

LoopedComputer::LoopedComputer(const ExecutableNet& net, const LoopedOptions& opts)
    : net_(net),
      plans_(BuildLoopedPlans(net, opts)),
      computer_(net.graph,
                [&net] {
                  std::vector<const LinearKernel*> k(net.graph.ops.size(), nullptr);
                  for (size_t i = 0; i < net.kernels.size() && i < k.size(); ++i)
                    k[i] = net.kernels[i].get();
                  return k;
                }(),
                &net.u8_outputs) {
  feature_input_ = InputOp(net.graph, "input");
  ivector_input_ = InputOp(net.graph, "ivector");
  input_dim_ = net.graph.InputDim("input");
  ivector_dim_ = net.graph.InputDim("ivector");
}

LoopedComputer::~LoopedComputer() = default;

int32_t LoopedComputer::OutputDim() const { return net_.graph.OutputDim(); }

void LoopedComputer::NewInputRange(int64_t k, int64_t* begin, int64_t* end) const {
  const auto& r = plans_.new_input[std::min<int64_t>(k, plans_.new_input.size() - 1)];
  const int64_t origin = k * plans_.frames_per_chunk;
  if (r.first > r.second) {
    *begin = *end = origin;
    return;
  }
  *begin = origin + r.first;
  *end = origin + r.second + 1;
}

ConstRows LoopedComputer::ComputeChunk(const float* feats, int64_t stride, const float* ivector) {
  KQ_CHECK((ivector != nullptr) == (ivector_dim_ > 0), kInvalidArgument)
      << (ivector_dim_ > 0 ? "the network needs an i-vector for every chunk"
                           : "an i-vector was given but the network has no i-vector input");
  const int64_t k = chunks_done_;
  const ChunkPlan& plan = plans_.ForChunk(k);
  int64_t begin, end;
  NewInputRange(k, &begin, &end);
  KQ_CHECK(end == begin || feats != nullptr, kInvalidArgument) << "no input frames given";
  const int64_t origin = k * plans_.frames_per_chunk;
  inputs_.assign(plan.inputs.size(), InputRows());
  for (size_t j = 0; j < plan.inputs.size(); ++j) {
    InputRows& rows = inputs_[j];
    if (plan.inputs[j] == feature_input_) {
      rows.data = feats;
      rows.rows = end - begin;
      rows.stride = stride;
      rows.first_t = static_cast<int32_t>(begin - origin);
    } else if (plan.inputs[j] == ivector_input_) {
      rows.data = ivector;
      rows.rows = 1;
      rows.stride = ivector_dim_;
      rows.clamp = true;  // the chunk's i-vector for every time it needs
    }
  }
  computer_.Forward(plan, 1, inputs_);
  ++chunks_done_;
  return computer_.ValueAsFloat(net_.graph.output);
}

void LoopedComputer::Reset() { chunks_done_ = 0; }

}  // namespace kaldiq::nnet
