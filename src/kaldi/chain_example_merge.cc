#include "kaldi/chain_example_merge.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>

#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

bool ParsePositiveInt(const std::string& s, int32_t* out) {
  std::string t = s;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  size_t b = 0;
  while (b < t.size() && std::isspace(static_cast<unsigned char>(t[b]))) ++b;
  t = t.substr(b);
  if (t.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v > std::numeric_limits<int32_t>::max() ||
      v < std::numeric_limits<int32_t>::min())
    return false;
  *out = static_cast<int32_t>(v);
  return true;
}

}  // namespace

MinibatchSizeRules::MinibatchSizeRules(const std::string& spec) : spec_(spec) {
  auto fail = [&](const std::string& why) {
    KQ_THROW(kInvalidArgument) << "Could not parse option --minibatch-size=" << spec << why;
  };
  if (spec.empty()) fail("");
  const std::vector<std::string> rules = Split(spec, '/');
  for (const std::string& rule_str : rules) {
    Rule rule;
    std::string set_str = rule_str;
    const size_t eq = rule_str.find('=');
    if (eq != std::string::npos) {
      const std::vector<std::string> parts = Split(rule_str, '=');
      if (parts.size() != 2 || !ParsePositiveInt(parts[0], &rule.eg_size)) fail("");
      set_str = parts[1];
    } else if (rules.size() != 1) {
      fail(" (all rules must have eg-size specified if >1 rule)");
    }
    const std::vector<std::string> ranges = Split(set_str, ',');
    for (const std::string& range : ranges) {
      const std::vector<std::string> ends = Split(range, ':');
      int32_t a = 0, b = 0;
      if (ends.size() < 1 || ends.size() > 2 || !ParsePositiveInt(ends.front(), &a) ||
          !ParsePositiveInt(ends.back(), &b) || a > b || a <= 0)
        fail("");
      rule.ranges.emplace_back(a, b);
      rule.largest = std::max(rule.largest, b);
    }
    rules_.push_back(rule);
  }
  std::set<int32_t> sizes;
  for (const Rule& r : rules_) {
    KQ_CHECK(sizes.insert(r.eg_size).second, kInvalidArgument)
        << "Invalid --minibatch-size=" << spec << " (repeated example-sizes)";
  }
}

int32_t MinibatchSizeRules::MinibatchSize(int32_t eg_size, int32_t num_available,
                                          bool input_ended) const {
  if (num_available <= 0) return 0;
  size_t closest = 0;
  int64_t min_distance = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < rules_.size(); ++i) {
    const int64_t d = std::llabs(static_cast<int64_t>(eg_size) - rules_[i].eg_size);
    if (d < min_distance) {
      min_distance = d;
      closest = i;
    }
  }
  const Rule& rule = rules_[closest];
  if (!input_ended) return rule.largest <= num_available ? rule.largest : 0;
  // LargestValueInRange(num_available).
  int32_t ans = 0;
  for (const auto& [lo, hi] : rule.ranges) {
    int32_t possible = 0;
    if (num_available >= lo) possible = num_available >= hi ? hi : num_available;
    ans = std::max(ans, possible);
  }
  return ans;
}

std::string HalveMinibatchSizeString(const std::string& spec) {
  // train.py: halve every number that is a minibatch size (the part after '=' of each rule).
  std::string out;
  const std::vector<std::string> rules = Split(spec, '/');
  for (size_t r = 0; r < rules.size(); ++r) {
    if (r) out += '/';
    std::string set = rules[r];
    const size_t eq = set.find('=');
    if (eq != std::string::npos) {
      out += set.substr(0, eq + 1);
      set = set.substr(eq + 1);
    }
    const std::vector<std::string> ranges = Split(set, ',');
    for (size_t i = 0; i < ranges.size(); ++i) {
      if (i) out += ',';
      const std::vector<std::string> ends = Split(ranges[i], ':');
      for (size_t j = 0; j < ends.size(); ++j) {
        if (j) out += ':';
        int32_t v = 0;
        KQ_CHECK(ParsePositiveInt(ends[j], &v), kInvalidArgument)
            << "invalid minibatch size string '" << spec << "'";
        out += std::to_string(std::max(1, v / 2));
      }
    }
  }
  return out;
}

