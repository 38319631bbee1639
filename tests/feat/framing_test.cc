// Framing, windows and per-frame processing (feat/framing.h) against Kaldi's rules and closed
// forms written independently of the implementation.
#include "feat/framing.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

namespace kaldiq::feat {
namespace {

FrameExtractionOptions Opts(bool snip) {
  FrameExtractionOptions o;
  o.snip_edges = snip;
  o.dither = 0;
  return o;
}

TEST(FramingTest, WindowSizesAsKaldi) {
  FrameExtractionOptions o;
  EXPECT_EQ(o.WindowSize(), 400);
  EXPECT_EQ(o.WindowShift(), 160);
  EXPECT_EQ(o.PaddedWindowSize(), 512);
  o.samp_freq = 11025;  // truncation: 275.625 -> 275
  EXPECT_EQ(o.WindowSize(), 275);
  EXPECT_EQ(o.PaddedWindowSize(), 512);
  o.round_to_power_of_two = false;
  EXPECT_EQ(o.PaddedWindowSize(), 275);
  EXPECT_ANY_THROW(o.Validate());  // odd FFT length
  o.samp_freq = 8000;
  EXPECT_EQ(o.WindowSize(), 200);
  o.Validate();
}

TEST(FramingTest, NumFramesBothModes) {
  const FrameExtractionOptions snip = Opts(true), nosnip = Opts(false);
  struct Case { int64_t n, snip, nosnip_flush, nosnip_partial; };
  const Case cases[] = {{0, 0, 0, 0},     {79, 0, 0, 0},   {80, 0, 1, 0},
                        {399, 0, 2, 1},   {400, 1, 3, 1},  {401, 1, 3, 1},
                        {16000, 98, 100, 99}};
  for (const Case& c : cases) {
    EXPECT_EQ(NumFrames(c.n, snip, true), c.snip) << c.n;
    EXPECT_EQ(NumFrames(c.n, snip, false), c.snip) << c.n;  // snip: no difference
    EXPECT_EQ(NumFrames(c.n, nosnip, true), c.nosnip_flush) << c.n;
    EXPECT_EQ(NumFrames(c.n, nosnip, false), c.nosnip_partial) << c.n;
  }
  EXPECT_EQ(FirstSampleOfFrame(0, nosnip), -120);
  EXPECT_EQ(FirstSampleOfFrame(3, nosnip), 360);
  EXPECT_EQ(FirstSampleOfFrame(3, snip), 480);
}

TEST(FramingTest, MirrorIndices) {
  EXPECT_EQ(MirrorSampleIndex(-1, 10), 0);
  EXPECT_EQ(MirrorSampleIndex(-2, 10), 1);
  EXPECT_EQ(MirrorSampleIndex(10, 10), 9);
  EXPECT_EQ(MirrorSampleIndex(11, 10), 8);
  EXPECT_EQ(MirrorSampleIndex(5, 10), 5);
  EXPECT_EQ(MirrorSampleIndex(-5, 3), 1);  // -5 -> 4 -> 1 (repeated reflection)
  EXPECT_EQ(MirrorSampleIndex(-7, 1), 0);
  EXPECT_EQ(MirrorSampleIndex(9, 1), 0);
}

TEST(FramingTest, WindowsMatchClosedForms) {
  FrameExtractionOptions o;
  const int n = o.WindowSize();
  auto check = [&](const char* type, auto formula) {
    o.window_type = type;
    std::vector<float> w = MakeWindow(o);
    ASSERT_EQ(static_cast<int>(w.size()), n);
    for (int i = 0; i < n; ++i) EXPECT_NEAR(w[i], formula(i), 1e-6) << type << " " << i;
  };
  const double pi = M_PI;
  // Written as sin^2 forms, not the implementation's cosines.
  check("hanning", [&](int i) { double s = std::sin(pi * i / (n - 1)); return s * s; });
  check("povey", [&](int i) { return std::pow(std::sin(pi * i / (n - 1)), 1.7); });
  check("hamming", [&](int i) { double s = std::sin(pi * i / (n - 1)); return 0.08 + 0.92 * s * s; });
  check("rectangular", [](int) { return 1.0; });
  check("sine", [&](int i) { return std::sin(pi * i / (n - 1)); });
  check("blackman", [&](int i) {
    // b - cos(x)/2 + (1/2 - b) cos(2x) = sin^2(x/2) - (1 - 2b) sin^2(x), b = 0.42
    double s = std::sin(pi * i / (n - 1)), s2 = std::sin(2 * pi * i / (n - 1));
    return s * s - 0.16 * s2 * s2;
  });
  o.window_type = "blackmann";  // the help text's misspelling is not accepted (as in Kaldi)
  EXPECT_ANY_THROW(MakeWindow(o));
  EXPECT_ANY_THROW(o.Validate());
}

TEST(FramingTest, ProcessWindowOrderOfSteps) {
  FrameExtractionOptions o = Opts(true);
  o.window_type = "hamming";
  const int n = o.WindowSize();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-3000, 3000);
  std::vector<float> x(n);
  for (float& v : x) v = u(rng) + 500;  // with a DC offset
  std::vector<float> w = MakeWindow(o);
  // Oracle in double: DC removal, energy, pre-emphasis (backwards), window.
  std::vector<double> d(x.begin(), x.end());
  double mean = 0;
  for (double v : d) mean += v / n;
  for (double& v : d) v -= mean;
  double energy = 0;
  for (double v : d) energy += v * v;
  std::vector<double> p(n);
  for (int i = n - 1; i > 0; --i) p[i] = d[i] - 0.97 * d[i - 1];
  p[0] = d[0] - 0.97 * d[0];
  std::vector<float> frame = x;
  float log_energy = 0;
  ProcessWindow(o, w, 0, frame.data(), &log_energy);
  EXPECT_NEAR(log_energy, std::log(energy), 1e-5);
  for (int i = 0; i < n; ++i) EXPECT_NEAR(frame[i], p[i] * w[i], 2e-3) << i;
  // Digital silence: the energy is floored at FLT_EPSILON.
  std::vector<float> zeros(n, 0.0f);
  ProcessWindow(o, w, 0, zeros.data(), &log_energy);
  EXPECT_FLOAT_EQ(log_energy, std::log(FLT_EPSILON));
}

TEST(FramingTest, DitherIsSeededPerFrameAndGaussian) {
  FrameExtractionOptions o = Opts(true);
  o.dither = 1.0f;
  o.remove_dc_offset = false;
  o.preemph_coeff = 0;
  o.window_type = "rectangular";
  const int n = o.WindowSize();
  std::vector<float> w = MakeWindow(o);
  std::vector<float> a(n, 0.0f), b(n, 0.0f), c(n, 0.0f);
  ProcessWindow(o, w, FrameDitherSeed(42, 7), a.data(), nullptr);
  ProcessWindow(o, w, FrameDitherSeed(42, 7), b.data(), nullptr);
  ProcessWindow(o, w, FrameDitherSeed(42, 8), c.data(), nullptr);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double sum = 0, sum2 = 0;
  int count = 0;
  for (int f = 0; f < 200; ++f) {
    std::vector<float> z(n, 0.0f);
    ProcessWindow(o, w, FrameDitherSeed(1, f), z.data(), nullptr);
    for (float v : z) {
      sum += v;
      sum2 += v * v;
      ++count;
    }
  }
  const double mean = sum / count, sd = std::sqrt(sum2 / count - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(sd, 1.0, 0.02);
  o.dither = 0;  // dither 0: the input is untouched
  std::vector<float> z(n, 5.0f);
  ProcessWindow(o, w, 123, z.data(), nullptr);
  for (float v : z) EXPECT_EQ(v, 5.0f);
}

TEST(FramingTest, ExtractWindowMirrorsAndPads) {
  FrameExtractionOptions o = Opts(false);
  o.remove_dc_offset = false;
  o.preemph_coeff = 0;
  o.window_type = "rectangular";
  std::vector<float> wave(500);
  for (int i = 0; i < 500; ++i) wave[i] = static_cast<float>(i);
  std::vector<float> w = MakeWindow(o), out(512, -1.0f);
  ExtractWindow(0, wave.data(), 500, 0, o, w, 0, out.data(), nullptr);  // starts at -120
  EXPECT_EQ(out[0], 119.0f);   // sample -120 -> 119
  EXPECT_EQ(out[119], 0.0f);   // sample -1 -> 0
  EXPECT_EQ(out[120], 0.0f);   // sample 0
  EXPECT_EQ(out[399], 279.0f);
  for (int i = 400; i < 512; ++i) EXPECT_EQ(out[i], 0.0f);
  // The last of (500 + 80) / 160 = 3 frames: [200, 600).
  ExtractWindow(0, wave.data(), 500, 2, o, w, 0, out.data(), nullptr);
  EXPECT_EQ(out[299], 499.0f);
  EXPECT_EQ(out[300], 499.0f);  // sample 500 -> 499
  EXPECT_EQ(out[301], 498.0f);
  // With an offset: the same frame from the tail of the signal.
  ExtractWindow(150, wave.data() + 150, 350, 2, o, w, 0, out.data(), nullptr);
  EXPECT_EQ(out[0], 200.0f);
  EXPECT_EQ(out[301], 498.0f);
  EXPECT_ANY_THROW(ExtractWindow(250, wave.data() + 250, 250, 2, o, w, 0, out.data(), nullptr));
}

TEST(FramingTest, ValidateRejectsWhatKaldiAssertsOn) {
  FrameExtractionOptions o;
  o.Validate();
  o.frame_shift_ms = 0.01f;
  EXPECT_ANY_THROW(o.Validate());
  o = FrameExtractionOptions();
  o.frame_length_ms = 0.05f;
  EXPECT_ANY_THROW(o.Validate());
  o = FrameExtractionOptions();
  o.preemph_coeff = 1.5f;
  EXPECT_ANY_THROW(o.Validate());
  o = FrameExtractionOptions();
  o.max_feature_vectors = 100;
  EXPECT_ANY_THROW(o.Validate());
  o.max_feature_vectors = 201;
  o.Validate();
}

}  // namespace
}  // namespace kaldiq::feat
