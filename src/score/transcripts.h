// Loading transcripts for scoring from Kaldi tables: text form (`--text`, one "key w1 w2 ..." per
// line, TokenVectorHolder) or integer ids (Int32VectorHolder), optionally mapped to words through
// a words.txt symbol table. Any rspecifier Kaldi accepts works ("ark:text", "ark:gunzip -c x.gz |",
// "scp:..."), through kaldi/table.h.
#pragma once

#include <fst/symbol-table.h>

#include <map>
#include <memory>
#include <string>

#include "score/wer.h"

namespace kaldiq::score {

struct TranscriptOptions {
  bool text = true;  // false: integer word ids
  // Integer mode: ids are mapped to words (an id missing from the table is an error naming the
  // utterance and the id). Text mode: ignored here (see CountUnknownWords).
  const fst::SymbolTable* symbols = nullptr;
  std::string role = "reference";  // "reference" / "hypothesis", for error messages
};

// Reads the whole table in order. Integer ids without a symbol table become their decimal
// spelling (equality is all scoring needs). Errors carry the rspecifier and the key.
Transcripts ReadTranscripts(const std::string& rspecifier, const TranscriptOptions& opts);

// Keyed copy; a duplicate key is an error (kInvalidArgument) naming `rspecifier`.
TranscriptMap ToMap(const Transcripts& t, const std::string& rspecifier);

// utt2spk-style table (one token per key); anything else than exactly one token is an error.
std::map<std::string, std::string> ReadUtt2Spk(const std::string& rspecifier);

// Kaldi words.txt ("word id" per line) via OpenFst; throws kaldiq::Error(kIo/kFormat).
std::unique_ptr<fst::SymbolTable> ReadSymbolTable(const std::string& path);

// Number of word tokens of `t` absent from `symbols` (e.g. reference words the recogniser can
// never output); *first_example (if non-null) names the first one and its utterance.
int64_t CountUnknownWords(const Transcripts& t, const fst::SymbolTable& symbols,
                          std::string* first_example);

}  // namespace kaldiq::score
