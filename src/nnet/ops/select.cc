// Ops that select or regroup columns: Copy, DimRange (views), Permute, SumGroup.
#include <cstdint>

#include "kernels/multiversion.h"
#include "nnet/ops/ops_internal.h"
#include "util/error.h"

namespace kaldiq::nnet::ops {

// --- Copy: identity (NoOp, GeneralDropout / SpecAugment in test mode, descriptor copies). ----
// Backward: d x += backprop_scale · d y (NoOpComponent's backprop-scale; 1 otherwise).

void CopyBackward(const BackwardArgs& a) {
  const CopyAttrs* c = a.op->Attrs<CopyAttrs>();
  const float s = c ? c->backprop_scale : 1.0f;
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) d[j] += s * g[j];
  }
}

// --- DimRange: columns [ints[0], ints[0] + output_dim) of the input. ---------------------------

void ValidateDimRange(const Op& op, bool) {
  KQ_CHECK(op.ints.size() == 1 && op.ints[0] >= 0 && op.ints[0] + op.output_dim <= op.input_dim,
           kFormat) << "dim-range outside the input";
}

int32_t DimRangeColumn(const Op& op) { return op.ints[0]; }

void DimRangeBackward(const BackwardArgs& a) {
  const int32_t first = a.op->ints[0];
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r) + first;
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) d[j] += g[j];
  }
}

// --- Permute: y[j] = x[ints[j]] (Kaldi's CopyCols). ------------------------------------------

void ValidatePermute(const Op& op, bool) {
  KQ_CHECK(static_cast<int32_t>(op.ints.size()) == op.output_dim && op.output_dim == op.input_dim,
           kFormat) << "bad column map";
  for (int32_t c : op.ints) KQ_CHECK(c >= 0 && c < op.input_dim, kFormat) << "column map entry " << c;
}

KQ_MULTIVERSION void PermuteForward(const ForwardArgs& a) {
  const int32_t out = a.op->output_dim;
  const int32_t* map = a.op->ints.data();
  for (int64_t r = 0; r < a.in.rows; ++r) {
    const float* x = a.in.Row(r);
    float* y = a.out.Row(r);
    for (int32_t j = 0; j < out; ++j) y[j] = x[map[j]];
  }
}

void PermuteBackward(const BackwardArgs& a) {
  const int32_t out = a.op->output_dim;
  const int32_t* map = a.op->ints.data();
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    for (int32_t j = 0; j < out; ++j) d[map[j]] += g[j];
  }
}

// --- SumGroup: y[g] = sum of the ints[g] consecutive inputs of group g. -----------------------

void ValidateSumGroup(const Op& op, bool) {
  int64_t total = 0;
  for (int32_t s : op.ints) {
    KQ_CHECK(s > 0, kFormat) << "empty group";
    total += s;
  }
  KQ_CHECK(total == op.input_dim && static_cast<int32_t>(op.ints.size()) == op.output_dim, kFormat)
      << "group sizes do not match the dimensions";
}

KQ_MULTIVERSION void SumGroupForward(const ForwardArgs& a) {
  const int32_t out = a.op->output_dim;
  const int32_t* sizes = a.op->ints.data();
  for (int64_t r = 0; r < a.in.rows; ++r) {
    const float* x = a.in.Row(r);
    float* y = a.out.Row(r);
    int32_t c = 0;
    for (int32_t g = 0; g < out; ++g) {
      float s = 0;
      for (int32_t k = 0; k < sizes[g]; ++k) s += x[c++];
      y[g] = s;
    }
  }
}

void SumGroupBackward(const BackwardArgs& a) {
  const int32_t out = a.op->output_dim;
  const int32_t* sizes = a.op->ints.data();
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    int32_t c = 0;
    for (int32_t k = 0; k < out; ++k)
      for (int32_t i = 0; i < sizes[k]; ++i) d[c++] += g[k];
  }
}

const OpTraits kCopyTraits = {"Copy", kView | kRowWise, ValidateSameDim, nullptr, CopyBackward,
                              nullptr};
const OpTraits kDimRangeTraits = {"DimRange", kView | kRowWise, ValidateDimRange, nullptr,
                                  DimRangeBackward, DimRangeColumn};
const OpTraits kPermuteTraits = {"Permute", kRowWise, ValidatePermute, PermuteForward,
                                 PermuteBackward, nullptr};
const OpTraits kSumGroupTraits = {"SumGroup", kRowWise, ValidateSumGroup, SumGroupForward,
                                  SumGroupBackward, nullptr};

}  // namespace kaldiq::nnet::ops
