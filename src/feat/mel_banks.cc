#include "feat/mel_banks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "util/error.h"

namespace kaldiq::feat {

float VtlnWarpFreq(float vtln_low, float vtln_high, float low_freq, float high_freq, float warp,
                   float freq) {
  if (freq < low_freq || freq > high_freq) return freq;
  KQ_CHECK(vtln_low > low_freq, kInvalidArgument)
      << "be sure to set the --vtln-low option higher than --low-freq";
  KQ_CHECK(vtln_high < high_freq, kInvalidArgument)
      << "be sure to set the --vtln-high option lower than --high-freq [or negative]";
  const float one = 1.0f;
  const float l = vtln_low * std::max(one, warp);
  const float h = vtln_high * std::min(one, warp);
  const float scale = 1.0f / warp;
  const float fl = scale * l, fh = scale * h;
  KQ_CHECK(l > low_freq && h < high_freq, kInvalidArgument)
      << "VTLN warp factor " << warp << " moves the inflection points outside [--low-freq, "
      << "--high-freq]";
  const float scale_left = (fl - low_freq) / (l - low_freq);
  const float scale_right = (high_freq - fh) / (high_freq - h);
  if (freq < l) return low_freq + scale_left * (freq - low_freq);
  if (freq < h) return scale * freq;
  return high_freq + scale_right * (freq - high_freq);
}

namespace {
float VtlnWarpMelFreq(float vtln_low, float vtln_high, float low_freq, float high_freq,
                      float warp, float mel) {
  return MelScale(
      VtlnWarpFreq(vtln_low, vtln_high, low_freq, high_freq, warp, InverseMelScale(mel)));
}
}  // namespace

MelBanks::MelBanks(const MelBanksOptions& opts, const FrameExtractionOptions& frame_opts,
                   float warp) {
  const int32_t num_bins = opts.num_bins;
  KQ_CHECK(num_bins >= 3, kInvalidArgument) << "Must have at least 3 mel bins";
  const float sample_freq = frame_opts.samp_freq;
  const int32_t padded = frame_opts.PaddedWindowSize();
  KQ_CHECK(padded >= 2 && padded % 2 == 0, kInvalidArgument)
      << "the FFT length must be even, got " << padded;
  const int32_t num_fft_bins = padded / 2;
  // Every bin needs an FFT bin inside its triangle and an FFT bin lies in at most two
  // triangles, so more bins than this can never be built (checked before allocating).
  KQ_CHECK(num_bins <= 2 * num_fft_bins, kInvalidArgument)
      << "--num-mel-bins=" << num_bins << " is too large for a " << padded << "-point FFT";
  const float nyquist = 0.5f * sample_freq;
  const float low_freq = opts.low_freq;
  const float high_freq = opts.high_freq > 0.0f ? opts.high_freq : nyquist + opts.high_freq;
  KQ_CHECK(!(low_freq < 0.0f || low_freq >= nyquist || high_freq <= 0.0f ||
             high_freq > nyquist || high_freq <= low_freq),
           kInvalidArgument)
      << "Bad values in options: low-freq " << low_freq << " and high-freq " << high_freq
      << " vs. nyquist " << nyquist;
  const float fft_bin_width = sample_freq / static_cast<float>(padded);
  const float mel_low = MelScale(low_freq), mel_high = MelScale(high_freq);
  debug_ = opts.debug_mel;
  const float mel_delta = (mel_high - mel_low) / static_cast<float>(num_bins + 1);
  float vtln_low = opts.vtln_low, vtln_high = opts.vtln_high;
  if (vtln_high < 0.0f) vtln_high += nyquist;
  KQ_CHECK(!(warp != 1.0f && (vtln_low < 0.0f || vtln_low <= low_freq || vtln_low >= high_freq ||
                              vtln_high <= 0.0f || vtln_high >= high_freq ||
                              vtln_high <= vtln_low)),
           kInvalidArgument)
      << "Bad values in options: vtln-low " << vtln_low << " and vtln-high " << vtln_high
      << ", versus low-freq " << low_freq << " and high-freq " << high_freq;

  bins_.resize(static_cast<size_t>(num_bins));
  center_freqs_.resize(static_cast<size_t>(num_bins));
  std::vector<float> this_bin(static_cast<size_t>(num_fft_bins));
  for (int32_t bin = 0; bin < num_bins; ++bin) {
    float left = mel_low + static_cast<float>(bin) * mel_delta;
    float center = mel_low + static_cast<float>(bin + 1) * mel_delta;
    float right = mel_low + static_cast<float>(bin + 2) * mel_delta;
    if (warp != 1.0f) {
      left = VtlnWarpMelFreq(vtln_low, vtln_high, low_freq, high_freq, warp, left);
      center = VtlnWarpMelFreq(vtln_low, vtln_high, low_freq, high_freq, warp, center);
      right = VtlnWarpMelFreq(vtln_low, vtln_high, low_freq, high_freq, warp, right);
    }
    center_freqs_[bin] = InverseMelScale(center);
    std::fill(this_bin.begin(), this_bin.end(), 0.0f);
    int32_t first = -1, last = -1;
    for (int32_t i = 0; i < num_fft_bins; ++i) {
      const float mel = MelScale(fft_bin_width * static_cast<float>(i));
      if (mel > left && mel < right) {
        this_bin[i] = mel <= center ? (mel - left) / (center - left)
                                    : (right - mel) / (right - center);
        if (first == -1) first = i;
        last = i;
      }
    }
    KQ_CHECK(first != -1 && last >= first, kInvalidArgument)
        << "mel bin " << bin << " of " << num_bins << " covers no FFT bin (--num-mel-bins="
        << num_bins << " is too large for a " << padded << "-point FFT between " << low_freq
        << " and " << high_freq << " Hz)";
    bins_[bin].offset = first;
    bins_[bin].weights.assign(this_bin.begin() + first, this_bin.begin() + last + 1);
  }
  if (debug_) {
    for (size_t b = 0; b < bins_.size(); ++b) {
      std::fprintf(stderr, "LOG (MelBanks) bin %zu, offset = %d, vec = [", b, bins_[b].offset);
      for (float w : bins_[b].weights) std::fprintf(stderr, " %g", w);
      std::fprintf(stderr, " ]\n");
    }
  }
}

void MelBanks::Compute(const float* power, float* mel_energies) const {
  for (size_t b = 0; b < bins_.size(); ++b) {
    const Bin& bin = bins_[b];
    const float* p = power + bin.offset;
    double sum = 0;
    for (size_t i = 0; i < bin.weights.size(); ++i)
      sum += static_cast<double>(bin.weights[i]) * p[i];
    mel_energies[b] = static_cast<float>(sum);
  }
  if (debug_) {
    std::fprintf(stderr, "MEL BANKS:\n");
    for (size_t b = 0; b < bins_.size(); ++b) std::fprintf(stderr, " %f", mel_energies[b]);
    std::fprintf(stderr, "\n");
  }
}

std::vector<float> ComputeDctMatrix(int rows, int cols) {
  KQ_CHECK(rows > 0 && cols > 0, kInvalidArgument) << "empty DCT matrix";
  std::vector<float> m(static_cast<size_t>(rows) * cols);
  // As Kaldi's float instantiation: the normalisers are floats, the products doubles.
  const float n0 = static_cast<float>(std::sqrt(1.0 / static_cast<float>(cols)));
  for (int j = 0; j < cols; ++j) m[j] = n0;
  const float n1 = static_cast<float>(std::sqrt(2.0 / static_cast<float>(cols)));
  for (int k = 1; k < rows; ++k)
    for (int n = 0; n < cols; ++n)
      m[static_cast<size_t>(k) * cols + n] =
          static_cast<float>(n1 * std::cos(M_PI / cols * (n + 0.5) * k));
  return m;
}

std::vector<float> ComputeLifterCoeffs(float q, int n) {
  std::vector<float> c(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) c[i] = static_cast<float>(1.0 + 0.5 * q * std::sin(M_PI * i / q));
  return c;
}

}  // namespace kaldiq::feat
