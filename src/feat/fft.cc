#include "feat/fft.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace kaldiq::feat {

namespace {
using cf = std::complex<float>;

std::complex<float> Root(long num, long den) {  // exp(-2 pi i num / den)
  const double a = -2.0 * M_PI * static_cast<double>(num) / static_cast<double>(den);
  return {static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a))};
}

// Complex multiply spelled out (std::complex's operator* checks for NaN/inf and is slow).
inline cf Mul(cf a, cf b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}
}  // namespace

ComplexFft::ComplexFft(int n) : n_(n) {
  KQ_CHECK(n >= 1, kInvalidArgument) << "FFT length must be positive, got " << n;
  std::vector<int> radices;
  int rest = n;
  while (rest % 4 == 0) {
    radices.push_back(4);
    rest /= 4;
  }
  while (rest % 2 == 0) {
    radices.push_back(2);
    rest /= 2;
  }
  for (int p = 3; rest > 1; p += 2) {
    while (rest % p == 0) {
      radices.push_back(p);
      rest /= p;
    }
    if (static_cast<long>(p) * p > rest && rest > 1) {  // what is left is prime
      radices.push_back(rest);
      rest = 1;
    }
  }
  int len = n;
  for (int p : radices) {
    Stage st;
    st.radix = p;
    st.m = len / p;
    st.twiddle.resize(static_cast<size_t>(st.m) * (p - 1));
    for (int pp = 0; pp < st.m; ++pp)
      for (int k = 1; k < p; ++k)
        st.twiddle[static_cast<size_t>(pp) * (p - 1) + (k - 1)] =
            Root(static_cast<long>(pp) * k, len);
    if (p != 2 && p != 4) {
      for (int j = 0; j < p; ++j) st.roots.push_back(Root(j, p));
    }
    stages_.push_back(std::move(st));
    len /= p;
  }
  work_.resize(static_cast<size_t>(n));
  int max_radix = 1;
  for (const Stage& st : stages_) max_radix = std::max(max_radix, st.radix);
  butterfly_.resize(static_cast<size_t>(max_radix));
}

void ComplexFft::Forward(cf* data) {
  cf* x = data;
  cf* y = work_.data();
  int s = 1;  // stride: number of interleaved sub-sequences
  for (const Stage& st : stages_) {
    const int p = st.radix, m = st.m;
    const cf* tw = st.twiddle.data();
    // x[q + s*(pp + r*m)], r < p  ->  y[q + s*(p*pp + k)], k < p
    if (p == 4) {
      for (int pp = 0; pp < m; ++pp) {
        const cf w1 = tw[3 * pp], w2 = tw[3 * pp + 1], w3 = tw[3 * pp + 2];
        for (int q = 0; q < s; ++q) {
          const cf a0 = x[q + s * pp], a1 = x[q + s * (pp + m)];
          const cf a2 = x[q + s * (pp + 2 * m)], a3 = x[q + s * (pp + 3 * m)];
          const cf t0 = a0 + a2, t1 = a0 - a2, t2 = a1 + a3;
          const cf t3 = a1 - a3;
          const cf t3j(t3.imag(), -t3.real());  // -i * t3
          cf* o = y + q + s * 4 * pp;
          o[0] = t0 + t2;
          o[s] = Mul(t1 + t3j, w1);
          o[2 * s] = Mul(t0 - t2, w2);
          o[3 * s] = Mul(t1 - t3j, w3);
        }
      }
    } else if (p == 2) {
      for (int pp = 0; pp < m; ++pp) {
        const cf w1 = tw[pp];
        for (int q = 0; q < s; ++q) {
          const cf a0 = x[q + s * pp], a1 = x[q + s * (pp + m)];
          cf* o = y + q + s * 2 * pp;
          o[0] = a0 + a1;
          o[s] = Mul(a0 - a1, w1);
        }
      }
    } else {
      // Direct DFT of length p (odd prime), then the twiddles.
      const cf* root = st.roots.data();
      cf* a = butterfly_.data();
      for (int pp = 0; pp < m; ++pp) {
        for (int q = 0; q < s; ++q) {
          for (int r = 0; r < p; ++r) a[r] = x[q + s * (pp + r * m)];
          cf* o = y + q + s * p * pp;
          for (int k = 0; k < p; ++k) {
            cf acc = a[0];
            for (int r = 1; r < p; ++r) acc += Mul(a[r], root[(static_cast<long>(r) * k) % p]);
            o[k * s] = k == 0 ? acc : Mul(acc, tw[pp * (p - 1) + (k - 1)]);
          }
        }
      }
    }
    std::swap(x, y);
    s *= p;
  }
  if (x != data) std::copy(x, x + n_, data);
}

