// Row-wise kernels of the non-affine ops (test-mode Kaldi semantics), used by the executor and
// tested one by one against direct formulas.
#pragma once

#include <cstdint>

#include "nnet/graph.h"

namespace kaldiq::nnet {

// y[rows × op.output_dim] = op(x[rows × op.input_dim]) for every op type except kInput,
// kOutput, kCopy, kDimRange and kAffine (handled by the executor / linear kernels).
void RunElementwiseOp(const Op& op, const float* x, int64_t ldx, int64_t rows, float* y,
                      int64_t ldy);

}  // namespace kaldiq::nnet
