#include "feat/mfcc.h"

#include <cfloat>
#include <cmath>

#include "util/error.h"

namespace kaldiq::feat {

namespace {

const MelBanks& BanksFor(std::map<float, MelBanks>* cache, const MelBanksOptions& mel_opts,
                         const FrameExtractionOptions& frame_opts, float warp) {
  auto it = cache->find(warp);
  if (it == cache->end()) it = cache->emplace(warp, MelBanks(mel_opts, frame_opts, warp)).first;
  return it->second;
}

// ln(max(sum x^2, FLT_EPSILON)) over the whole (padded) frame.
float LogEnergy(const float* frame, int n) {
  double e = 0;
  for (int i = 0; i < n; ++i) e += static_cast<double>(frame[i]) * frame[i];
  return std::log(std::max(static_cast<float>(e), FLT_EPSILON));
}

// Validates in the member initialiser list, before the FFT is sized from the options.
template <typename Options>
const Options& Validated(const Options& o) {
  o.Validate();
  return o;
}

}  // namespace

MfccComputer::MfccComputer(const MfccOptions& opts)
    : opts_(Validated(opts)), fft_(opts.frame_opts.PaddedWindowSize()) {
  const int bins = opts_.mel_opts.num_bins;
  const int ceps = opts_.num_ceps;
  // The first num_ceps rows of Kaldi's bins x bins DCT (rows do not depend on the row count).
  std::vector<float> full = ComputeDctMatrix(ceps, bins);
  dct_t_.resize(static_cast<size_t>(bins) * ceps);
  for (int k = 0; k < ceps; ++k)
    for (int b = 0; b < bins; ++b) dct_t_[static_cast<size_t>(b) * ceps + k] = full[k * bins + b];
  acc_.resize(static_cast<size_t>(ceps));
  if (opts_.cepstral_lifter != 0.0f) lifter_ = ComputeLifterCoeffs(opts_.cepstral_lifter, opts_.num_ceps);
  if (opts_.energy_floor > 0.0f) log_energy_floor_ = std::log(opts_.energy_floor);
  power_.resize(static_cast<size_t>(opts_.frame_opts.PaddedWindowSize() / 2 + 1));
  mel_.resize(static_cast<size_t>(bins));
  BanksFor(&mel_banks_, opts_.mel_opts, opts_.frame_opts, 1.0f);  // validates the mel options
}

void MfccComputer::Compute(float raw_log_energy, float vtln_warp, float* frame, float* feature) {
  const MelBanks& banks = BanksFor(&mel_banks_, opts_.mel_opts, opts_.frame_opts, vtln_warp);
  const int padded = fft_.size();
  float log_energy = raw_log_energy;
  if (opts_.use_energy && !opts_.raw_energy) log_energy = LogEnergy(frame, padded);
  fft_.PowerSpectrum(frame, power_.data());
  banks.Compute(power_.data(), mel_.data());
  const int bins = opts_.mel_opts.num_bins, ceps = opts_.num_ceps;
  for (int b = 0; b < bins; ++b) mel_[b] = std::log(std::max(mel_[b], FLT_EPSILON));
  // c = DCT . log mel, accumulated in double over the bins in order (the loop over k
  // vectorises; the order of each sum does not depend on it).
  std::fill(acc_.begin(), acc_.end(), 0.0);
  for (int b = 0; b < bins; ++b) {
    const double m = mel_[b];
    const float* col = dct_t_.data() + static_cast<size_t>(b) * ceps;
    for (int k = 0; k < ceps; ++k) acc_[k] += static_cast<double>(col[k]) * m;
  }
  for (int k = 0; k < ceps; ++k) feature[k] = static_cast<float>(acc_[k]);
  if (!lifter_.empty()) {
    for (int k = 0; k < ceps; ++k) feature[k] *= lifter_[k];
  }
  if (opts_.use_energy) {
    if (opts_.energy_floor > 0.0f && log_energy < log_energy_floor_) log_energy = log_energy_floor_;
    feature[0] = log_energy;
  }
  if (opts_.htk_compat) {
    float energy = feature[0];
    for (int k = 0; k + 1 < ceps; ++k) feature[k] = feature[k + 1];
    if (!opts_.use_energy) energy = static_cast<float>(energy * M_SQRT2);  // in double, as Kaldi
    feature[ceps - 1] = energy;
  }
}

FbankComputer::FbankComputer(const FbankOptions& opts)
    : opts_(Validated(opts)), fft_(opts.frame_opts.PaddedWindowSize()) {
  if (opts_.energy_floor > 0.0f) log_energy_floor_ = std::log(opts_.energy_floor);
  power_.resize(static_cast<size_t>(opts_.frame_opts.PaddedWindowSize() / 2 + 1));
  BanksFor(&mel_banks_, opts_.mel_opts, opts_.frame_opts, 1.0f);
}

void FbankComputer::Compute(float raw_log_energy, float vtln_warp, float* frame, float* feature) {
  const MelBanks& banks = BanksFor(&mel_banks_, opts_.mel_opts, opts_.frame_opts, vtln_warp);
  float log_energy = raw_log_energy;
  if (opts_.use_energy && !opts_.raw_energy) log_energy = LogEnergy(frame, fft_.size());
  fft_.PowerSpectrum(frame, power_.data());
  if (!opts_.use_power) {
    for (float& p : power_) p = std::sqrt(p);
  }
  const int bins = opts_.mel_opts.num_bins;
  float* mel = feature + ((opts_.use_energy && !opts_.htk_compat) ? 1 : 0);
  banks.Compute(power_.data(), mel);
  if (opts_.use_log_fbank) {
    for (int b = 0; b < bins; ++b) mel[b] = std::log(std::max(mel[b], FLT_EPSILON));
  }
  if (opts_.use_energy) {
    if (opts_.energy_floor > 0.0f && log_energy < log_energy_floor_) log_energy = log_energy_floor_;
    feature[opts_.htk_compat ? bins : 0] = log_energy;
  }
}

std::unique_ptr<FeatureComputer> MakeMfccComputer(const MfccOptions& opts) {
  return std::make_unique<MfccComputer>(opts);
}
std::unique_ptr<FeatureComputer> MakeFbankComputer(const FbankOptions& opts) {
  return std::make_unique<FbankComputer>(opts);
}

}  // namespace kaldiq::feat
