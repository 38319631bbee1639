// Streaming MFCC / filterbank features (Kaldi's OnlineGenericBaseFeature, feat/online-feature.h):
// the one feature path of kaldiq -- compute-mfcc-feats / compute-fbank-feats feed each whole
// utterance through it (ComputeUtteranceFeatures), a streaming recognizer feeds audio as it
// arrives.
//
//   OnlineBaseFeature feat(MakeMfccComputer(opts));
//   feat.AcceptWaveform(16000, samples, n);   // any chunk sizes, including 0
//   ... feat.NumFramesReady() frames can be read with GetFrame(t, out) ...
//   feat.InputFinished();                     // the last frames (snip_edges = false) appear
//
// Samples are floats on the int16 scale ([-32768, 32767], as kaldi/wave_io.h reads them), not
// [-1, 1]: dither, energy floors and all feature values assume it.
//
// Guarantees: after InputFinished(), the frames are bit-identical for every way of splitting
// the audio into chunks (also with dither, whose noise depends only on (dither_seed, frame);
// also with resampling, whose output does not depend on chunking either), and equal to what
// Kaldi's offline programs compute up to float rounding (see tests/feat). Before
// InputFinished(), with snip_edges = true every frame that fits is ready; with snip_edges =
// false the frames whose window would pass the end of the audio so far are withheld (their
// mirrored edge depends on where the audio ends).
//
// Sample rate: a chunk whose rate differs from --sample-frequency is resampled if
// allow_downsample/allow_upsample permit it (LinearResample, created on the first chunk; a later
// chunk with another rate is an error), otherwise AcceptWaveform throws, naming the option.
// Memory: samples are kept only as long as a future frame needs them; frames are kept all,
// or only the newest max_feature_vectors ones (older ones then cannot be read).
// Errors: kaldiq::Error (kInvalidArgument) for AcceptWaveform after InputFinished, a rate
// mismatch, or a frame that is not (or no longer) available. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/matrix.h"
#include "feat/feature_computer.h"
#include "feat/online_feature_itf.h"
#include "feat/resample.h"

namespace kaldiq::feat {

class OnlineBaseFeature : public OnlineFeatureInterface {
 public:
  struct Options {
    // Seed of this stream's dither noise (frame f uses FrameDitherSeed(dither_seed, f)). Give
    // each utterance its own (the commands hash the utterance key).
    uint64_t dither_seed = 0;
    // VTLN warp factor (1 = none). Kaldi's online classes have no VTLN; its offline programs do.
    float vtln_warp = 1.0f;
    // Resampling filter cutoff as a fraction of min(rates)/2: Kaldi's online classes use 1,
    // its offline programs (ResampleWaveform) 0.99.
    float resample_cutoff_fraction = 1.0f;
  };

  explicit OnlineBaseFeature(std::unique_ptr<FeatureComputer> computer);
  OnlineBaseFeature(std::unique_ptr<FeatureComputer> computer, const Options& options);

  // Appends n samples at `sample_rate` Hz and computes every frame they complete.
  void AcceptWaveform(float sample_rate, const float* samples, int64_t n);
  void AcceptWaveform(float sample_rate, const int16_t* samples, int64_t n);
  // No more audio: flushes the resampler and computes the remaining frames. Idempotent.
  void InputFinished();
  bool IsInputFinished() const { return input_finished_; }

  int Dim() const override { return dim_; }
  int NumFramesReady() const override { return static_cast<int>(num_frames_); }
  bool IsLastFrame(int frame) const override {
    return input_finished_ && frame == NumFramesReady() - 1;
  }
  float FrameShiftInSeconds() const override;
  void GetFrame(int frame, float* feat) override;
  // The oldest frame GetFrame still returns (0 unless max_feature_vectors drops frames).
  int FirstAvailableFrame() const;

  // Samples received so far (after resampling), and samples still held for future frames.
  int64_t NumSamples() const { return waveform_offset_ + static_cast<int64_t>(remainder_.size()); }
  int64_t NumSamplesHeld() const { return static_cast<int64_t>(remainder_.size()); }

 private:
  void Append(const float* samples, int64_t n);
  void ComputeFeatures();

  std::unique_ptr<FeatureComputer> computer_;
  Options options_;
  FrameExtractionOptions frame_opts_;
  int dim_;
  std::vector<float> window_;        // the window function
  std::vector<float> frame_buffer_;  // PaddedWindowSize()
  std::unique_ptr<LinearResample> resampler_;
  std::vector<float> resampled_;
  bool input_finished_ = false;
  int64_t waveform_offset_ = 0;   // index of remainder_[0] in the whole (resampled) signal
  std::vector<float> remainder_;  // samples a future frame may need
  int64_t num_frames_ = 0;
  int64_t stored_first_ = 0;      // frame index of features_[0]
  std::vector<float> features_;   // rows of dim_ floats, frames stored_first_ .. num_frames_-1
};

// Features of one whole utterance through OnlineBaseFeature (one AcceptWaveform, then
// InputFinished): rows = frames. This is how compute-mfcc-feats / compute-fbank-feats compute.
// The computer's max_feature_vectors must be -1 (offline programs keep every frame).
MatrixF ComputeUtteranceFeatures(std::unique_ptr<FeatureComputer> computer,
                                 const OnlineBaseFeature::Options& options, float sample_rate,
                                 const float* samples, int64_t n);

}  // namespace kaldiq::feat
