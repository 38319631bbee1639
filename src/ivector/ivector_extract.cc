#include "ivector/ivector_extract.h"

#include "util/error.h"

namespace kaldiq::ivector {

MatrixF ExtractOnlineIvectors(const OnlineIvectorExtractionInfo& info, const MatrixF& feats,
                              bool repeat, OnlineIvectorAdaptationState* state,
                              UtteranceIvectorDiagnostics* diagnostics) {
  KQ_CHECK(!info.use_most_recent_ivector, kInternal)
      << "batch i-vector extraction needs use_most_recent_ivector = false";
  int64_t dim = feats.cols();
  bool dropped_pitch = false;
  if (dim == info.ExpectedFeatureDim() + 3) {
    dim -= 3;
    dropped_pitch = true;
  }
  KQ_CHECK(dim == info.BaseDim(), kInvalidArgument)
      << "features have dimension " << feats.cols() << ", the i-vector extractor expects "
      << info.BaseDim();
  const int64_t T = feats.rows();
  KQ_CHECK(T > 0, kInvalidArgument) << "empty utterance (no frames)";
  OnlineIvectorFeature feature(info);
  feature.SetAdaptationState(*state);
  feature.AcceptFeatures(feats.data(), T, feats.cols());
  feature.InputFinished();
  const int64_t n = repeat ? 1 : info.ivector_period;
  const int64_t num_ivectors = (T + n - 1) / n;
  MatrixF ivectors(num_ivectors, feature.Dim());
  for (int64_t i = 0; i < num_ivectors; ++i) feature.GetFrame(i * n, ivectors.Row(i));
  if (diagnostics != nullptr) {
    diagnostics->ubm_loglike_per_frame = feature.UbmLogLikePerFrame();
    diagnostics->objf_impr_per_frame = feature.ObjfImprPerFrame();
    diagnostics->dropped_pitch = dropped_pitch;
  }
  feature.GetAdaptationState(state);
  return ivectors;
}

std::shared_ptr<const OnlineIvectorExtractionInfo> LoadIvectorExtractorForBatch(
    const std::string& config_path, int num_threads) {
  OnlineIvectorExtractionConfig config = OnlineIvectorExtractionConfig::FromConfigFile(config_path);
  config.use_most_recent_ivector = false;
  try {
    return std::make_shared<const OnlineIvectorExtractionInfo>(config, num_threads);
  } catch (const Error& e) {
    throw e.WithContext("--ivector-extraction-config '" + config_path + "'");
  }
}

MatrixF SpeakerIvectors::Compute(const std::string& speaker, const MatrixF& feats) {
  if (speaker.empty()) {
    OnlineIvectorAdaptationState fresh(*info_);
    return ExtractOnlineIvectors(*info_, feats, /*repeat=*/false, &fresh);
  }
  auto it = states_.find(speaker);
  if (it == states_.end()) it = states_.emplace(speaker, OnlineIvectorAdaptationState(*info_)).first;
  // Work on a copy so that a failing utterance leaves the speaker's state as it was.
  OnlineIvectorAdaptationState state = it->second;
  MatrixF ivectors = ExtractOnlineIvectors(*info_, feats, /*repeat=*/false, &state);
  it->second = std::move(state);
  return ivectors;
}

}  // namespace kaldiq::ivector
