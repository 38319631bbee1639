// The decoder's state-level output before determinization: Kaldi's "raw lattice" (one state per
// surviving token, arcs = forward links) in a plain form that needs no lattice weight type.
// Costs are as in Kaldi's GetRawLattice: graph cost and acoustic cost (= -scaled loglike) kept
// apart; ilabels are transition ids (0 = epsilon), olabels word ids (0 = epsilon).
// States are numbered frame by frame and topologically within a frame; state 0 is the start.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace kaldiq::decode {

struct RawLattice {
  struct Arc {
    int32_t ilabel;
    int32_t olabel;
    float graph_cost;
    float acoustic_cost;
    int32_t nextstate;
  };
  // Arcs of state s are arcs[arc_begin[s] .. arc_begin[s+1]).
  std::vector<int32_t> arc_begin{0};
  std::vector<Arc> arcs;
  // Final graph cost per state; +infinity when the state is not final.
  std::vector<float> final_cost;

  int32_t NumStates() const { return static_cast<int32_t>(final_cost.size()); }
  void Clear() {
    arc_begin.assign(1, 0);
    arcs.clear();
    final_cost.clear();
  }
};

// The lowest-cost path of a raw lattice (total = graph + acoustic, incl. the final cost), as
// Kaldi's GetBestPath + GetLinearSymbolSequence give it.
struct BestPath {
  std::vector<int32_t> words;      // non-zero olabels in order
  // word_frames[i]: the number of frames consumed before the arc that output words[i] (the
  // arc's frame when it is emitting). Where a graph puts a word's label is not where the word
  // starts; word times need a word alignment (online/word_alignment.h).
  std::vector<int32_t> word_frames;
  std::vector<int32_t> alignment;  // non-zero ilabels (transition ids), one per frame
  float graph_cost = std::numeric_limits<float>::infinity();  // incl. final cost
  float acoustic_cost = std::numeric_limits<float>::infinity();
};

// Returns false when no final state is reachable (or the lattice is empty).
bool RawLatticeBestPath(const RawLattice& lat, BestPath* path);

}  // namespace kaldiq::decode
