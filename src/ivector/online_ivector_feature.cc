#include "ivector/online_ivector_feature.h"

#include <algorithm>
#include <cmath>

#include "ivector/diag_gmm.h"
#include "util/error.h"

namespace kaldiq::ivector {

OnlineIvectorAdaptationState::OnlineIvectorAdaptationState(const OnlineIvectorExtractionInfo& info)
    : cmvn_state(info.global_cmvn_stats),
      ivector_stats(info.extractor.IvectorDim(), static_cast<float>(info.extractor.PriorOffset()),
                    info.max_count) {}

void OnlineIvectorAdaptationState::LimitFrames(float max_remembered_frames,
                                               float posterior_scale) {
  KQ_CHECK(max_remembered_frames >= 0.0f, kInvalidArgument)
      << "--max-remembered-frames must be non-negative";
  MatrixD& spk = cmvn_state.speaker_cmvn_stats;
  if (spk.rows() != 0) {
    const float count = static_cast<float>(spk(0, spk.cols() - 1));
    if (count > max_remembered_frames) {
      const double scale = static_cast<float>(max_remembered_frames / count);
      for (int64_t i = 0; i < spk.size(); ++i) spk.data()[i] *= scale;
    }
  }
  // The i-vector stats were scaled by posterior_scale already.
  const float max_scaled = max_remembered_frames * posterior_scale;
  if (ivector_stats.Count() > max_scaled) ivector_stats.Scale(max_scaled / ivector_stats.Count());
}

OnlineIvectorFeature::OnlineIvectorFeature(const OnlineIvectorExtractionInfo& info)
    : info_(info),
      cmvn_(std::make_unique<feat::OnlineCmvn>(info.cmvn_opts,
                                               feat::OnlineCmvnState(info.global_cmvn_stats))),
      lda_(info.lda_mat, info.splice_opts.left_context, info.splice_opts.right_context,
           info.BaseDim()),
      lda_normalized_(info.lda_mat, info.splice_opts.left_context,
                      info.splice_opts.right_context, info.BaseDim()),
      raw_(info.BaseDim()),
      normalized_(info.BaseDim()),
      stats_feats_(lda_.OutputDim()),
      loglikes_(info.diag_ubm.NumGauss()),
      stats_(info.extractor.IvectorDim(), static_cast<float>(info.extractor.PriorOffset()),
             info.max_count),
      current_ivector_(static_cast<size_t>(info.extractor.IvectorDim()), 0.0) {
  // The default i-vector, [prior_offset, 0, 0, ...].
  if (!current_ivector_.empty()) current_ivector_[0] = info.extractor.PriorOffset();
}

void OnlineIvectorFeature::SetAdaptationState(const OnlineIvectorAdaptationState& state) {
  KQ_CHECK(num_base_frames_ == 0, kInvalidArgument)
      << "SetAdaptationState called after frames were processed";
  KQ_CHECK(state.ivector_stats.IvectorDim() == stats_.IvectorDim(), kInvalidArgument)
      << "adaptation state has i-vector dimension " << state.ivector_stats.IvectorDim()
      << ", the extractor " << stats_.IvectorDim();
  cmvn_ = std::make_unique<feat::OnlineCmvn>(info_.cmvn_opts, state.cmvn_state);
  KQ_CHECK(cmvn_->Dim() == BaseDim(), kInvalidArgument)
      << "adaptation state has CMVN dimension " << cmvn_->Dim() << ", expected " << BaseDim();
  stats_ = state.ivector_stats;
}

void OnlineIvectorFeature::GetAdaptationState(OnlineIvectorAdaptationState* state) const {
  state->cmvn_state = cmvn_->GetState();
  state->ivector_stats = stats_;
  state->LimitFrames(info_.max_remembered_frames, info_.posterior_scale);
}

void OnlineIvectorFeature::AcceptFeatures(const float* frames, int64_t n, int64_t stride) {
  KQ_CHECK(!finished_, kInvalidArgument) << "AcceptFeatures called after InputFinished()";
  KQ_CHECK(stride >= BaseDim() || n == 0, kInvalidArgument)
      << "feature row stride " << stride << " is less than the dimension " << BaseDim();
  if (n <= 0) return;
  raw_.Append(frames, n, stride);
  float* norm = normalized_.Append(n);
  cmvn_->AcceptFeatures(frames, n, stride, norm, BaseDim());
  num_base_frames_ += n;
  ComputeReadyFrames();
}

void OnlineIvectorFeature::AcceptFeatures(const MatrixF& frames) {
  KQ_CHECK(frames.cols() == BaseDim() || frames.rows() == 0, kInvalidArgument)
      << "features have dimension " << frames.cols() << ", the i-vector extractor expects "
      << BaseDim();
  AcceptFeatures(frames.data(), frames.rows(), frames.cols());
}

void OnlineIvectorFeature::InputFinished() {
  finished_ = true;
  ComputeReadyFrames();
}

void OnlineIvectorFeature::ComputeReadyFrames() {
  const int64_t right = lda_.RightContext();
  const int64_t ready =
      finished_ ? num_base_frames_ : std::max<int64_t>(0, num_base_frames_ - right);
  const int64_t n = ready - num_ready_;
  if (n <= 0) return;
  const int64_t available = num_base_frames_;
  const int64_t dim = lda_.OutputDim();
  const auto raw = [this](int64_t t) { return raw_.Row(t); };
  const auto normalized = [this](int64_t t) { return normalized_.Row(t); };
  scratch_.resize(static_cast<size_t>(n * dim));
  lda_normalized_.Compute(normalized, available, num_ready_, n, scratch_.data(), dim);
  float* ll = loglikes_.Append(n);
  info_.diag_ubm.LogLikelihoods(scratch_.data(), n, dim, ll);
  float* y = stats_feats_.Append(n);
  if (info_.online_cmvn_iextractor) {
    std::copy(scratch_.begin(), scratch_.end(), y);
  } else {
    lda_.Compute(raw, available, num_ready_, n, y, dim);
  }
  num_ready_ = ready;
  // Base frames before ready - left are never spliced again.
  const int64_t keep_from = std::max<int64_t>(0, num_ready_ - lda_.LeftContext());
  raw_.DropBefore(keep_from);
  normalized_.DropBefore(keep_from);
}

void OnlineIvectorFeature::UpdateStatsForFrames(int64_t begin, int64_t end) {
  if (end <= begin) return;
  const int32_t G = info_.diag_ubm.NumGauss();
  // Kaldi's GetMinPost(weight) for weight 1.
  const float min_post = std::min(info_.min_post / 1.0f, 0.99f);
  posts_scratch_.resize(static_cast<size_t>(end - begin));
  for (int64_t t = begin; t < end; ++t) {
    GaussPost& post = posts_scratch_[t - begin];
    const float weight = 1.0f;
    tot_ubm_loglike_ +=
        weight * VectorToPosteriorEntry(loglikes_.Row(t), G, info_.num_gselect, min_post, &post);
    for (auto& p : post) p.second *= info_.posterior_scale * weight;
  }
  stats_.AccStats(info_.extractor, stats_feats_.Row(begin), stats_feats_.dim(), posts_scratch_);
}

void OnlineIvectorFeature::UpdateStatsUntilFrame(int64_t frame) {
  KQ_CHECK(frame >= 0 && frame < NumFramesReady(), kInvalidArgument)
      << "i-vector requested for frame " << frame << " but " << NumFramesReady()
      << " frames are ready";
  const int64_t period = info_.ivector_period;
  const bool most_recent = info_.use_most_recent_ivector;
  int64_t batch_begin = num_frames_stats_;
  for (; num_frames_stats_ <= frame; ++num_frames_stats_) {
    const int64_t t = num_frames_stats_;
    if ((!most_recent && t % period == 0) || (most_recent && t == frame)) {
      UpdateStatsForFrames(batch_begin, t + 1);
      batch_begin = t + 1;
      stats_.GetIvector(info_.num_cg_iters, current_ivector_.data());
      if (!most_recent) {
        KQ_CHECK(static_cast<int64_t>(history_.size()) == (t / period) * Dim(), kInternal)
            << "i-vector history out of step at frame " << t;
        for (double v : current_ivector_) history_.push_back(static_cast<float>(v));
      }
    }
  }
  UpdateStatsForFrames(batch_begin, num_frames_stats_);
  stats_feats_.DropBefore(num_frames_stats_);
  loglikes_.DropBefore(num_frames_stats_);
}

void OnlineIvectorFeature::GetFrame(int64_t t, float* ivector) {
  const int64_t until = info_.greedy_ivector_extractor ? NumFramesReady() - 1 : t;
  KQ_CHECK(t >= 0 && t < NumFramesReady(), kInvalidArgument)
      << "i-vector requested for frame " << t << " but " << NumFramesReady()
      << " frames are ready";
  UpdateStatsUntilFrame(until);
  const int32_t dim = Dim();
  const double offset = info_.extractor.PriorOffset();
  if (info_.use_most_recent_ivector) {
    for (int32_t i = 0; i < dim; ++i) ivector[i] = static_cast<float>(current_ivector_[i]);
  } else {
    const int64_t i = t / info_.ivector_period;
    KQ_CHECK((i + 1) * dim <= static_cast<int64_t>(history_.size()), kInternal)
        << "no i-vector in the history for frame " << t;
    std::copy(history_.begin() + i * dim, history_.begin() + (i + 1) * dim, ivector);
  }
  // Subtract the prior mean so that the output is roughly zero-mean.
  if (dim > 0) ivector[0] = static_cast<float>(ivector[0] - offset);
}

float OnlineIvectorFeature::NumFrames() const {
  return static_cast<float>(stats_.NumFrames() / info_.posterior_scale);
}

float OnlineIvectorFeature::UbmLogLikePerFrame() const {
  const float n = NumFrames();
  return n == 0.0f ? 0.0f : static_cast<float>(tot_ubm_loglike_ / n);
}

float OnlineIvectorFeature::ObjfImprPerFrame() const {
  return static_cast<float>(stats_.ObjfChange(current_ivector_.data()));
}

}  // namespace kaldiq::ivector
