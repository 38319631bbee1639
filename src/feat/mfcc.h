// MFCC and filterbank computers, exactly Kaldi's MfccComputer::Compute and
// FbankComputer::Compute (feat/feature-mfcc.cc, feat/feature-fbank.cc), per frame:
//   energy   E = raw log energy (from ExtractWindow) when raw_energy, else
//              ln(max(sum x^2, FLT_EPSILON)) over the windowed, zero-padded frame;
//              floored at ln(energy_floor) when energy_floor > 0
//   spectrum P_k = |FFT(frame)_k|^2, k = 0..Np/2 (fbank with use_power = false: sqrt(P_k))
//   mel      e_b = sum_k w_bk P_k (mel_banks.h)
//   MFCC     c = lifter .* (DCT[0:K] . ln(max(e, FLT_EPSILON))); c_0 = E if use_energy;
//            htk_compat moves c_0 last (times sqrt(2) when not use_energy)
//   fbank    [E,] ln(max(e, FLT_EPSILON)) (or e when !use_log_fbank); E last if htk_compat
// In float, as Kaldi; sums accumulate in double (Kaldi's BLAS order is not reproducible anyway).
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "feat/feature_computer.h"
#include "feat/fft.h"
#include "feat/mel_banks.h"

namespace kaldiq::feat {

class MfccComputer : public FeatureComputer {
 public:
  explicit MfccComputer(const MfccOptions& opts);  // validates opts
  const FrameExtractionOptions& frame_options() const override { return opts_.frame_opts; }
  int Dim() const override { return opts_.num_ceps; }
  bool NeedRawLogEnergy() const override { return opts_.use_energy && opts_.raw_energy; }
  void Compute(float raw_log_energy, float vtln_warp, float* frame, float* feature) override;

 private:
  MfccOptions opts_;
  std::vector<float> dct_t_;   // the DCT transposed: num_bins x num_ceps
  std::vector<double> acc_;    // num_ceps
  std::vector<float> lifter_;  // empty when cepstral_lifter == 0
  float log_energy_floor_ = 0;
  RealFft fft_;
  std::map<float, MelBanks> mel_banks_;
  std::vector<float> power_, mel_;
};

class FbankComputer : public FeatureComputer {
 public:
  explicit FbankComputer(const FbankOptions& opts);
  const FrameExtractionOptions& frame_options() const override { return opts_.frame_opts; }
  int Dim() const override { return opts_.mel_opts.num_bins + (opts_.use_energy ? 1 : 0); }
  bool NeedRawLogEnergy() const override { return opts_.use_energy && opts_.raw_energy; }
  void Compute(float raw_log_energy, float vtln_warp, float* frame, float* feature) override;

 private:
  FbankOptions opts_;
  float log_energy_floor_ = 0;
  RealFft fft_;
  std::map<float, MelBanks> mel_banks_;
  std::vector<float> power_;
};

}  // namespace kaldiq::feat
