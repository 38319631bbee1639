#include "feat/online_feature.h"

#include <algorithm>
#include <cmath>

#include "feat/framing.h"
#include "util/error.h"

namespace kaldiq::feat {

OnlineBaseFeature::OnlineBaseFeature(std::unique_ptr<FeatureComputer> computer)
    : OnlineBaseFeature(std::move(computer), Options()) {}

OnlineBaseFeature::OnlineBaseFeature(std::unique_ptr<FeatureComputer> computer,
                                     const Options& options)
    : computer_(std::move(computer)), options_(options) {
  KQ_CHECK(computer_ != nullptr, kInvalidArgument) << "OnlineBaseFeature needs a computer";
  frame_opts_ = computer_->frame_options();
  frame_opts_.Validate();
  dim_ = computer_->Dim();
  window_ = MakeWindow(frame_opts_);
  frame_buffer_.resize(static_cast<size_t>(frame_opts_.PaddedWindowSize()));
  KQ_CHECK(options_.resample_cutoff_fraction > 0 && options_.resample_cutoff_fraction <= 1,
           kInvalidArgument)
      << "resample cutoff fraction must be in (0, 1], got " << options_.resample_cutoff_fraction;
}

float OnlineBaseFeature::FrameShiftInSeconds() const {
  return frame_opts_.frame_shift_ms / 1000.0f;
}

int OnlineBaseFeature::FirstAvailableFrame() const {
  if (frame_opts_.max_feature_vectors <= 0) return 0;
  return static_cast<int>(std::max<int64_t>(0, num_frames_ - frame_opts_.max_feature_vectors));
}

void OnlineBaseFeature::GetFrame(int frame, float* feat) {
  KQ_CHECK(frame >= 0 && frame < num_frames_, kInvalidArgument)
      << "feature frame " << frame << " requested but " << num_frames_ << " are ready";
  KQ_CHECK(frame >= FirstAvailableFrame(), kInvalidArgument)
      << "feature frame " << frame << " was already dropped (--max-feature-vectors="
      << frame_opts_.max_feature_vectors << " keeps frames from " << FirstAvailableFrame()
      << " on)";
  const float* row = features_.data() + static_cast<size_t>(frame - stored_first_) * dim_;
  std::copy(row, row + dim_, feat);
}

void OnlineBaseFeature::AcceptWaveform(float sample_rate, const int16_t* samples, int64_t n) {
  std::vector<float> f(samples, samples + std::max<int64_t>(n, 0));
  AcceptWaveform(sample_rate, f.data(), static_cast<int64_t>(f.size()));
}

void OnlineBaseFeature::AcceptWaveform(float sample_rate, const float* samples, int64_t n) {
  if (n <= 0) return;
  KQ_CHECK(!input_finished_, kInvalidArgument)
      << "AcceptWaveform called after InputFinished() was called";
  const float expected = frame_opts_.samp_freq;
  if (resampler_ != nullptr) {
    KQ_CHECK(static_cast<float>(resampler_->samp_rate_in()) == sample_rate, kInvalidArgument)
        << "sample rate changed within a stream: " << resampler_->samp_rate_in() << " Hz, then "
        << sample_rate << " Hz";
  } else if (sample_rate != expected) {
    KQ_CHECK(sample_rate >= 1 && sample_rate < 2147483648.0f &&
                 std::floor(sample_rate) == sample_rate,
             kInvalidArgument)
        << "invalid sample rate " << sample_rate << " Hz (a positive integer is needed)";
    KQ_CHECK(NumSamples() == 0, kInvalidArgument)
        << "sample rate changed within a stream: " << expected << " Hz, then " << sample_rate
        << " Hz";
    if (sample_rate > expected) {
      KQ_CHECK(frame_opts_.allow_downsample, kInvalidArgument)
          << "Waveform and config sample frequency mismatch: " << sample_rate << " vs. "
          << expected << " (use --allow-downsample=true to allow downsampling the waveform, "
          << "or set --sample-frequency)";
    } else {
      KQ_CHECK(frame_opts_.allow_upsample, kInvalidArgument)
          << "Waveform and config sample frequency mismatch: " << sample_rate << " vs. "
          << expected << " (use --allow-upsample=true to allow upsampling the waveform, "
          << "or set --sample-frequency)";
    }
    const float cutoff = std::min(sample_rate, expected) / 2 * options_.resample_cutoff_fraction;
    resampler_ = std::make_unique<LinearResample>(static_cast<int32_t>(sample_rate),
                                                  static_cast<int32_t>(expected), cutoff, 6);
  }
  if (resampler_ == nullptr) {
    Append(samples, n);
  } else {
    resampled_.clear();
    resampler_->Resample(samples, n, /*flush=*/false, &resampled_);
    Append(resampled_.data(), static_cast<int64_t>(resampled_.size()));
  }
  ComputeFeatures();
}

void OnlineBaseFeature::InputFinished() {
  if (input_finished_) return;
  input_finished_ = true;
  if (resampler_ != nullptr) {
    resampled_.clear();
    resampler_->Resample(nullptr, 0, /*flush=*/true, &resampled_);
    Append(resampled_.data(), static_cast<int64_t>(resampled_.size()));
  }
  ComputeFeatures();
}

void OnlineBaseFeature::Append(const float* samples, int64_t n) {
  remainder_.insert(remainder_.end(), samples, samples + n);
}

void OnlineBaseFeature::ComputeFeatures() {
  const int64_t total = NumSamples();
  const int64_t new_frames = NumFrames(total, frame_opts_, input_finished_);
  if (new_frames > num_frames_) {
    KQ_CHECK(new_frames <= INT32_MAX, kInvalidArgument) << "too many feature frames";
    const bool need_energy = computer_->NeedRawLogEnergy();
    for (int64_t f = num_frames_; f < new_frames; ++f) {
      float raw_log_energy = 0;
      ExtractWindow(waveform_offset_, remainder_.data(), static_cast<int64_t>(remainder_.size()),
                    f, frame_opts_, window_, options_.dither_seed, frame_buffer_.data(),
                    need_energy ? &raw_log_energy : nullptr);
      const size_t at = features_.size();
      features_.resize(at + static_cast<size_t>(dim_));
      computer_->Compute(raw_log_energy, options_.vtln_warp, frame_buffer_.data(),
                         features_.data() + at);
    }
    num_frames_ = new_frames;
    // Drop frames beyond --max-feature-vectors (amortised: when twice as many are stored).
    const int64_t keep = frame_opts_.max_feature_vectors;
    if (keep > 0 && num_frames_ - stored_first_ > 2 * keep) {
      const int64_t drop = num_frames_ - keep - stored_first_;
      features_.erase(features_.begin(), features_.begin() + static_cast<ptrdiff_t>(drop * dim_));
      stored_first_ += drop;
    }
  }
  // Discard the samples no future frame needs.
  const int64_t discard = FirstSampleOfFrame(num_frames_, frame_opts_) - waveform_offset_;
  if (discard > 0) {
    const int64_t held = static_cast<int64_t>(remainder_.size());
    const int64_t d = std::min(discard, held);
    remainder_.erase(remainder_.begin(), remainder_.begin() + static_cast<ptrdiff_t>(d));
    waveform_offset_ += d;
  }
}

MatrixF ComputeUtteranceFeatures(std::unique_ptr<FeatureComputer> computer,
                                 const OnlineBaseFeature::Options& options, float sample_rate,
                                 const float* samples, int64_t n) {
  KQ_CHECK(computer != nullptr && computer->frame_options().max_feature_vectors <= 0,
           kInvalidArgument)
      << "whole-utterance features keep every frame (max_feature_vectors must be -1)";
  OnlineBaseFeature feat(std::move(computer), options);
  feat.AcceptWaveform(sample_rate, samples, n);
  feat.InputFinished();
  MatrixF out(feat.NumFramesReady(), feat.Dim());
  for (int t = 0; t < feat.NumFramesReady(); ++t) feat.GetFrame(t, out.Row(t));
  return out;
}

}  // namespace kaldiq::feat
