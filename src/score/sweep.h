// The LM-weight x word-insertion-penalty sweep of Kaldi's steps/score_kaldi.sh, in one process:
//
//   for wip in 0.0,0.5,1.0; for LMWT in 7..17:
//     lattice-scale --inv-acoustic-scale=LMWT | lattice-add-penalty --word-ins-penalty=wip |
//     lattice-best-path | int2sym.pl -f 2- words.txt > scoring_kaldi/penalty_$wip/$LMWT.txt
//     compute-wer --text --mode=present ark:scoring_kaldi/test_filt.txt ark,p:- >& wer_${LMWT}_$wip
//   grep WER wer_* | best_wer.sh > scoring_kaldi/best_wer
//
// plus an optional post-decode acoustic scale applied first as its own lattice-scale pass (chain
// recipes write lattices scaled by --acoustic-scale=1.0 and scale them by 10 afterwards; the
// separate pass reproduces the float rounding of running the two lattice-scale commands).
// Lattices are streamed in batches and each (utterance, LMWT, WIP) best path is an independent
// work item, so memory stays bounded and the output does not depend on --num-threads.
#pragma once

#include <fst/symbol-table.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "score/wer.h"

namespace kaldiq::score {

struct SweepConfig {
  std::vector<int32_t> lmwts;     // in order, e.g. 7..17
  std::vector<std::string> wips;  // as the user spelled them ("0.0"), used in file names
  float post_decode_acwt = 1.0f;  // acoustic scale applied before the sweep; 1 = none
  int num_threads = 1;
  bool quiet = false;  // progress on stderr unless quiet
};

// Kaldi's iteration order: WIP outer, LMWT inner (best_wer.sh keeps the first of equal WERs).
struct SweepPoint {
  int32_t lmwt = 0;
  std::string wip;
};
std::vector<SweepPoint> SweepPoints(const SweepConfig& config);

// Parses "0.0,0.5,1.0" (Kaldi's --word-ins-penalty) into the spellings; each must be a number.
std::vector<std::string> ParsePenaltyList(const std::string& list);

// Best-path word ids for every point and utterance, in lattice order. words[p][u] is empty
// (nullopt) when lattice-best-path would fail for that utterance (no path).
struct SweepHyps {
  std::vector<SweepPoint> points;
  std::vector<std::string> keys;
  std::vector<std::vector<std::optional<std::vector<int32_t>>>> words;
  int64_t num_failed = 0;  // (utterance, point) pairs without a best path
};
// Reads CompactLattices from lattice_rspecifiers (each in turn, e.g. one per job's lat.N.gz).
// Throws kaldiq::Error naming the rspecifier and utterance on bad input.
SweepHyps SweepLattices(const std::vector<std::string>& lattice_rspecifiers,
                        const SweepConfig& config);

// One scored point: the hypothesis texts (int2sym.pl output) and compute-wer's result.
struct ScoredPoint {
  SweepPoint point;
  Transcripts hyps;  // key order of the lattices; utterances without a best path are absent
  WerStats stats;
  std::vector<UttResult> results;
};
// Maps ids to words (an id missing from `symbols` is an error naming the utterance, like
// int2sym.pl) and scores each point against `refs` in "present" mode.
std::vector<ScoredPoint> ScoreSweep(const SweepHyps& hyps, const Transcripts& refs,
                                    const fst::SymbolTable& symbols);

// Index of the point best_wer.sh picks: the first with the lowest %WER as printed (2 decimals).
size_t BestPointIndex(const std::vector<ScoredPoint>& points);

// best_wer.sh's line: "%WER 5.22 [ 25 / 479, 2 ins, 2 del, 21 sub ] <decode_dir>/wer_10_0.0".
std::string BestWerLine(const ScoredPoint& p, const std::string& decode_dir);

// Writes what score_kaldi.sh leaves behind (each file atomically):
//   <dir>/wer_<LMWT>_<WIP>                      compute-wer's command line (stderr, as
//                                               ">&" captures it) and its three lines
//   <dir>/scoring_kaldi/test_filt.txt           the reference text
//   <dir>/scoring_kaldi/penalty_<WIP>/<LMWT>.txt hypotheses
//   <dir>/scoring_kaldi/best_wer                the best line
//   <dir>/scoring_kaldi/wer_details/{lmwt,wip}  the best point's LMWT and WIP
//   <dir>/scoring_kaldi/wer_details/per_utt     align-text | wer_per_utt_details.pl at the best
//   point
void WriteScoringDir(const std::string& decode_dir, const Transcripts& refs,
                     const std::vector<ScoredPoint>& points, size_t best);

}  // namespace kaldiq::score
