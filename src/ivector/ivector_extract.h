// Whole-utterance online i-vectors as Kaldi's `ivector-extract-online2` computes them: the
// online feature driven over a complete feature matrix, one i-vector every ivector-period
// frames (or every frame), with the speaker's adaptation state carried in and out. Used by the
// `ivector-extract-online2` command and by `forward`/`recognize --ivector-extraction-config`.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/matrix.h"
#include "ivector/extraction_config.h"
#include "ivector/online_ivector_feature.h"

namespace kaldiq::ivector {

struct UtteranceIvectorDiagnostics {
  float ubm_loglike_per_frame = 0;
  float objf_impr_per_frame = 0;
  bool dropped_pitch = false;  // the features had 3 columns more than expected (pitch)
};

// The i-vectors of one utterance: ceil(T / ivector_period) rows (row i = the estimate at frame
// i * period), or T rows with repeat. Features with exactly 3 more columns than the extractor
// expects lose their last 3 (Kaldi's pitch rule); otherwise the columns must match. *state is
// the speaker's state before the utterance (a new OnlineIvectorAdaptationState(info) for a new
// speaker) and is replaced by the state after it. info.use_most_recent_ivector must be false (as
// ivector-extract-online2 forces). Throws kaldiq::Error (kInvalidArgument) for a dimension
// mismatch or an empty utterance (Kaldi's program crashes on one).
MatrixF ExtractOnlineIvectors(const OnlineIvectorExtractionInfo& info, const MatrixF& feats,
                              bool repeat, OnlineIvectorAdaptationState* state,
                              UtteranceIvectorDiagnostics* diagnostics = nullptr);

// Reads an --ivector-extraction-config file for the ivector-extract-online2 semantics
// (use_most_recent_ivector forced to false) and loads the extractor.
std::shared_ptr<const OnlineIvectorExtractionInfo> LoadIvectorExtractorForBatch(
    const std::string& config_path, int num_threads = 1);

// Per-utterance online i-vectors with each speaker's adaptation state kept between its
// utterances. Results equal ivector-extract-online2's when each speaker's utterances arrive in
// its spk2utt order (they need not be contiguous). Not thread-safe.
class SpeakerIvectors {
 public:
  explicit SpeakerIvectors(std::shared_ptr<const OnlineIvectorExtractionInfo> info)
      : info_(std::move(info)) {}
  // speaker "" means no adaptation (the utterance is its own speaker).
  MatrixF Compute(const std::string& speaker, const MatrixF& feats);
  int32_t Period() const { return info_->ivector_period; }

 private:
  std::shared_ptr<const OnlineIvectorExtractionInfo> info_;
  std::map<std::string, OnlineIvectorAdaptationState> states_;
};

}  // namespace kaldiq::ivector
