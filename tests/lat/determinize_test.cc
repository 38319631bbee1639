// Pruned lattice determinization: exact against brute-force path enumeration on random raw
// lattices, and reproduces Kaldi's own determinized lattices from their state-level expansion.
#include "lat/determinize.h"

#include <gtest/gtest.h>

#include <fst/topsort.h>

#include <chrono>
#include <map>
#include <random>
#include <set>

#include "lat/lattice_ops.h"
#include "test_util.h"

namespace kaldiq::lat {
namespace {

using WordSeq = std::vector<int32_t>;

// Best (Kaldi order) CompactLatticeWeight per word sequence over all paths of an acyclic FST
// whose arcs carry (word, tids, weight), by exhaustive enumeration.
template <class Fst, class ArcInfo>
void Enumerate(const Fst& f, int s, WordSeq* words, CompactLatticeWeight acc, ArcInfo info,
               std::map<WordSeq, CompactLatticeWeight>* best) {
  const auto fw = f.Final(s);
  if (fw != Fst::Arc::Weight::Zero()) {
    const CompactLatticeWeight total = Times(acc, info.Final(fw));
    auto it = best->find(*words);
    if (it == best->end()) best->emplace(*words, total);
    else it->second = Plus(it->second, total);
  }
  for (fst::ArcIterator<Fst> it(f, s); !it.Done(); it.Next()) {
    const auto& a = it.Value();
    int32_t word = 0;
    const CompactLatticeWeight w = info.Arc(a, &word);
    if (word != 0) words->push_back(word);
    Enumerate(f, a.nextstate, words, Times(acc, w), info, best);
    if (word != 0) words->pop_back();
  }
}

struct RawInfo {
  CompactLatticeWeight Final(const LatticeWeight& w) const { return CompactLatticeWeight(w, {}); }
  CompactLatticeWeight Arc(const LatticeArc& a, int32_t* word) const {
    *word = a.olabel;
    return CompactLatticeWeight(a.weight, a.ilabel ? WordSeq{a.ilabel} : WordSeq{});
  }
};
struct CompactInfo {
  CompactLatticeWeight Final(const CompactLatticeWeight& w) const { return w; }
  CompactLatticeWeight Arc(const CompactLatticeArc& a, int32_t* word) const {
    *word = a.ilabel;
    return a.weight;
  }
};

std::map<WordSeq, CompactLatticeWeight> AllSequences(const Lattice& l) {
  std::map<WordSeq, CompactLatticeWeight> m;
  WordSeq w;
  if (l.Start() != fst::kNoStateId) Enumerate(l, l.Start(), &w, CompactLatticeWeight::One(), RawInfo(), &m);
  return m;
}
std::map<WordSeq, CompactLatticeWeight> AllSequences(const CompactLattice& c) {
  std::map<WordSeq, CompactLatticeWeight> m;
  WordSeq w;
  if (c.Start() != fst::kNoStateId) Enumerate(c, c.Start(), &w, CompactLatticeWeight::One(), CompactInfo(), &m);
  return m;
}

// A random raw lattice like a decoder's: frames of states, arcs to the next frame with a
// transition id, sometimes a word; some epsilon-input arcs; negative acoustic costs.
Lattice RandomRawLattice(std::mt19937* rng, int frames, int width) {
  std::uniform_real_distribution<float> g(0.0F, 3.0F), a(-4.0F, 1.0F), u(0.0F, 1.0F);
  Lattice l;
  const int start = l.AddState();
  l.SetStart(start);
  std::vector<int> prev = {start};
  for (int t = 0; t < frames; ++t) {
    std::vector<int> cur;
    const int n = 1 + static_cast<int>(u(*rng) * width);
    for (int i = 0; i < n; ++i) cur.push_back(l.AddState());
    for (int p : prev)
      for (int c : cur) {
        if (u(*rng) < 0.25F) continue;
        const int tid = u(*rng) < 0.1F ? 0 : 1 + static_cast<int>(u(*rng) * 6);
        const int word = u(*rng) < 0.3F ? 1 + static_cast<int>(u(*rng) * 4) : 0;
        l.AddArc(p, LatticeArc(tid, word, LatticeWeight(g(*rng), a(*rng)), c));
      }
    prev = cur;
  }
  for (int p : prev)
    if (u(*rng) < 0.9F) l.SetFinal(p, LatticeWeight(g(*rng), 0));
  return l;
}

bool IsDeterministicOnWords(const CompactLattice& c) {
  for (int s = 0; s < c.NumStates(); ++s) {
    std::set<int> labels;
    for (fst::ArcIterator<CompactLattice> it(c, s); !it.Done(); it.Next())
      if (!labels.insert(it.Value().ilabel).second || it.Value().ilabel == 0) return false;
  }
  return true;
}

TEST(Determinize, MatchesBruteForceOnRandomLattices) {
  std::mt19937 rng(12345);
  int checked_seqs = 0, pruned_away = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const Lattice raw = RandomRawLattice(&rng, 4 + trial % 5, 4);
    const auto expected = AllSequences(raw);
    double best = std::numeric_limits<double>::infinity();
    for (const auto& [w, cw] : expected) best = std::min(best, ConvertToCost(cw));
    for (float beam : {1000.0F, 2.0F}) {
      CompactLattice det;
      DeterminizeLatticeStats st;
      EXPECT_TRUE(DeterminizeLatticePruned(raw, beam, &det, {}, &st));
      EXPECT_TRUE(IsDeterministicOnWords(det)) << trial;
      EXPECT_TRUE(det.Properties(fst::kTopSorted, true) & fst::kTopSorted);
      const auto got = AllSequences(det);
      // Every output word sequence carries its best input weight and alignment...
      for (const auto& [w, cw] : got) {
        auto it = expected.find(w);
        ASSERT_NE(it, expected.end()) << "trial " << trial << ": invented a word sequence";
        EXPECT_TRUE(ApproxEqual(cw.Weight(), it->second.Weight(), 1e-3F))
            << "trial " << trial << ": " << cw << " vs " << it->second;
        EXPECT_EQ(cw.String(), it->second.String()) << "trial " << trial;
        ++checked_seqs;
      }
      // ...and every sequence within the beam is present.
      for (const auto& [w, cw] : expected) {
        if (ConvertToCost(cw) <= best + beam - 1e-3) {
          EXPECT_TRUE(got.count(w)) << "trial " << trial << " beam " << beam << ": lost a sequence";
        } else if (!got.count(w)) {
          ++pruned_away;
        }
      }
      if (expected.empty()) {
        EXPECT_EQ(det.NumStates(), 0);
      }
    }
  }
  EXPECT_GT(checked_seqs, 500);
  EXPECT_GT(pruned_away, 10);  // the beam actually pruned something
}

TEST(Determinize, ReproducesKaldiLatticesFromTheirExpansion) {
  std::string path = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/dev60/lat.ark";
  if (!testing::FileExists(path)) path = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/dev60/lat3.ark";
  const auto entries = testing::ReadLatticeArchive(testing::ReadFileBytes(path));
  ASSERT_FALSE(entries.empty());
  for (const auto& [key, clat] : entries) {
    Lattice raw;
    ConvertLattice(clat, &raw, true);
    CompactLattice det;
    DeterminizeLatticeStats st;
    ASSERT_TRUE(DeterminizeLatticePruned(raw, 8.0F, &det, {}, &st));
    // Kaldi's lattice is already determinized and pruned at lattice-beam 8: same size.
    int kaldi_arcs = 0;
    for (int s = 0; s < clat.NumStates(); ++s) kaldi_arcs += clat.NumArcs(s);
    EXPECT_EQ(st.output_states, clat.NumStates()) << key;
    EXPECT_EQ(st.output_arcs, kaldi_arcs) << key;
    const BestPath a = LatticeBestPath(clat), b = LatticeBestPath(det);
    EXPECT_EQ(a.words, b.words) << key;
    EXPECT_EQ(a.alignment, b.alignment) << key;
    EXPECT_TRUE(ApproxEqual(a.weight, b.weight, 1e-2F)) << key;
  }
}

TEST(Determinize, EmptyCyclicAndSizeLimits) {
  CompactLattice out;
  EXPECT_TRUE(DeterminizeLatticePruned(Lattice(), 8.0F, &out));
  EXPECT_EQ(out.NumStates(), 0);
  Lattice nofinal;
  nofinal.AddState();
  nofinal.AddState();
  nofinal.SetStart(0);
  nofinal.AddArc(0, LatticeArc(1, 2, LatticeWeight(1, 1), 1));
  EXPECT_TRUE(DeterminizeLatticePruned(nofinal, 8.0F, &out));
  EXPECT_EQ(out.NumStates(), 0);
  Lattice cyclic(nofinal);
  cyclic.AddArc(1, LatticeArc(1, 0, LatticeWeight(1, 1), 0));
  cyclic.SetFinal(1, LatticeWeight::One());
  EXPECT_THROW(DeterminizeLatticePruned(cyclic, 8.0F, &out), Error);
  EXPECT_THROW(DeterminizeLatticePruned(nofinal, 0.0F, &out), Error);

  // A size limit forces a narrower beam (return false) but keeps the best path.
  std::mt19937 rng(5);
  Lattice raw = RandomRawLattice(&rng, 7, 4);
  while (AllSequences(raw).size() < 20) raw = RandomRawLattice(&rng, 7, 4);
  CompactLattice full, limited;
  ASSERT_TRUE(DeterminizeLatticePruned(raw, 1000.0F, &full));
  ASSERT_GT(AllSequences(raw).size(), 3u);
  ASSERT_GT(full.NumStates(), 3);
  DeterminizeLatticeOptions opts;
  opts.max_states = full.NumStates() - 1;
  DeterminizeLatticeStats st;
  EXPECT_FALSE(DeterminizeLatticePruned(raw, 1000.0F, &limited, opts, &st));
  EXPECT_LT(st.effective_beam, 1000.0F);
  EXPECT_EQ(LatticeBestPath(full).words, LatticeBestPath(limited).words);
}

}  // namespace
}  // namespace kaldiq::lat
