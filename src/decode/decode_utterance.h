// One utterance through the decoder, as Kaldi's DecodeUtteranceLatticeFaster does it for
// latgen-faster-mapped / nnet3-latgen-faster: decode, check for a final state (--allow-partial),
// take the 1-best (words, alignment, likelihood), build the raw lattice, determinize it with the
// lattice beam (or keep the state-level lattice) and undo the acoustic scale on it.
// Nothing is printed here: messages are returned so a multi-threaded caller can print them in
// input order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "decode/decodable.h"
#include "decode/lattice_faster_decoder.h"
#include "lat/lattice_weight.h"

namespace kaldiq::decode {

struct UtteranceDecodeOptions {
  float acoustic_scale = 0.1f;
  bool determinize_lattice = true;
  bool allow_partial = false;
};

struct UtteranceResult {
  // True when output was produced (Kaldi's "success"); false = counted as failed.
  bool ok = false;
  // No final state was reached (output produced only with allow_partial).
  bool partial = false;
  std::vector<int32_t> words;
  std::vector<int32_t> alignment;  // transition ids, one per frame
  // Kaldi's likelihood: -(graph + acoustic cost) of the best path, in acoustic-scaled units.
  double likelihood = 0.0;
  int32_t num_frames = 0;
  float graph_cost = 0.0f;
  float acoustic_cost = 0.0f;
  lat::CompactLattice clat;  // when determinize_lattice
  lat::Lattice lat;          // when !determinize_lattice
  // Kaldi-style "WARNING ..." lines for stderr, in order (no trailing newline).
  std::vector<std::string> warnings;
  // Sizes, for logs and benchmarks.
  int64_t raw_states = 0, raw_arcs = 0, lattice_states = 0, lattice_arcs = 0;
};

template <class FST>
void DecodeUtterance(LatticeFasterDecoderTpl<FST>* decoder, Decodable* decodable,
                     const std::string& utt, float lattice_beam,
                     const UtteranceDecodeOptions& opts, UtteranceResult* result);

// The part of DecodeUtterance after the search, for a decoder that was driven incrementally
// (InitDecoding / AdvanceDecoding / FinalizeDecoding, e.g. by a streaming recognizer): the
// final-state check, 1-best, lattice and its determinization. *result must be fresh; the
// decoder must have decoded at least one frame.
template <class FST>
void CollectUtteranceResult(LatticeFasterDecoderTpl<FST>* decoder, const std::string& utt,
                            float lattice_beam, const UtteranceDecodeOptions& opts,
                            UtteranceResult* result);

// Raw lattice -> lat::Lattice with LatticeWeight(graph, acoustic) arcs and final weights.
void RawLatticeToLattice(const RawLattice& raw, lat::Lattice* out);

// Multiplies the acoustic cost of every arc and final weight by `scale` (Kaldi's
// ScaleLattice(AcousticLatticeScale(scale)), computed in double as Kaldi does).
void ScaleAcoustic(double scale, lat::Lattice* lat);
void ScaleAcoustic(double scale, lat::CompactLattice* clat);

}  // namespace kaldiq::decode
