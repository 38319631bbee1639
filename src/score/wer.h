// Word error rate exactly as Kaldi's compute-wer computes and prints it.
//
// Edit distance: Kaldi's LevenshteinEditDistance(ref, hyp, &ins, &del, &sub)
// (util/edit-distance-inl.h) keeps, per cell, the counts of the path it chose, with these tie
// rules: a substitution/match is taken only when strictly cheaper than both insertion and deletion;
// otherwise a deletion when strictly cheaper than an insertion; otherwise an insertion. The total
// is always the minimal edit distance, but the ins/del/sub split depends on these rules, so we
// reproduce them exactly.
//
// Alignment (for per-utterance ref/hyp display): Kaldi's LevenshteinAlignment (what align-text
// uses), whose trace-back prefers match/substitution, then deletion, then insertion on ties. It can
// attribute a different ins/del/sub split than the counting routine (Kaldi has the same quirk);
// the %WER line always uses the counting routine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kaldiq::score {

struct EditCounts {
  int32_t errors = 0;  // ins + del + sub = minimal edit distance
  int32_t ins = 0;
  int32_t del = 0;
  int32_t sub = 0;
};

// Kaldi's counting edit distance with its tie rules (see file comment). T needs operator==.
template <typename T>
EditCounts LevenshteinCounts(const std::vector<T>& ref, const std::vector<T>& hyp);

// One aligned column. An insertion has no reference side (has_ref false), a deletion no
// hypothesis side (has_hyp false); the missing side's value is T{}.
template <typename T>
struct AlignedPair {
  bool has_ref = false;
  bool has_hyp = false;
  T ref{};
  T hyp{};
};

// Kaldi's LevenshteinAlignment: returns the columns in order; *cost (if non-null) = edit distance.
template <typename T>
std::vector<AlignedPair<T>> LevenshteinAlign(const std::vector<T>& ref, const std::vector<T>& hyp,
                                             int32_t* cost = nullptr);

enum class ScoringMode {
  kPresent,  // score only utterances that have a hypothesis
  kAll,      // an absent hypothesis counts as empty
  kStrict,   // an absent hypothesis is an error
};
// Parses "present" | "all" | "strict"; throws kaldiq::Error(kInvalidArgument) otherwise.
ScoringMode ParseScoringMode(const std::string& mode);

// Totals accumulated the way compute-wer accumulates them.
struct WerStats {
  int64_t num_words = 0;  // reference words of scored sentences
  int64_t word_errs = 0;
  int64_t num_ins = 0;
  int64_t num_del = 0;
  int64_t num_sub = 0;
  int64_t num_sent = 0;  // scored sentences
  int64_t sent_errs = 0;
  int64_t num_absent = 0;  // reference keys with no hypothesis (scored or not, per mode)

  void Add(const EditCounts& counts, int64_t ref_words, bool sentence_error);
  void Merge(const WerStats& other);
  int64_t NumCorrect() const { return num_words - num_sub - num_del; }
};

// The three lines of compute-wer, each ending in '\n', byte-identical to Kaldi's output:
//   "%WER 5.22 [ 25 / 479, 2 ins, 2 del, 21 sub ]" (+ " [PARTIAL]" when any hyp was absent)
//   "%SER 30.00 [ 18 / 60 ]"
//   "Scored 60 sentences, 0 not present in hyp."
// Percentages are computed in single precision like Kaldi's BaseFloat; with zero reference words
// Kaldi prints what its float division gives: "-nan" for 0/0 and "inf" for n/0.
std::string FormatWerLine(const WerStats& stats);  // the %WER line only, without '\n'
std::string FormatWerReport(const WerStats& stats);

// Kaldi-style percentage "%.2f" of 100*num/den computed in float; "-nan"/"inf" for den == 0.
std::string FormatPercent(int64_t num, int64_t den);

// One utterance's result, kept for alignment printing, per-speaker tables and significance tests.
struct UttResult {
  std::string key;
  bool hyp_present = true;
  int32_t ref_words = 0;
  EditCounts counts;
  bool sentence_error = false;
};

// Scores `refs` (in reference order) against `hyps` (looked up by key) under `mode`, as
// compute-wer does. Returns per-utterance results of the scored utterances (absent ones in
// "present" mode are not returned but are counted in stats->num_absent).
// Throws kaldiq::Error(kInvalidArgument) "No hypothesis for key X and strict mode specifier." in
// strict mode.
using Transcripts = std::vector<std::pair<std::string, std::vector<std::string>>>;
using TranscriptMap = std::map<std::string, std::vector<std::string>>;
std::vector<UttResult> ScoreTranscripts(const Transcripts& refs, const TranscriptMap& hyps,
                                        ScoringMode mode, WerStats* stats);

// wer_per_utt_details.pl-style block for one utterance (align-text with special symbol "***"):
//   <utt> ref  UNTIL   EVE   ARRIVED
//   <utt> hyp  UNTIL  WE'VE  ARRIVED
//   <utt> op     C      S       C
//   <utt> #csid 2 1 0 0
// Columns are centred to the widest of ref/hyp/op (width counted in UTF-8 code points).
// Throws kaldiq::Error(kInvalidArgument) if a word equals the special symbol "***".
std::string FormatUttAlignment(const std::string& key, const std::vector<std::string>& ref,
                               const std::vector<std::string>& hyp);

// Per-speaker breakdown (like wer_per_spk_details.pl): one "raw" row of counts and one "sys" row
// of percentages per speaker, in sorted speaker order, then a "SUM" pair. Utterances whose key is
// not in utt2spk are an error (kInvalidArgument).
std::string FormatSpeakerTable(const std::vector<UttResult>& results,
                               const std::map<std::string, std::string>& utt2spk);

// Number of Unicode code points in a UTF-8 string (invalid bytes count one each).
size_t Utf8Length(const std::string& s);

}  // namespace kaldiq::score

#include "score/wer_inl.h"