int32_t ChainExampleSize(const NnetChainExample& eg) {
  size_t ans = 0;
  for (const NnetIo& io : eg.inputs) ans = std::max(ans, io.indexes.size());
  for (const NnetChainSupervision& s : eg.outputs) ans = std::max(ans, s.indexes.size());
  return static_cast<int32_t>(ans);
}

bool SameChainExampleStructure(const NnetChainExample& a, const NnetChainExample& b) {
  if (a.inputs.size() != b.inputs.size() || a.outputs.size() != b.outputs.size()) return false;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const NnetIo &x = a.inputs[i], &y = b.inputs[i];
    if (x.name != y.name || x.features.NumRows() != y.features.NumRows() ||
        x.features.NumCols() != y.features.NumCols() || x.indexes != y.indexes)
      return false;
  }
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    if (a.outputs[i].name != b.outputs[i].name || a.outputs[i].indexes != b.outputs[i].indexes)
      return false;
  }
  return true;
}

StdFst ConcatSupervisionFsts(const std::vector<const StdFst*>& fsts) {
  KQ_CHECK(!fsts.empty(), kInvalidArgument) << "no FSTs to concatenate";
  if (fsts.size() == 1) return *fsts[0];
  const float kInf = std::numeric_limits<float>::infinity();
  const int32_t n = static_cast<int32_t>(fsts.size());
  // Concat(fst_i, &out) for i = n-2 .. 0 appends fst_i's states after out's: the layout is
  // [fst_{n-1}][fst_{n-2}]...[fst_0]. offset[i] = first state of fst_i.
  std::vector<int64_t> offset(n);
  int64_t total = 0;
  for (int32_t i = n - 1; i >= 0; --i) {
    KQ_CHECK(fsts[i]->start >= 0, kInvalidArgument) << "cannot concatenate an empty FST";
    offset[i] = total;
    total += fsts[i]->NumStates();
  }
  KQ_CHECK(total < std::numeric_limits<int32_t>::max(), kInvalidArgument)
      << "concatenated FST too large";
  // RmEpsilon (connect = true): every state with a non-epsilon incoming arc (or the start)
  // gets its epsilon closure's arcs -- for a final state of fst_i (i < n-1): its own arcs, then
  // the arcs of fst_{i+1}'s start with the final weight added -- with duplicates
  // (label, nextstate) merged by min, in reverse order. The start states of fst_1..fst_{n-1}
  // lose their arcs; Connect() then removes every state not both accessible and coaccessible.
  std::vector<float> finals(static_cast<size_t>(total), kInf);
  std::vector<std::vector<StdArc>> arcs(static_cast<size_t>(total));
  std::vector<bool> noneps_in(static_cast<size_t>(total), false);
  noneps_in[offset[0] + fsts[0]->start] = true;
  for (int32_t i = 0; i < n; ++i) {
    const StdFst& f = *fsts[i];
    for (int32_t s = 0; s < f.NumStates(); ++s)
      for (const StdArc* a = f.ArcsBegin(s); a != f.ArcsEnd(s); ++a)
        noneps_in[offset[i] + a->nextstate] = true;  // supervision arcs are never epsilons
  }
  std::vector<StdArc> closure;
  std::unordered_map<uint64_t, size_t> seen;
  for (int32_t i = 0; i < n; ++i) {
    const StdFst& f = *fsts[i];
    for (int32_t s = 0; s < f.NumStates(); ++s) {
      const int64_t state = offset[i] + s;
      if (!noneps_in[state]) continue;
      closure.clear();
      seen.clear();
      auto add = [&](const StdArc& a, int64_t shift, float extra) {
        StdArc arc = a;
        arc.nextstate = static_cast<int32_t>(a.nextstate + shift);
        arc.weight = extra + a.weight;  // tropical Times
        const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(arc.ilabel)) << 32) |
                             static_cast<uint32_t>(arc.nextstate);
        auto [it, inserted] = seen.emplace(key, closure.size());
        if (inserted) {
          closure.push_back(arc);
        } else {
          closure[it->second].weight = std::min(closure[it->second].weight, arc.weight);
        }
      };
      for (const StdArc* a = f.ArcsBegin(s); a != f.ArcsEnd(s); ++a) add(*a, offset[i], 0.0f);
      if (f.IsFinal(s) && i + 1 < n) {
        const StdFst& g = *fsts[i + 1];
        for (const StdArc* a = g.ArcsBegin(g.start); a != g.ArcsEnd(g.start); ++a)
          add(*a, offset[i + 1], f.finals[s]);
        KQ_CHECK(!g.IsFinal(g.start), kInvalidArgument)
            << "cannot concatenate supervision FSTs whose start state is final";
      } else if (f.IsFinal(s)) {
        finals[state] = f.finals[s];
      }
      arcs[state].assign(closure.rbegin(), closure.rend());
    }
  }
  // Connect: keep states reachable from the start that reach a final state.
  const int64_t start = offset[0] + fsts[0]->start;
  std::vector<bool> access(static_cast<size_t>(total), false), coaccess(access);
  std::vector<int64_t> stack{start};
  access[start] = true;
  while (!stack.empty()) {
    const int64_t s = stack.back();
    stack.pop_back();
    for (const StdArc& a : arcs[s]) {
      if (!access[a.nextstate]) {
        access[a.nextstate] = true;
        stack.push_back(a.nextstate);
      }
    }
  }
  std::vector<std::vector<int64_t>> reverse(static_cast<size_t>(total));
  for (int64_t s = 0; s < total; ++s)
    for (const StdArc& a : arcs[s]) reverse[a.nextstate].push_back(s);
  for (int64_t s = 0; s < total; ++s) {
    if (finals[s] != kInf) {
      coaccess[s] = true;
      stack.push_back(s);
    }
  }
  while (!stack.empty()) {
    const int64_t s = stack.back();
    stack.pop_back();
    for (int64_t r : reverse[s]) {
      if (!coaccess[r]) {
        coaccess[r] = true;
        stack.push_back(r);
      }
    }
  }
  // DeleteStates keeps the order of the survivors.
  std::vector<int64_t> renumber(static_cast<size_t>(total), -1);
  int64_t kept = 0;
  for (int64_t s = 0; s < total; ++s)
    if (access[s] && coaccess[s]) renumber[s] = kept++;
  KQ_CHECK(renumber[start] >= 0, kInvalidArgument) << "concatenated FST is empty";
  // SortBreadthFirstSearch: number states in BFS order from the start (arcs in order), then
  // StateSort, which keeps each state's arc order.
  std::vector<int64_t> order(static_cast<size_t>(total), -1);  // old state -> BFS number
  std::vector<int64_t> by_order;
  by_order.reserve(static_cast<size_t>(kept));
  order[start] = 0;
  by_order.push_back(start);
  for (size_t q = 0; q < by_order.size(); ++q) {
    for (const StdArc& a : arcs[by_order[q]]) {
      if (renumber[a.nextstate] < 0 || order[a.nextstate] >= 0) continue;
      order[a.nextstate] = static_cast<int64_t>(by_order.size());
      by_order.push_back(a.nextstate);
    }
  }
  KQ_CHECK(static_cast<int64_t>(by_order.size()) == kept, kInternal)
      << "concatenated FST is not connected after Connect()";
  StdFst out;
  out.start = 0;
  for (int64_t old : by_order) {
    out.AddState(finals[old]);
    for (const StdArc& a : arcs[old]) {
      if (renumber[a.nextstate] < 0) continue;  // arcs into removed states go with them
      StdArc b = a;
      b.nextstate = static_cast<int32_t>(order[a.nextstate]);
      out.AddArc(b);
    }
  }
  out.properties = ComputeFstProperties(out);
  return out;
}

