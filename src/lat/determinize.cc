#include "lat/determinize.h"

#include <fst/topsort.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <queue>
#include <unordered_map>
#include <vector>

#include "lat/lattice_ops.h"
#include "util/error.h"

namespace kaldiq::lat {
namespace {

using StateId = int32_t;
const double kInf = std::numeric_limits<double>::infinity();

// One element of a subset: an input state with the residual weight and transition-id string
// not yet emitted on output arcs.
struct Elem {
  StateId state;
  LatticeWeight weight;
  std::vector<int32_t> str;
};
using Subset = std::vector<Elem>;  // sorted by state, one element per state

// Kaldi's order on (weight, string): 1 if a is better than b.
int CompareElem(const LatticeWeight& wa, const std::vector<int32_t>& sa, const LatticeWeight& wb,
                const std::vector<int32_t>& sb) {
  const int c = Compare(wa, wb);
  if (c != 0) return c;
  if (sa.size() != sb.size()) return sa.size() < sb.size() ? 1 : -1;
  for (size_t i = 0; i < sa.size(); ++i) {
    if (sa[i] < sb[i]) return -1;
    if (sa[i] > sb[i]) return 1;
  }
  return 0;
}

struct SubsetHash {
  size_t operator()(const Subset* s) const {
    size_t h = s->size();
    for (const Elem& e : *s) {
      h = h * 1000003u + static_cast<size_t>(e.state);
      for (int32_t t : e.str) h = h * 7853u + static_cast<size_t>(t);
      h ^= e.str.size() << 17;
    }
    return h;
  }
};
struct SubsetEqual {
  float delta;
  bool operator()(const Subset* a, const Subset* b) const {
    if (a->size() != b->size()) return false;
    for (size_t i = 0; i < a->size(); ++i) {
      const Elem& x = (*a)[i];
      const Elem& y = (*b)[i];
      if (x.state != y.state || x.str != y.str || !ApproxEqual(x.weight, y.weight, delta))
        return false;
    }
    return true;
  }
};

struct OutArc {
  int32_t word;
  CompactLatticeWeight weight;
  StateId next;
};

class SizeLimitExceeded {};

class Determinizer {
 public:
  Determinizer(const Lattice& in, float beam, const DeterminizeLatticeOptions& opts)
      : in_(in), beam_(beam), opts_(opts),
        initial_map_(64, SubsetHash(), SubsetEqual{opts.delta}),
        minimal_map_(64, SubsetHash(), SubsetEqual{opts.delta}) {}

  // Requires `in` topologically sorted, connected, non-empty.
  void Run(CompactLattice* out);

 private:
  void Precompute();
  // Epsilon closure of `initial` (in topological order), reduced to the states that have word
  // arcs or are final.
  Subset ClosureMinimal(const Subset& initial);
  // Removes the best weight and the longest common string prefix from every element.
  static void Normalize(Subset* s, LatticeWeight* common_w, std::vector<int32_t>* common_s);
  // Best completion cost of an output state from its subset.
  double Heuristic(const Subset& s) const;
  // Maps a (normalized) initial subset to an output state, creating it when new; returns the
  // state and the extra weight/string that normalizing its minimal subset moved onto the arc.
  StateId InitialToState(Subset&& initial, LatticeWeight* extra_w, std::vector<int32_t>* extra_s);
  StateId AddOutputState(Subset&& minimal);
  void Expand(StateId d);
  void CheckSize() const;

  const Lattice& in_;
  float beam_;
  DeterminizeLatticeOptions opts_;
  std::vector<double> beta_;          // best cost from input state to the end
  std::vector<char> has_word_arc_;    // input state has an arc with a word label
  double cutoff_ = kInf;

  // Output states: their minimal subsets (owned), forward costs, arcs, final weights.
  std::vector<std::unique_ptr<Subset>> minimal_;
  std::vector<double> alpha_;
  std::vector<double> heuristic_;
  std::vector<std::vector<OutArc>> arcs_;
  std::vector<CompactLatticeWeight> final_;
  std::vector<char> expanded_;
  int64_t num_arcs_ = 0;

