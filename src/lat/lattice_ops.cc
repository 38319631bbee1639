#include "lat/lattice_ops.h"

#include <fst/arcsort.h>
#include <fst/connect.h>
#include <fst/topsort.h>

#include <algorithm>
#include <limits>

#include "util/error.h"

namespace kaldiq::lat {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

LatticeWeight ScaleW(const LatticeWeight& w, const LatticeScaleMatrix& s) {
  return ScaleLatticeWeight(w, s);
}
CompactLatticeWeight ScaleW(const CompactLatticeWeight& w, const LatticeScaleMatrix& s) {
  return CompactLatticeWeight(ScaleLatticeWeight(w.Weight(), s), w.String());
}

bool IsIdentity(const LatticeScaleMatrix& s) {
  return s.size() == 2 && s[0].size() == 2 && s[1].size() == 2 && s[0][0] == 1.0 &&
         s[0][1] == 0.0 && s[1][0] == 0.0 && s[1][1] == 1.0;
}

template <class Fst>
void ScaleImpl(const LatticeScaleMatrix& scale, Fst* f) {
  KQ_CHECK(scale.size() == 2 && scale[0].size() == 2 && scale[1].size() == 2, kInvalidArgument)
      << "ScaleLattice: scale must be a 2x2 matrix";
  if (IsIdentity(scale)) return;
  using Arc = typename Fst::Arc;
  for (typename Arc::StateId s = 0; s < f->NumStates(); ++s) {
    for (fst::MutableArcIterator<Fst> it(f, s); !it.Done(); it.Next()) {
      Arc arc = it.Value();
      arc.weight = ScaleW(arc.weight, scale);
      it.SetValue(arc);
    }
    const auto fw = f->Final(s);
    if (fw != Arc::Weight::Zero()) f->SetFinal(s, ScaleW(fw, scale));
  }
}

template <class Fst>
bool TopSortIfNeeded(Fst* f) {
  if (f->Properties(fst::kTopSorted, true) & fst::kTopSorted) return true;
  return fst::TopSort(f);
}

template <class Fst>
bool PruneImpl(float beam, Fst* f) {
  using Arc = typename Fst::Arc;
  using StateId = typename Arc::StateId;
  if (!(beam > 0)) return false;
  if (f->Start() == fst::kNoStateId) return true;
  if (!TopSortIfNeeded(f)) return false;
  const StateId n = f->NumStates();
  std::vector<double> fwd(n, kInf), bwd(n, kInf);
  fwd[f->Start()] = 0.0;
  double best = kInf;
  for (StateId s = 0; s < n; ++s) {
    const double c = fwd[s];
    if (c == kInf) continue;
    for (fst::ArcIterator<Fst> it(*f, s); !it.Done(); it.Next()) {
      const Arc& arc = it.Value();
      const double nc = c + ConvertToCost(arc.weight);
      if (nc < fwd[arc.nextstate]) fwd[arc.nextstate] = nc;
    }
    best = std::min(best, c + ConvertToCost(f->Final(s)));
  }
  if (best == kInf) {  // no successful path: nothing survives
    f->DeleteStates();
    return true;
  }
  const double cutoff = best + beam;
  for (StateId s = n - 1; s >= 0; --s) {
    double b = ConvertToCost(f->Final(s));
    for (fst::ArcIterator<Fst> it(*f, s); !it.Done(); it.Next()) {
      const Arc& arc = it.Value();
      b = std::min(b, ConvertToCost(arc.weight) + bwd[arc.nextstate]);
    }
    bwd[s] = b;
  }
  std::vector<Arc> kept;
  for (StateId s = 0; s < n; ++s) {
    if (fwd[s] + ConvertToCost(f->Final(s)) > cutoff) f->SetFinal(s, Arc::Weight::Zero());
    kept.clear();
    bool changed = false;
    for (fst::ArcIterator<Fst> it(*f, s); !it.Done(); it.Next()) {
      const Arc& arc = it.Value();
      if (fwd[s] + ConvertToCost(arc.weight) + bwd[arc.nextstate] <= cutoff)
        kept.push_back(arc);
      else
        changed = true;
    }
    if (changed) {
      f->DeleteArcs(s);
      for (const Arc& a : kept) f->AddArc(s, a);
    }
  }
  fst::Connect(f);
  return true;
}

}  // namespace