namespace {

ChainSupervision MergeSupervision(const std::vector<const ChainSupervision*>& in) {
  if (in.size() == 1) return *in[0];
  const ChainSupervision& first = *in[0];
  for (const ChainSupervision* s : in) {
    KQ_CHECK(s->label_dim == first.label_dim, kInvalidArgument)
        << "cannot merge supervisions with label-dim " << first.label_dim << " and "
        << s->label_dim;
    KQ_CHECK(s->weight == first.weight && s->frames_per_sequence == first.frames_per_sequence,
             kInvalidArgument)
        << "Mismatch weight or frames_per_sequence between inputs (" << first.weight << "/"
        << first.frames_per_sequence << " vs " << s->weight << "/" << s->frames_per_sequence
        << ")";
    KQ_CHECK(s->e2e() == first.e2e(), kInvalidArgument)
        << "cannot merge e2e and regular supervision";
  }
  ChainSupervision out;
  out.weight = first.weight;
  out.frames_per_sequence = first.frames_per_sequence;
  out.label_dim = first.label_dim;
  out.num_sequences = 0;
  if (first.e2e()) {
    // Kaldi's MergeSupervisionE2e: list the FSTs; alignment pdfs are dropped.
    for (const ChainSupervision* s : in) {
      out.num_sequences += s->num_sequences;
      out.e2e_fsts.insert(out.e2e_fsts.end(), s->e2e_fsts.begin(), s->e2e_fsts.end());
    }
    return out;
  }
  std::vector<const StdFst*> fsts;
  for (const ChainSupervision* s : in) {
    KQ_CHECK(s->alignment_pdfs.empty(), kInvalidArgument)
        << "cannot merge supervisions that carry alignment pdfs";
    out.num_sequences += s->num_sequences;
    fsts.push_back(&s->fst);
  }
  out.fst = ConcatSupervisionFsts(fsts);
  return out;
}

}  // namespace

