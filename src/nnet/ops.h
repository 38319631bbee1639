// Test-mode forward of one non-affine op over rows of floats, through the op table
// (op_traits.h): a convenience for callers that hold plain row pointers (tests, reference
// evaluators).
#pragma once

#include <cstdint>

#include "nnet/graph.h"

namespace kaldiq::nnet {

// y[rows × op.output_dim] = op(x[rows × op.input_dim]) in test mode, for every op type with a
// Forward except kAffine (which needs a LinearKernel). Throws kaldiq::Error (kInternal) for
// the others.
void RunElementwiseOp(const Op& op, const float* x, int64_t ldx, int64_t rows, float* y,
                      int64_t ldy);

}  // namespace kaldiq::nnet
