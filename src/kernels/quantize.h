// Row kernels over the one quantize function of kernels/qgrid.h: float → u8 activation rows
// (the int8 layers' float inputs and the executor's float ops read by int8 layers) and fake
// quantization (float → grid → float, for QAT and simulation). Every element equals QuantizeOne /
// FakeQuantizeOne of the same grid bit for bit, on every ISA clone.
#pragma once

#include <cstdint>

#include "kernels/qgrid.h"

namespace kaldiq::kernels {

// out[r][c] = QuantizeOne(x[r][c], g) + shift, for 0 ≤ g.qmin + shift and g.qmax + shift ≤ 255
// (shift = 128 feeds a signed grid to the u8 GEMM). ldx / ldo are row strides in elements.
void QuantizeRowsU8(const float* x, int64_t rows, int64_t cols, int64_t ldx, const QGrid& g,
                    int32_t shift, uint8_t* out, int64_t ldo);

// out[r][c] = FakeQuantizeOne(x[r][c], g); out may equal x (same ld).
void FakeQuantizeRows(const float* x, int64_t rows, int64_t cols, int64_t ldx, const QGrid& g,
                      float* out, int64_t ldo);

}  // namespace kaldiq::kernels
