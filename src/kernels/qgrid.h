// The one affine quantization grid of kaldiq and the one function that puts a real number on
// it. Calibration, weight quantization, the activation row kernel feeding the int8 GEMM, the
// executor's quantized float ops, the GEMM epilogue's requantization and fake quantization (QAT)
// all round through RoundClamp below, so their codes agree bit for bit:
//
//   q  = clamp(round_half_even(x · inv_scale) + zero_point, qmin, qmax),  inv_scale = 1.0f / scale
//   x̂  = float(q − zero_point) · scale
//
// This is PyTorch's fake_quantize rule (multiply by the float inverse, round ties to even, add
// the zero point, clamp), which lfmmi-training.md §7.1/§7.6 fixes for QAT. inv_scale is computed
// once (QGrid::Make / SetScale) and stored with the grid (the int8 model file keeps it as
// computed), so no path ever divides. NaN maps to the zero point (real 0).
// The recipe's wrap-around grids (quant/scheme.h, `wrap`) are a quant-level special case.
#pragma once

#include <cstdint>

namespace kaldiq::kernels {

struct QGrid {
  float scale = 1.0f;
  float inv_scale = 1.0f;  // 1.0f / scale; set through Make() / SetScale(), never on its own
  int32_t zero_point = 0;
  int32_t qmin = 0, qmax = 255;

  static QGrid Make(float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
    QGrid g;
    g.SetScale(scale);
    g.zero_point = zero_point;
    g.qmin = qmin;
    g.qmax = qmax;
    return g;
  }
  void SetScale(float s) {
    scale = s;
    inv_scale = 1.0f / s;
  }
  bool operator==(const QGrid& o) const {
    return scale == o.scale && inv_scale == o.inv_scale && zero_point == o.zero_point &&
           qmin == o.qmin && qmax == o.qmax;
  }
  bool operator!=(const QGrid& o) const { return !(*this == o); }
};

// round_half_even(clamp(v, lo, hi)) for integer-valued bounds lo ≤ hi with |lo|, |hi| < 2^22,
// NaN → 0. Because the bounds are integers this equals clamp(round_half_even(v), lo, hi).
// Written so that it vectorises on baseline x86-64 (no nearbyint call): the 1.5·2^23 trick rounds
// ties to even in the default rounding mode and is exact for |v| < 2^22, which the clamp ensures.
// The build sets -ffp-contract=off and no -ffast-math, so (v + m) − m is kept as written.
__attribute__((always_inline)) inline float RoundClamp(float v, float lo, float hi) {
  constexpr float kMagic = 12582912.0f;  // 1.5 · 2^23
  v = v == v ? v : 0.0f;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return (v + kMagic) - kMagic;
}

// The quantize function: q = clamp(round_half_even(x · inv_scale) + zero_point, qmin, qmax).
__attribute__((always_inline)) inline int32_t QuantizeOne(float x, const QGrid& g) {
  const float lo = static_cast<float>(g.qmin - g.zero_point);
  const float hi = static_cast<float>(g.qmax - g.zero_point);
  return static_cast<int32_t>(RoundClamp(x * g.inv_scale, lo, hi)) + g.zero_point;
}

// x̂ = float(q − zero_point) · scale.
inline float DequantizeOne(int32_t q, const QGrid& g) {
  return static_cast<float>(q - g.zero_point) * g.scale;
}

inline float FakeQuantizeOne(float x, const QGrid& g) {
  return DequantizeOne(QuantizeOne(x, g), g);
}

}  // namespace kaldiq::kernels
