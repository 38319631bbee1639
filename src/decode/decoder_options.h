// Options of the lattice-generating decoder, with Kaldi's LatticeFasterDecoderConfig defaults.
#pragma once

#include <cstdint>
#include <limits>

#include "util/error.h"

namespace kaldiq::kaldi {
class OptionTable;
}

namespace kaldiq::decode {

struct DecoderOptions {
  float beam = 16.0f;
  int32_t max_active = std::numeric_limits<int32_t>::max();
  int32_t min_active = 200;
  float lattice_beam = 10.0f;
  int32_t prune_interval = 25;
  float beam_delta = 0.5f;
  // Kaldi sizes its hash as hash_ratio x active tokens; our table grows itself, so this only
  // sets the initial load factor bound (kept for command-line compatibility).
  float hash_ratio = 2.0f;
  // Fraction of lattice_beam used as the tolerance of the periodic pruning (Kaldi's prune_scale).
  float prune_scale = 0.1f;

  // --beam --max-active --min-active --lattice-beam --prune-interval --beam-delta
  // --hash-ratio --prune-scale (Kaldi's LatticeFasterDecoderConfig::Register), for config
  // files read by library code (a model directory's model.conf).
  void Register(kaldi::OptionTable* table);

  void Check() const {
    KQ_CHECK(beam > 0.0f && max_active > 1 && lattice_beam > 0.0f && min_active >= 0 &&
                 min_active <= max_active && prune_interval > 0 && beam_delta > 0.0f &&
                 hash_ratio >= 1.0f && prune_scale > 0.0f && prune_scale < 1.0f,
             kInvalidArgument)
        << "invalid decoder options (need beam > 0, lattice-beam > 0, max-active > 1, "
           "0 <= min-active <= max-active, prune-interval > 0, beam-delta > 0, hash-ratio >= 1)";
  }
};

}  // namespace kaldiq::decode