std::vector<NnetIo> MergeChainInputs(const std::vector<const NnetChainExample*>& egs,
                                     bool compress) {
  KQ_CHECK(!egs.empty(), kInvalidArgument) << "no egs to merge";
  const int32_t num_egs = static_cast<int32_t>(egs.size());
  std::vector<NnetIo> out;
  // By name in sorted order (Kaldi's GetIoNames uses a std::set).
  std::set<std::string> names;
  for (const NnetChainExample* eg : egs)
    for (const NnetIo& io : eg->inputs) names.insert(io.name);
  for (const std::string& name : names) {
    NnetIo merged;
    merged.name = name;
    int64_t cols = -1, rows = 0;
    for (const NnetChainExample* eg : egs) {
      for (const NnetIo& io : eg->inputs) {
        if (io.name != name) continue;
        KQ_CHECK(cols == -1 || io.features.NumCols() == cols, kInvalidArgument)
            << "Merging examples with inconsistent feature dims: " << cols << " vs. "
            << io.features.NumCols() << " for '" << name << "'.";
        cols = io.features.NumCols();
        rows += io.features.NumRows();
      }
    }
    MatrixF feats(rows, std::max<int64_t>(cols, 0));
    int64_t row = 0;
    MatrixF part;
    for (int32_t n = 0; n < num_egs; ++n) {
      for (const NnetIo& io : egs[n]->inputs) {
        if (io.name != name) continue;
        for (Index index : io.indexes) {
          KQ_CHECK(index.n == 0, kInvalidArgument)
              << "Merging already-merged egs? Not currently supported (input '" << name << "')";
          index.n = n;
          merged.indexes.push_back(index);
        }
        io.features.GetMatrix(&part);
        std::copy(part.data(), part.data() + part.size(), feats.Row(row));
        row += part.rows();
      }
    }
    merged.features = GeneralMatrix(std::move(feats));
    if (compress) merged.features.Compress();
    out.push_back(std::move(merged));
  }
  return out;
}

std::vector<Index> MergeChainOutputIndexes(const std::vector<const NnetChainExample*>& egs,
                                           size_t output) {
  std::vector<Index> indexes;
  for (size_t n = 0; n < egs.size(); ++n) {
    KQ_CHECK(output < egs[n]->outputs.size() &&
                 egs[n]->outputs[output].name == egs[0]->outputs[output].name,
             kInvalidArgument)
        << "cannot merge egs with different outputs";
    for (Index index : egs[n]->outputs[output].indexes) {
      KQ_CHECK(index.n == 0, kInvalidArgument) << "Merging already-merged chain egs";
      index.n = static_cast<int32_t>(n);
      indexes.push_back(index);
    }
  }
  std::sort(indexes.begin(), indexes.end());
  return indexes;
}