LatticeScaleMatrix LatticeScaleFromOptions(double acoustic_scale, double inv_acoustic_scale,
                                           double lm_scale, double acoustic2lm_scale,
                                           double lm2acoustic_scale) {
  KQ_CHECK(!(acoustic_scale != 1.0 && inv_acoustic_scale != 1.0), kInvalidArgument)
      << "cannot set both --acoustic-scale and --inv-acoustic-scale";
  KQ_CHECK(inv_acoustic_scale != 0.0, kInvalidArgument) << "--inv-acoustic-scale must not be 0";
  // Kaldi keeps every option (and 1/inv_acoustic_scale) in a float before filling the double
  // matrix; round the same way so scaled costs match to the bit.
  auto f = [](double x) { return static_cast<double>(static_cast<float>(x)); };
  if (inv_acoustic_scale != 1.0) acoustic_scale = 1.0 / f(inv_acoustic_scale);
  return {{f(lm_scale), f(acoustic2lm_scale)}, {f(lm2acoustic_scale), f(acoustic_scale)}};
}

void ScaleLattice(const LatticeScaleMatrix& scale, Lattice* lat) { ScaleImpl(scale, lat); }
void ScaleLattice(const LatticeScaleMatrix& scale, CompactLattice* clat) {
  ScaleImpl(scale, clat);
}

void AddWordInsPenalty(float penalty, CompactLattice* clat) {
  for (int s = 0; s < clat->NumStates(); ++s) {
    for (fst::MutableArcIterator<CompactLattice> it(clat, s); !it.Done(); it.Next()) {
      CompactLatticeArc arc = it.Value();
      if (arc.ilabel != 0) {
        LatticeWeight w = arc.weight.Weight();
        w.SetValue1(w.Value1() + penalty);
        arc.weight.SetWeight(w);
        it.SetValue(arc);
      }
    }
  }
}

bool CompactLatticeShortestPath(const CompactLattice& clat_in, CompactLattice* best) {
  best->DeleteStates();
  if (clat_in.Start() == fst::kNoStateId) return false;
  CompactLattice sorted;
  const CompactLattice* clat = &clat_in;
  if (!(clat_in.Properties(fst::kTopSorted, true) & fst::kTopSorted)) {
    sorted = clat_in;
    if (!fst::TopSort(&sorted)) return false;
    clat = &sorted;
  }
  using StateId = CompactLatticeArc::StateId;
  const StateId n = clat->NumStates(), superfinal = n;
  std::vector<std::pair<double, StateId>> bp(n + 1, {kInf, fst::kNoStateId});
  bp[clat->Start()].first = 0.0;
  for (StateId s = 0; s < n; ++s) {
    const double my = bp[s].first;
    for (fst::ArcIterator<CompactLattice> it(*clat, s); !it.Done(); it.Next()) {
      const CompactLatticeArc& arc = it.Value();
      const double nc = my + ConvertToCost(arc.weight);
      if (nc < bp[arc.nextstate].first) bp[arc.nextstate] = {nc, s};
    }
    const double tf = my + ConvertToCost(clat->Final(s));
    if (tf < bp[superfinal].first) bp[superfinal] = {tf, s};
  }
  std::vector<StateId> states;
  StateId cur = superfinal;
  const StateId start = clat->Start();
  while (cur != start) {
    const StateId prev = bp[cur].second;
    // No finite path; or a cycle in the back-pointers (only possible if the lattice's stored
    // properties wrongly claim it is topologically sorted).
    if (prev == fst::kNoStateId || prev == cur || states.size() > static_cast<size_t>(n)) {
      best->DeleteStates();
      return false;
    }
    states.push_back(prev);
    cur = prev;
  }
  std::reverse(states.begin(), states.end());
  for (size_t i = 0; i < states.size(); ++i) best->AddState();
  best->SetStart(0);
  for (size_t i = 0; i < states.size(); ++i) {
    if (i + 1 < states.size()) {
      bool have = false;
      CompactLatticeArc cur_arc;
      for (fst::ArcIterator<CompactLattice> it(*clat, states[i]); !it.Done(); it.Next()) {
        const CompactLatticeArc& arc = it.Value();
        if (arc.nextstate == states[i + 1] &&
            (!have || ConvertToCost(arc.weight) < ConvertToCost(cur_arc.weight))) {
          cur_arc = arc;
          have = true;
        }
      }
      KQ_CHECK(have, kInternal) << "CompactLatticeShortestPath: lost best-path arc";
      best->AddArc(i, CompactLatticeArc(cur_arc.ilabel, cur_arc.olabel, cur_arc.weight, i + 1));
    } else {
      best->SetFinal(i, clat->Final(states[i]));
    }
  }
  return true;
}

