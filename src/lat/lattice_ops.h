// Lattice operations with the semantics of Kaldi's lattice tools (lattice-scale,
// lattice-add-penalty, lattice-best-path, lattice-prune) and of Kaldi's ConvertLattice.
#pragma once

#include <cstdint>
#include <vector>

#include "lat/lattice_weight.h"

namespace kaldiq::lat {

// lattice-scale's matrix from its options: scale[0] = {lm_scale, acoustic2lm_scale},
// scale[1] = {lm2acoustic_scale, acoustic_scale}, where --inv-acoustic-scale=x (x != 1) means
// acoustic_scale = 1/x. Throws kInvalidArgument if both acoustic_scale and inv_acoustic_scale
// differ from 1 (Kaldi refuses that too).
LatticeScaleMatrix LatticeScaleFromOptions(double acoustic_scale, double inv_acoustic_scale,
                                           double lm_scale, double acoustic2lm_scale = 0.0,
                                           double lm2acoustic_scale = 0.0);

// Kaldi's ScaleLattice: every arc and final weight (graph, acoustic) -> scale * (graph, acoustic),
// computed in double and stored as float; Zero stays Zero. An identity matrix is a no-op.
void ScaleLattice(const LatticeScaleMatrix& scale, Lattice* lat);
void ScaleLattice(const LatticeScaleMatrix& scale, CompactLattice* clat);

// lattice-add-penalty: adds `penalty` to the graph cost of every arc with a nonzero word label.
void AddWordInsPenalty(float penalty, CompactLattice* clat);

// Kaldi's CompactLatticeShortestPath: Viterbi over a topologically sorted copy using the total
// cost (graph + acoustic, in double), strict improvement only (first found wins on ties); among
// parallel arcs between two best-path states the cheapest (first on ties). Output: a linear
// CompactLattice. Returns false (and an empty *best) when the lattice is empty, cyclic, or has
// no finite-cost path to a final state.
bool CompactLatticeShortestPath(const CompactLattice& clat, CompactLattice* best);

// The 1-best of a lattice as lattice-best-path reports it: word ids (nonzero labels in order),
// the alignment (the concatenated transition-id strings, final weight's string last) and the
// total weight. ok = false (and empty fields) when there is no path.
struct BestPath {
  bool ok = false;
  std::vector<int32_t> words;
  std::vector<int32_t> alignment;
  LatticeWeight weight = LatticeWeight::Zero();
};
BestPath LatticeBestPath(const CompactLattice& clat);

// Linear CompactLattice -> (words, alignment, weight), like Kaldi's GetLinearSymbolSequence on
// its converted Lattice. Returns false if clat is not linear (or is empty).
bool GetLinearSymbolSequence(const CompactLattice& clat, std::vector<int32_t>* alignment,
                             std::vector<int32_t>* words, LatticeWeight* weight);

// Kaldi's PruneLattice: removes arcs and final weights whose best path through them costs more
// than best + beam (total cost), then trims unreachable states. Topologically sorts first if
// needed. Returns false (lattice unchanged) if cyclic or beam <= 0; an empty lattice is fine.
bool PruneLattice(float beam, Lattice* lat);
bool PruneLattice(float beam, CompactLattice* clat);

// Lattice (ilabels = tids, olabels = words when invert; swapped otherwise) -> CompactLattice
// (labels = words, transition ids moved into the weight strings), then Kaldi-style local epsilon
// removal (merges epsilon arcs into neighbours where that never adds arcs), then Connect.
void ConvertLattice(const Lattice& lat, CompactLattice* clat, bool invert = true);
// CompactLattice -> Lattice: each arc with a string of n ids becomes a chain of n arcs (word
// and weight on the first); a final weight with a string becomes a chain to a new final state.
void ConvertLattice(const CompactLattice& clat, Lattice* lat, bool invert = true);

// Topological sort in place; returns false if the lattice is cyclic (lattice unchanged).
bool TopSortLattice(Lattice* lat);
bool TopSortCompactLattice(CompactLattice* clat);

// Total cost as Kaldi's ConvertToCost: double(graph) + double(acoustic).
inline double ConvertToCost(const LatticeWeight& w) {
  return static_cast<double>(w.Value1()) + static_cast<double>(w.Value2());
}
inline double ConvertToCost(const CompactLatticeWeight& w) { return ConvertToCost(w.Weight()); }

}  // namespace kaldiq::lat