NnetChainExample MergeChainExamples(const std::vector<NnetChainExample>& egs, bool compress) {
  KQ_CHECK(!egs.empty(), kInvalidArgument) << "no egs to merge";
  const int32_t num_egs = static_cast<int32_t>(egs.size());
  std::vector<const NnetChainExample*> ptrs;
  for (const NnetChainExample& eg : egs) ptrs.push_back(&eg);
  NnetChainExample out;
  out.inputs = MergeChainInputs(ptrs, compress);
  // Outputs, in the first eg's order.
  const size_t num_outputs = egs[0].outputs.size();
  for (size_t o = 0; o < num_outputs; ++o) {
    NnetChainSupervision merged;
    merged.name = egs[0].outputs[o].name;
    merged.indexes = MergeChainOutputIndexes(ptrs, o);
    std::vector<const ChainSupervision*> sups;
    for (int32_t n = 0; n < num_egs; ++n) sups.push_back(&egs[n].outputs[o].supervision);
    merged.supervision = MergeSupervision(sups);
    const std::vector<float>& dw0 = egs[0].outputs[o].deriv_weights;
    if (!dw0.empty()) {
      const size_t frames = dw0.size();
      merged.deriv_weights.resize(frames * num_egs);
      for (int32_t n = 0; n < num_egs; ++n) {
        const std::vector<float>& dw = egs[n].outputs[o].deriv_weights;
        KQ_CHECK(dw.size() == frames, kInvalidArgument)
            << "cannot merge egs with " << frames << " and " << dw.size() << " deriv weights";
        for (size_t t = 0; t < frames; ++t) merged.deriv_weights[t * num_egs + n] = dw[t];
      }
    }
    merged.CheckDim();
    out.outputs.push_back(std::move(merged));
  }
  return out;
}

namespace {
int32_t ShiftedTime(int32_t t, int64_t shift) {
  const int64_t v = static_cast<int64_t>(t) + shift;
  KQ_CHECK(v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max(),
           kInvalidArgument)
      << "frame shift " << shift << " moves time " << t << " out of range";
  return static_cast<int32_t>(v);
}
}  // namespace

void ShiftChainExampleTimes(int32_t shift, NnetChainExample* eg) {
  if (shift == 0) return;
  for (NnetIo& io : eg->inputs) {
    if (io.name == "ivector") continue;
    for (Index& index : io.indexes) index.t = ShiftedTime(index.t, shift);
  }
  for (NnetChainSupervision& sup : eg->outputs) {
    // Kaldi's GetFrameSubsamplingFactor: the first t step between the indexes.
    int64_t factor = 0;
    for (size_t i = 1; i < sup.indexes.size(); ++i) {
      if (sup.indexes[i].t != sup.indexes[0].t) {
        factor = static_cast<int64_t>(sup.indexes[i].t) - sup.indexes[0].t;
        break;
      }
    }
    KQ_CHECK(factor > 0, kInvalidArgument)
        << "Error getting frame subsampling factor of output '" << sup.name << "'";
    const int64_t out_shift =
        factor * static_cast<int64_t>(std::floor(0.5 + (shift * 1.0 / factor)));
    if (out_shift == 0) continue;
    for (Index& index : sup.indexes) index.t = ShiftedTime(index.t, out_shift);
  }
}

void TruncateDerivWeights(int32_t truncate, NnetChainExample* eg) {
  for (NnetChainSupervision& sup : eg->outputs) {
    if (sup.deriv_weights.empty()) sup.deriv_weights.assign(sup.indexes.size(), 1.0f);
    const int32_t num_sequences = sup.supervision.num_sequences;
    const int32_t frames = sup.supervision.frames_per_sequence;
    KQ_CHECK(truncate >= 0 && 2 * static_cast<int64_t>(truncate) < frames, kInvalidArgument)
        << "--truncate-deriv-weights=" << truncate << " needs more than " << 2 * truncate
        << " frames per sequence, the eg has " << frames;
    for (int32_t t = 0; t < frames; ++t) {
      if (t >= truncate && t < frames - truncate) continue;
      for (int32_t s = 0; s < num_sequences; ++s) sup.deriv_weights[t * num_sequences + s] = 0.0f;
    }
  }
}