  struct InitialEntry {
    StateId state;
    LatticeWeight extra_w;
    std::vector<int32_t> extra_s;
  };
  std::vector<std::unique_ptr<Subset>> initial_store_;
  std::vector<InitialEntry> initial_entries_;
  std::unordered_map<const Subset*, size_t, SubsetHash, SubsetEqual> initial_map_;
  std::unordered_map<const Subset*, StateId, SubsetHash, SubsetEqual> minimal_map_;

  using QItem = std::pair<double, StateId>;
  std::priority_queue<QItem, std::vector<QItem>, std::greater<QItem>> queue_;
};

void Determinizer::Precompute() {
  const StateId n = in_.NumStates();
  beta_.assign(n, kInf);
  has_word_arc_.assign(n, 0);
  for (StateId s = n - 1; s >= 0; --s) {
    double b = ConvertToCost(in_.Final(s));
    for (fst::ArcIterator<Lattice> it(in_, s); !it.Done(); it.Next()) {
      const LatticeArc& a = it.Value();
      b = std::min(b, ConvertToCost(a.weight) + beta_[a.nextstate]);
      if (a.olabel != 0) has_word_arc_[s] = 1;
    }
    beta_[s] = b;
  }
  cutoff_ = beta_[in_.Start()] + beam_;
}

Subset Determinizer::ClosureMinimal(const Subset& initial) {
  // Work list ordered by state id: in a topologically sorted input every epsilon predecessor of
  // a state has a smaller id, so a state's element is complete when it is popped.
  std::vector<Elem> elems;
  std::unordered_map<StateId, size_t> index;
  std::priority_queue<StateId, std::vector<StateId>, std::greater<StateId>> todo;
  elems.reserve(initial.size() * 4);
  for (const Elem& e : initial) {
    index.emplace(e.state, elems.size());
    elems.push_back(e);
    todo.push(e.state);
  }
  Subset minimal;
  while (!todo.empty()) {
    const StateId s = todo.top();
    todo.pop();
    const size_t i = index[s];
    for (fst::ArcIterator<Lattice> it(in_, s); !it.Done(); it.Next()) {
      const LatticeArc& a = it.Value();
      if (a.olabel != 0) continue;
      const LatticeWeight w = Times(elems[i].weight, a.weight);
      if (ConvertToCost(w) + beta_[a.nextstate] == kInf) continue;  // dead end
      auto found = index.find(a.nextstate);
      if (found == index.end()) {
        Elem e{a.nextstate, w, elems[i].str};
        if (a.ilabel != 0) e.str.push_back(a.ilabel);
        index.emplace(a.nextstate, elems.size());
        elems.push_back(std::move(e));
        todo.push(a.nextstate);
      } else {
        Elem& old = elems[found->second];
        const Elem& src = elems[i];
        // Candidate string = src.str + ilabel; compare without building it unless better.
        std::vector<int32_t> cand = src.str;
        if (a.ilabel != 0) cand.push_back(a.ilabel);
        if (CompareElem(w, cand, old.weight, old.str) == 1) {
          old.weight = w;
          old.str = std::move(cand);
        }
      }
    }
    if (has_word_arc_[s] || in_.Final(s) != LatticeWeight::Zero())
      minimal.push_back(elems[i]);
  }
  // Already in increasing state order (popped in that order).
  return minimal;
}

void Determinizer::Normalize(Subset* s, LatticeWeight* common_w, std::vector<int32_t>* common_s) {
  *common_w = LatticeWeight::Zero();
  common_s->clear();
  if (s->empty()) return;
  *common_s = (*s)[0].str;
  for (const Elem& e : *s) {
    *common_w = Plus(*common_w, e.weight);
    size_t n = 0;
    while (n < common_s->size() && n < e.str.size() && (*common_s)[n] == e.str[n]) ++n;
    common_s->resize(n);
  }
  const size_t p = common_s->size();
  for (Elem& e : *s) {
    e.weight = Divide(e.weight, *common_w);
    if (p > 0) e.str.erase(e.str.begin(), e.str.begin() + p);
  }
}

double Determinizer::Heuristic(const Subset& s) const {
  double h = kInf;
  for (const Elem& e : s) h = std::min(h, ConvertToCost(e.weight) + beta_[e.state]);
  return h;
}

StateId Determinizer::AddOutputState(Subset&& minimal) {
  auto it = minimal_map_.find(&minimal);
  if (it != minimal_map_.end()) return it->second;
  const StateId id = static_cast<StateId>(minimal_.size());
  minimal_.push_back(std::make_unique<Subset>(std::move(minimal)));
  const Subset& m = *minimal_.back();
  minimal_map_.emplace(&m, id);
  alpha_.push_back(kInf);
  heuristic_.push_back(Heuristic(m));
  arcs_.emplace_back();
  expanded_.push_back(0);
  // Final weight: the best (element residual x final weight), Kaldi's order on ties.
  CompactLatticeWeight fw = CompactLatticeWeight::Zero();
  for (const Elem& e : m) {
    const LatticeWeight f = in_.Final(e.state);
    if (f == LatticeWeight::Zero()) continue;
    const CompactLatticeWeight c(Times(e.weight, f), e.str);
    fw = Plus(fw, c);
  }
  final_.push_back(fw);
  CheckSize();
  return id;
}

StateId Determinizer::InitialToState(Subset&& initial, LatticeWeight* extra_w,
                                     std::vector<int32_t>* extra_s) {
  auto it = initial_map_.find(&initial);
  if (it != initial_map_.end()) {
    const InitialEntry& e = initial_entries_[it->second];
    *extra_w = e.extra_w;
    *extra_s = e.extra_s;
    return e.state;
  }
  Subset minimal = ClosureMinimal(initial);
  Normalize(&minimal, extra_w, extra_s);
  const StateId id = AddOutputState(std::move(minimal));
  initial_store_.push_back(std::make_unique<Subset>(std::move(initial)));
  initial_entries_.push_back({id, *extra_w, *extra_s});
  initial_map_.emplace(initial_store_.back().get(), initial_entries_.size() - 1);
  return id;
}

void Determinizer::CheckSize() const {
  if ((opts_.max_states > 0 && static_cast<int64_t>(minimal_.size()) > opts_.max_states) ||
      (opts_.max_arcs > 0 && num_arcs_ > opts_.max_arcs))
    throw SizeLimitExceeded();
}

void Determinizer::Expand(StateId d) {
  const double alpha = alpha_[d];
  // Gather (word, element, arc) for every word arc that can lie on a path within the beam.
  struct Cand {
    int32_t word;
    size_t elem;
    LatticeArc arc;
  };
  std::vector<Cand> cands;
  {
    const Subset& m = *minimal_[d];
    for (size_t i = 0; i < m.size(); ++i) {
      const double base = alpha + ConvertToCost(m[i].weight);
      for (fst::ArcIterator<Lattice> it(in_, m[i].state); !it.Done(); it.Next()) {
        const LatticeArc& a = it.Value();
        if (a.olabel == 0) continue;
        if (base + ConvertToCost(a.weight) + beta_[a.nextstate] > cutoff_) continue;
        cands.push_back({a.olabel, i, a});
      }
    }
  }
  std::stable_sort(cands.begin(), cands.end(),
                   [](const Cand& x, const Cand& y) { return x.word < y.word; });
  for (size_t b = 0; b < cands.size();) {
    size_t e = b;
    while (e < cands.size() && cands[e].word == cands[b].word) ++e;
    // New initial subset: destinations with the best (weight, string) per state.
    Subset init;
    init.reserve(e - b);
    {
      const Subset& m = *minimal_[d];
      for (size_t k = b; k < e; ++k) {
        const Elem& src = m[cands[k].elem];
        Elem ne{cands[k].arc.nextstate, Times(src.weight, cands[k].arc.weight), src.str};
        if (cands[k].arc.ilabel != 0) ne.str.push_back(cands[k].arc.ilabel);
        init.push_back(std::move(ne));
      }
    }
    std::sort(init.begin(), init.end(), [](const Elem& x, const Elem& y) {
      if (x.state != y.state) return x.state < y.state;
      return CompareElem(x.weight, x.str, y.weight, y.str) == 1;  // best first
    });
    init.erase(std::unique(init.begin(), init.end(),
                           [](const Elem& x, const Elem& y) { return x.state == y.state; }),
               init.end());
    LatticeWeight w1;
    std::vector<int32_t> s1;
    Normalize(&init, &w1, &s1);
    LatticeWeight w2;
    std::vector<int32_t> s2;
    const StateId next = InitialToState(std::move(init), &w2, &s2);
    s1.insert(s1.end(), s2.begin(), s2.end());
    const LatticeWeight w = Times(w1, w2);
    arcs_[d].push_back({cands[b].word, CompactLatticeWeight(w, std::move(s1)), next});
    ++num_arcs_;
    const double na = alpha + ConvertToCost(w);
    if (na < alpha_[next]) {
      alpha_[next] = na;
      if (!expanded_[next]) queue_.push({na + heuristic_[next], next});
    }
    b = e;
  }
  CheckSize();
}

void Determinizer::Run(CompactLattice* out) {
  Precompute();
  out->DeleteStates();
  if (beta_[in_.Start()] == kInf) return;  // no successful path
  Subset init{{in_.Start(), LatticeWeight::One(), {}}};
  // The start state's subset is not normalized: nothing precedes it to absorb the weight.
  Subset minimal = ClosureMinimal(init);
  const StateId start = AddOutputState(std::move(minimal));
  alpha_[start] = 0.0;
  queue_.push({heuristic_[start], start});
  while (!queue_.empty()) {
    const auto [key, d] = queue_.top();
    queue_.pop();
    if (expanded_[d]) continue;
    if (key > alpha_[d] + heuristic_[d]) continue;  // stale entry
    expanded_[d] = 1;
    if (alpha_[d] + heuristic_[d] > cutoff_) continue;
    Expand(d);
  }
  // Emit.
  const StateId n = static_cast<StateId>(minimal_.size());
  for (StateId s = 0; s < n; ++s) out->AddState();
  out->SetStart(start);
  for (StateId s = 0; s < n; ++s) {
    if (alpha_[s] + ConvertToCost(final_[s]) <= cutoff_) out->SetFinal(s, final_[s]);
    for (OutArc& a : arcs_[s])
      out->AddArc(s, CompactLatticeArc(a.word, a.word, std::move(a.weight), a.next));
  }
}

}  // namespace

bool DeterminizeLatticePruned(const Lattice& ifst, float beam, CompactLattice* ofst,
                              const DeterminizeLatticeOptions& opts,
                              DeterminizeLatticeStats* stats) {
  KQ_CHECK(beam > 0, kInvalidArgument) << "lattice determinization: beam must be positive";
  KQ_CHECK(opts.retry_cutoff > 0 && opts.retry_cutoff < 1, kInvalidArgument)
      << "lattice determinization: retry_cutoff must be in (0, 1)";
  DeterminizeLatticeStats st;
  st.input_states = ifst.NumStates();
  for (int s = 0; s < ifst.NumStates(); ++s) st.input_arcs += ifst.NumArcs(s);
  ofst->DeleteStates();
  bool full_beam = true;
  float cur_beam = beam;
  constexpr int kMaxRetries = 12;
  int attempts = 0;
  if (ifst.Start() != fst::kNoStateId) {
    Lattice pruned(ifst);
    KQ_CHECK(TopSortLattice(&pruned), kInvalidArgument)
        << "lattice determinization: the input lattice is cyclic";
    while (true) {
      Lattice work(pruned);
      PruneLattice(cur_beam, &work);  // also connects; keeps topological order
      st.pruned_states = work.NumStates();
      st.pruned_arcs = 0;
      for (int s = 0; s < work.NumStates(); ++s) st.pruned_arcs += work.NumArcs(s);
      if (work.Start() == fst::kNoStateId) break;
      // After kMaxRetries narrower beams the limits are lifted (the beam is then so narrow that
      // little more than the best path is left), so this always produces a lattice.
      DeterminizeLatticeOptions run_opts = opts;
      if (++attempts > kMaxRetries) run_opts.max_states = run_opts.max_arcs = 0;
      try {
        Determinizer det(work, cur_beam, run_opts);
        det.Run(ofst);
        break;
      } catch (const SizeLimitExceeded&) {
        full_beam = false;
        cur_beam *= opts.retry_cutoff;
      }
    }
    if (ofst->Start() != fst::kNoStateId) {
      fst::TopSort(ofst);
      PruneLattice(cur_beam, ofst);
    }
  }
  st.effective_beam = cur_beam;
  st.output_states = ofst->NumStates();
  for (int s = 0; s < ofst->NumStates(); ++s) st.output_arcs += ofst->NumArcs(s);
  if (stats) *stats = st;
  return full_beam;
}

}  // namespace kaldiq::lat
