// The streaming feature pipeline of online2 (Kaldi's OnlineNnet2FeaturePipeline,
// online2/online-nnet2-feature-pipeline.h): audio in, the network's two inputs out.
//
//   samples → OnlineBaseFeature (MFCC/fbank, any chunk sizes) ─┬→ OnlineCmvn (when configured)
//                                                              │    = the network's "input"
//                                                              └→ OnlineIvectorFeature (when an
//                                                                   extractor is configured; its
//                                                                   own CMVN, splice, final.mat)
//                                                                   = the network's "ivector"
//
// Every base frame is pulled as soon as it exists, normalised and buffered for the network, and
// handed to the i-vector feature (which lags by its splice right context until InputFinished()).
// Which i-vector a network chunk takes is the decodable's business (online/nnet_decodable.h).
//
// Adaptation across a speaker's utterances (Kaldi's OnlineNnet2FeaturePipeline::
// {Get,Set}AdaptationState and {Get,Set}CmvnState): a SpeakerAdaptationState made from the
// info is a new speaker; AdaptationState() after an utterance is what the speaker's next
// utterance starts from.
//
// Memory: network-input rows before DropFramesBefore(t) are freed; the i-vector feature keeps
// only what it can still read (ivector/online_ivector_feature.h).
//
// Not thread-safe; one per stream. The info is borrowed and must outlive the pipeline.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "feat/online_cmvn.h"
#include "feat/online_feature.h"
#include "ivector/online_ivector_feature.h"
#include "online/pipeline.h"

namespace kaldiq::online {

// What carries from one utterance of a speaker to the next.
struct SpeakerAdaptationState {
  explicit SpeakerAdaptationState(const FeaturePipelineInfo& info);
  feat::OnlineCmvnState cmvn;  // the network input's CMVN (meaningful when info.use_cmvn)
  // Kaldi's OnlineIvectorExtractorAdaptationState, present when the info has an extractor.
  std::optional<ivector::OnlineIvectorAdaptationState> ivector;
};

class FeaturePipeline {
 public:
  // state: the speaker's state so far (null = a new speaker). Throws kaldiq::Error
  // (kInvalidArgument) when the state does not fit the info.
  FeaturePipeline(const FeaturePipelineInfo& info, const SpeakerAdaptationState* state);
  ~FeaturePipeline();

  // Samples at `sample_rate` Hz (int16 values as floats, Kaldi's scale); any n, including 0.
  // Throws kaldiq::Error for a rate the features cannot take, or after InputFinished().
  void AcceptWaveform(float sample_rate, const float* samples, int64_t n);
  void InputFinished();
  bool IsInputFinished() const { return input_finished_; }

  int32_t Dim() const { return dim_; }  // of the network input
  int64_t NumFramesReady() const { return num_frames_; }
  // Network-input frame t (Dim() floats), FirstFrameKept() <= t < NumFramesReady().
  const float* Frame(int64_t t) const;
  int64_t FirstFrameKept() const { return offset_; }
  void DropFramesBefore(int64_t t);

  // Null without an extractor.
  ivector::OnlineIvectorFeature* IvectorFeature() { return ivector_.get(); }
  const ivector::OnlineIvectorFeature* IvectorFeature() const { return ivector_.get(); }
  int32_t IvectorDim() const { return ivector_ ? ivector_->Dim() : 0; }

  // The state for this speaker's next utterance (every frame seen so far; the i-vector
  // statistics of the frames the i-vector feature has used).
  SpeakerAdaptationState AdaptationState() const;
  float FrameShiftInSeconds() const { return info_.FrameShiftInSeconds(); }

 private:
  void PullFrames();

  const FeaturePipelineInfo& info_;
  std::unique_ptr<feat::OnlineBaseFeature> base_;
  std::unique_ptr<feat::OnlineCmvn> cmvn_;
  std::unique_ptr<ivector::OnlineIvectorFeature> ivector_;
  bool input_finished_ = false;
  int32_t dim_ = 0;
  std::vector<float> raw_;     // base frames of one pull
  std::vector<float> frames_;  // network-input frames [offset_, num_frames_), row-major
  int64_t offset_ = 0, num_frames_ = 0;
};

}  // namespace kaldiq::online