void ModifyChainExampleContext(int32_t left_context, int32_t right_context, NnetChainExample* eg,
                               std::string* warning) {
  if (left_context == -1 && right_context == -1) return;
  NnetIo* input = nullptr;
  const NnetChainSupervision* output = nullptr;
  for (NnetIo& io : eg->inputs) {
    for (const Index& index : io.indexes)
      KQ_CHECK(index.n == 0, kInvalidArgument)
          << "Too late to perform frame selection/context reduction on these examples "
             "(already merged?)";
    if (io.name == "input") input = &io;
  }
  for (const NnetChainSupervision& sup : eg->outputs) {
    for (const Index& index : sup.indexes)
      KQ_CHECK(index.n == 0, kInvalidArgument)
          << "Too late to perform frame selection/context reduction on these examples "
             "(already merged?)";
    if (sup.name == "output") output = &sup;
  }
  KQ_CHECK(input != nullptr && !input->indexes.empty(), kInvalidArgument)
      << "Example does not have any input named 'input'";
  KQ_CHECK(output != nullptr && !output->indexes.empty(), kInvalidArgument)
      << "Example does not have any output named 'output'";
  auto [in_lo, in_hi] = std::minmax_element(
      input->indexes.begin(), input->indexes.end(),
      [](const Index& a, const Index& b) { return a.t < b.t; });
  auto [out_lo, out_hi] = std::minmax_element(
      output->indexes.begin(), output->indexes.end(),
      [](const Index& a, const Index& b) { return a.t < b.t; });
  // 64-bit: times come from the file and may be anywhere in int32.
  int64_t min_t = in_lo->t, max_t = in_hi->t;
  const int64_t min_out = out_lo->t, max_out = out_hi->t;
  if (left_context != -1) {
    if (min_out - min_t < left_context && warning != nullptr) {
      *warning = "You requested --left-context=" + std::to_string(left_context) +
                 ", but example only has left-context of " + std::to_string(min_out - min_t);
    }
    min_t = std::max(min_t, min_out - left_context);
  }
  if (right_context != -1) {
    KQ_CHECK(max_t - max_out >= right_context, kInvalidArgument)
        << "You requested --right-context=" << right_context
        << ", but example only has right-context of " << max_t - max_out;
    max_t = std::min(max_t, max_out + right_context);
  }
  std::vector<int64_t> keep;
  for (size_t i = 0; i < input->indexes.size(); ++i)
    if (input->indexes[i].t >= min_t && input->indexes[i].t <= max_t) keep.push_back(static_cast<int64_t>(i));
  KQ_CHECK(!keep.empty(), kInvalidArgument) << "FilterExample removed all indexes for 'input'";
  if (keep.size() == input->indexes.size()) return;
  MatrixF full, kept(static_cast<int64_t>(keep.size()), input->features.NumCols());
  input->features.GetMatrix(&full);
  std::vector<Index> indexes;
  for (size_t k = 0; k < keep.size(); ++k) {
    indexes.push_back(input->indexes[keep[k]]);
    std::copy(full.Row(keep[k]), full.Row(keep[k]) + full.cols(), kept.Row(static_cast<int64_t>(k)));
  }
  input->indexes = std::move(indexes);
  input->features = GeneralMatrix(std::move(kept));
}

ChainExampleMerger::ChainExampleMerger(MinibatchSizeRules rules, EmitFn emit)
    : rules_(std::move(rules)), emit_(std::move(emit)) {}

ChainExampleMerger::Stats& ChainExampleMerger::StatsFor(int32_t eg_size, size_t group_index) {
  return stats_[{eg_size, group_index}];
}

void ChainExampleMerger::Emit(Group* group, int32_t count) {
  std::vector<NnetChainExample> batch;
  std::vector<std::string> keys;
  batch.reserve(static_cast<size_t>(count));
  for (int32_t i = 0; i < count; ++i) {
    batch.push_back(std::move(group->egs[i]));
    keys.push_back(std::move(group->keys[i]));
  }
  group->egs.erase(group->egs.begin(), group->egs.begin() + count);
  group->keys.erase(group->keys.begin(), group->keys.begin() + count);
  ++StatsFor(group->eg_size, static_cast<size_t>(group - groups_.data())).minibatches[count];
  ++num_minibatches_;
  emit_(std::move(batch), std::move(keys));
}

ChainExampleMerger::Structure ChainExampleMerger::StructureOf(const NnetChainExample& eg) {
  Structure st;
  for (const NnetIo& io : eg.inputs)
    st.inputs.push_back({io.name, io.features.NumRows(), io.features.NumCols(), io.indexes});
  for (const NnetChainSupervision& sup : eg.outputs) st.outputs.emplace_back(sup.name, sup.indexes);
  return st;
}

