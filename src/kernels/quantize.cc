#include "kernels/quantize.h"

#include "kernels/multiversion.h"

namespace kaldiq::kernels {

// Written so that the compiler vectorises it: clamp first (exact, the bounds are integers), then
// round with the 1.5·2^23 trick (round-half-even in the default rounding mode, exact for
// |v| < 2^22).
KQ_MULTIVERSION void QuantizeRowsU8(const float* x, int64_t rows, int64_t cols, int64_t ldx,
                                    float inv_scale, int32_t zero_point, int32_t qmin,
                                    int32_t qmax, int32_t shift, uint8_t* out, int64_t ldo) {
  const float zp = static_cast<float>(zero_point);
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  const float magic = 12582912.0f, fshift = static_cast<float>(shift);
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * ldx;
    uint8_t* __restrict qr = out + r * ldo;
    for (int64_t c = 0; c < cols; ++c) {
      float v = xr[c] * inv_scale + zp;
      v = v < lo ? lo : (v > hi ? hi : v);
      v = (v + magic) - magic;
      qr[c] = static_cast<uint8_t>(static_cast<int32_t>(v + fshift));
    }
  }
}

}  // namespace kaldiq::kernels
