#include "online/feature_pipeline.h"

#include <algorithm>

#include "feat/feature_computer.h"
#include "util/error.h"

namespace kaldiq::online {

SpeakerAdaptationState::SpeakerAdaptationState(const FeaturePipelineInfo& info)
    : cmvn(info.global_cmvn_stats) {
  if (info.ivector) ivector.emplace(*info.ivector);
}

FeaturePipeline::FeaturePipeline(const FeaturePipelineInfo& info,
                                 const SpeakerAdaptationState* state)
    : info_(info) {
  base_ = std::make_unique<feat::OnlineBaseFeature>(
      info.use_mfcc ? feat::MakeMfccComputer(info.mfcc) : feat::MakeFbankComputer(info.fbank));
  dim_ = base_->Dim();
  if (info.use_cmvn) {
    cmvn_ = std::make_unique<feat::OnlineCmvn>(
        info.cmvn, state != nullptr ? state->cmvn : feat::OnlineCmvnState(info.global_cmvn_stats));
  }
  if (info.ivector) {
    ivector_ = std::make_unique<ivector::OnlineIvectorFeature>(*info.ivector);
    KQ_CHECK(ivector_->BaseDim() == dim_, kInvalidArgument)
        << "the i-vector extractor expects " << ivector_->BaseDim()
        << "-dimensional features but the features have " << dim_;
    if (state != nullptr) {
      KQ_CHECK(state->ivector.has_value(), kInvalidArgument)
          << "the speaker's adaptation state has no i-vector statistics";
      ivector_->SetAdaptationState(*state->ivector);
    }
  }
}

FeaturePipeline::~FeaturePipeline() = default;

void FeaturePipeline::AcceptWaveform(float sample_rate, const float* samples, int64_t n) {
  KQ_CHECK(!input_finished_, kInvalidArgument) << "AcceptWaveform after InputFinished";
  if (n == 0) return;
  base_->AcceptWaveform(sample_rate, samples, n);
  PullFrames();
}

void FeaturePipeline::InputFinished() {
  if (input_finished_) return;
  base_->InputFinished();
  input_finished_ = true;
  PullFrames();
  if (ivector_) ivector_->InputFinished();
}

void FeaturePipeline::PullFrames() {
  const int64_t ready = base_->NumFramesReady();
  const int64_t count = ready - num_frames_;
  if (count <= 0) return;
  raw_.resize(static_cast<size_t>(count * dim_));
  for (int64_t r = 0; r < count; ++r)
    base_->GetFrame(static_cast<int>(num_frames_ + r), raw_.data() + r * dim_);
  if (ivector_) ivector_->AcceptFeatures(raw_.data(), count, dim_);
  const size_t old = frames_.size();
  frames_.resize(old + raw_.size());
  float* dst = frames_.data() + old;
  if (cmvn_) {
    cmvn_->AcceptFeatures(raw_.data(), count, dim_, dst, dim_);
  } else {
    std::copy(raw_.begin(), raw_.end(), dst);
  }
  num_frames_ = ready;
}

const float* FeaturePipeline::Frame(int64_t t) const {
  KQ_CHECK(t >= offset_ && t < num_frames_, kInternal)
      << "feature frame " << t << " is not kept (kept: [" << offset_ << ", " << num_frames_
      << "))";
  return frames_.data() + (t - offset_) * dim_;
}

void FeaturePipeline::DropFramesBefore(int64_t t) {
  t = std::min(t, num_frames_);
  if (t <= offset_) return;
  frames_.erase(frames_.begin(), frames_.begin() + (t - offset_) * dim_);
  offset_ = t;
}

SpeakerAdaptationState FeaturePipeline::AdaptationState() const {
  SpeakerAdaptationState s(info_);
  if (cmvn_) s.cmvn = cmvn_->GetState();
  if (ivector_) ivector_->GetAdaptationState(&*s.ivector);
  return s;
}

}  // namespace kaldiq::online
