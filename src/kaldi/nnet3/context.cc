// Left/right context the way Kaldi's ComputeSimpleNnetContext finds it: supply "input" frames
// [s, s + window) (and "ivector" frames [s - modulus, s + window)), ask which output frames in
// the same range are computable, and read the context off the first/last computable frame.
// Computability follows Kaldi's IsComputable rules for each descriptor type.
#include "kaldi/nnet3/context.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <unordered_map>

#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

int32_t Mod(int32_t t, int32_t m) {
  int32_t r = t % m;
  return r < 0 ? r + m : r;
}

int32_t DescriptorModulus(const Descriptor& d) {
  int32_t m = 1;
  if (d.type == DescriptorType::kRound) m = d.t_modulus;
  if (d.type == DescriptorType::kSwitch) m = static_cast<int32_t>(d.args.size());
  for (const auto& a : d.args) m = std::lcm(m, DescriptorModulus(a));
  return m;
}

int32_t NnetModulus(const Nnet& nnet) {
  int32_t m = 1;
  for (const auto& node : nnet.nodes)
    if (node.type == NodeType::kComponent || node.type == NodeType::kOutput)
      m = std::lcm(m, DescriptorModulus(node.input));
  return m;
}

// Time offsets whose inputs a component needs before it can produce frame t.
std::vector<int32_t> RequiredOffsets(const Component& c) {
  if (auto* conv = c.As<TimeHeightConvolutionComponent>()) {
    if (!conv->model.required_time_offsets.empty()) return conv->model.required_time_offsets;
  }
  return ComponentTimeOffsets(c);
}

class Evaluator {
 public:
  Evaluator(const Nnet& nnet, int32_t input, int32_t ivector, int32_t start, int32_t end,
            int32_t modulus)
      : nnet_(nnet), input_(input), ivector_(ivector), start_(start), end_(end),
        iv_start_(start - modulus), limit_(10 * (end - start) + 1000) {
    for (size_t n = 0; n < nnet.nodes.size(); ++n) {
      const NnetNode& node = nnet.nodes[n];
      if (node.type == NodeType::kComponent)
        offsets_[n] = RequiredOffsets(nnet.components.at(node.component_index));
    }
  }

  bool Node(int32_t n, int32_t t) {
    if (t < start_ - limit_ || t > end_ + limit_) return false;
    const int64_t key = (static_cast<int64_t>(n) << 32) ^ static_cast<uint32_t>(t);
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second == kYes;  // kBusy (a cycle) counts as "no"
    memo_[key] = kBusy;
    bool ok = false;
    const NnetNode& node = nnet_.nodes[n];
    switch (node.type) {
      case NodeType::kInput:
        if (n == input_) ok = t >= start_ && t < end_;
        else if (n == ivector_) ok = t >= iv_start_ && t < end_;
        break;
      case NodeType::kComponent:
        ok = true;
        for (int32_t o : offsets_[n]) {
          if (!Desc(node.input, t + o)) {
            ok = false;
            break;
          }
        }
        break;
      case NodeType::kOutput:
        ok = Desc(node.input, t);
        break;
      case NodeType::kDimRange:
        ok = Node(node.input_node_index, t);
        break;
    }
    memo_[key] = ok ? kYes : kNo;
    return ok;
  }

 private:
  enum State : char { kBusy, kNo, kYes };

  bool Desc(const Descriptor& d, int32_t t) {
    switch (d.type) {
      case DescriptorType::kNode:
        return Node(d.node_index, t);
      case DescriptorType::kOffset:
        return Desc(d.args[0], t + d.t_offset);
      case DescriptorType::kRound:
        return Desc(d.args[0], t - Mod(t, d.t_modulus));
      case DescriptorType::kReplaceIndex:
        return Desc(d.args[0], d.variable == 't' ? d.value : t);
      case DescriptorType::kIfDefined:
      case DescriptorType::kConst:
        return true;
      case DescriptorType::kFailover:
        return Desc(d.args[0], t) || Desc(d.args[1], t);
      case DescriptorType::kSwitch:
        return Desc(d.args[Mod(t, static_cast<int32_t>(d.args.size()))], t);
      case DescriptorType::kScale:
        return Desc(d.args[0], t);
      case DescriptorType::kAppend:
      case DescriptorType::kSum:
        for (const auto& a : d.args)
          if (!Desc(a, t)) return false;
        return true;
    }
    return false;
  }

  const Nnet& nnet_;
  int32_t input_, ivector_, start_, end_, iv_start_, limit_;
  std::unordered_map<size_t, std::vector<int32_t>> offsets_;
  std::unordered_map<int64_t, State> memo_;
};

}  // namespace

std::vector<int32_t> ComponentTimeOffsets(const Component& c) {
  if (auto* tdnn = c.As<TdnnComponent>()) return tdnn->time_offsets;
  if (auto* conv = c.As<TimeHeightConvolutionComponent>()) {
    std::set<int32_t> s;
    for (const auto& o : conv->model.offsets) s.insert(o.first);
    return std::vector<int32_t>(s.begin(), s.end());
  }
  return {0};
}

NnetContext ComputeContext(const Nnet& nnet, const std::string& output_name) {
  const int32_t out = nnet.NodeIndex(output_name);
  KQ_CHECK(out >= 0 && nnet.nodes[out].type == NodeType::kOutput, kInvalidArgument)
      << "network has no output node '" << output_name << "'";
  const int32_t input = nnet.NodeIndex("input");
  KQ_CHECK(input >= 0 && nnet.nodes[input].type == NodeType::kInput, kInvalidArgument)
      << "network has no input node 'input'";
  int32_t ivector = nnet.NodeIndex("ivector");
  if (ivector >= 0 && nnet.nodes[ivector].type != NodeType::kInput) ivector = -1;

  NnetContext ctx;
  ctx.modulus = NnetModulus(nnet);
  KQ_CHECK(ctx.modulus <= 1000, kUnsupported) << "network modulus " << ctx.modulus << " too large";
  for (int32_t window = 150; ; window *= 2) {
    KQ_CHECK(window <= 2400, kUnsupported)
        << "cannot establish the context of output '" << output_name
        << "': more than 2400 frames, or no output frame is computable";
    bool ok = true;
    int32_t left = 0, right = 0;
    for (int32_t start = 0; start <= ctx.modulus && ok; ++start) {
      Evaluator ev(nnet, input, ivector, start, start + window, ctx.modulus);
      int32_t first_ok = -1, first_not_ok = window;
      for (int32_t i = 0; i < window; ++i) {
        bool c = ev.Node(out, start + i);
        if (c && first_ok < 0) first_ok = i;
        if (!c && first_ok >= 0) {
          first_not_ok = i;
          break;
        }
      }
      if (first_ok < 0) {  // nothing computable: the window is smaller than the context
        ok = false;
        break;
      }
      left = std::max(left, first_ok);
      right = std::max(right, window - first_not_ok);
    }
    if (ok) {
      ctx.left_context = left;
      ctx.right_context = right;
      return ctx;
    }
  }
}

}  // namespace kaldiq::kaldi
