// Input and Output: views. An input op's rows are filled by the computer (features, i-vectors);
// an output op's value is its descriptor's value.
#include <algorithm>

#include "nnet/ops/ops_internal.h"
#include "util/error.h"

namespace kaldiq::nnet::ops {

namespace {

void ValidateInput(const Op& op, bool) {
  KQ_CHECK(op.input.parts.empty() && op.output_dim > 0, kFormat) << "bad input op";
}

// d input += d output (an output's derivative is given by the caller).
void OutputBackward(const BackwardArgs& a) {
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) d[j] += g[j];
  }
}

}  // namespace

const OpTraits kInputTraits = {"Input", kView, ValidateInput, nullptr, nullptr, nullptr};
const OpTraits kOutputTraits = {"Output", kView | kRowWise, ValidateSameDim, nullptr,
                                OutputBackward, nullptr};

}  // namespace kaldiq::nnet::ops
