// The per-frame feature computation behind a narrow interface (Kaldi's MfccComputer /
// FbankComputer concept, feat/feature-common.h): given one frame cut and processed by
// ExtractWindow (framing.h), produce one feature vector. OnlineBaseFeature (online_feature.h)
// drives it for streams and whole utterances alike.
//
// A computer holds scratch space (FFT buffers, a cache of mel banks per VTLN warp factor): use
// one per thread / stream.
#pragma once

#include <memory>

#include "feat/feature_options.h"

namespace kaldiq::feat {

class FeatureComputer {
 public:
  virtual ~FeatureComputer() = default;
  virtual const FrameExtractionOptions& frame_options() const = 0;
  virtual int Dim() const = 0;
  // Whether Compute() needs the raw log energy (energy before pre-emphasis and window).
  virtual bool NeedRawLogEnergy() const = 0;
  // `frame`: PaddedWindowSize() floats from ExtractWindow (overwritten); `feature`: Dim()
  // floats. `vtln_warp` 1 = no VTLN. Throws kaldiq::Error for a warp the mel banks reject.
  virtual void Compute(float raw_log_energy, float vtln_warp, float* frame, float* feature) = 0;
};

// Validate the options and make the computer; throw kaldiq::Error (kInvalidArgument) on bad
// options (including mel banks that cannot be built).
std::unique_ptr<FeatureComputer> MakeMfccComputer(const MfccOptions& opts);
std::unique_ptr<FeatureComputer> MakeFbankComputer(const FbankOptions& opts);

}  // namespace kaldiq::feat
