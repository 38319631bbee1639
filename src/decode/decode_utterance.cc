#include "decode/decode_utterance.h"

#include <fst/connect.h>

#include "lat/determinize.h"
#include "util/error.h"

namespace kaldiq::decode {

void RawLatticeToLattice(const RawLattice& raw, lat::Lattice* out) {
  out->DeleteStates();
  const int32_t n = raw.NumStates();
  if (n == 0) return;
  out->ReserveStates(n);
  for (int32_t s = 0; s < n; ++s) out->AddState();
  out->SetStart(0);
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (int32_t s = 0; s < n; ++s) {
    out->ReserveArcs(s, raw.arc_begin[s + 1] - raw.arc_begin[s]);
    for (int32_t a = raw.arc_begin[s]; a < raw.arc_begin[s + 1]; ++a) {
      const RawLattice::Arc& arc = raw.arcs[a];
      out->AddArc(s, lat::LatticeArc(arc.ilabel, arc.olabel,
                                     lat::LatticeWeight(arc.graph_cost, arc.acoustic_cost),
                                     arc.nextstate));
    }
    if (raw.final_cost[s] != kInf) out->SetFinal(s, lat::LatticeWeight(raw.final_cost[s], 0.0f));
  }
}

namespace {
inline lat::LatticeWeight ScaleWeight(const lat::LatticeWeight& w, double scale) {
  if (w == lat::LatticeWeight::Zero()) return w;
  return lat::LatticeWeight(w.Value1(), static_cast<float>(scale * w.Value2()));
}
}  // namespace

void ScaleAcoustic(double scale, lat::Lattice* lat) {
  if (scale == 1.0) return;
  for (int32_t s = 0; s < lat->NumStates(); ++s) {
    for (fst::MutableArcIterator<lat::Lattice> it(lat, s); !it.Done(); it.Next()) {
      lat::LatticeArc arc = it.Value();
      arc.weight = ScaleWeight(arc.weight, scale);
      it.SetValue(arc);
    }
    lat->SetFinal(s, ScaleWeight(lat->Final(s), scale));
  }
}

void ScaleAcoustic(double scale, lat::CompactLattice* clat) {
  if (scale == 1.0) return;
  for (int32_t s = 0; s < clat->NumStates(); ++s) {
    for (fst::MutableArcIterator<lat::CompactLattice> it(clat, s); !it.Done(); it.Next()) {
      lat::CompactLatticeArc arc = it.Value();
      arc.weight.SetWeight(ScaleWeight(arc.weight.Weight(), scale));
      it.SetValue(arc);
    }
    lat::CompactLatticeWeight f = clat->Final(s);
    if (f != lat::CompactLatticeWeight::Zero()) {
      f.SetWeight(ScaleWeight(f.Weight(), scale));
      clat->SetFinal(s, f);
    }
  }
}

template <class FST>
void DecodeUtterance(LatticeFasterDecoderTpl<FST>* decoder, Decodable* decodable,
                     const std::string& utt, float lattice_beam,
                     const UtteranceDecodeOptions& opts, UtteranceResult* result) {
  *result = UtteranceResult();
  if (!decoder->Decode(decodable)) {
    result->warnings.push_back("Failed to decode utterance " + utt);
    return;
  }
  CollectUtteranceResult(decoder, utt, lattice_beam, opts, result);
}

template <class FST>
void CollectUtteranceResult(LatticeFasterDecoderTpl<FST>* decoder, const std::string& utt,
                            float lattice_beam, const UtteranceDecodeOptions& opts,
                            UtteranceResult* result) {
  if (!decoder->ReachedFinal()) {
    result->partial = true;
    if (opts.allow_partial) {
      result->warnings.push_back("Outputting partial output for utterance " + utt +
                                 " since no final-state reached");
    } else {
      result->warnings.push_back("Not producing output for utterance " + utt +
                                 " since no final-state reached and --allow-partial=false.");
      return;
    }
  }
  RawLattice raw;
  KQ_CHECK(decoder->GetRawLattice(&raw), kInternal)
      << "unexpected problem getting the lattice for utterance " << utt;
  BestPath best;
  KQ_CHECK(RawLatticeBestPath(raw, &best), kInternal)
      << "failed to get the traceback for utterance " << utt;
  result->words = std::move(best.words);
  result->alignment = std::move(best.alignment);
  result->graph_cost = best.graph_cost;
  result->acoustic_cost = best.acoustic_cost;
  result->num_frames = static_cast<int32_t>(result->alignment.size());
  result->likelihood = -(static_cast<double>(best.graph_cost) + best.acoustic_cost);
  result->raw_states = raw.NumStates();
  result->raw_arcs = static_cast<int64_t>(raw.arcs.size());

  lat::Lattice lat;
  RawLatticeToLattice(raw, &lat);
  raw.Clear();
  fst::Connect(&lat);
  // Lattices are written without the acoustic scale (Kaldi: ScaleLattice(1/acwt)).
  const double inv_scale = opts.acoustic_scale != 0.0f ? 1.0 / opts.acoustic_scale : 1.0;
  if (opts.determinize_lattice) {
    if (!lat::DeterminizeLatticePruned(lat, lattice_beam, &result->clat)) {
      result->warnings.push_back("Determinization finished earlier than the beam for utterance " +
                                 utt);
    }
    ScaleAcoustic(inv_scale, &result->clat);
    result->lattice_states = result->clat.NumStates();
    for (int32_t s = 0; s < result->clat.NumStates(); ++s)
      result->lattice_arcs += result->clat.NumArcs(s);
  } else {
    ScaleAcoustic(inv_scale, &lat);
    result->lattice_states = lat.NumStates();
    for (int32_t s = 0; s < lat.NumStates(); ++s) result->lattice_arcs += lat.NumArcs(s);
    result->lat = std::move(lat);
  }
  result->ok = true;
}

template void DecodeUtterance(LatticeFasterDecoderTpl<fst::ConstFst<fst::StdArc>>*, Decodable*,
                              const std::string&, float, const UtteranceDecodeOptions&,
                              UtteranceResult*);
template void DecodeUtterance(LatticeFasterDecoderTpl<fst::VectorFst<fst::StdArc>>*, Decodable*,
                              const std::string&, float, const UtteranceDecodeOptions&,
                              UtteranceResult*);
template void CollectUtteranceResult(LatticeFasterDecoderTpl<fst::ConstFst<fst::StdArc>>*,
                                     const std::string&, float, const UtteranceDecodeOptions&,
                                     UtteranceResult*);
template void CollectUtteranceResult(LatticeFasterDecoderTpl<fst::VectorFst<fst::StdArc>>*,
                                     const std::string&, float, const UtteranceDecodeOptions&,
                                     UtteranceResult*);

}  // namespace kaldiq::decode
