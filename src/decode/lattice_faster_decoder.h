// Token-passing beam search with lattice generation: the algorithm of Kaldi's
// LatticeFasterDecoder (tokens per frame with forward links, beam + max/min-active cutoff via
// an adaptive beam, periodic PruneForwardLinks / PruneTokensForFrame every prune_interval
// frames with lattice_beam, final-cost handling), written for speed:
//  - templated on the FST type so arc iteration is OpenFst's non-virtual ConstFst/VectorFst
//    ArcIterator specialisation;
//  - an open-addressing state -> token map and pooled tokens/links (no per-token new/delete);
//  - the acoustic costs of a frame are fetched once per transition id into an array.
// One decoder object decodes utterances one after another; use one object per thread.
//
// Streaming (Kaldi's InitDecoding / AdvanceDecoding / FinalizeDecoding, and the backpointer
// traceback of LatticeFasterOnlineDecoder): frames are decoded as the decodable makes them
// ready. The search is frame-synchronous and prunes every prune_interval frames counted from
// the start of the utterance, so any split of the frames over AdvanceDecoding calls gives the
// same tokens, lattice and best path as Decode(). Every token remembers the predecessor that
// gave it its best cost, so the best path so far (partial results, endpointing) is a
// traceback over the frames, not a lattice build.
#pragma once

#include <fst/const-fst.h>
#include <fst/fst.h>
#include <fst/vector-fst.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "decode/decodable.h"
#include "decode/decoder_options.h"
#include "decode/raw_lattice.h"
#include "decode/token_map.h"

namespace kaldiq::decode {

template <class FST>
class LatticeFasterDecoderTpl {
 public:
  // The FST (HCLG, ilabels = transition ids) is borrowed and must outlive the decoder.
  // Throws kaldiq::Error for an FST without a start state or with bad options.
  LatticeFasterDecoderTpl(const FST& fst, const DecoderOptions& opts);

  // Decodes all frames of `decodable` (InitDecoding, AdvanceDecoding, FinalizeDecoding).
  // Returns false when no token survived to the last frame (Kaldi's "Failed to decode").
  // Throws kaldiq::Error when an FST ilabel exceeds the decodable's NumIndices() (graph and
  // model do not match).
  bool Decode(Decodable* decodable);

  // Starts an utterance: the start state and its epsilon closure, nothing decoded.
  void InitDecoding();
  // Decodes frames NumFramesDecoded() .. ready - 1, ready = decodable->NumFramesReady() (at
  // most max_num_frames of them when >= 0). The decodable must be the same object (or show the
  // same frames) for the whole utterance. Throws kaldiq::Error: kInvalidArgument when the
  // graph uses transition ids beyond NumIndices() or NumFramesReady() went below the frames
  // already decoded; kInternal before InitDecoding() or after FinalizeDecoding().
  void AdvanceDecoding(Decodable* decodable, int32_t max_num_frames = -1);
  // Final pruning with the graph's final costs (what Decode does after the last frame). After
  // it only GetRawLattice / GetBestPath with final probabilities are meaningful, and
  // AdvanceDecoding is an error until the next InitDecoding(). Idempotent.
  void FinalizeDecoding();
  bool DecodingFinalized() const { return decoding_finalized_; }

  // True when some token of the last decoded frame is in a final state.
  bool ReachedFinal() const { return FinalRelativeCost() != kInf; }
  // Kaldi's FinalRelativeCost(): best cost with final minus best cost without, over the
  // tokens of the last decoded frame (infinite when none is final). Before FinalizeDecoding
  // it is computed on the current tokens, as the endpointer needs it.
  float FinalRelativeCost() const;
  int32_t NumFramesDecoded() const { return static_cast<int32_t>(active_toks_.size()) - 1; }

  // Kaldi's GetRawLattice(use_final_probs): with final probabilities, final states carry the
  // FST's final costs, or, when no final state was reached, every last-frame state is final
  // with cost 0; without them every last-frame state is final with cost 0 (a partial lattice;
  // not allowed after FinalizeDecoding: throws kInternal). Returns false (and an empty
  // lattice) when some frame has no tokens.
  bool GetRawLattice(RawLattice* lat, bool use_final_probs = true);

