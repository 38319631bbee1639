// Word-level lattice determinization with lattice-beam pruning: the step a lattice-generating
// decoder runs per utterance (Kaldi's DeterminizeLatticePhonePrunedWrapper, as called by
// latgen-faster-mapped with --determinize-lattice=true).
//
// Input: a raw state-level Lattice (ilabels = transition ids, olabels = words, 0 = epsilon),
// acyclic (a decoder's raw lattice always is). Output: a CompactLattice (labels = words, weights =
// LatticeWeight + the transition-id string) that is deterministic on words, in which every word
// sequence whose best path is within `beam` of the overall best path appears once, with the cost
// and alignment of its best input path (ties broken by Kaldi's CompactLatticeWeight order).
// Paths worse than best + beam are removed. Output states are topologically sorted.
//
// Algorithm: forward-backward pruning of the input at `beam`, then subset construction over word
// labels with epsilon closure in topological order and string-weight normalisation (Kaldi's
// LatticeDeterminizer: the common divisor is the best weight and the longest common prefix of the
// strings), with subsets pruned by forward + backward cost, then a final beam prune of the output.
// Kaldi's extra "phone" pass (determinizing on phones first) is a speed device with the same
// result on best paths; it is not done here.
#pragma once

#include <cstdint>

#include "lat/lattice_weight.h"

namespace kaldiq::lat {

struct DeterminizeLatticeOptions {
  // Weights within delta are treated as equal when comparing subsets (Kaldi's kDelta).
  float delta = 1.0F / 1024.0F;
  // Safety limit on output size; when exceeded the determinization is redone with the beam
  // multiplied by `retry_cutoff` (as Kaldi narrows the beam when max_mem is exceeded); after 12
  // retries the limits are lifted, so a lattice is always produced. <= 0: no limit.
  int64_t max_states = 100000;
  int64_t max_arcs = 2000000;
  float retry_cutoff = 0.75F;
};

struct DeterminizeLatticeStats {
  int64_t input_states = 0, input_arcs = 0;    // raw lattice
  int64_t pruned_states = 0, pruned_arcs = 0;  // after input beam pruning
  int64_t output_states = 0, output_arcs = 0;
  float effective_beam = 0;  // < beam when the size limits forced a retry
};

// Determinizes `ifst` into *ofst (replaced). Returns true on success with the full beam; false
// when the beam had to be reduced (ofst is still a valid lattice, like Kaldi's return value).
// An input with no successful path gives an empty *ofst and returns true.
// Throws kaldiq::Error if the input is cyclic.
bool DeterminizeLatticePruned(const Lattice& ifst, float beam, CompactLattice* ofst,
                              const DeterminizeLatticeOptions& opts = {},
                              DeterminizeLatticeStats* stats = nullptr);

}  // namespace kaldiq::lat
