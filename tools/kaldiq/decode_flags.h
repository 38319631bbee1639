// Decoder flags shared by `kaldiq decode` and `kaldiq recognize`, with the names and defaults of
// Kaldi's LatticeFasterDecoderConfig and latgen-faster-mapped.
#pragma once

#include "cli.h"
#include "decode/decode_run.h"

namespace kaldiq::cli {

inline void AddDecoderFlags(CLI::App& app, decode::DecodeRunOptions* o) {
  app.add_option("--acoustic-scale", o->utterance.acoustic_scale,
                 "Scaling factor for acoustic likelihoods")
      ->capture_default_str();
  app.add_option("--beam", o->decoder.beam, "Decoding beam (larger: slower, more accurate)")
      ->capture_default_str();
  app.add_option("--lattice-beam", o->decoder.lattice_beam, "Lattice generation beam")
      ->capture_default_str();
  app.add_option("--max-active", o->decoder.max_active,
                 "Decoder max active states (larger: slower, more accurate)")
      ->capture_default_str();
  app.add_option("--min-active", o->decoder.min_active, "Decoder minimum #active states")
      ->capture_default_str();
  app.add_option("--prune-interval", o->decoder.prune_interval,
                 "Interval (in frames) at which to prune tokens")
      ->capture_default_str();
  app.add_option("--beam-delta", o->decoder.beam_delta,
                 "Increment used in decoding when the max/min-active cutoff applies")
      ->capture_default_str();
  app.add_option("--hash-ratio", o->decoder.hash_ratio,
                 "Setting used in decoder to control hash behavior (kept for compatibility)")
      ->capture_default_str();
  AddBool(app, "--allow-partial", &o->utterance.allow_partial,
          "If true, produce output even if end state was not reached");
  AddBool(app, "--determinize-lattice", &o->utterance.determinize_lattice,
          "If true, determinize the lattice (CompactLattice output); false: state-level Lattice");
  app.add_option("--word-symbol-table", o->word_symbol_table,
                 "Symbol table for words (prints the 1-best words on stderr)");
  app.add_option("--num-threads", o->num_threads,
                 "Utterances decoded in parallel (output identical for any value)")
      ->capture_default_str();
  AddBool(app, "--quiet", &o->quiet, "No progress and no per-utterance log lines on stderr");
}

}  // namespace kaldiq::cli