bool GetLinearSymbolSequence(const CompactLattice& clat, std::vector<int32_t>* alignment,
                             std::vector<int32_t>* words, LatticeWeight* weight) {
  alignment->clear();
  words->clear();
  LatticeWeight tot = LatticeWeight::One();
  int s = clat.Start();
  if (s == fst::kNoStateId) return false;
  for (int steps = 0; steps <= clat.NumStates(); ++steps) {
    const size_t narcs = clat.NumArcs(s);
    const CompactLatticeWeight fw = clat.Final(s);
    if (narcs == 0) {
      if (fw == CompactLatticeWeight::Zero()) return false;
      alignment->insert(alignment->end(), fw.String().begin(), fw.String().end());
      *weight = Times(tot, fw.Weight());
      return true;
    }
    if (narcs != 1 || fw != CompactLatticeWeight::Zero()) return false;
    fst::ArcIterator<CompactLattice> it(clat, s);
    const CompactLatticeArc& arc = it.Value();
    if (arc.ilabel != 0) words->push_back(arc.ilabel);
    alignment->insert(alignment->end(), arc.weight.String().begin(), arc.weight.String().end());
    tot = Times(tot, arc.weight.Weight());
    s = arc.nextstate;
  }
  return false;  // cycle
}

BestPath LatticeBestPath(const CompactLattice& clat) {
  BestPath r;
  CompactLattice best;
  if (!CompactLatticeShortestPath(clat, &best)) return r;
  if (!GetLinearSymbolSequence(best, &r.alignment, &r.words, &r.weight)) {
    r = BestPath();
    return r;
  }
  r.ok = true;
  return r;
}

bool PruneLattice(float beam, Lattice* lat) { return PruneImpl(beam, lat); }
bool PruneLattice(float beam, CompactLattice* clat) { return PruneImpl(beam, clat); }

bool TopSortLattice(Lattice* lat) { return TopSortIfNeeded(lat); }
bool TopSortCompactLattice(CompactLattice* clat) { return TopSortIfNeeded(clat); }

void ConvertLattice(const CompactLattice& clat, Lattice* lat, bool invert) {
  lat->DeleteStates();
  const int n = clat.NumStates();
  for (int s = 0; s < n; ++s) lat->AddState();
  if (clat.Start() != fst::kNoStateId) lat->SetStart(clat.Start());
  auto make = [invert](int word, int tid, const LatticeWeight& w, int next) {
    return invert ? LatticeArc(tid, word, w, next) : LatticeArc(word, tid, w, next);
  };
  for (int s = 0; s < n; ++s) {
    const CompactLatticeWeight fw = clat.Final(s);
    if (fw == CompactLatticeWeight::Zero()) {
      // nothing: states start non-final
    } else if (fw.String().empty()) {
      lat->SetFinal(s, fw.Weight());
    } else {
      int cur = s;
      for (size_t i = 0; i < fw.String().size(); ++i) {
        const int next = lat->AddState();
        lat->AddArc(cur, make(0, fw.String()[i], i == 0 ? fw.Weight() : LatticeWeight::One(),
                              next));
        cur = next;
      }
      lat->SetFinal(cur, LatticeWeight::One());
    }
    for (fst::ArcIterator<CompactLattice> it(clat, s); !it.Done(); it.Next()) {
      const CompactLatticeArc& arc = it.Value();
      const auto& str = arc.weight.String();
      if (str.empty()) {
        lat->AddArc(s, make(arc.ilabel, 0, arc.weight.Weight(), arc.nextstate));
        continue;
      }
      int cur = s;
      for (size_t i = 0; i < str.size(); ++i) {
        const int next = (i + 1 == str.size()) ? arc.nextstate : lat->AddState();
        lat->AddArc(cur, make(i == 0 ? arc.ilabel : 0, str[i],
                              i == 0 ? arc.weight.Weight() : LatticeWeight::One(), next));
        cur = next;
      }
    }
  }
}

