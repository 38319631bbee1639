// A whole decoding run as latgen-faster-mapped / nnet3-latgen-faster perform it: utterances
// arrive in batches, are decoded in parallel (one decoder per worker thread), and their outputs
// (lattices, words, alignments, stderr lines) are written strictly in input order, so every
// output is identical for any --num-threads. Per-utterance problems (wrong matrix width, empty
// utterance, a failing network forward) are reported, counted as failures, and the run goes on.
#pragma once

#include <fst/symbol-table.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "core/utterance_input.h"
#include "decode/decode_utterance.h"
#include "decode/decoder_options.h"
#include "decode/graph_io.h"
#include "util/progress.h"

namespace kaldiq::decode {

struct DecodeRunOptions {
  DecoderOptions decoder;
  UtteranceDecodeOptions utterance;
  int num_threads = 1;
  bool quiet = false;               // no progress and no per-utterance LOG lines
  std::string word_symbol_table;    // words.txt; empty = none
  std::string program = "kaldiq decode";  // prefix of the LOG/WARNING lines
};

struct DecodeRunItem {
  std::string key;
  // What is decoded: decode reads it; recognize's prepare function computes it from `features`.
  MatrixF loglikes;
  // recognize: the network input (features and i-vectors), consumed by the prepare function.
  UtteranceInput features;
  // Set by the reader when the utterance cannot be processed (e.g. no i-vector): it is then
  // reported with this message and counted as failed.
  std::string error;
};

// Optional per-utterance step run on the worker thread before decoding (the network forward of
// `kaldiq recognize`): computes item->loglikes from item->features. Throws kaldiq::Error to fail the
// utterance. `worker` is in [0, num_threads).
using PrepareFn = std::function<void(DecodeRunItem* item, int worker)>;

class DecodeRun {
 public:
  // `graph` is borrowed. tid_to_pdf[t] = pdf of transition id t (index 0 unused).
  DecodeRun(const DecodingGraph* graph, std::vector<int32_t> tid_to_pdf, int32_t num_pdfs,
            const DecodeRunOptions& opts);
  ~DecodeRun();

  // Opens the outputs ("" = not wanted, except the lattice). The lattice archive holds
  // CompactLattices when determinize_lattice, state-level Lattices otherwise.
  void OpenOutputs(const std::string& lattice_wspec, const std::string& words_wspec,
                   const std::string& alignments_wspec);

  // Decodes the items and writes their results in order. `prepare` may be null.
  void ProcessBatch(std::vector<DecodeRunItem>* items, const PrepareFn& prepare);

  // Writes the result of an utterance decoded elsewhere (a streaming decoder driven by the
  // caller) exactly as ProcessBatch writes its own: warnings, words, LOG line, outputs, counts.
  // Call in output order, from one thread. num_frames: the frames decoded.
  void WriteResult(const std::string& key, UtteranceResult* result, const std::string& error,
                   int64_t num_frames);

  // Prints the summary lines and commits the outputs. Returns Kaldi's exit status: 0 when at
  // least one utterance succeeded, 1 otherwise.
  int Finish();

  int64_t num_done() const { return num_done_; }
  int64_t num_failed() const { return num_failed_; }
  int64_t num_partial() const { return num_partial_; }
  int64_t frame_count() const { return frame_count_; }
  double total_like() const { return total_like_; }

 private:
  struct Impl;
  void DecodeOne(DecodeRunItem* item, const PrepareFn& prepare, int worker,
                 UtteranceResult* result, std::string* error);
  void Emit(const std::string& key, UtteranceResult* result, const std::string& error,
            int64_t num_frames);

  const DecodingGraph* graph_;
  std::vector<int32_t> tid_to_pdf_;
  int32_t num_pdfs_;
  DecodeRunOptions opts_;
  std::unique_ptr<fst::SymbolTable> word_syms_;
  std::unique_ptr<Impl> impl_;
  Progress progress_;
  std::chrono::steady_clock::time_point start_;
  int64_t num_done_ = 0, num_failed_ = 0, num_partial_ = 0, frame_count_ = 0;
  double total_like_ = 0.0;
};

}  // namespace kaldiq::decode
