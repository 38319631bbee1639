// The rows of the op table, one per op type, defined next to their bodies in this folder and
// assembled into the table by op_table.cc. Not part of the public interface.
#pragma once

#include "nnet/op_traits.h"

namespace kaldiq::nnet::ops {

extern const OpTraits kInputTraits, kOutputTraits;                             // io.cc
extern const OpTraits kCopyTraits, kDimRangeTraits, kPermuteTraits, kSumGroupTraits;  // select.cc
extern const OpTraits kAffineTraits;                                           // affine.cc
extern const OpTraits kReluTraits, kSigmoidTraits, kTanhTraits, kScaleOffsetTraits,
    kElementwiseProductTraits;                                                 // elementwise.cc
extern const OpTraits kSoftmaxTraits, kLogSoftmaxTraits;                       // softmax.cc
extern const OpTraits kNormalizeTraits, kBatchNormTraits;                      // normalize.cc
extern const OpTraits kDropoutTraits;                                          // dropout.cc

// Validate helpers shared by the families.
void CheckSameDim(const Op& op);                     // output_dim == input_dim
void CheckPerColumn(const std::vector<float>& v, const Op& op, const char* what);  // empty or input_dim
void ValidateSameDim(const Op& op, bool weights_optional);  // a Validate that only checks dims

}  // namespace kaldiq::nnet::ops