void ConvertLattice(const Lattice& lat, CompactLattice* clat, bool invert) {
  using StateId = int;
  clat->DeleteStates();
  const StateId n = lat.NumStates();
  for (StateId s = 0; s < n; ++s) clat->AddState();
  if (lat.Start() == fst::kNoStateId) return;
  clat->SetStart(lat.Start());
  for (StateId s = 0; s < n; ++s) {
    if (lat.Final(s) != LatticeWeight::Zero())
      clat->SetFinal(s, CompactLatticeWeight(lat.Final(s), {}));
    for (fst::ArcIterator<Lattice> it(lat, s); !it.Done(); it.Next()) {
      const LatticeArc& a = it.Value();
      const int word = invert ? a.olabel : a.ilabel;
      const int tid = invert ? a.ilabel : a.olabel;
      std::vector<int32_t> str;
      if (tid != 0) str.push_back(tid);
      clat->AddArc(s, CompactLatticeArc(word, word, CompactLatticeWeight(a.weight, str),
                                        a.nextstate));
    }
  }
  // Local epsilon removal (in the spirit of Kaldi's RemoveEpsLocal): (1) a state with one
  // incoming and one outgoing arc, at least one of them epsilon, is bypassed by a single arc;
  // (2) an epsilon arc into an arc-less final state becomes a final weight. Neither adds arcs.
  std::vector<int> in_count(n, 0);
  std::vector<StateId> pred(n, fst::kNoStateId);
  for (StateId s = 0; s < n; ++s)
    for (fst::ArcIterator<CompactLattice> it(*clat, s); !it.Done(); it.Next()) {
      ++in_count[it.Value().nextstate];
      pred[it.Value().nextstate] = s;
    }
  bool changed = true;
  while (changed) {
    changed = false;
    for (StateId t = 0; t < n; ++t) {
      if (clat->NumArcs(t) != 1) continue;
      const CompactLatticeArc out = fst::ArcIterator<CompactLattice>(*clat, t).Value();
      if (out.nextstate == t) continue;
      const bool t_final = clat->Final(t) != CompactLatticeWeight::Zero();
      // (2) t -eps-> f where f is final with no arcs: fold into t's final weight.
      if (!t_final && out.ilabel == 0 && clat->NumArcs(out.nextstate) == 0 &&
          clat->Final(out.nextstate) != CompactLatticeWeight::Zero()) {
        clat->SetFinal(t, Times(out.weight, clat->Final(out.nextstate)));
        clat->DeleteArcs(t);
        --in_count[out.nextstate];
        changed = true;
        continue;
      }
      // (1) bypass t.
      if (t == clat->Start() || t_final || in_count[t] != 1) continue;
      const StateId p = pred[t];
      if (p == t) continue;
      std::vector<CompactLatticeArc> arcs;
      bool done = false;
      for (fst::ArcIterator<CompactLattice> it(*clat, p); !it.Done(); it.Next()) {
        const CompactLatticeArc& in = it.Value();
        if (!done && in.nextstate == t && (in.ilabel == 0 || out.ilabel == 0)) {
          const int label = in.ilabel != 0 ? in.ilabel : out.ilabel;
          arcs.push_back(CompactLatticeArc(label, label, Times(in.weight, out.weight),
                                           out.nextstate));
          done = true;
        } else {
          arcs.push_back(in);
        }
      }
      if (!done) continue;
      clat->DeleteArcs(p);
      for (const auto& a : arcs) clat->AddArc(p, a);
      clat->DeleteArcs(t);
      in_count[t] = 0;
      if (in_count[out.nextstate] == 1) pred[out.nextstate] = p;
      changed = true;
    }
  }
  fst::Connect(clat);
}

}  // namespace kaldiq::lat
