// Parsing of Kaldi's rspecifiers / wspecifiers (src/util/kaldi-table.cc), script-file lines
// and scp row/column ranges. Used by table.h; also usable on its own (e.g. to tell an
// rxfilename from an rspecifier, as apply-cmvn does).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kaldiq::kaldi {

enum class RspecifierType { kNone, kArchive, kScript };

// Options Kaldi accepts in an rspecifier ("ark,s,cs:..."). b/t are accepted and ignored (the
// object's own header decides), "bg" (background reading) is accepted and ignored.
struct RspecifierOptions {
  bool once = false;          // o: each key is asked for at most once (random access)
  bool sorted = false;        // s: keys are sorted (random access can stop early)
  bool called_sorted = false; // cs: keys will be asked for in sorted order
  bool permissive = false;    // p: skip unreadable scp entries / stop at a bad archive entry
  bool background = false;    // bg
};

// Returns kNone when `spec` is not an rspecifier (e.g. a plain rxfilename) or has an unknown
// option. The rxfilename part is returned verbatim (may be "-", "cmd |", "f.ark:12").
RspecifierType ClassifyRspecifier(const std::string& spec, std::string* rxfilename,
                                  RspecifierOptions* opts);

enum class WspecifierType { kNone, kArchive, kScript, kBoth };

struct WspecifierOptions {
  bool binary = true;       // b (default) / t
  bool flush = false;       // f / nf: flush after every object
  bool permissive = false;  // p: scp writer ignores keys missing from the script
};

// "ark:a.ark", "ark,t:-", "scp:a.scp", "ark,scp:a.ark,a.scp" (archive and its index).
WspecifierType ClassifyWspecifier(const std::string& spec, std::string* archive_wxfilename,
                                  std::string* script_wxfilename, WspecifierOptions* opts);

// Throws kaldiq::Error (kInvalidArgument) with Kaldi's wording for an invalid specifier.
RspecifierType ParseRspecifierOrThrow(const std::string& spec, std::string* rxfilename,
                                      RspecifierOptions* opts);
WspecifierType ParseWspecifierOrThrow(const std::string& spec, std::string* archive_wxfilename,
                                      std::string* script_wxfilename, WspecifierOptions* opts);

// One line of a script file: "key rxfilename[range]". The range (text between a final '[' and
// ']') is split off into *range (empty when absent).
struct ScriptEntry {
  std::string key;
  std::string rxfilename;
  std::string range;
};

// Parses a script line; returns false for a line without both a key and a filename.
bool ParseScriptLine(const std::string& line, ScriptEntry* entry);

// Kaldi's ParseMatrixRangeSpecifier: "r1:r2" or "r1:r2,c1:c2" (inclusive; ":" = all). Rows may
// exceed the matrix by up to 3 (Kaldi's length tolerance; clamped). Throws kFormat otherwise.
// Outputs [first_row, num_rows, first_col, num_cols].
void ParseMatrixRange(const std::string& range, int64_t rows, int64_t cols, int64_t* row_begin,
                      int64_t* num_rows, int64_t* col_begin, int64_t* num_cols);

// Kaldi's IsToken: non-empty, printable, no whitespace. Keys must satisfy it.
bool IsValidKey(const std::string& key);

}  // namespace kaldiq::kaldi