bool ChainExampleMerger::Matches(const Structure& st, const NnetChainExample& eg) {
  if (st.inputs.size() != eg.inputs.size() || st.outputs.size() != eg.outputs.size()) return false;
  for (size_t i = 0; i < st.inputs.size(); ++i) {
    const NnetIo& io = eg.inputs[i];
    if (st.inputs[i].name != io.name || st.inputs[i].rows != io.features.NumRows() ||
        st.inputs[i].cols != io.features.NumCols() || st.inputs[i].indexes != io.indexes)
      return false;
  }
  for (size_t i = 0; i < st.outputs.size(); ++i) {
    if (st.outputs[i].first != eg.outputs[i].name || st.outputs[i].second != eg.outputs[i].indexes)
      return false;
  }
  return true;
}

void ChainExampleMerger::Accept(NnetChainExample eg, std::string key) {
  KQ_CHECK(!finished_, kInternal) << "ChainExampleMerger::Accept after Finish";
  size_t g = 0;
  while (g < groups_.size() && !Matches(groups_[g].structure, eg)) ++g;
  if (g == groups_.size()) {
    groups_.emplace_back();
    groups_.back().structure = StructureOf(eg);
    groups_.back().eg_size = ChainExampleSize(eg);
  }
  Group& group = groups_[g];
  group.egs.push_back(std::move(eg));
  group.keys.push_back(std::move(key));
  const int32_t size = rules_.MinibatchSize(group.eg_size, static_cast<int32_t>(group.egs.size()),
                                            /*input_ended=*/false);
  if (size != 0) Emit(&group, size);
}

void ChainExampleMerger::Finish() {
  if (finished_) return;
  finished_ = true;
  for (Group& group : groups_) {
    int32_t size;
    while (!group.egs.empty() &&
           (size = rules_.MinibatchSize(group.eg_size, static_cast<int32_t>(group.egs.size()),
                                        /*input_ended=*/true)) != 0) {
      Emit(&group, size);
    }
    if (!group.egs.empty()) {
      StatsFor(group.eg_size, static_cast<size_t>(&group - groups_.data())).discarded +=
          static_cast<int64_t>(group.egs.size());
      num_discarded_ += static_cast<int64_t>(group.egs.size());
      group.egs.clear();
      group.keys.clear();
    }
  }
}

std::vector<std::string> ChainExampleMerger::StatsLines() const {
  std::vector<std::string> lines;
  lines.push_back(
      "Merged specific eg types as follows [format: <eg-size1>={<mb-size1>-><num-minibatches1>,"
      "<mbsize2>-><num-minibatches2>.../d=<num-discarded>},<egs-size2>={...},... (note,egs-size "
      "== number of input frames including context).");
  std::ostringstream specific;
  int64_t total_discarded = 0, total_discarded_size = 0, total_kept = 0, total_kept_size = 0,
          num_mb = 0, num_mb_types = 0;
  bool first = true;
  for (const auto& [key, stats] : stats_) {
    const int64_t eg_size = key.first;
    if (!first) specific << ",";
    first = false;
    specific << eg_size << "={";
    bool first_mb = true;
    for (const auto& [mb_size, count] : stats.minibatches) {
      if (!first_mb) specific << ",";
      first_mb = false;
      specific << mb_size << "->" << count;
      ++num_mb_types;
      num_mb += count;
      total_kept += count * mb_size;
      total_kept_size += count * mb_size * eg_size;
    }
    specific << ",d=" << stats.discarded << "}";
    total_discarded += stats.discarded;
    total_discarded_size += stats.discarded * eg_size;
  }
  lines.push_back(specific.str());
  const int64_t total = total_discarded + total_kept;
  const float avg_size =
      total > 0 ? static_cast<float>((total_discarded_size + total_kept_size) * 1.0 / total) : 0;
  const float pct_discarded = total > 0 ? static_cast<float>(total_discarded * 100.0 / total) : 0;
  const float avg_mb = num_mb > 0 ? static_cast<float>(total_kept * 1.0 / num_mb) : 0;
  std::ostringstream agg;
  agg << std::setprecision(4) << "Processed " << total << " egs of avg. size " << avg_size
      << " into " << num_mb << " minibatches, discarding " << pct_discarded
      << "% of egs.  Avg minibatch size was " << avg_mb
      << ", #distinct types of egs/minibatches was " << stats_.size() << "/" << num_mb_types;
  lines.push_back(agg.str());
  return lines;
}

}  // namespace kaldiq::kaldi