  // The best path through the frames decoded so far, traced back along each token's best
  // predecessor (Kaldi's BestPathEnd + TraceBackBestPath): the path of the best last-frame
  // token, counting final costs when use_final_probs and some token is final (then only final
  // tokens compete). Fills words, word_frames, alignment (one transition id per decoded
  // frame) and the costs. Returns false when no frame was decoded or no token is alive. Cost:
  // linear in the frames (the links of each token on the path are scanned once).
  bool GetBestPath(bool use_final_probs, BestPath* path) const;

  // Largest ilabel in the FST (checked against the decodable's NumIndices()).
  int32_t MaxIlabel() const { return max_ilabel_; }
  // Tokens created during the last Decode (a statistic for benchmarks).
  int64_t NumTokensCreated() const { return num_toks_created_; }

 private:
  static constexpr float kInf = std::numeric_limits<float>::infinity();
  struct Token;
  struct ForwardLink {
    Token* next_tok;
    int32_t ilabel;
    int32_t olabel;
    float graph_cost;
    float acoustic_cost;
    ForwardLink* next;
  };
  struct Token {
    float tot_cost;     // best cost from the start to here (incl. the frame's cost offset)
    float extra_cost;   // >= 0: how much worse than the best path through the lattice
    ForwardLink* links;
    Token* next;        // next token of the same frame
    float final_cost;   // last frame only, valid when has_final_costs_
    int32_t aux;        // scratch (state id / position) in GetRawLattice
    // The token whose link gave tot_cost (null for the start token): the best path's
    // predecessor. A surviving token's predecessor survives pruning, because the link between
    // them has the token's own extra cost.
    Token* backpointer;
  };
  struct TokenList {
    Token* toks = nullptr;
    bool must_prune_forward_links = true;
    bool must_prune_tokens = true;
  };
  using Map = internal::StateMap<Token>;
  using Elem = typename Map::Elem;
  using StateId = typename FST::Arc::StateId;

  // Returns the index in map_ of the token for `state` on frame_plus_one, updating its cost
  // (and predecessor) when tot_cost is better; *changed tells whether it was created or
  // improved.
  int32_t FindOrAddToken(StateId state, int32_t frame_plus_one, float tot_cost,
                         Token* backpointer, bool* changed);
  // The best token of the last decoded frame (see GetBestPath) and its final cost (0 when
  // final costs are not used); null when there is none.
  const Token* BestPathEnd(bool use_final_probs, float* final_cost) const;
  float GetCutoff(const std::vector<Elem>& elems, float* adaptive_beam, int32_t* best_index);
  float ProcessEmitting(Decodable* decodable);
  void ProcessNonemitting(float cutoff);
  void DeleteForwardLinks(Token* tok);
  void PruneForwardLinks(int32_t frame_plus_one, bool* extra_costs_changed, bool* links_pruned,
                         float delta);
  void PruneForwardLinksFinal();
  void PruneTokensForFrame(int32_t frame_plus_one);
  void PruneActiveTokens(float delta);
  void ComputeFinalCosts();
  // Orders the tokens of one frame so epsilon links go forward (cycles, if any, at the end).
  void TopSortTokens(Token* toks, std::vector<Token*>* out);

  const FST& fst_;
  DecoderOptions opts_;
  int32_t max_ilabel_ = 0;

  Map map_;
  std::vector<Elem> prev_elems_;
  std::vector<int32_t> queue_;
  std::vector<float> tmp_costs_;
  std::vector<float> frame_loglikes_;  // index = transition id
  std::vector<TokenList> active_toks_;
  std::vector<float> cost_offsets_;
  internal::Pool<Token> token_pool_;
  internal::Pool<ForwardLink> link_pool_;
  bool has_final_costs_ = false;
  bool decoding_finalized_ = false;
  float final_relative_cost_ = kInf;
  float final_best_cost_ = kInf;
  int64_t num_toks_created_ = 0;
  // Scratch of TopSortTokens.
  std::vector<Token*> sort_tokens_;
  std::vector<int32_t> sort_indegree_;
};

using LatticeFasterDecoder = LatticeFasterDecoderTpl<fst::ConstFst<fst::StdArc>>;
using LatticeFasterDecoderVector = LatticeFasterDecoderTpl<fst::VectorFst<fst::StdArc>>;

extern template class LatticeFasterDecoderTpl<fst::ConstFst<fst::StdArc>>;
extern template class LatticeFasterDecoderTpl<fst::VectorFst<fst::StdArc>>;

}  // namespace kaldiq::decode
