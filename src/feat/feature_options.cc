#include "feat/feature_options.h"

#include "util/error.h"

namespace kaldiq::feat {

int32_t FrameExtractionOptions::PaddedWindowSize() const {
  int32_t n = WindowSize();
  if (!round_to_power_of_two || n <= 1) return n;
  int32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

void FrameExtractionOptions::Validate() const {
  KQ_CHECK(samp_freq > 0, kInvalidArgument)
      << "--sample-frequency must be positive, got " << samp_freq;
  KQ_CHECK(frame_length_ms > 0 && frame_shift_ms > 0, kInvalidArgument)
      << "--frame-length and --frame-shift must be positive (got " << frame_length_ms << " and "
      << frame_shift_ms << " ms)";
  KQ_CHECK(frame_length_ms * 0.001 * samp_freq < (1 << 24), kInvalidArgument)
      << "--frame-length=" << frame_length_ms << " ms is too long";
  KQ_CHECK(WindowSize() >= 2, kInvalidArgument)
      << "--frame-length=" << frame_length_ms << " ms at " << samp_freq
      << " Hz gives a window of " << WindowSize() << " samples; at least 2 are needed";
  KQ_CHECK(WindowShift() >= 1, kInvalidArgument)
      << "--frame-shift=" << frame_shift_ms << " ms at " << samp_freq
      << " Hz gives a shift of 0 samples";
  KQ_CHECK(PaddedWindowSize() % 2 == 0, kInvalidArgument)
      << "the FFT length " << PaddedWindowSize()
      << " is odd (window of " << WindowSize()
      << " samples with --round-to-power-of-two=false); Kaldi needs an even length";
  KQ_CHECK(window_type == "hamming" || window_type == "hanning" || window_type == "povey" ||
               window_type == "rectangular" || window_type == "sine" ||
               window_type == "blackman",
           kInvalidArgument)
      << "Invalid window type " << window_type
      << " (hamming, hanning, povey, rectangular, sine or blackman)";
  KQ_CHECK(preemph_coeff >= 0 && preemph_coeff <= 1, kInvalidArgument)
      << "--preemphasis-coefficient must be in [0, 1], got " << preemph_coeff;
  KQ_CHECK(dither >= 0, kInvalidArgument) << "--dither must be >= 0, got " << dither;
  // Kaldi asserts uint32(max_feature_vectors) > 200 (online-feature.cc: ONLINE_IVECTOR_LIMIT).
  KQ_CHECK(max_feature_vectors < 0 || max_feature_vectors > 200, kInvalidArgument)
      << "--max-feature-vectors must be -1 or greater than 200, got " << max_feature_vectors;
}

void MfccOptions::Validate() const {
  frame_opts.Validate();
  KQ_CHECK(mel_opts.num_bins >= 3, kInvalidArgument) << "Must have at least 3 mel bins";
  KQ_CHECK(num_ceps >= 1 && num_ceps <= mel_opts.num_bins, kInvalidArgument)
      << "--num-ceps=" << num_ceps << " must be in [1, --num-mel-bins=" << mel_opts.num_bins
      << "]";
}

void FbankOptions::Validate() const {
  frame_opts.Validate();
  KQ_CHECK(mel_opts.num_bins >= 3, kInvalidArgument) << "Must have at least 3 mel bins";
}

}  // namespace kaldiq::feat