SplitRadixFft::SplitRadixFft(int n) : n_(n), logn_(0) {
  KQ_CHECK(n >= 1 && (n & (n - 1)) == 0, kInvalidArgument)
      << "split-radix FFT length must be a power of two, got " << n;
  while ((1 << logn_) < n) ++logn_;
  levels_.resize(static_cast<size_t>(logn_) + 1);
  for (int L = 4; L <= logn_; ++L) {
    const int m = 1 << L, m4 = m / 4, m8 = m / 8;
    Level& lv = levels_[L];
    for (int i = 1; i < m4; ++i) {
      if (i == m8) continue;  // the 45-degree rotation is done with sqrt(1/2)
      // As Kaldi's tables: the angle is rounded to float, then cosf/sinf.
      float ang = static_cast<float>(i * (2 * M_PI) / m);
      float c = std::cos(ang), s = std::sin(ang);
      lv.c.push_back(c);
      lv.spc.push_back(-(s + c));
      lv.smc.push_back(s - c);
      ang = static_cast<float>(3 * i * (2 * M_PI) / m);
      c = std::cos(ang);
      s = std::sin(ang);
      lv.c3.push_back(c);
      lv.spc3.push_back(-(s + c));
      lv.smc3.push_back(s - c);
    }
  }
  for (int i = 0; i < n; ++i) {
    int r = 0;
    for (int b = 0; b < logn_; ++b) r |= ((i >> b) & 1) << (logn_ - 1 - b);
    if (i < r) bit_reverse_swaps_.emplace_back(i, r);
  }
}

void SplitRadixFft::Forward(float* re, float* im) const {
  Recurse(re, im, logn_);
  for (const auto& [i, j] : bit_reverse_swaps_) {  // undo the bit-reversed output order
    std::swap(re[i], re[j]);
    std::swap(im[i], im[j]);
  }
}

namespace {
// (re + i im) *= (c - i s) for n elements, in the 3-multiplication form with the tables
// c, -(s + c), s - c. Element-wise, so it vectorises without changing any rounding.
void Rotate(const float* __restrict c, const float* __restrict spc, const float* __restrict smc,
            int n, float* __restrict re, float* __restrict im) {
  for (int j = 0; j < n; ++j) {
    const float u2 = c[j] * (re[j] + im[j]);
    const float u1 = spc[j] * re[j] + u2;
    re[j] = smc[j] * im[j] + u2;
    im[j] = u1;
  }
}
}  // namespace

// One split-radix decimation-in-frequency step on 2^logn points: the first half becomes the
// input of a half-length transform (even outputs), the two quarters of the second half, rotated
// by w^n and w^3n, the inputs of two quarter-length transforms (outputs 4k+1 and 4k+3). The
// statement order (and so the float rounding) is the reference's.
void SplitRadixFft::Recurse(float* xr, float* xi, int logn) const {
  float t1, t2;
  if (logn == 0) return;
  if (logn == 1) {
    t1 = xr[0] + xr[1]; xr[1] = xr[0] - xr[1]; xr[0] = t1;
    t1 = xi[0] + xi[1]; xi[1] = xi[0] - xi[1]; xi[0] = t1;
    return;
  }
  if (logn == 2) {
    t1 = xr[0] + xr[2]; xr[2] = xr[0] - xr[2]; xr[0] = t1;
    t1 = xi[0] + xi[2]; xi[2] = xi[0] - xi[2]; xi[0] = t1;
    t1 = xr[1] + xr[3]; xr[3] = xr[1] - xr[3]; xr[1] = t1;
    t1 = xi[1] + xi[3]; xi[3] = xi[1] - xi[3]; xi[1] = t1;
    t1 = xr[0] + xr[1]; xr[1] = xr[0] - xr[1]; xr[0] = t1;
    t1 = xi[0] + xi[1]; xi[1] = xi[0] - xi[1]; xi[0] = t1;
    t1 = xr[2] + xi[3];
    t2 = xi[2] + xr[3];
    xi[2] = xi[2] - xr[3];
    xr[3] = xr[2] - xi[3];
    xr[2] = t1;
    xi[3] = t2;
    return;
  }
  const int m = 1 << logn, m2 = m / 2, m4 = m / 4, m8 = m / 8;
  {  // sums and differences of the two halves
    float* __restrict lr = xr;
    float* __restrict li = xi;
    float* __restrict hr = xr + m2;
    float* __restrict hi = xi + m2;
    for (int i = 0; i < m2; ++i) {
      const float sr = lr[i] + hr[i], si = li[i] + hi[i];
      hr[i] = lr[i] - hr[i];
      hi[i] = li[i] - hi[i];
      lr[i] = sr;
      li[i] = si;
    }
  }
  float* ar = xr + m2; float* ai = xi + m2;  // second half: quarters a and b
  float* br = ar + m4; float* bi = ai + m4;
  {  // a +/- i b
    float* __restrict pr = ar;
    float* __restrict pi = ai;
    float* __restrict qr = br;
    float* __restrict qi = bi;
    for (int i = 0; i < m4; ++i) {
      const float u1 = pr[i] + qi[i], u2 = pi[i] + qr[i];
      pi[i] = pi[i] - qr[i];
      qr[i] = pr[i] - qi[i];
      pr[i] = u1;
      qi[i] = u2;
    }
  }
  // Rotations by w^i (quarter a) and w^3i (quarter b), i = 1 .. m4-1, by the 3-multiplication
  // form; i = m8 (45 degrees) with sqrt(1/2). Element-wise, so the loops may vectorise.
  if (logn >= 4) {
    const Level& lv = levels_[logn];
    Rotate(lv.c.data(), lv.spc.data(), lv.smc.data(), m8 - 1, ar + 1, ai + 1);
    Rotate(lv.c3.data(), lv.spc3.data(), lv.smc3.data(), m8 - 1, br + 1, bi + 1);
    Rotate(lv.c.data() + (m8 - 1), lv.spc.data() + (m8 - 1), lv.smc.data() + (m8 - 1),
           m4 - m8 - 1, ar + m8 + 1, ai + m8 + 1);
    Rotate(lv.c3.data() + (m8 - 1), lv.spc3.data() + (m8 - 1), lv.smc3.data() + (m8 - 1),
           m4 - m8 - 1, br + m8 + 1, bi + m8 + 1);
  }
  {
    const float sqhalf = static_cast<float>(M_SQRT1_2);
    const int i = m8;
    t1 = sqhalf * (ar[i] + ai[i]);
    ai[i] = sqhalf * (ai[i] - ar[i]);
    ar[i] = t1;
    t2 = sqhalf * (bi[i] - br[i]);
    bi[i] = -sqhalf * (br[i] + bi[i]);
    br[i] = t2;
  }
  Recurse(xr, xi, logn - 1);
  Recurse(ar, ai, logn - 2);
  Recurse(br, bi, logn - 2);
}

