// The interface every streaming feature source offers (Kaldi's itf/online-feature-itf.h:
// OnlineFeatureInterface): base features (OnlineBaseFeature), and transforms stacked on them
// (online CMVN, splicing, i-vectors, ...) by taking another source.
//
// Frames appear in order; NumFramesReady() never decreases. A source that has been told the
// input is finished reports IsLastFrame(NumFramesReady() - 1) == true. GetFrame(t) requires
// 0 <= t < NumFramesReady() (sources that drop old frames to bound memory may refuse frames far
// in the past; they say so). Sources are not thread-safe.
#pragma once

namespace kaldiq::feat {

class OnlineFeatureInterface {
 public:
  virtual ~OnlineFeatureInterface() = default;
  virtual int Dim() const = 0;
  virtual int NumFramesReady() const = 0;
  // True only for the last frame, and only once the input is known to be finished.
  virtual bool IsLastFrame(int frame) const = 0;
  // Seconds between frames (0.01 for a 10 ms shift).
  virtual float FrameShiftInSeconds() const = 0;
  // Writes Dim() floats. Throws kaldiq::Error (kInvalidArgument) for a frame not available.
  virtual void GetFrame(int frame, float* feat) = 0;
};

}  // namespace kaldiq::feat
