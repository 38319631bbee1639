// Forward discrete Fourier transforms for feature extraction. Unnormalised:
// X_k = sum_j x_j exp(-2 pi i j k / n).
//
// Why two complex FFTs: Kaldi's features are computed in float, and the power in the weakest
// mel bins (90 dB below the frame's peak in fricatives, after pre-emphasis) is at the level of
// the FFT's own rounding noise, so any other float FFT differs from Kaldi's there by up to
// ~0.01 in the lifted cepstra -- Kaldi's own error against an exact DFT is that large. Parity
// therefore needs Kaldi's rounding, i.e. its algorithm and operation order:
//   SplitRadixFft  power-of-two lengths (what MFCC/fbank use, Np = 512): the split-radix
//                  decimation-in-frequency FFT (Sorensen/Malvar) that Kaldi's
//                  SplitRadixComplexFft implements -- L-shaped butterflies, twiddles by the
//                  3-multiplication rotation, tables computed in float, bit-reversed output
//                  order undone at the end.
//   ComplexFft     any length (--round-to-power-of-two=false): a mixed-radix Stockham FFT
//                  (radix 4, 2, direct DFT steps for odd primes); Kaldi's generic ComplexFft
//                  rounds differently there.
// RealFft: the n-point real transform from the n/2-point complex one, with Kaldi's
// post-processing (twiddles by repeated complex multiplication in float, as
// SplitRadixRealFft/RealFft do).
//
// Objects hold scratch space: use one per thread.
#pragma once

#include <complex>
#include <memory>
#include <utility>
#include <vector>

namespace kaldiq::feat {

class ComplexFft {
 public:
  explicit ComplexFft(int n);  // n >= 1, any length
  int size() const { return n_; }
  // In place: data[j] -> X_j.
  void Forward(std::complex<float>* data);

 private:
  struct Stage {
    int radix;
    int m;                                   // sub-transform length after this stage
    std::vector<std::complex<float>> twiddle;  // w_{radix*m}^{pp*k}, pp < m, 1 <= k < radix
    std::vector<std::complex<float>> roots;    // odd radix: W_radix^j, j < radix
  };
  int n_;
  std::vector<Stage> stages_;
  std::vector<std::complex<float>> work_, butterfly_;
};

class SplitRadixFft {
 public:
  explicit SplitRadixFft(int n);  // n = 2^k >= 1
  int size() const { return n_; }
  // In place on separate real and imaginary arrays of n floats.
  void Forward(float* re, float* im) const;

 private:
  struct Level {  // rotations of the length-2^L butterflies, n = 1 .. 2^L/4 - 1 except 2^L/8
    std::vector<float> c, spc, smc, c3, spc3, smc3;
  };
  void Recurse(float* re, float* im, int logn) const;
  int n_, logn_;
  std::vector<Level> levels_;    // index L (only L >= 4 are filled)
  std::vector<std::pair<int, int>> bit_reverse_swaps_;
};

class RealFft {
 public:
  explicit RealFft(int n);  // n >= 2, even
  int size() const { return n_; }
  // spectrum[k] = X_k for k = 0..n/2 (n/2 + 1 values) of the n real samples in `in`.
  void Forward(const float* in, std::complex<float>* spectrum);
  // power[k] = |X_k|^2 for k = 0..n/2, computed as re*re + im*im in float (Kaldi's
  // ComputePowerSpectrum).
  void PowerSpectrum(const float* in, float* power);

 private:
  int n_;
  std::unique_ptr<SplitRadixFft> split_;  // n/2 a power of two
  std::unique_ptr<ComplexFft> mixed_;     // otherwise
  std::vector<float> re_, im_;
  std::vector<std::complex<float>> z_, spectrum_;
};

}  // namespace kaldiq::feat