RealFft::RealFft(int n) : n_(n) {
  KQ_CHECK(n >= 2 && n % 2 == 0, kInvalidArgument)
      << "real FFT length must be even and >= 2, got " << n;
  const int m = n / 2;
  if ((m & (m - 1)) == 0) {
    split_ = std::make_unique<SplitRadixFft>(m);
  } else {
    mixed_ = std::make_unique<ComplexFft>(m);
  }
  re_.resize(static_cast<size_t>(m));
  im_.resize(static_cast<size_t>(m));
  z_.resize(static_cast<size_t>(m));
  spectrum_.resize(static_cast<size_t>(m + 1));
}

void RealFft::Forward(const float* in, cf* out) {
  const int n = n_, m = n / 2;
  // The half-length complex transform of z_j = x_2j + i x_2j+1, B_k = re_[k] + i im_[k].
  if (split_ != nullptr) {
    for (int j = 0; j < m; ++j) {
      re_[j] = in[2 * j];
      im_[j] = in[2 * j + 1];
    }
    split_->Forward(re_.data(), im_.data());
  } else {
    for (int j = 0; j < m; ++j) z_[j] = cf(in[2 * j], in[2 * j + 1]);
    mixed_->Forward(z_.data());
    for (int j = 0; j < m; ++j) {
      re_[j] = z_[j].real();
      im_[j] = z_[j].imag();
    }
  }
  // X_k = C_k + w^k D_k, C_k = (B_k + conj(B_{m-k})) / 2, D_k = (B_k - conj(B_{m-k})) / 2i,
  // for k and m - k together; w^k by repeated multiplication with w = exp(-2 pi i / n), in
  // float, as Kaldi does.
  const float root_angle = static_cast<float>(-(2 * M_PI) / n);
  const float root_re = std::cos(root_angle), root_im = std::sin(root_angle);
  float w_re = 1.0f, w_im = 0.0f;
  for (int k = 1; 2 * k <= m; ++k) {
    const float t = w_re * root_re - w_im * root_im;
    w_im = w_re * root_im + w_im * root_re;
    w_re = t;
    const int kd = m - k;
    const float ck_re = 0.5f * (re_[k] + re_[kd]);
    const float ck_im = 0.5f * (im_[k] - im_[kd]);
    const float dk_re = 0.5f * (im_[k] + im_[kd]);
    const float dk_im = -0.5f * (re_[k] - re_[kd]);
    float a_re = ck_re, a_im = ck_im;
    a_re += w_re * dk_re - w_im * dk_im;
    a_im += w_re * dk_im + w_im * dk_re;
    out[k] = cf(a_re, a_im);
    if (kd != k) {
      // w^(m-k) = -conj(w^k)
      const float b_re = -w_re, b_im = w_im, e_re = dk_re, e_im = -dk_im;
      float c_re = ck_re, c_im = -ck_im;
      c_re += b_re * e_re - b_im * e_im;
      c_im += b_re * e_im + b_im * e_re;
      out[kd] = cf(c_re, c_im);
    }
  }
  out[0] = cf(re_[0] + im_[0], 0.0f);
  out[m] = cf(re_[0] - im_[0], 0.0f);
}

void RealFft::PowerSpectrum(const float* in, float* power) {
  Forward(in, spectrum_.data());
  for (int k = 0; k <= n_ / 2; ++k) {
    const float re = spectrum_[k].real(), im = spectrum_[k].imag();
    power[k] = re * re + im * im;
  }
}

}  // namespace kaldiq::feat
