// Float → u8 activation quantization, shared by the int8 layers (their float inputs) and the
// executor (float ops whose output feeds int8 layers).
#pragma once

#include <cstdint>

namespace kaldiq::kernels {

// out[r][c] = clamp(round_half_even(x[r][c] · inv_scale + zero_point), qmin, qmax) + shift, for
// 0 ≤ qmin + shift and qmax + shift ≤ 255. x must be finite (the executor checks its inputs).
// ldx / ldo are row strides in elements.
void QuantizeRowsU8(const float* x, int64_t rows, int64_t cols, int64_t ldx, float inv_scale,
                    int32_t zero_point, int32_t qmin, int32_t qmax, int32_t shift, uint8_t* out,
                    int64_t ldo);

}  // namespace kaldiq::kernels
