// Paired significance tests between two recognisers scored on the same references (e.g. an fp32
// model A against its int8 version B). Both tests work on per-utterance error counts, so the
// caller scores each system with score/wer.h first.
//
// Differences are always B minus A, in percent WER points: positive means B makes more errors.
//
// - Matched pairs (NIST sctk's MAPSSWE, with whole utterances as the segments): per-utterance
//   error differences d_i; Z = mean(d) / (sd(d) / sqrt(n)); two-sided p = erfc(|Z| / sqrt 2);
//   95% CI of the WER difference = (mean(d) +- 1.96 sd(d)/sqrt(n)) * n / N_ref_words.
//   sctk further splits utterances at runs of words both systems got right; utterance segments
//   are coarser but keep the test valid (segments must be independent, which utterances are).
// - Paired bootstrap (Bisani & Ney 2004, as Kaldi's compute-wer-bootci): resample utterances
//   with replacement `replications` times, the same draw for both systems; per replicate the
//   WER difference sum(e_B - e_A) / sum(N). 95% CI = 2.5 / 97.5 percentiles; two-sided
//   p = min(1, 2 (k + 1) / (R + 1)) with k the number of replicates on the minority side of 0
//   (ties count on both sides, so identical systems give p = 1); P(B better) = fraction of
//   replicates with difference < 0 (Kaldi's "probability of improvement", with B as Set2).
//   Deterministic for a given seed (std::mt19937_64, index = draw mod n), on any platform.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kaldiq::score {

struct PairedUtt {
  int32_t errs_a = 0;
  int32_t errs_b = 0;
  int32_t ref_words = 0;
};

struct MatchedPairsResult {
  int64_t num_segments = 0;
  double wer_diff = 0;  // percent points, B - A
  double z = 0;         // +-inf when all differences are equal and non-zero
  double p_value = 1;   // 1 when fewer than 2 segments or no difference at all
  double ci_low = 0;    // percent points
  double ci_high = 0;
};

struct BootstrapResult {
  int32_t replications = 0;
  uint64_t seed = 0;
  double wer_diff = 0;  // on the original sample, percent points, B - A
  double ci_low = 0;
  double ci_high = 0;
  double p_value = 1;
  double prob_b_better = 0;  // in [0, 1]
};

// Throws kaldiq::Error(kInvalidArgument) for an empty input or negative counts.
MatchedPairsResult MatchedPairsTest(const std::vector<PairedUtt>& utts);
// replications >= 1, else kInvalidArgument.
BootstrapResult PairedBootstrap(const std::vector<PairedUtt>& utts, int32_t replications,
                                uint64_t seed);

// Human-readable report of both tests, e.g.
//   Comparing A = exp/fp32 and B = exp/int8 on 60 utterances, 479 reference words
//   %WER A 5.22, B 5.64, B - A = +0.42
//   Matched pairs (MAPSSWE, utterance segments): Z = 1.23, p = 0.2188, 95% CI of B - A [ -0.25,
//   +1.09 ] Paired bootstrap (10000 replications, seed 0): p = 0.2300, 95% CI of B - A [ -0.21,
//   +1.04 ], P(B better) = 10.20%
std::string FormatSignificance(const std::string& name_a, const std::string& name_b,
                               const std::vector<PairedUtt>& utts, const MatchedPairsResult& mp,
                               const BootstrapResult& bs);

}  // namespace kaldiq::score
