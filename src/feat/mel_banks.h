// Mel filterbank, DCT and lifter exactly as Kaldi computes them (feat/mel-computations.cc:
// MelBanks, ComputeLifterCoeffs; matrix/matrix-functions.cc: ComputeDctMatrix), in float where
// Kaldi uses float.
//
// mel(f) = 1127 ln(1 + f/700) (logf). With Nyquist = fs/2, low = low_freq, high = high_freq if
// > 0 else Nyquist + high_freq (errors unless 0 <= low < Nyquist, 0 < high <= Nyquist,
// low < high), and delta = (mel(high) - mel(low)) / (B + 1), bin b has left/centre/right edges
// mel(low) + (b, b+1, b+2) * delta (VTLN-warped when warp != 1). FFT bins k = 0..Np/2 - 1 (the
// Nyquist bin never enters) at frequency k * fs / Np get weight (m - left)/(centre - left) on
// (left, centre] and (right - m)/(right - centre) on (centre, right); a bin without any weight is
// an error ("num-mel-bins too large"). Mel energy e_b = sum_k w_bk P_k.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "feat/feature_options.h"

namespace kaldiq::feat {

inline float MelScale(float freq);
inline float InverseMelScale(float mel);

// Kaldi's piecewise-linear VTLN warp (MelBanks::VtlnWarpFreq): identity outside [low, high],
// slope 1/warp between l = vtln_low * max(1, warp) and h = vtln_high * min(1, warp), straight
// lines to (low, low) and (high, high).
float VtlnWarpFreq(float vtln_low, float vtln_high, float low_freq, float high_freq,
                   float warp, float freq);

class MelBanks {
 public:
  // Throws kaldiq::Error (kInvalidArgument) for bad frequencies or too many bins.
  MelBanks(const MelBanksOptions& opts, const FrameExtractionOptions& frame_opts, float warp);

  int NumBins() const { return static_cast<int>(bins_.size()); }
  // mel_energies[b] = sum of weights * power[offset ...]; power has Np/2 + 1 entries.
  void Compute(const float* power, float* mel_energies) const;
  // Bin b: first FFT index with a weight, and the weights from there on.
  int Offset(int b) const { return bins_[b].offset; }
  const std::vector<float>& Weights(int b) const { return bins_[b].weights; }
  float CenterFreq(int b) const { return center_freqs_[b]; }

 private:
  struct Bin {
    int offset = 0;
    std::vector<float> weights;
  };
  std::vector<Bin> bins_;
  std::vector<float> center_freqs_;
  bool debug_ = false;
};

// Kaldi's ComputeDctMatrix for a K x N result (row-major): row 0 = sqrt(1/N), row k >= 1,
// column n = sqrt(2/N) cos(pi/N (n + 0.5) k).
std::vector<float> ComputeDctMatrix(int rows, int cols);

// Kaldi's lifter: c_i = 1 + (Q/2) sin(pi i / Q), i < n.
std::vector<float> ComputeLifterCoeffs(float q, int n);

// ---------------------------------------------------------------------------------------------

inline float MelScale(float freq) { return 1127.0f * std::log(1.0f + freq / 700.0f); }
inline float InverseMelScale(float mel) { return 700.0f * (std::exp(mel / 1127.0f) - 1.0f); }

}  // namespace kaldiq::feat
