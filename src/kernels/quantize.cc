#include "kernels/quantize.h"

#include "kernels/multiversion.h"

namespace kaldiq::kernels {

// Both loops inline QuantizeOne, so each ISA clone vectorises the same expression; no FMA
// contraction and no reassociation, hence the same bits on every clone.
KQ_MULTIVERSION void QuantizeRowsU8(const float* x, int64_t rows, int64_t cols, int64_t ldx,
                                    const QGrid& grid, int32_t shift, uint8_t* out,
                                    int64_t ldo) {
  const QGrid g = grid;  // a local copy: the byte stores below may alias *grid otherwise
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * ldx;
    uint8_t* __restrict qr = out + r * ldo;
    for (int64_t c = 0; c < cols; ++c)
      qr[c] = static_cast<uint8_t>(QuantizeOne(xr[c], g) + shift);
  }
}

KQ_MULTIVERSION void FakeQuantizeRows(const float* x, int64_t rows, int64_t cols, int64_t ldx,
                                      const QGrid& grid, float* out, int64_t ldo) {
  const QGrid g = grid;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = out + r * ldo;
    for (int64_t c = 0; c < cols; ++c) yr[c] = FakeQuantizeOne(xr[c], g);
  }
}

}  // namespace kaldiq::kernels
