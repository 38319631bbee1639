// MFCC and fbank computers (feat/mfcc.h) against an oracle written from the formulas in double
// (naive DFT, log, DCT-II by its cosine definition, lifter), plus the layout options (energy,
// htk-compat, linear / magnitude fbank) and digital silence.
#include "feat/mfcc.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "feat/framing.h"
#include "feat/mel_banks.h"

namespace kaldiq::feat {
namespace {

std::vector<float> RandomFrame(int n, int padded, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 2000);
  std::vector<float> f(padded, 0.0f);
  for (int i = 0; i < n; ++i) f[i] = g(rng);
  return f;
}

std::vector<double> PowerOracle(const std::vector<float>& frame) {
  const int n = static_cast<int>(frame.size());
  std::vector<double> p(n / 2 + 1);
  for (int k = 0; k <= n / 2; ++k) {
    long double re = 0, im = 0;
    for (int j = 0; j < n; ++j) {
      long double a = -2.0L * M_PI * ((static_cast<long>(j) * k) % n) / n;
      re += frame[j] * std::cos(a);
      im += frame[j] * std::sin(a);
    }
    p[k] = static_cast<double>(re * re + im * im);
  }
  return p;
}

std::vector<double> LogMelOracle(const MelBanks& mb, const std::vector<double>& power) {
  std::vector<double> out(mb.NumBins());
  for (int b = 0; b < mb.NumBins(); ++b) {
    double e = 0;
    for (size_t i = 0; i < mb.Weights(b).size(); ++i) e += mb.Weights(b)[i] * power[mb.Offset(b) + i];
    out[b] = std::log(std::max(e, double(FLT_EPSILON)));
  }
  return out;
}

MfccOptions Hires() {
  MfccOptions o;
  o.frame_opts.dither = 0;
  o.mel_opts.num_bins = 40;
  o.num_ceps = 40;
  o.use_energy = false;
  o.mel_opts.low_freq = 20;
  o.mel_opts.high_freq = -400;
  return o;
}

TEST(MfccTest, MatchesTheFormula) {
  MfccOptions o = Hires();
  MfccComputer mfcc(o);
  MelBanks mb(o.mel_opts, o.frame_opts, 1.0f);
  for (unsigned seed : {1u, 2u, 3u}) {
    std::vector<float> frame = RandomFrame(400, 512, seed);
    std::vector<double> logmel = LogMelOracle(mb, PowerOracle(frame));
    std::vector<float> work = frame, feat(40);
    mfcc.Compute(0.0f, 1.0f, work.data(), feat.data());
    for (int k = 0; k < 40; ++k) {
      double c = 0;
      for (int b = 0; b < 40; ++b)
        c += (k == 0 ? std::sqrt(1.0 / 40) : std::sqrt(2.0 / 40) * std::cos(M_PI / 40 * (b + 0.5) * k)) *
             logmel[b];
      c *= 1 + 11 * std::sin(M_PI * k / 22);
      EXPECT_NEAR(feat[k], c, 2e-3) << "seed " << seed << " c" << k;
    }
  }
}

TEST(MfccTest, EnergyFloorHtkCompat) {
  MfccOptions o;
  o.frame_opts.dither = 0;
  std::vector<float> frame = RandomFrame(400, 512, 9);
  std::vector<float> f1(13), f2(13), w;
  {
    MfccComputer m(o);  // use_energy: c0 = the raw log energy passed in
    w = frame;
    m.Compute(12.5f, 1.0f, w.data(), f1.data());
    EXPECT_EQ(f1[0], 12.5f);
  }
  {
    MfccOptions e = o;
    e.energy_floor = 1e8f;  // floors the energy only
    MfccComputer m(e);
    w = frame;
    m.Compute(12.5f, 1.0f, w.data(), f2.data());
    EXPECT_FLOAT_EQ(f2[0], std::log(1e8f));
    for (int k = 1; k < 13; ++k) EXPECT_EQ(f2[k], f1[k]);
  }
  {
    MfccOptions h = o;
    h.htk_compat = true;  // energy last
    MfccComputer m(h);
    w = frame;
    m.Compute(12.5f, 1.0f, w.data(), f2.data());
    for (int k = 0; k < 12; ++k) EXPECT_EQ(f2[k], f1[k + 1]);
    EXPECT_EQ(f2[12], 12.5f);
  }
  {
    MfccOptions h = o;
    h.use_energy = false;  // C0 times sqrt(2), last
    MfccComputer plain(h);
    std::vector<float> c0(13);
    w = frame;
    plain.Compute(0, 1.0f, w.data(), c0.data());
    h.htk_compat = true;
    MfccComputer m(h);
    w = frame;
    m.Compute(0, 1.0f, w.data(), f2.data());
    EXPECT_FLOAT_EQ(f2[12], c0[0] * std::sqrt(2.0f));
    EXPECT_EQ(f2[0], c0[1]);
  }
  {
    MfccOptions r = o;
    r.raw_energy = false;  // energy of the windowed, padded frame
    MfccComputer m(r);
    double e = 0;
    for (float v : frame) e += double(v) * v;
    w = frame;
    m.Compute(-1.0f, 1.0f, w.data(), f2.data());
    EXPECT_NEAR(f2[0], std::log(e), 1e-5);
  }
}

TEST(MfccTest, DigitalSilence) {
  MfccComputer m(Hires());
  std::vector<float> zeros(512, 0.0f), feat(40);
  m.Compute(0, 1.0f, zeros.data(), feat.data());
  EXPECT_NEAR(feat[0], std::sqrt(40.0) * std::log(FLT_EPSILON), 1e-4);  // -100.829
  EXPECT_NEAR(feat[0], -100.829, 1e-3);
  for (int k = 1; k < 40; ++k) EXPECT_NEAR(feat[k], 0.0, 1e-4) << k;
  FbankOptions fo;
  fo.frame_opts.dither = 0;
  FbankComputer fb(fo);
  std::vector<float> z2(512, 0.0f), f(23);
  fb.Compute(0, 1.0f, z2.data(), f.data());
  for (float v : f) EXPECT_FLOAT_EQ(v, std::log(FLT_EPSILON));  // -15.942385
}

TEST(FbankTest, LayoutsAndLinearMagnitude) {
  FbankOptions o;
  o.frame_opts.dither = 0;
  MelBanks mb(o.mel_opts, o.frame_opts, 1.0f);
  std::vector<float> frame = RandomFrame(400, 512, 5), w, f(23), fe(24);
  std::vector<double> power = PowerOracle(frame);
  std::vector<double> logmel = LogMelOracle(mb, power);
  FbankComputer plain(o);
  EXPECT_EQ(plain.Dim(), 23);
  w = frame;
  plain.Compute(0, 1.0f, w.data(), f.data());
  for (int b = 0; b < 23; ++b) EXPECT_NEAR(f[b], logmel[b], 1e-4) << b;
  o.use_energy = true;
  FbankComputer energy(o);
  EXPECT_EQ(energy.Dim(), 24);
  w = frame;
  energy.Compute(7.0f, 1.0f, w.data(), fe.data());
  EXPECT_EQ(fe[0], 7.0f);
  for (int b = 0; b < 23; ++b) EXPECT_EQ(fe[b + 1], f[b]);
  o.htk_compat = true;
  FbankComputer last(o);
  w = frame;
  last.Compute(7.0f, 1.0f, w.data(), fe.data());
  EXPECT_EQ(fe[23], 7.0f);
  for (int b = 0; b < 23; ++b) EXPECT_EQ(fe[b], f[b]);
  FbankOptions lin;
  lin.frame_opts.dither = 0;
  lin.use_log_fbank = false;
  lin.use_power = false;
  FbankComputer mag(lin);
  w = frame;
  mag.Compute(0, 1.0f, w.data(), f.data());
  for (int b = 0; b < 23; ++b) {
    double e = 0;
    for (size_t i = 0; i < mb.Weights(b).size(); ++i)
      e += mb.Weights(b)[i] * std::sqrt(power[mb.Offset(b) + i]);
    EXPECT_NEAR(f[b], e, 1e-5 * e) << b;
  }
}

TEST(MfccTest, OptionErrors) {
  MfccOptions o;
  o.num_ceps = 30;  // > num_mel_bins = 23
  EXPECT_ANY_THROW(MfccComputer{o});
  o = MfccOptions();
  o.frame_opts.window_type = "gauss";
  EXPECT_ANY_THROW(MakeMfccComputer(o));
  FbankOptions f;
  f.mel_opts.num_bins = 2;
  EXPECT_ANY_THROW(MakeFbankComputer(f));
}

}  // namespace
}  // namespace kaldiq::feat
