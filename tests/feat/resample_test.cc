// LinearResample (feat/resample.h): output lengths, a pass-band tone, stop-band attenuation,
// and streaming == one shot bit for bit.
#include "feat/resample.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace kaldiq::feat {
namespace {

std::vector<float> Tone(int n, double rate, double freq, double amp = 10000) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(amp * std::sin(2 * M_PI * freq * i / rate));
  return x;
}

TEST(ResampleTest, OutputLengths) {
  LinearResample up(8000, 16000, 3960, 6);
  EXPECT_EQ(up.NumOutputSamples(100, true), 200);
  EXPECT_EQ(up.NumOutputSamples(8000, true), 16000);
  EXPECT_LT(up.NumOutputSamples(8000, false), 16000);  // the filter's right half is missing
  LinearResample down(44100, 16000, 7920, 6);
  EXPECT_EQ(down.NumOutputSamples(44100, true), 16000);
  EXPECT_EQ(down.NumOutputSamples(1, true), 1);
  EXPECT_EQ(down.NumOutputSamples(0, true), 0);
}

TEST(ResampleTest, PassBandToneSurvivesStopBandToneIsRemoved) {
  std::vector<float> x = Tone(8000, 8000, 440);
  std::vector<float> y = ResampleWaveform(8000, x.data(), 8000, 16000);
  ASSERT_EQ(y.size(), 16000u);
  double err = 0;
  for (int i = 200; i < 15800; ++i)
    err = std::max(err, std::fabs(y[i] - 10000 * std::sin(2 * M_PI * 440 * i / 16000.0)));
  EXPECT_LT(err, 0.01 * 10000);
  std::vector<float> hi = Tone(16000, 16000, 6500);
  std::vector<float> z = ResampleWaveform(16000, hi.data(), 16000, 8000);
  ASSERT_EQ(z.size(), 8000u);
  double peak = 0;
  for (int i = 100; i < 7900; ++i) peak = std::max(peak, double(std::fabs(z[i])));
  EXPECT_LT(peak, 0.05 * 10000);  // 6.5 kHz is above the 3.96 kHz cutoff
}

TEST(ResampleTest, StreamingEqualsOneShot) {
  for (auto rates : {std::pair<int, int>{8000, 16000}, {44100, 16000}, {16000, 11025}}) {
    std::mt19937 rng(rates.first);
    std::normal_distribution<float> g(0, 1000);
    std::vector<float> x(rates.first / 2);
    for (float& v : x) v = g(rng);
    const float cutoff = std::min(rates.first, rates.second) / 2.0f;
    LinearResample one(rates.first, rates.second, cutoff, 6);
    std::vector<float> a;
    one.Resample(x.data(), static_cast<int64_t>(x.size()), true, &a);
    LinearResample chunked(rates.first, rates.second, cutoff, 6);
    std::vector<float> b;
    size_t pos = 0;
    while (pos < x.size()) {
      size_t n = std::min<size_t>(rng() % 500, x.size() - pos);
      chunked.Resample(x.data() + pos, static_cast<int64_t>(n), false, &b);
      pos += n;
    }
    chunked.Resample(nullptr, 0, true, &b);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(float) * a.size()));
  }
}

TEST(ResampleTest, BadParameters) {
  EXPECT_ANY_THROW(LinearResample(8000, 16000, 5000, 6));  // cutoff above the input Nyquist
  EXPECT_ANY_THROW(LinearResample(0, 16000, 100, 6));
  EXPECT_ANY_THROW(LinearResample(8000, 16000, 3000, 0));
}

}  // namespace
}  // namespace kaldiq::feat
