// Band-limited resampling exactly as Kaldi's LinearResample (feat/resample.{h,cc}), streaming:
// output sample t (at time t / fs_out) is sum_j w(t/fs_out - j/fs_in) x_j / fs_in with the
// Hann-windowed sinc
//   w(d) = sin(2 pi fc d) / (pi d) * 0.5 (1 + cos(2 pi fc d / Z))  for |d| < Z / (2 fc)
// (2 fc at d = 0), cutoff fc and Z zero crossings. Weights repeat every lcm-unit and are
// precomputed. Resample(..., flush = false) outputs only the samples whose window lies entirely
// in the input seen so far; flush = true pads with zeros, outputs the rest and resets.
// Feeding the input in any chunks gives bit-identical output (one summation order for all
// samples -- where Kaldi sums interior samples with BLAS, so its results differ in the last bit).
//
// Kaldi's two uses: offline programs (ResampleWaveform) use fc = 0.99 * min(fs_in, fs_out) / 2,
// the online feature classes fc = min(fs_in, fs_out) / 2; both Z = 6.
#pragma once

#include <cstdint>
#include <vector>

namespace kaldiq::feat {

class LinearResample {
 public:
  // Rates are integers in Hz; requires 0 < 2 * cutoff <= min(rates), num_zeros > 0. Throws
  // kaldiq::Error (kInvalidArgument) otherwise.
  LinearResample(int32_t samp_rate_in, int32_t samp_rate_out, float filter_cutoff,
                 int32_t num_zeros);

  // Appends the output for `input` (n samples following all earlier input) to *output.
  void Resample(const float* input, int64_t n, bool flush, std::vector<float>* output);
  void Reset();

  int32_t samp_rate_in() const { return samp_rate_in_; }
  int32_t samp_rate_out() const { return samp_rate_out_; }

  // Kaldi's GetNumOutputSamples: output samples available from `input_num_samp` inputs.
  int64_t NumOutputSamples(int64_t input_num_samp, bool flush) const;

 private:
  void SetRemainder(const float* input, int64_t n);

  int32_t samp_rate_in_, samp_rate_out_;
  float filter_cutoff_;
  int32_t num_zeros_;
  int32_t input_samples_in_unit_, output_samples_in_unit_;
  std::vector<int32_t> first_index_;          // per output sample of a unit
  std::vector<std::vector<float>> weights_;   // per output sample of a unit
  int64_t input_sample_offset_ = 0, output_sample_offset_ = 0;
  std::vector<float> input_remainder_;
};

// Kaldi's ResampleWaveform (offline: cutoff 0.99 * min/2, 6 zeros, one call with flush).
std::vector<float> ResampleWaveform(float orig_freq, const float* wave, int64_t n, float new_freq);

}  // namespace kaldiq::feat
