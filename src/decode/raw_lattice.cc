#include "decode/raw_lattice.h"

#include <algorithm>

namespace kaldiq::decode {

namespace {
// Kaldi's LatticeWeight order: by total cost, ties by graph cost (lower is better here).
inline bool Better(float g1, float a1, float g2, float a2) {
  const float t1 = g1 + a1, t2 = g2 + a2;
  if (t1 != t2) return t1 < t2;
  return g1 < g2;
}
}  // namespace

bool RawLatticeBestPath(const RawLattice& lat, BestPath* path) {
  *path = BestPath();
  const int32_t n = lat.NumStates();
  if (n == 0) return false;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::vector<float> graph(n, kInf), ac(n, kInf);
  std::vector<int32_t> back_arc(n, -1);  // index into lat.arcs of the best incoming arc
  graph[0] = 0.0f;
  ac[0] = 0.0f;
  // States are topologically ordered (decoder contract), so one forward pass is exact. A state
  // improved after it was expanded (only possible with epsilon cycles in the token graph) is
  // handled by a few extra sweeps.
  for (int pass = 0; pass < 4; ++pass) {
    bool changed = false;
    for (int32_t s = 0; s < n; ++s) {
      if (graph[s] == kInf) continue;
      for (int32_t a = lat.arc_begin[s]; a < lat.arc_begin[s + 1]; ++a) {
        const RawLattice::Arc& arc = lat.arcs[a];
        const float g = graph[s] + arc.graph_cost, c = ac[s] + arc.acoustic_cost;
        const int32_t d = arc.nextstate;
        if (Better(g, c, graph[d], ac[d])) {
          graph[d] = g;
          ac[d] = c;
          back_arc[d] = a;
          if (d <= s) changed = true;
        }
      }
    }
    if (!changed) break;
  }
  int32_t best = -1;
  float best_g = kInf, best_a = kInf;
  for (int32_t s = 0; s < n; ++s) {
    if (lat.final_cost[s] == kInf || graph[s] == kInf) continue;
    const float g = graph[s] + lat.final_cost[s];
    if (best < 0 || Better(g, ac[s], best_g, best_a)) {
      best = s;
      best_g = g;
      best_a = ac[s];
    }
  }
  if (best < 0) return false;
  // arc index -> source state, for the traceback.
  std::vector<int32_t> src_of_arc;
  src_of_arc.resize(lat.arcs.size());
  for (int32_t s = 0; s < n; ++s)
    for (int32_t a = lat.arc_begin[s]; a < lat.arc_begin[s + 1]; ++a) src_of_arc[a] = s;
  int32_t s = best;
  // Walking backwards, word_frames first holds the frames from the word's arc to the end
  // (the arc's own frame included).
  for (int32_t steps = 0; s != 0 && steps <= static_cast<int32_t>(lat.arcs.size()); ++steps) {
    const int32_t a = back_arc[s];
    const RawLattice::Arc& arc = lat.arcs[a];
    if (arc.ilabel != 0) path->alignment.push_back(arc.ilabel);
    if (arc.olabel != 0) {
      path->words.push_back(arc.olabel);
      path->word_frames.push_back(static_cast<int32_t>(path->alignment.size()));
    }
    s = src_of_arc[a];
  }
  const int32_t num_frames = static_cast<int32_t>(path->alignment.size());
  for (int32_t& f : path->word_frames) f = num_frames - f;
  std::reverse(path->alignment.begin(), path->alignment.end());
  std::reverse(path->words.begin(), path->words.end());
  std::reverse(path->word_frames.begin(), path->word_frames.end());
  path->graph_cost = best_g;
  path->acoustic_cost = best_a;
  return true;
}

}  // namespace kaldiq::decode
