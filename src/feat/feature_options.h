// Options of Kaldi's feature extraction, with Kaldi's field names and defaults
// (feat/feature-window.h: FrameExtractionOptions, feat/mel-computations.h: MelBanksOptions,
// feat/feature-mfcc.h: MfccOptions, feat/feature-fbank.h: FbankOptions). The command-line names
// are Kaldi's (--sample-frequency, --frame-length, ...); tools/kaldiq/feature_flags.h binds them.
//
// Units: frequencies in Hz, times in milliseconds; waveform samples are int16 values as floats
// (see kaldi/wave_io.h), so --dither=1.0 is one quantisation step.
#pragma once

#include <cstdint>
#include <string>

namespace kaldiq::feat {

struct FrameExtractionOptions {
  float samp_freq = 16000;     // --sample-frequency
  float frame_shift_ms = 10;   // --frame-shift
  float frame_length_ms = 25;  // --frame-length
  float dither = 1.0f;         // --dither: Gaussian noise of this standard deviation per sample
  float preemph_coeff = 0.97f; // --preemphasis-coefficient
  bool remove_dc_offset = true;
  std::string window_type = "povey";  // hamming|hanning|povey|rectangular|sine|blackman
  bool round_to_power_of_two = true;
  float blackman_coeff = 0.42f;
  bool snip_edges = true;
  bool allow_downsample = false;
  bool allow_upsample = false;
  int max_feature_vectors = -1;  // online only: keep only this many newest frames (-1 = all)

  // Kaldi's WindowShift()/WindowSize(): samples, truncated (11025 Hz x 25 ms -> 275).
  int32_t WindowShift() const {
    return static_cast<int32_t>(samp_freq * 0.001 * frame_shift_ms);
  }
  int32_t WindowSize() const {
    return static_cast<int32_t>(samp_freq * 0.001 * frame_length_ms);
  }
  // FFT length: the next power of two >= WindowSize() when round_to_power_of_two.
  int32_t PaddedWindowSize() const;
  // Throws kaldiq::Error (kInvalidArgument) for settings Kaldi asserts on or that would divide
  // by zero: a window of < 2 samples, a shift of < 1 sample, an odd FFT length, an unknown window
  // type, pre-emphasis outside [0, 1], max_feature_vectors in [0, 200].
  void Validate() const;
};

struct MelBanksOptions {
  int32_t num_bins = 25;  // --num-mel-bins (MFCC and fbank set 23)
  float low_freq = 20;    // --low-freq
  float high_freq = 0;    // --high-freq; <= 0 means an offset from Nyquist
  float vtln_low = 100;   // --vtln-low
  float vtln_high = -500; // --vtln-high; < 0 means an offset from Nyquist
  bool debug_mel = false; // --debug-mel: print the bins and per-frame mel energies to stderr
  explicit MelBanksOptions(int32_t bins = 25) : num_bins(bins) {}
};

struct MfccOptions {
  FrameExtractionOptions frame_opts;
  MelBanksOptions mel_opts{23};
  int32_t num_ceps = 13;        // --num-ceps, including C0
  bool use_energy = true;       // --use-energy: C0 replaced by the log energy
  float energy_floor = 0;       // --energy-floor (absolute, not log); applies if > 0
  bool raw_energy = true;       // --raw-energy: energy before pre-emphasis and window
  float cepstral_lifter = 22;   // --cepstral-lifter (0 = none)
  bool htk_compat = false;      // --htk-compat: C0/energy last, sqrt(2) on C0
  void Validate() const;        // also checks frame_opts; num_ceps in [1, num_bins]
};

struct FbankOptions {
  FrameExtractionOptions frame_opts;
  MelBanksOptions mel_opts{23};
  bool use_energy = false;      // --use-energy: an extra energy dimension
  float energy_floor = 0;       // --energy-floor
  bool raw_energy = true;       // --raw-energy
  bool htk_compat = false;      // --htk-compat: energy last instead of first
  bool use_log_fbank = true;    // --use-log-fbank
  bool use_power = true;        // --use-power (false: magnitude)
  void Validate() const;
};

}  // namespace kaldiq::feat
