// The streaming acoustic model of online2 (Kaldi's OnlineNnet2FeaturePipeline without
// i-vectors + DecodableAmNnetLoopedOnline, online2/online-nnet2-feature-pipeline.h,
// nnet3/decodable-online-looped.h): audio in, scaled log-likelihoods out, as they become
// computable, for a decoder that advances whenever NumFramesReady() grows.
//
//   samples → OnlineBaseFeature (MFCC/fbank, any chunk sizes) → OnlineCmvn (when configured;
//   state carried across a speaker's utterances) → LoopedComputer (chunks of F input frames,
//   each reusing the previous chunk's rows) → (output − log priors, when the model has priors)
//   × acoustic scale.
//
// Chunk k runs, as in Kaldi, once the features of frames up to (k+1)F + Rc exist (chunk 0:
// F + Rc), or when the input is finished; then frames past the end repeat the last frame, and
// the output stops at ceil(T / sf) frames. Frames before 0 repeat frame 0. Hence NumFramesReady()
// is Kaldi's DecodableNnetLoopedOnlineBase::NumFramesReady() after the same input.
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
#include "feat/online_cmvn.h"
#include "feat/online_feature.h"
#include "nnet/looped.h"
#include "online/pipeline.h"

namespace kaldiq::online {

struct NnetDecodableOptions {
  float acoustic_scale = 0.1f;
};

class OnlineNnetDecodable : public decode::Decodable {
 public:
  // cmvn_state: this speaker's state so far (null = the global stats only; ignored without
  // CMVN). tid_to_pdf[t] = pdf of transition id t (index 0 unused). log_priors: empty or one per
  // network output. The computer is Reset() here. Throws kaldiq::Error (kInvalidArgument) when
  // the feature dimension differs from the network's input or a pdf is out of range.
  OnlineNnetDecodable(const FeaturePipelineInfo& info, const feat::OnlineCmvnState* cmvn_state,
                      nnet::LoopedComputer* computer, const std::vector<int32_t>& tid_to_pdf,
                      const std::vector<float>& log_priors, const NnetDecodableOptions& opts);
  ~OnlineNnetDecodable() override;

  // Samples at `sample_rate` Hz (int16 values as floats, Kaldi's scale); any n, including 0.
  // Computes every feature and network chunk the samples complete. Throws kaldiq::Error for a
  // sample rate the features cannot take, or after InputFinished().
  void AcceptWaveform(float sample_rate, const float* samples, int64_t n);
  // No more audio: the last frames and chunks are computed.
  void InputFinished();
  bool IsInputFinished() const { return input_finished_; }

  // The CMVN state for this speaker's next utterance (every frame computed so far).
  feat::OnlineCmvnState CmvnState() const;
  int64_t NumFeatureFrames() const { return num_feats_; }
  float FrameShiftInSeconds() const;  // of the decodable's frames (feature shift × sf)

  // Decodable.
  float LogLikelihood(int32_t frame, int32_t index) override;
  int32_t NumFramesReady() const override { return static_cast<int32_t>(num_out_ready_); }
  bool IsLastFrame(int32_t frame) const override {
    return input_finished_ && frame == NumFramesReady() - 1;
  }
  int32_t NumIndices() const override { return static_cast<int32_t>(tid_to_pdf_.size()) - 1; }
  void FillFrame(int32_t frame, float* out) override;

  // Frames before `frame` will not be asked for again: their rows may be freed.
  void Trim(int32_t frame);

 private:
  void PullFeatures();
  void ComputeReadyChunks();
  const float* Row(int32_t frame) const;

  const FeaturePipelineInfo& info_;
  nnet::LoopedComputer* computer_;
  const std::vector<int32_t>& tid_to_pdf_;
  const std::vector<float>& log_priors_;
  NnetDecodableOptions opts_;
  std::unique_ptr<feat::OnlineBaseFeature> base_;
  std::unique_ptr<feat::OnlineCmvn> cmvn_;
  bool input_finished_ = false;
  int32_t dim_ = 0, out_dim_ = 0;

  // Normalised features of frames [feat_offset_, num_feats_), row-major.
  std::vector<float> feats_;
  int64_t feat_offset_ = 0, num_feats_ = 0;
  std::vector<float> raw_, chunk_in_;
  // Scaled log-likelihoods of output frames [out_offset_, out_offset_ + rows), row-major.
  std::vector<float> out_;
  int64_t out_offset_ = 0, num_out_computed_ = 0, num_out_ready_ = 0;
};

}  // namespace kaldiq::online
