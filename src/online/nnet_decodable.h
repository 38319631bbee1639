// The streaming acoustic model of online2 (Kaldi's OnlineNnet2FeaturePipeline +
// DecodableAmNnetLoopedOnline, online2/online-nnet2-feature-pipeline.h,
// nnet3/decodable-online-looped.h): audio in, scaled log-likelihoods out, as they become
// computable, for a decoder that advances whenever NumFramesReady() grows.
//
//   samples → FeaturePipeline (online/feature_pipeline.h: MFCC/fbank → online CMVN, and the
//   online i-vector feature) → LoopedComputer (chunks of F input frames, each reusing the
//   previous chunk's rows) → (output − log priors, when the model has priors) × acoustic scale.
//
// As in Kaldi, NumFramesReady() depends only on the features: while the input is open,
// floor(max(0, T − Rc) / F) whole chunks of F / sf frames (chunk k needs the features of frames up
// to (k+1)F + Rc); once it is finished, ceil(T / sf). A chunk is computed when the decoder first
// asks for one of its frames (Kaldi's EnsureFrameIsComputed), so with the decoder advancing after
// every piece of audio (and after InputFinished() for the last one), chunks are computed at the
// points where Kaldi's online2-wav-nnet3-latgen-faster computes them. Frames before 0 repeat
// frame 0; frames past the end (input finished) repeat the last frame.
//
// I-vectors (networks with an "ivector" input; Kaldi's DecodableNnetLoopedOnlineBase::
// AdvanceChunk): chunk k takes the i-vector of frame min(T − 1, I − 1), T = feature frames and
// I = i-vector frames ready when the chunk is computed (I lags T by the extractor's splice right
// context until the input is finished); the zero vector when I = 0. With the default
// use_most_recent_ivector, that i-vector is re-estimated from every frame up to there. Every row
// the chunk computes sees that one vector (Kaldi's Round(ivector, F) rewrite, nnet/looped.h).
// Hence with i-vectors the output depends on when the decoder pulls frames relative to the
// audio, exactly as in Kaldi; how the audio between two pulls is split into AcceptWaveform calls
// does not matter. Without i-vectors every split gives bit-identical output.
//
// Memory: feature rows older than the next chunk's first input frame are dropped; the
// log-likelihood rows are kept until Trim(frame) says the decoder is past them.
//
// Not thread-safe; one per stream. The info, computer and transition map are borrowed.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "decode/decodable.h"
#include "nnet/looped.h"
#include "online/feature_pipeline.h"
#include "online/pipeline.h"

namespace kaldiq::online {

struct NnetDecodableOptions {
  float acoustic_scale = 0.1f;
};

class OnlineNnetDecodable : public decode::Decodable {
 public:
  // state: this speaker's state so far (null = a new speaker). tid_to_pdf[t] = pdf of
  // transition id t (index 0 unused). log_priors: empty or one per network output. The computer
  // is Reset() here. Throws kaldiq::Error (kInvalidArgument) when the feature or i-vector
  // dimension differs from the network's inputs (an extractor without an i-vector input, or the
  // reverse, included) or a pdf is out of range.
  OnlineNnetDecodable(const FeaturePipelineInfo& info, const SpeakerAdaptationState* state,
                      nnet::LoopedComputer* computer, const std::vector<int32_t>& tid_to_pdf,
                      const std::vector<float>& log_priors, const NnetDecodableOptions& opts);
  ~OnlineNnetDecodable() override;

  // Samples at `sample_rate` Hz (int16 values as floats, Kaldi's scale); any n, including 0.
  // Throws kaldiq::Error for a sample rate the features cannot take, or after InputFinished().
  void AcceptWaveform(float sample_rate, const float* samples, int64_t n) {
    features_.AcceptWaveform(sample_rate, samples, n);
  }
  // No more audio: the last frames become ready.
  void InputFinished() { features_.InputFinished(); }
  bool IsInputFinished() const { return features_.IsInputFinished(); }

  FeaturePipeline& Features() { return features_; }
  // The state for this speaker's next utterance (CMVN over every frame so far, i-vector
  // statistics of the frames used so far).
  SpeakerAdaptationState AdaptationState() const { return features_.AdaptationState(); }
  int64_t NumFeatureFrames() const { return features_.NumFramesReady(); }
  float FrameShiftInSeconds() const;  // of the decodable's frames (feature shift × sf)
  int64_t NumChunksComputed() const { return computer_->NumChunksComputed(); }
  // The frame whose i-vector the last computed chunk took (-1: none yet, or the zero vector).
  int64_t LastChunkIvectorFrame() const { return last_ivector_frame_; }

  // Decodable.
  float LogLikelihood(int32_t frame, int32_t index) override;
  int32_t NumFramesReady() const override;
  bool IsLastFrame(int32_t frame) const override {
    return IsInputFinished() && frame == NumFramesReady() - 1;
  }
  int32_t NumIndices() const override { return static_cast<int32_t>(tid_to_pdf_.size()) - 1; }
  void FillFrame(int32_t frame, float* out) override;

  // Frames before `frame` will not be asked for again: their rows may be freed.
  void Trim(int32_t frame);

 private:
  void ComputeNextChunk();
  const float* Row(int32_t frame);

  FeaturePipeline features_;
  nnet::LoopedComputer* computer_;
  const std::vector<int32_t>& tid_to_pdf_;
  const std::vector<float>& log_priors_;
  NnetDecodableOptions opts_;
  int32_t dim_ = 0, out_dim_ = 0;

  std::vector<float> chunk_in_, ivector_;
  int64_t last_ivector_frame_ = -1;
  // Scaled log-likelihoods of output frames [out_offset_, num_out_computed_), row-major.
  std::vector<float> out_;
  int64_t out_offset_ = 0, num_out_computed_ = 0;
};

}  // namespace kaldiq::online
