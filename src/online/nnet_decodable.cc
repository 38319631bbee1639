#include "online/nnet_decodable.h"

#include <algorithm>

#include "util/error.h"

namespace kaldiq::online {

OnlineNnetDecodable::OnlineNnetDecodable(const FeaturePipelineInfo& info,
                                         const SpeakerAdaptationState* state,
                                         nnet::LoopedComputer* computer,
                                         const std::vector<int32_t>& tid_to_pdf,
                                         const std::vector<float>& log_priors,
                                         const NnetDecodableOptions& opts)
    : features_(info, state), computer_(computer), tid_to_pdf_(tid_to_pdf),
      log_priors_(log_priors), opts_(opts) {
  dim_ = features_.Dim();
  KQ_CHECK(computer_->InputDim() == dim_, kInvalidArgument)
      << "the features have dimension " << dim_ << " but the network's input has "
      << computer_->InputDim();
  // Kaldi's "Ivector feature dimension mismatch" check, in words.
  KQ_CHECK(computer_->IvectorDim() == features_.IvectorDim(), kInvalidArgument)
      << (computer_->IvectorDim() == 0
              ? "an i-vector extractor is configured but the network has no i-vector input"
          : features_.IvectorDim() == 0
              ? "the network has an i-vector input (dimension " +
                    std::to_string(computer_->IvectorDim()) +
                    ") but no --ivector-extraction-config is configured"
              : "the i-vector extractor gives dimension " +
                    std::to_string(features_.IvectorDim()) + " but the network's i-vector " +
                    "input has " + std::to_string(computer_->IvectorDim()));
  ivector_.assign(static_cast<size_t>(features_.IvectorDim()), 0.0f);
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

float OnlineNnetDecodable::FrameShiftInSeconds() const {
  const int32_t sf = computer_->FramesPerChunk() / computer_->OutputRowsPerChunk();
  return features_.FrameShiftInSeconds() * static_cast<float>(sf);
}

int32_t OnlineNnetDecodable::NumFramesReady() const {
  // Kaldi's DecodableNnetLoopedOnlineBase::NumFramesReady().
  const int64_t T = features_.NumFramesReady();
  if (T == 0) return 0;
  const int64_t F = computer_->FramesPerChunk();
  const int64_t sf = F / computer_->OutputRowsPerChunk();
  if (features_.IsInputFinished()) return static_cast<int32_t>((T + sf - 1) / sf);
  const int64_t chunks = std::max<int64_t>(0, T - computer_->RightContext()) / F;
  return static_cast<int32_t>(chunks * (F / sf));
}

void OnlineNnetDecodable::ComputeNextChunk() {
  const int64_t k = computer_->NumChunksComputed();
  const int64_t T = features_.NumFramesReady();
  KQ_CHECK(T > 0, kInternal) << "network chunk " << k << " requested before any feature frame";
  int64_t begin = 0, end = 0;
  computer_->NewInputRange(k, &begin, &end);
  chunk_in_.resize(static_cast<size_t>(std::max<int64_t>(end - begin, 1) * dim_));
  for (int64_t t = begin; t < end; ++t) {
    const float* row = features_.Frame(std::clamp<int64_t>(t, 0, T - 1));
    std::copy(row, row + dim_, chunk_in_.data() + (t - begin) * dim_);
  }
  const float* ivector = nullptr;
  if (ivector::OnlineIvectorFeature* iv = features_.IvectorFeature()) {
    // The i-vector from the newest frame both features and i-vectors have.
    const int64_t ready = iv->NumFramesReady();
    if (ready > 0) {
      last_ivector_frame_ = std::min(T - 1, ready - 1);
      iv->GetFrame(last_ivector_frame_, ivector_.data());
    } else {
      last_ivector_frame_ = -1;
      std::fill(ivector_.begin(), ivector_.end(), 0.0f);
    }
    ivector = ivector_.data();
  }
  const nnet::ConstRows y = computer_->ComputeChunk(chunk_in_.data(), dim_, ivector);
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
  features_.DropFramesBefore(std::min(std::max<int64_t>(next_begin, 0), T - 1));
}

const float* OnlineNnetDecodable::Row(int32_t frame) {
  KQ_CHECK(frame >= out_offset_ && frame < NumFramesReady(), kInvalidArgument)
      << "frame " << frame << " is not available (ready: [" << out_offset_ << ", "
      << NumFramesReady() << "))";
  while (frame >= num_out_computed_) ComputeNextChunk();  // Kaldi's EnsureFrameIsComputed
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
