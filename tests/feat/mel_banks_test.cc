// Mel banks, DCT and lifter (feat/mel_banks.h): the derived constants of the project's hires
// configuration, structural properties of the triangles, and the VTLN warp.
#include "feat/mel_banks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace kaldiq::feat {
namespace {

MelBanksOptions Hires() {
  MelBanksOptions m(40);
  m.low_freq = 20;
  m.high_freq = -400;
  return m;
}

TEST(MelBanksTest, HiresConstants) {
  EXPECT_NEAR(MelScale(20), 31.74858, 1e-3);
  EXPECT_NEAR(MelScale(7600), 2786.99263, 1e-2);
  EXPECT_NEAR((MelScale(7600) - MelScale(20)) / 41, 67.20107, 1e-3);
  EXPECT_NEAR(InverseMelScale(MelScale(1000)), 1000, 1e-2);
  FrameExtractionOptions fo;
  MelBanks mb(Hires(), fo, 1.0f);
  ASSERT_EQ(mb.NumBins(), 40);
  EXPECT_EQ(mb.Offset(0), 1);  // bin 0 (20-111 Hz) covers FFT bins 1..3 (31.25 Hz apart)
  EXPECT_EQ(mb.Weights(0).size(), 3u);
  EXPECT_NEAR(mb.CenterFreq(0), 64.24, 0.01);
  EXPECT_EQ(mb.Offset(39), 214);  // bin 39 (6666.9-7600 Hz): FFT bins 214..243
  EXPECT_EQ(mb.Weights(39).size(), 30u);
  EXPECT_NEAR(mb.CenterFreq(39), 7119.55, 0.05);
}

TEST(MelBanksTest, TrianglesArePositiveAndSumToOneBetweenCentres) {
  FrameExtractionOptions fo;
  for (int bins : {23, 40, 80}) {
    MelBanksOptions mo(bins);
    MelBanks mb(mo, fo, 1.0f);
    std::vector<double> total(257, 0.0);
    for (int b = 0; b < bins; ++b) {
      for (size_t i = 0; i < mb.Weights(b).size(); ++i) {
        const float w = mb.Weights(b)[i];
        EXPECT_GT(w, 0.0f);
        EXPECT_LE(w, 1.0f);
        total[mb.Offset(b) + i] += w;
      }
    }
    // Between the first and the last centre, neighbouring triangles overlap so that the
    // weights of every FFT bin sum to 1 (linear interpolation on the mel axis).
    const float fs = fo.samp_freq, width = fs / 512;
    for (int k = 0; k < 256; ++k) {
      const float f = k * width;
      if (f > mb.CenterFreq(0) && f < mb.CenterFreq(bins - 1)) {
        EXPECT_NEAR(total[k], 1.0, 1e-5) << bins << " bins, FFT bin " << k;
      }
    }
    EXPECT_EQ(total[256], 0.0);  // the Nyquist bin never enters a filter
  }
}

TEST(MelBanksTest, ComputeIsTheWeightedSum) {
  FrameExtractionOptions fo;
  MelBanks mb(Hires(), fo, 1.0f);
  std::vector<float> power(257);
  for (int k = 0; k < 257; ++k) power[k] = 1.0f + k;
  std::vector<float> e(40);
  mb.Compute(power.data(), e.data());
  for (int b = 0; b < 40; ++b) {
    double want = 0;
    for (size_t i = 0; i < mb.Weights(b).size(); ++i)
      want += mb.Weights(b)[i] * power[mb.Offset(b) + i];
    EXPECT_NEAR(e[b], want, 1e-4 * want);
  }
}

TEST(MelBanksTest, BadOptionsAreErrors) {
  FrameExtractionOptions fo;
  MelBanksOptions mo(23);
  mo.high_freq = 9000;  // above Nyquist
  EXPECT_ANY_THROW(MelBanks(mo, fo, 1.0f));
  mo = MelBanksOptions(23);
  mo.low_freq = 8000;
  EXPECT_ANY_THROW(MelBanks(mo, fo, 1.0f));
  mo = MelBanksOptions(200);  // more bins than a 512-point FFT resolves at the low end
  EXPECT_ANY_THROW(MelBanks(mo, fo, 1.0f));
  mo = MelBanksOptions(2);
  EXPECT_ANY_THROW(MelBanks(mo, fo, 1.0f));
  mo = MelBanksOptions(2000000000);  // refused before anything is allocated
  EXPECT_ANY_THROW(MelBanks(mo, fo, 1.0f));
}

TEST(MelBanksTest, DctIsOrthonormalAndLifterAsKaldi) {
  const int n = 40;
  std::vector<float> d = ComputeDctMatrix(n, n);
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      double dot = 0;
      for (int j = 0; j < n; ++j) dot += double(d[a * n + j]) * d[b * n + j];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-6) << a << "," << b;
    }
  }
  EXPECT_FLOAT_EQ(d[0], static_cast<float>(std::sqrt(1.0 / 40)));
  std::vector<float> l = ComputeLifterCoeffs(22, 40);
  const int idx[] = {0, 1, 11, 22, 23, 33, 39};
  const double want[] = {1, 2.565, 12.0, 1.0, -0.565, -10.0, -6.203};
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(l[idx[i]], want[i], 1e-3) << idx[i];
}

TEST(MelBanksTest, VtlnWarpIsPiecewiseLinearAndFixesTheEnds) {
  const float low = 20, high = 8000, vl = 100, vh = 7500;
  for (float f : {20.0f, 500.0f, 4000.0f, 8000.0f})
    EXPECT_FLOAT_EQ(VtlnWarpFreq(vl, vh, low, high, 1.0f, f), f);
  for (float warp : {0.85f, 1.15f}) {
    EXPECT_FLOAT_EQ(VtlnWarpFreq(vl, vh, low, high, warp, low), low);
    EXPECT_NEAR(VtlnWarpFreq(vl, vh, low, high, warp, high), high, 1e-2);
    const float l = vl * std::max(1.0f, warp), h = vh * std::min(1.0f, warp);
    for (float f : {l + 10, 1000.0f, 3000.0f, h - 10})
      EXPECT_NEAR(VtlnWarpFreq(vl, vh, low, high, warp, f), f / warp, 1e-2) << warp << " " << f;
    // Continuous at the inflection points.
    EXPECT_NEAR(VtlnWarpFreq(vl, vh, low, high, warp, l - 1e-3f),
                VtlnWarpFreq(vl, vh, low, high, warp, l + 1e-3f), 1e-2);
    EXPECT_NEAR(VtlnWarpFreq(vl, vh, low, high, warp, h - 1e-3f),
                VtlnWarpFreq(vl, vh, low, high, warp, h + 1e-3f), 1e-2);
  }
  EXPECT_FLOAT_EQ(VtlnWarpFreq(vl, vh, low, high, 1.1f, 9000.0f), 9000.0f);  // outside
  FrameExtractionOptions fo;
  MelBanksOptions mo(23);
  MelBanks warped(mo, fo, 1.1f);  // builds
  EXPECT_LT(warped.CenterFreq(10), MelBanks(mo, fo, 1.0f).CenterFreq(10));
  mo.vtln_low = 10;  // below --low-freq: an error only when warping
  MelBanks(mo, fo, 1.0f);
  EXPECT_ANY_THROW(MelBanks(mo, fo, 1.1f));
}

}  // namespace
}  // namespace kaldiq::feat
