#include "online/nnet_decodable.h"

#include <algorithm>

#include "feat/feature_computer.h"
#include "util/error.h"

namespace kaldiq::online {

OnlineNnetDecodable::OnlineNnetDecodable(const FeaturePipelineInfo& info,
                                         const feat::OnlineCmvnState* cmvn_state,
                                         nnet::LoopedComputer* computer,
                                         const std::vector<int32_t>& tid_to_pdf,
                                         const std::vector<float>& log_priors,
                                         const NnetDecodableOptions& opts)
    : info_(info), computer_(computer), tid_to_pdf_(tid_to_pdf), log_priors_(log_priors),
      opts_(opts) {
  base_ = std::make_unique<feat::OnlineBaseFeature>(
      info.use_mfcc ? feat::MakeMfccComputer(info.mfcc) : feat::MakeFbankComputer(info.fbank));
  dim_ = base_->Dim();
  if (info.use_cmvn) {
    feat::OnlineCmvnState state =
        cmvn_state != nullptr ? *cmvn_state : feat::OnlineCmvnState(info.global_cmvn_stats);
    cmvn_ = std::make_unique<feat::OnlineCmvn>(info.cmvn, state);
  }
  KQ_CHECK(computer_->IvectorDim() == 0, kUnsupported)
      << "the network has an i-vector input; i-vectors in the streaming pipeline are not "
         "implemented yet";
  KQ_CHECK(computer_->InputDim() == dim_, kInvalidArgument)
      << "the features have dimension " << dim_ << " but the network's input has "
      << computer_->InputDim();
  out_dim_ = computer_->OutputDim();
  KQ_CHECK(log_priors_.empty() || static_cast<int32_t>(log_priors_.size()) == out_dim_,
           kInvalidArgument)
      << "the model has " << log_priors_.size() << " priors but " << out_dim_ << " outputs";
  KQ_CHECK(tid_to_pdf_.size() >= 2, kInvalidArgument) << "empty transition-id to pdf map";
  for (size_t t = 1; t < tid_to_pdf_.size(); ++t) {
    KQ_CHECK(tid_to_pdf_[t] >= 0 && tid_to_pdf_[t] < out_dim_, kInvalidArgument)
        << "transition id " << t << " maps to pdf " << tid_to_pdf_[t]
        << " but the network has " << out_dim_ << " outputs";
  }
  computer_->Reset();
}

OnlineNnetDecodable::~OnlineNnetDecodable() = default;

void OnlineNnetDecodable::AcceptWaveform(float sample_rate, const float* samples, int64_t n) {
  KQ_CHECK(!input_finished_, kInvalidArgument) << "AcceptWaveform after InputFinished";
  if (n == 0) return;
  base_->AcceptWaveform(sample_rate, samples, n);
  PullFeatures();
  ComputeReadyChunks();
}

void OnlineNnetDecodable::InputFinished() {
  if (input_finished_) return;
  base_->InputFinished();
  input_finished_ = true;
  PullFeatures();
  ComputeReadyChunks();
}

feat::OnlineCmvnState OnlineNnetDecodable::CmvnState() const {
  KQ_CHECK(cmvn_ != nullptr, kInternal) << "no online CMVN configured";
  return cmvn_->GetState();
}

float OnlineNnetDecodable::FrameShiftInSeconds() const {
  const int32_t sf = computer_->FramesPerChunk() / computer_->OutputRowsPerChunk();
  return info_.FrameShiftInSeconds() * static_cast<float>(sf);
}

void OnlineNnetDecodable::PullFeatures() {
  const int64_t ready = base_->NumFramesReady();
  const int64_t count = ready - num_feats_;
  if (count <= 0) return;
  raw_.resize(static_cast<size_t>(count * dim_));
  for (int64_t r = 0; r < count; ++r)
    base_->GetFrame(static_cast<int>(num_feats_ + r), raw_.data() + r * dim_);
  const size_t old = feats_.size();
  feats_.resize(old + raw_.size());
  float* dst = feats_.data() + old;
  if (cmvn_) {
    cmvn_->AcceptFeatures(raw_.data(), count, dim_, dst, dim_);
  } else {
    std::copy(raw_.begin(), raw_.end(), dst);
  }
  num_feats_ = ready;
}

void OnlineNnetDecodable::ComputeReadyChunks() {
  const int64_t F = computer_->FramesPerChunk();
  const int64_t rows_per_chunk = computer_->OutputRowsPerChunk();
  const int64_t sf = F / rows_per_chunk;
  const int64_t rc = computer_->RightContext();
  const int64_t total_out = input_finished_ ? (num_feats_ + sf - 1) / sf : -1;
  while (num_feats_ > 0) {
    const int64_t k = computer_->NumChunksComputed();
    if (input_finished_) {
      if (num_out_computed_ >= total_out) break;
    } else if ((k + 1) * F + rc > num_feats_) {
      break;  // Kaldi's DecodableNnetLoopedOnlineBase::AdvanceChunk waits for these frames
    }
    int64_t begin = 0, end = 0;
    computer_->NewInputRange(k, &begin, &end);
    chunk_in_.resize(static_cast<size_t>(std::max<int64_t>(end - begin, 1) * dim_));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t src = std::clamp<int64_t>(t, 0, num_feats_ - 1);
      KQ_CHECK(src >= feat_offset_, kInternal) << "feature frame " << src << " was dropped";
      const float* row = feats_.data() + (src - feat_offset_) * dim_;
      std::copy(row, row + dim_, chunk_in_.data() + (t - begin) * dim_);
    }
    const nnet::ConstRows y = computer_->ComputeChunk(chunk_in_.data(), dim_, nullptr);
    const size_t old = out_.size();
    out_.resize(old + static_cast<size_t>(y.rows * out_dim_));
    for (int64_t r = 0; r < y.rows; ++r) {
      const float* src = y.Row(r);
      float* dst = out_.data() + old + r * out_dim_;
      for (int32_t c = 0; c < out_dim_; ++c) {
        const float v = log_priors_.empty() ? src[c] : src[c] - log_priors_[c];
        dst[c] = opts_.acoustic_scale * v;
      }
    }
    num_out_computed_ += y.rows;
    // Drop the feature rows no later chunk reads (keep the last one: end padding repeats it).
    int64_t next_begin = 0, next_end = 0;
    computer_->NewInputRange(k + 1, &next_begin, &next_end);
    const int64_t keep_from = std::min(std::max<int64_t>(next_begin, 0), num_feats_ - 1);
    if (keep_from > feat_offset_) {
      feats_.erase(feats_.begin(), feats_.begin() + (keep_from - feat_offset_) * dim_);
      feat_offset_ = keep_from;
    }
  }
  num_out_ready_ = input_finished_ ? std::min(num_out_computed_, total_out) : num_out_computed_;
}

const float* OnlineNnetDecodable::Row(int32_t frame) const {
  KQ_CHECK(frame >= out_offset_ && frame < num_out_ready_, kInvalidArgument)
      << "frame " << frame << " is not available (ready: [" << out_offset_ << ", "
      << num_out_ready_ << "))";
  return out_.data() + (frame - out_offset_) * out_dim_;
}

float OnlineNnetDecodable::LogLikelihood(int32_t frame, int32_t index) {
  return Row(frame)[tid_to_pdf_[index]];
}

void OnlineNnetDecodable::FillFrame(int32_t frame, float* out) {
  const float* row = Row(frame);
  const int32_t n = NumIndices();
  const int32_t* map = tid_to_pdf_.data();
  for (int32_t i = 1; i <= n; ++i) out[i] = row[map[i]];
}

void OnlineNnetDecodable::Trim(int32_t frame) {
  const int64_t upto = std::min<int64_t>(frame, num_out_computed_);
  if (upto <= out_offset_) return;
  out_.erase(out_.begin(), out_.begin() + (upto - out_offset_) * out_dim_);
  out_offset_ = upto;
}

}  // namespace kaldiq::online
