#include "decode/lattice_faster_decoder.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace kaldiq::decode {

template <class FST>
LatticeFasterDecoderTpl<FST>::LatticeFasterDecoderTpl(const FST& fst, const DecoderOptions& opts)
    : fst_(fst), opts_(opts) {
  opts_.Check();
  KQ_CHECK(fst_.Start() != fst::kNoStateId, kFormat) << "decoding graph has no start state";
  for (fst::StateIterator<FST> siter(fst_); !siter.Done(); siter.Next()) {
    for (fst::ArcIterator<FST> aiter(fst_, siter.Value()); !aiter.Done(); aiter.Next()) {
      const auto& arc = aiter.Value();
      KQ_CHECK(arc.ilabel >= 0, kFormat) << "decoding graph has a negative input label";
      max_ilabel_ = std::max<int32_t>(max_ilabel_, arc.ilabel);
    }
  }
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::InitDecoding() {
  map_.Clear();
  prev_elems_.clear();
  queue_.clear();
  active_toks_.clear();
  cost_offsets_.clear();
  token_pool_.Reset();
  link_pool_.Reset();
  has_final_costs_ = false;
  decoding_finalized_ = false;
  final_relative_cost_ = kInf;
  final_best_cost_ = kInf;
  num_toks_created_ = 0;

  active_toks_.resize(1);
  bool changed;
  FindOrAddToken(fst_.Start(), 0, 0.0f, nullptr, &changed);
  ProcessNonemitting(opts_.beam);
}

template <class FST>
bool LatticeFasterDecoderTpl<FST>::Decode(Decodable* decodable) {
  InitDecoding();
  AdvanceDecoding(decodable);
  FinalizeDecoding();
  return !active_toks_.empty() && active_toks_.back().toks != nullptr;
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::AdvanceDecoding(Decodable* decodable,
                                                   int32_t max_num_frames) {
  KQ_CHECK(!active_toks_.empty() && !decoding_finalized_, kInternal)
      << "AdvanceDecoding needs InitDecoding() first (and no FinalizeDecoding() since)";
  KQ_CHECK(max_ilabel_ <= decodable->NumIndices(), kInvalidArgument)
      << "decoding graph uses transition id " << max_ilabel_ << " but the model has only "
      << decodable->NumIndices() << " transition ids (graph and model do not match)";
  const size_t num_indices = static_cast<size_t>(decodable->NumIndices()) + 1;
  if (frame_loglikes_.size() != num_indices) frame_loglikes_.assign(num_indices, 0.0f);
  const int32_t ready = decodable->NumFramesReady();
  KQ_CHECK(ready >= NumFramesDecoded(), kInvalidArgument)
      << "the decodable has " << ready << " frames ready but " << NumFramesDecoded()
      << " were decoded already (a different decodable?)";
  int32_t target = ready;
  if (max_num_frames >= 0) target = std::min(target, NumFramesDecoded() + max_num_frames);
  while (NumFramesDecoded() < target) {
    if (NumFramesDecoded() % opts_.prune_interval == 0)
      PruneActiveTokens(opts_.lattice_beam * opts_.prune_scale);
    const float cost_cutoff = ProcessEmitting(decodable);
    ProcessNonemitting(cost_cutoff);
  }
}

template <class FST>
int32_t LatticeFasterDecoderTpl<FST>::FindOrAddToken(StateId state, int32_t frame_plus_one,
                                                     float tot_cost, Token* backpointer,
                                                     bool* changed) {
  const int32_t idx = map_.FindOrInsert(state);
  Elem& e = map_.elems()[idx];
  if (e.val == nullptr) {
    Token*& toks = active_toks_[frame_plus_one].toks;
    Token* tok = token_pool_.New();
    tok->tot_cost = tot_cost;
    tok->extra_cost = 0.0f;
    tok->links = nullptr;
    tok->next = toks;
    tok->final_cost = kInf;
    tok->aux = 0;
    tok->backpointer = backpointer;
    toks = tok;
    e.val = tok;
    ++num_toks_created_;
    *changed = true;
  } else if (e.val->tot_cost > tot_cost) {
    e.val->tot_cost = tot_cost;
    e.val->backpointer = backpointer;
    *changed = true;
  } else {
    *changed = false;
  }
  return idx;
}

template <class FST>
float LatticeFasterDecoderTpl<FST>::GetCutoff(const std::vector<Elem>& elems,
                                              float* adaptive_beam, int32_t* best_index) {
  float best = kInf;
  *best_index = -1;
  const bool unlimited =
      opts_.max_active == std::numeric_limits<int32_t>::max() && opts_.min_active == 0;
  if (!unlimited) tmp_costs_.clear();
  for (size_t i = 0; i < elems.size(); ++i) {
    const float w = elems[i].val->tot_cost;
    if (!unlimited) tmp_costs_.push_back(w);
    if (w < best) {
      best = w;
      *best_index = static_cast<int32_t>(i);
    }
  }
  *adaptive_beam = opts_.beam;
  if (unlimited) return best + opts_.beam;

  const float beam_cutoff = best + opts_.beam;
  float min_active_cutoff = kInf, max_active_cutoff = kInf;
  const size_t max_active = static_cast<size_t>(opts_.max_active);
  const size_t min_active = static_cast<size_t>(opts_.min_active);
  if (tmp_costs_.size() > max_active) {
    std::nth_element(tmp_costs_.begin(), tmp_costs_.begin() + max_active, tmp_costs_.end());
    max_active_cutoff = tmp_costs_[max_active];
  }
  if (max_active_cutoff < beam_cutoff) {  // max_active is tighter than the beam
    *adaptive_beam = max_active_cutoff - best + opts_.beam_delta;
    return max_active_cutoff;
  }
  if (tmp_costs_.size() > min_active) {
    if (min_active == 0) {
      min_active_cutoff = best;
    } else {
      auto end = tmp_costs_.size() > max_active ? tmp_costs_.begin() + max_active
                                                : tmp_costs_.end();
      std::nth_element(tmp_costs_.begin(), tmp_costs_.begin() + min_active, end);
      min_active_cutoff = tmp_costs_[min_active];
    }
  }
  if (min_active_cutoff > beam_cutoff) {  // min_active is looser than the beam
    *adaptive_beam = min_active_cutoff - best + opts_.beam_delta;
    return min_active_cutoff;
  }
  return beam_cutoff;
}

template <class FST>
float LatticeFasterDecoderTpl<FST>::ProcessEmitting(Decodable* decodable) {
  const int32_t frame = static_cast<int32_t>(active_toks_.size()) - 1;
  active_toks_.resize(active_toks_.size() + 1);
  map_.TakeElems(&prev_elems_);
  float adaptive_beam;
  int32_t best_index;
  const float cur_cutoff = GetCutoff(prev_elems_, &adaptive_beam, &best_index);
  map_.Reserve(prev_elems_.size());

  decodable->FillFrame(frame, frame_loglikes_.data());
  const float* loglikes = frame_loglikes_.data();

  // Seed next_cutoff from the best token so fewer tokens are created before it tightens.
  float next_cutoff = kInf;
  float cost_offset = 0.0f;
  if (best_index >= 0) {
    const Elem& be = prev_elems_[best_index];
    const Token* tok = be.val;
    cost_offset = -tok->tot_cost;
    for (fst::ArcIterator<FST> aiter(fst_, be.state); !aiter.Done(); aiter.Next()) {
      const auto& arc = aiter.Value();
      if (arc.ilabel != 0) {
        const float new_weight =
            arc.weight.Value() + cost_offset - loglikes[arc.ilabel] + tok->tot_cost;
        if (new_weight + adaptive_beam < next_cutoff) next_cutoff = new_weight + adaptive_beam;
      }
    }
  }
  cost_offsets_.resize(frame + 1, 0.0f);
  cost_offsets_[frame] = cost_offset;

  const int32_t frame_plus_one = frame + 1;
  for (const Elem& e : prev_elems_) {
    Token* tok = e.val;
    if (tok->tot_cost > cur_cutoff) continue;
    const float cur_cost = tok->tot_cost;
    for (fst::ArcIterator<FST> aiter(fst_, e.state); !aiter.Done(); aiter.Next()) {
      const auto& arc = aiter.Value();
      if (arc.ilabel == 0) continue;
      const float ac_cost = cost_offset - loglikes[arc.ilabel];
      const float graph_cost = arc.weight.Value();
      const float tot_cost = cur_cost + ac_cost + graph_cost;
      if (tot_cost >= next_cutoff) continue;
      if (tot_cost + adaptive_beam < next_cutoff) next_cutoff = tot_cost + adaptive_beam;
      bool changed;
      const int32_t idx = FindOrAddToken(arc.nextstate, frame_plus_one, tot_cost, tok, &changed);
      ForwardLink* link = link_pool_.New();
      *link = ForwardLink{map_.elems()[idx].val, static_cast<int32_t>(arc.ilabel),
                          static_cast<int32_t>(arc.olabel), graph_cost, ac_cost, tok->links};
      tok->links = link;
    }
  }
  return next_cutoff;
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::DeleteForwardLinks(Token* tok) {
  for (ForwardLink* l = tok->links; l != nullptr;) {
    ForwardLink* next = l->next;
    link_pool_.Delete(l);
    l = next;
  }
  tok->links = nullptr;
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::ProcessNonemitting(float cutoff) {
  const int32_t frame_plus_one = static_cast<int32_t>(active_toks_.size()) - 1;
  queue_.clear();
  const auto& elems = map_.elems();
  for (size_t i = 0; i < elems.size(); ++i)
    if (fst_.NumInputEpsilons(elems[i].state) != 0) queue_.push_back(static_cast<int32_t>(i));

  while (!queue_.empty()) {
    const int32_t idx = queue_.back();
    queue_.pop_back();
    const StateId state = map_.elems()[idx].state;
    Token* tok = map_.elems()[idx].val;
    const float cur_cost = tok->tot_cost;
    if (cur_cost >= cutoff) continue;
    // The links are regenerated from the token's (possibly improved) cost.
    DeleteForwardLinks(tok);
    for (fst::ArcIterator<FST> aiter(fst_, state); !aiter.Done(); aiter.Next()) {
      const auto& arc = aiter.Value();
      if (arc.ilabel != 0) continue;
      const float graph_cost = arc.weight.Value();
      const float tot_cost = cur_cost + graph_cost;
      if (tot_cost >= cutoff) continue;
      bool changed;
      const int32_t new_idx =
          FindOrAddToken(arc.nextstate, frame_plus_one, tot_cost, tok, &changed);
      ForwardLink* link = link_pool_.New();
      *link = ForwardLink{map_.elems()[new_idx].val, 0, static_cast<int32_t>(arc.olabel),
                          graph_cost, 0.0f, tok->links};
      tok->links = link;
      if (changed && fst_.NumInputEpsilons(arc.nextstate) != 0) queue_.push_back(new_idx);
    }
  }
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::PruneForwardLinks(int32_t frame_plus_one,
                                                     bool* extra_costs_changed,
                                                     bool* links_pruned, float delta) {
  *extra_costs_changed = false;
  *links_pruned = false;
  bool changed = true;
  while (changed) {
    changed = false;
    for (Token* tok = active_toks_[frame_plus_one].toks; tok != nullptr; tok = tok->next) {
      ForwardLink* prev_link = nullptr;
      float tok_extra_cost = kInf;
      for (ForwardLink* link = tok->links; link != nullptr;) {
        const Token* next_tok = link->next_tok;
        float link_extra_cost =
            next_tok->extra_cost +
            ((tok->tot_cost + link->acoustic_cost + link->graph_cost) - next_tok->tot_cost);
        if (link_extra_cost > opts_.lattice_beam) {
          ForwardLink* next_link = link->next;
          if (prev_link != nullptr) {
            prev_link->next = next_link;
          } else {
            tok->links = next_link;
          }
          link_pool_.Delete(link);
          link = next_link;
          *links_pruned = true;
        } else {
          if (link_extra_cost < 0.0f) link_extra_cost = 0.0f;  // rounding error
          if (link_extra_cost < tok_extra_cost) tok_extra_cost = link_extra_cost;
          prev_link = link;
          link = link->next;
        }
      }
      if (std::fabs(tok_extra_cost - tok->extra_cost) > delta) changed = true;
      tok->extra_cost = tok_extra_cost;
    }
    if (changed) *extra_costs_changed = true;
  }
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::ComputeFinalCosts() {
  float best_cost = kInf, best_cost_with_final = kInf;
  has_final_costs_ = false;
  for (const Elem& e : map_.elems()) {
    Token* tok = e.val;
    const float final_cost = fst_.Final(e.state).Value();
    tok->final_cost = final_cost;
    best_cost = std::min(best_cost, tok->tot_cost);
    best_cost_with_final = std::min(best_cost_with_final, tok->tot_cost + final_cost);
    if (final_cost != kInf) has_final_costs_ = true;
  }
  if (best_cost == kInf && best_cost_with_final == kInf) {
    final_relative_cost_ = kInf;
  } else {
    final_relative_cost_ = best_cost_with_final - best_cost;
  }
  final_best_cost_ = best_cost_with_final != kInf ? best_cost_with_final : best_cost;
}

namespace {
// Kaldi's ApproxEqual: relative tolerance; a finite value never equals an infinite one (a
// token whose extra cost became infinite must trigger another pass, or links to it survive).
inline bool ApproxEqual(float a, float b, float relative_tolerance) {
  if (a == b) return true;
  const float diff = std::fabs(a - b);
  if (diff == std::numeric_limits<float>::infinity() || diff != diff) return false;
  return diff <= relative_tolerance * (std::fabs(a) + std::fabs(b));
}
}  // namespace

template <class FST>
void LatticeFasterDecoderTpl<FST>::PruneForwardLinksFinal() {
  const int32_t frame_plus_one = static_cast<int32_t>(active_toks_.size()) - 1;
  ComputeFinalCosts();
  decoding_finalized_ = true;
  map_.Clear();
  const float delta = 1.0e-05f;
  bool changed = true;
  while (changed) {
    changed = false;
    for (Token* tok = active_toks_[frame_plus_one].toks; tok != nullptr; tok = tok->next) {
      const float final_cost = has_final_costs_ ? tok->final_cost : 0.0f;
      // Min over being final directly or reaching a final token through links.
      float tok_extra_cost = tok->tot_cost + final_cost - final_best_cost_;
      ForwardLink* prev_link = nullptr;
      for (ForwardLink* link = tok->links; link != nullptr;) {
        const Token* next_tok = link->next_tok;
        float link_extra_cost =
            next_tok->extra_cost +
            ((tok->tot_cost + link->acoustic_cost + link->graph_cost) - next_tok->tot_cost);
        if (link_extra_cost > opts_.lattice_beam) {
          ForwardLink* next_link = link->next;
          if (prev_link != nullptr) {
            prev_link->next = next_link;
          } else {
            tok->links = next_link;
          }
          link_pool_.Delete(link);
          link = next_link;
        } else {
          if (link_extra_cost < 0.0f) link_extra_cost = 0.0f;
          if (link_extra_cost < tok_extra_cost) tok_extra_cost = link_extra_cost;
          prev_link = link;
          link = link->next;
        }
      }
      if (tok_extra_cost > opts_.lattice_beam) tok_extra_cost = kInf;
      if (!ApproxEqual(tok->extra_cost, tok_extra_cost, delta)) changed = true;
      tok->extra_cost = tok_extra_cost;
    }
  }
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::PruneTokensForFrame(int32_t frame_plus_one) {
  Token*& toks = active_toks_[frame_plus_one].toks;
  Token* prev = nullptr;
  for (Token* tok = toks; tok != nullptr;) {
    Token* next = tok->next;
    if (tok->extra_cost == kInf) {
      DeleteForwardLinks(tok);
      if (prev != nullptr) {
        prev->next = next;
      } else {
        toks = next;
      }
      token_pool_.Delete(tok);
    } else {
      prev = tok;
    }
    tok = next;
  }
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::PruneActiveTokens(float delta) {
  const int32_t cur_frame_plus_one = NumFramesDecoded();
  for (int32_t f = cur_frame_plus_one - 1; f >= 0; --f) {
    if (active_toks_[f].must_prune_forward_links) {
      bool extra_costs_changed = false, links_pruned = false;
      PruneForwardLinks(f, &extra_costs_changed, &links_pruned, delta);
      if (extra_costs_changed && f > 0) active_toks_[f - 1].must_prune_forward_links = true;
      if (links_pruned) active_toks_[f].must_prune_tokens = true;
      active_toks_[f].must_prune_forward_links = false;
    }
    if (f + 1 < cur_frame_plus_one && active_toks_[f + 1].must_prune_tokens) {
      PruneTokensForFrame(f + 1);
      active_toks_[f + 1].must_prune_tokens = false;
    }
  }
}

template <class FST>
float LatticeFasterDecoderTpl<FST>::FinalRelativeCost() const {
  if (decoding_finalized_) return final_relative_cost_;
  // Kaldi's ComputeFinalCosts over the current frame's tokens (map_ holds them until
  // FinalizeDecoding).
  float best_cost = kInf, best_cost_with_final = kInf;
  for (const Elem& e : map_.elems()) {
    const float cost = e.val->tot_cost;
    best_cost = std::min(best_cost, cost);
    best_cost_with_final = std::min(best_cost_with_final, cost + fst_.Final(e.state).Value());
  }
  if (best_cost == kInf && best_cost_with_final == kInf) return kInf;
  return best_cost_with_final - best_cost;
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::FinalizeDecoding() {
  if (decoding_finalized_) return;
  KQ_CHECK(!active_toks_.empty(), kInternal) << "FinalizeDecoding needs InitDecoding() first";
  const int32_t final_frame_plus_one = NumFramesDecoded();
  PruneForwardLinksFinal();
  for (int32_t f = final_frame_plus_one - 1; f >= 0; --f) {
    bool b1, b2;
    PruneForwardLinks(f, &b1, &b2, 0.0f);
    PruneTokensForFrame(f + 1);
  }
  PruneTokensForFrame(0);
}

template <class FST>
void LatticeFasterDecoderTpl<FST>::TopSortTokens(Token* toks, std::vector<Token*>* out) {
  // Creation order (the list is newest-first), then Kahn's algorithm over epsilon links,
  // which are the only links within a frame.
  sort_tokens_.clear();
  for (Token* t = toks; t != nullptr; t = t->next) sort_tokens_.push_back(t);
  std::reverse(sort_tokens_.begin(), sort_tokens_.end());
  const int32_t n = static_cast<int32_t>(sort_tokens_.size());
  for (int32_t i = 0; i < n; ++i) sort_tokens_[i]->aux = i;
  sort_indegree_.assign(n, 0);
  for (Token* t : sort_tokens_)
    for (ForwardLink* l = t->links; l != nullptr; l = l->next)
      if (l->ilabel == 0) ++sort_indegree_[l->next_tok->aux];
  const size_t begin = out->size();
  for (int32_t i = 0; i < n; ++i)
    if (sort_indegree_[i] == 0) out->push_back(sort_tokens_[i]);
  for (size_t q = begin; q < out->size(); ++q) {
    for (ForwardLink* l = (*out)[q]->links; l != nullptr; l = l->next) {
      if (l->ilabel != 0) continue;
      if (--sort_indegree_[l->next_tok->aux] == 0) out->push_back(l->next_tok);
    }
  }
  if (out->size() - begin < static_cast<size_t>(n)) {
    // An epsilon cycle among tokens: append the rest in creation order.
    for (int32_t i = 0; i < n; ++i)
      if (sort_indegree_[i] > 0) out->push_back(sort_tokens_[i]);
  }
}

template <class FST>
bool LatticeFasterDecoderTpl<FST>::GetRawLattice(RawLattice* lat, bool use_final_probs) {
  lat->Clear();
  KQ_CHECK(use_final_probs || !decoding_finalized_, kInternal)
      << "GetRawLattice without final probabilities after FinalizeDecoding()";
  const int32_t num_frames = NumFramesDecoded();
  if (num_frames < 0) return false;
  // The last frame's final costs: stored by FinalizeDecoding, else computed from the state of
  // each current token (map_).
  bool use_finals = false;
  if (use_final_probs) {
    if (decoding_finalized_) {
      use_finals = has_final_costs_;
    } else {
      for (const Elem& e : map_.elems()) {
        e.val->final_cost = fst_.Final(e.state).Value();
        if (e.val->final_cost != kInf) use_finals = true;
      }
    }
  }
  std::vector<Token*> order;
  std::vector<int32_t> frame_end;  // order index one past each frame's tokens
  for (int32_t f = 0; f <= num_frames; ++f) {
    if (active_toks_[f].toks == nullptr) return false;
    TopSortTokens(active_toks_[f].toks, &order);
    frame_end.push_back(static_cast<int32_t>(order.size()));
  }
  for (size_t s = 0; s < order.size(); ++s) order[s]->aux = static_cast<int32_t>(s);
  lat->final_cost.assign(order.size(), kInf);
  lat->arc_begin.reserve(order.size() + 1);
  int32_t f = 0;
  for (size_t s = 0; s < order.size(); ++s) {
    while (static_cast<int32_t>(s) >= frame_end[f]) ++f;
    const Token* tok = order[s];
    // Links are kept newest-first; emit them in creation order like the FST's arcs.
    const size_t first = lat->arcs.size();
    for (const ForwardLink* l = tok->links; l != nullptr; l = l->next) {
      const float cost_offset = l->ilabel != 0 ? cost_offsets_[f] : 0.0f;
      lat->arcs.push_back(RawLattice::Arc{l->ilabel, l->olabel, l->graph_cost,
                                          l->acoustic_cost - cost_offset, l->next_tok->aux});
    }
    std::reverse(lat->arcs.begin() + first, lat->arcs.end());
    lat->arc_begin.push_back(static_cast<int32_t>(lat->arcs.size()));
    if (f == num_frames) lat->final_cost[s] = use_finals ? tok->final_cost : 0.0f;
  }
  return !order.empty();
}

template <class FST>
auto LatticeFasterDecoderTpl<FST>::BestPathEnd(bool use_final_probs, float* final_cost) const
    -> const Token* {
  *final_cost = 0.0f;
  if (NumFramesDecoded() < 0) return nullptr;
  const Token* best = nullptr;
  float best_cost = kInf;
  if (!decoding_finalized_) {
    // map_ pairs the current tokens with their states (for the final costs).
    bool any_final = false;
    if (use_final_probs) {
      for (const Elem& e : map_.elems())
        if (fst_.Final(e.state).Value() != kInf) any_final = true;
    }
    for (const Elem& e : map_.elems()) {
      const float fc = any_final ? fst_.Final(e.state).Value() : 0.0f;
      const float cost = e.val->tot_cost + fc;
      if (cost < best_cost) {
        best_cost = cost;
        best = e.val;
        *final_cost = fc;
      }
    }
  } else {
    const bool any_final = use_final_probs && has_final_costs_;
    for (const Token* t = active_toks_.back().toks; t != nullptr; t = t->next) {
      const float fc = any_final ? t->final_cost : 0.0f;
      const float cost = t->tot_cost + fc;
      if (cost < best_cost) {
        best_cost = cost;
        best = t;
        *final_cost = fc;
      }
    }
  }
  return best;
}

template <class FST>
bool LatticeFasterDecoderTpl<FST>::GetBestPath(bool use_final_probs, BestPath* path) const {
  *path = BestPath();
  if (NumFramesDecoded() <= 0) return false;
  float final_cost = 0.0f;
  const Token* tok = BestPathEnd(use_final_probs, &final_cost);
  if (tok == nullptr) return false;
  // Backwards along the predecessors; the link from the predecessor to the token is the
  // cheapest one between them (Kaldi's TraceBackBestPath). A chain longer than the tokens
  // ever created would mean a broken predecessor: refuse rather than loop.
  double graph = final_cost, acoustic = 0.0;
  int32_t frame = NumFramesDecoded();
  std::vector<std::pair<int32_t, int32_t>> words;  // (word, frames after its arc) backwards
  for (int64_t steps = 0; tok->backpointer != nullptr; ++steps) {
    KQ_CHECK(steps <= num_toks_created_, kInternal) << "best-path traceback does not end";
    const Token* prev = tok->backpointer;
    const ForwardLink* best_link = nullptr;
    for (const ForwardLink* l = prev->links; l != nullptr; l = l->next) {
      if (l->next_tok != tok) continue;
      if (best_link == nullptr || l->graph_cost + l->acoustic_cost <
                                      best_link->graph_cost + best_link->acoustic_cost)
        best_link = l;
    }
    KQ_CHECK(best_link != nullptr, kInternal)
        << "best-path traceback: no link from a token to its predecessor";
    if (best_link->ilabel != 0) {
      --frame;
      KQ_CHECK(frame >= 0, kInternal) << "best-path traceback passes frame 0";
      path->alignment.push_back(best_link->ilabel);
      acoustic += best_link->acoustic_cost - cost_offsets_[frame];
    }
    graph += best_link->graph_cost;
    if (best_link->olabel != 0) words.push_back({best_link->olabel, frame});
    tok = prev;
  }
  KQ_CHECK(frame == 0, kInternal) << "best-path traceback ends at frame " << frame;
  std::reverse(path->alignment.begin(), path->alignment.end());
  for (auto it = words.rbegin(); it != words.rend(); ++it) {
    path->words.push_back(it->first);
    path->word_frames.push_back(it->second);
  }
  path->graph_cost = static_cast<float>(graph);
  path->acoustic_cost = static_cast<float>(acoustic);
  return true;
}

template class LatticeFasterDecoderTpl<fst::ConstFst<fst::StdArc>>;
template class LatticeFasterDecoderTpl<fst::VectorFst<fst::StdArc>>;

}  // namespace kaldiq::decode
