#include "decode/decoder_options.h"

#include "kaldi/option_table.h"

namespace kaldiq::decode {

void DecoderOptions::Register(kaldi::OptionTable* t) {
  t->Register("beam", &beam, "Decoding beam.  Larger->slower, more accurate.");
  t->Register("max-active", &max_active, "Decoder max active states.  Larger->slower; more accurate");
  t->Register("min-active", &min_active, "Decoder minimum #active states.");
  t->Register("lattice-beam", &lattice_beam, "Lattice generation beam.  Larger->slower, and deeper lattices");
  t->Register("prune-interval", &prune_interval, "Interval (in frames) at which to prune tokens");
  t->Register("beam-delta", &beam_delta,
              "Increment used in decoding-- this parameter is obscure and relates to a speedup "
              "in the way the max-active constraint is applied.  Larger is more accurate.");
  t->Register("hash-ratio", &hash_ratio,
              "Setting used in decoder to control hash behavior (kept for compatibility)");
  t->Register("prune-scale", &prune_scale,
              "Advanced option: the fraction of lattice-beam used as the tolerance of the "
              "periodic pruning.");
}

}  // namespace kaldiq::decode
