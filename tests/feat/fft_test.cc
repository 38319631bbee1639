// FFTs (feat/fft.h) against a naive DFT in long double.
#include "feat/fft.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>
#include <vector>

namespace kaldiq::feat {
namespace {

using cld = std::complex<long double>;

std::vector<cld> NaiveDft(const std::vector<cld>& x) {
  const size_t n = x.size();
  std::vector<cld> y(n);
  for (size_t k = 0; k < n; ++k) {
    cld acc = 0;
    for (size_t j = 0; j < n; ++j) {
      long double a = -2.0L * M_PI * static_cast<long double>((j * k) % n) / n;
      acc += x[j] * cld(std::cos(a), std::sin(a));
    }
    y[k] = acc;
  }
  return y;
}

// Max |error| relative to the RMS of the exact output (a float FFT is accurate to a few
// epsilon of the signal's norm, not per bin).
template <typename Got>
double RelError(const std::vector<cld>& exact, const Got& got) {
  long double norm = 0, err = 0;
  for (size_t k = 0; k < exact.size(); ++k) {
    norm += std::norm(exact[k]);
    err = std::max<long double>(err, std::abs(exact[k] - cld(got(k))));
  }
  return static_cast<double>(err / std::sqrt(norm / exact.size()));
}

std::vector<cld> RandomComplex(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1000, 1000);
  std::vector<cld> x(n);
  for (auto& v : x) v = cld(u(rng), u(rng));
  return x;
}

TEST(FftTest, MixedRadixMatchesNaiveDftForAnyLength) {
  for (int n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 25, 49, 64, 100, 200, 256, 243, 242, 11 * 13}) {
    std::vector<cld> x = RandomComplex(n, 100 + n);
    std::vector<std::complex<float>> data(n);
    for (int i = 0; i < n; ++i) data[i] = std::complex<float>(float(x[i].real()), float(x[i].imag()));
    ComplexFft fft(n);
    fft.Forward(data.data());
    EXPECT_LT(RelError(NaiveDft(x), [&](size_t k) { return cld(data[k].real(), data[k].imag()); }),
              2e-6)
        << "n = " << n;
  }
}

TEST(FftTest, SplitRadixMatchesNaiveDft) {
  for (int n : {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024}) {
    std::vector<cld> x = RandomComplex(n, 7 + n);
    std::vector<float> re(n), im(n);
    for (int i = 0; i < n; ++i) {
      re[i] = float(x[i].real());
      im[i] = float(x[i].imag());
    }
    SplitRadixFft fft(n);
    fft.Forward(re.data(), im.data());
    EXPECT_LT(RelError(NaiveDft(x), [&](size_t k) { return cld(re[k], im[k]); }), 2e-6)
        << "n = " << n;
  }
  EXPECT_ANY_THROW(SplitRadixFft(12));
}

TEST(FftTest, RealFftAndPowerSpectrumMatchNaiveDft) {
  for (int n : {2, 4, 8, 16, 400, 512, 1024, 200, 550}) {  // power-of-two and mixed halves
    std::mt19937 rng(n);
    std::uniform_real_distribution<float> u(-32768, 32767);
    std::vector<float> x(n);
    std::vector<cld> xc(n);
    for (int i = 0; i < n; ++i) {
      x[i] = u(rng);
      xc[i] = x[i];
    }
    std::vector<cld> exact = NaiveDft(xc);
    exact.resize(n / 2 + 1);
    RealFft fft(n);
    std::vector<std::complex<float>> spec(n / 2 + 1);
    fft.Forward(x.data(), spec.data());
    // Looser than the complex FFTs: the post-processing twiddles come from a float recurrence
    // (w^k = w^(k-1) w), whose error grows with k -- Kaldi's rounding, kept for parity.
    EXPECT_LT(RelError(exact, [&](size_t k) { return cld(spec[k].real(), spec[k].imag()); }),
              2e-5)
        << "n = " << n;
    std::vector<float> power(n / 2 + 1);
    fft.PowerSpectrum(x.data(), power.data());
    for (int k = 0; k <= n / 2; ++k) {
      const float re = spec[k].real(), im = spec[k].imag();
      EXPECT_EQ(power[k], re * re + im * im) << k;  // re*re + im*im in float, as Kaldi
    }
  }
  EXPECT_ANY_THROW(RealFft(7));
}

TEST(FftTest, ImpulseAndConstant) {
  std::vector<float> x(512, 0.0f);
  x[0] = 1;
  RealFft fft(512);
  std::vector<float> p(257);
  fft.PowerSpectrum(x.data(), p.data());
  for (float v : p) EXPECT_FLOAT_EQ(v, 1.0f);
  std::fill(x.begin(), x.end(), 2.0f);
  fft.PowerSpectrum(x.data(), p.data());
  EXPECT_FLOAT_EQ(p[0], 1024.0f * 1024.0f);
  for (int k = 1; k <= 256; ++k) EXPECT_LT(p[k], 1e-6f) << k;
}

}  // namespace
}  // namespace kaldiq::feat
