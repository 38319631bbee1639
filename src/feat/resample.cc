#include "feat/resample.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "util/error.h"

namespace kaldiq::feat {

LinearResample::LinearResample(int32_t samp_rate_in, int32_t samp_rate_out, float filter_cutoff,
                               int32_t num_zeros)
    : samp_rate_in_(samp_rate_in),
      samp_rate_out_(samp_rate_out),
      filter_cutoff_(filter_cutoff),
      num_zeros_(num_zeros) {
  KQ_CHECK(samp_rate_in > 0 && samp_rate_out > 0 && filter_cutoff > 0 &&
               filter_cutoff * 2 <= samp_rate_in && filter_cutoff * 2 <= samp_rate_out &&
               num_zeros > 0,
           kInvalidArgument)
      << "bad resampling parameters: " << samp_rate_in << " Hz -> " << samp_rate_out
      << " Hz, cutoff " << filter_cutoff << " Hz, " << num_zeros << " zeros";
  const int32_t base = std::gcd(samp_rate_in_, samp_rate_out_);
  input_samples_in_unit_ = samp_rate_in_ / base;
  output_samples_in_unit_ = samp_rate_out_ / base;
  KQ_CHECK(output_samples_in_unit_ <= 1000000, kInvalidArgument)
      << "resampling " << samp_rate_in << " Hz -> " << samp_rate_out
      << " Hz needs a filter table of " << output_samples_in_unit_ << " phases";

  // The filter (Kaldi's FilterFunc takes the time difference as a float).
  auto filter = [this](float t) -> float {
    float window = std::fabs(t) < num_zeros_ / (2.0 * filter_cutoff_)
                       ? static_cast<float>(0.5 * (1 + std::cos(2 * M_PI * filter_cutoff_ /
                                                                 num_zeros_ * t)))
                       : 0.0f;
    float f = t != 0 ? static_cast<float>(std::sin(2 * M_PI * filter_cutoff_ * t) / (M_PI * t))
                     : 2 * filter_cutoff_;
    return f * window;
  };
  first_index_.resize(static_cast<size_t>(output_samples_in_unit_));
  weights_.resize(static_cast<size_t>(output_samples_in_unit_));
  const double window_width = num_zeros_ / (2.0 * filter_cutoff_);
  for (int32_t i = 0; i < output_samples_in_unit_; ++i) {
    const double output_t = i / static_cast<double>(samp_rate_out_);
    const double min_t = output_t - window_width, max_t = output_t + window_width;
    const int32_t min_index = static_cast<int32_t>(std::ceil(min_t * samp_rate_in_));
    const int32_t max_index = static_cast<int32_t>(std::floor(max_t * samp_rate_in_));
    first_index_[i] = min_index;
    std::vector<float>& w = weights_[i];
    w.resize(static_cast<size_t>(max_index - min_index + 1));
    for (int32_t j = 0; j <= max_index - min_index; ++j) {
      const double input_t = (min_index + j) / static_cast<double>(samp_rate_in_);
      w[j] = filter(static_cast<float>(input_t - output_t)) / static_cast<float>(samp_rate_in_);
    }
  }
  Reset();
}

void LinearResample::Reset() {
  input_sample_offset_ = 0;
  output_sample_offset_ = 0;
  input_remainder_.clear();
}

int64_t LinearResample::NumOutputSamples(int64_t input_num_samp, bool flush) const {
  // Time in ticks of 1 / lcm(rates).
  const int64_t tick_freq = std::lcm<int64_t>(samp_rate_in_, samp_rate_out_);
  const int64_t ticks_per_input = tick_freq / samp_rate_in_;
  int64_t interval = input_num_samp * ticks_per_input;
  if (!flush) {
    const double window_width = num_zeros_ / (2.0 * filter_cutoff_);
    interval -= static_cast<int64_t>(std::floor(window_width * tick_freq));
  }
  if (interval <= 0) return 0;
  const int64_t ticks_per_output = tick_freq / samp_rate_out_;
  int64_t last = interval / ticks_per_output;
  if (last * ticks_per_output == interval) --last;
  return last + 1;
}

void LinearResample::Resample(const float* input, int64_t n, bool flush,
                              std::vector<float>* output) {
  const int64_t total_in = input_sample_offset_ + n;
  const int64_t total_out = NumOutputSamples(total_in, flush);
  KQ_CHECK(total_out >= output_sample_offset_, kInternal) << "resampler went backwards";
  const int64_t rem = static_cast<int64_t>(input_remainder_.size());
  for (int64_t t = output_sample_offset_; t < total_out; ++t) {
    const int64_t unit = t / output_samples_in_unit_;
    const int32_t phase = static_cast<int32_t>(t - unit * output_samples_in_unit_);
    const std::vector<float>& w = weights_[phase];
    const int64_t first = first_index_[phase] + unit * input_samples_in_unit_ -
                          input_sample_offset_;  // index into `input`
    // One summation order for every sample, so chunking never changes a bit.
    float sum = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      const int64_t j = first + static_cast<int64_t>(i);
      float x;
      if (j >= 0 && j < n) {
        x = input[j];
      } else if (j < 0 && rem + j >= 0) {
        x = input_remainder_[static_cast<size_t>(rem + j)];
      } else {
        x = 0;  // before the start of the signal, or past its end when flushing
      }
      sum += w[i] * x;
    }
    output->push_back(sum);
  }
  if (flush) {
    Reset();
  } else {
    SetRemainder(input, n);
    input_sample_offset_ = total_in;
    output_sample_offset_ = total_out;
  }
}

void LinearResample::SetRemainder(const float* input, int64_t n) {
  std::vector<float> old = input_remainder_;
  const int64_t old_dim = static_cast<int64_t>(old.size());
  // The filter width from side to side, in input samples (Kaldi keeps this much).
  const int64_t needed =
      static_cast<int64_t>(std::ceil(samp_rate_in_ * num_zeros_ / filter_cutoff_));
  input_remainder_.assign(static_cast<size_t>(needed), 0.0f);
  for (int64_t index = -needed; index < 0; ++index) {
    const int64_t input_index = index + n;
    float& dst = input_remainder_[static_cast<size_t>(index + needed)];
    if (input_index >= 0) {
      dst = input[input_index];
    } else if (input_index + old_dim >= 0) {
      dst = old[static_cast<size_t>(input_index + old_dim)];
    }
  }
}

std::vector<float> ResampleWaveform(float orig_freq, const float* wave, int64_t n,
                                    float new_freq) {
  const float min_freq = std::min(orig_freq, new_freq);
  const float cutoff = static_cast<float>(0.99 * 0.5 * min_freq);
  LinearResample r(static_cast<int32_t>(orig_freq), static_cast<int32_t>(new_freq), cutoff, 6);
  std::vector<float> out;
  r.Resample(wave, n, true, &out);
  return out;
}

}  // namespace kaldiq::feat
