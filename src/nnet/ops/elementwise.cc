// Element-wise ops: ReLU, Sigmoid, Tanh, ScaleOffset, ElementwiseProduct. Forward loops are
// compiled per ISA (kernels/multiversion.h) with identical results on every ISA.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/multiversion.h"
#include "nnet/ops/ops_internal.h"
#include "util/error.h"

namespace kaldiq::nnet::ops {

// --- ReLU: y = max(x, 0); d x += d y · [y > 0] (Kaldi's RectifiedLinearComponent, without
// its self-repair term). ---------------------------------------------------------------------

KQ_MULTIVERSION void ReluForward(const ForwardArgs& a) {
  const int64_t n = a.op->input_dim;
  for (int64_t r = 0; r < a.in.rows; ++r) {
    const float* x = a.in.Row(r);
    float* y = a.out.Row(r);
    for (int64_t j = 0; j < n; ++j) y[j] = std::max(x[j], 0.0f);
  }
}

void ReluBackward(const BackwardArgs& a) {
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* y = a.out.Row(r);
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) d[j] += y[j] > 0.0f ? g[j] : 0.0f;
  }
}

// --- Sigmoid: y = 1 / (1 + exp(−x)); d x += d y · y (1 − y). -----------------------------------

KQ_MULTIVERSION void SigmoidForward(const ForwardArgs& a) {
  const int64_t n = a.op->input_dim;
  for (int64_t r = 0; r < a.in.rows; ++r) {
    const float* x = a.in.Row(r);
    float* y = a.out.Row(r);
    for (int64_t j = 0; j < n; ++j) y[j] = 1.0f / (1.0f + std::exp(-x[j]));
  }
}

void SigmoidBackward(const BackwardArgs& a) {
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* y = a.out.Row(r);
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) d[j] += g[j] * y[j] * (1.0f - y[j]);
  }
}

// --- Tanh: d x += d y · (1 − y²). ---------------------------------------------------------------

KQ_MULTIVERSION void TanhForward(const ForwardArgs& a) {
  const int64_t n = a.op->input_dim;
  for (int64_t r = 0; r < a.in.rows; ++r) {
    const float* x = a.in.Row(r);
    float* y = a.out.Row(r);
    for (int64_t j = 0; j < n; ++j) y[j] = std::tanh(x[j]);
  }
}

void TanhBackward(const BackwardArgs& a) {
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* y = a.out.Row(r);
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) d[j] += g[j] * (1.0f - y[j] * y[j]);
  }
}

// --- ScaleOffset: y = x ∘ scale + offset (either may be empty = identity); d x += d y ∘ scale.
// Test-mode BatchNorm, Dropout (scale 1 − p), ScaleAndOffset, PerElementScale/Offset,
// FixedScale/FixedBias (all fixed: no parameter gradient). -------------------------------------

void ValidateScaleOffset(const Op& op, bool) {
  CheckSameDim(op);
  CheckPerColumn(op.scale, op, "scale");
  CheckPerColumn(op.offset, op, "offset");
}

KQ_MULTIVERSION void ScaleOffsetForward(const ForwardArgs& a) {
  const int64_t n = a.op->input_dim;
  const float* s = a.op->scale.empty() ? nullptr : a.op->scale.data();
  const float* o = a.op->offset.empty() ? nullptr : a.op->offset.data();
  for (int64_t r = 0; r < a.in.rows; ++r) {
    const float* x = a.in.Row(r);
    float* y = a.out.Row(r);
    for (int64_t j = 0; j < n; ++j) {
      float v = s ? x[j] * s[j] : x[j];
      y[j] = o ? v + o[j] : v;
    }
  }
}

void ScaleOffsetBackward(const BackwardArgs& a) {
  const float* s = a.op->scale.empty() ? nullptr : a.op->scale.data();
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) d[j] += s ? g[j] * s[j] : g[j];
  }
}

// --- ElementwiseProduct: y[i] = Π_k x[i + k·output_dim]; d x_k += d y · Π_{j≠k} x_j. ------------

void ValidateElementwiseProduct(const Op& op, bool) {
  KQ_CHECK(op.output_dim > 0 && op.input_dim % op.output_dim == 0 && op.input_dim >= op.output_dim,
           kFormat) << "input dim must be a multiple of the output dim";
}

KQ_MULTIVERSION void ElementwiseProductForward(const ForwardArgs& a) {
  const int32_t in = a.op->input_dim, out = a.op->output_dim;
  for (int64_t r = 0; r < a.in.rows; ++r) {
    const float* x = a.in.Row(r);
    float* y = a.out.Row(r);
    std::memcpy(y, x, sizeof(float) * out);
    for (int32_t k = 1; k < in / out; ++k)
      for (int32_t j = 0; j < out; ++j) y[j] *= x[k * out + j];
  }
}

void ElementwiseProductBackward(const BackwardArgs& a) {
  const int32_t in = a.op->input_dim, out = a.op->output_dim, blocks = in / out;
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* x = a.in.Row(r);
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    for (int32_t k = 0; k < blocks; ++k) {
      for (int32_t j = 0; j < out; ++j) {
        float p = g[j];
        for (int32_t m = 0; m < blocks; ++m)
          if (m != k) p *= x[m * out + j];
        d[k * out + j] += p;
      }
    }
  }
}

const OpTraits kReluTraits = {"Relu", kRowWise | kBackwardNeedsOutput, ValidateSameDim,
                              ReluForward, ReluBackward, nullptr};
const OpTraits kSigmoidTraits = {"Sigmoid", kRowWise | kBackwardNeedsOutput, ValidateSameDim,
                                 SigmoidForward, SigmoidBackward, nullptr};
const OpTraits kTanhTraits = {"Tanh", kRowWise | kBackwardNeedsOutput, ValidateSameDim,
                              TanhForward, TanhBackward, nullptr};
const OpTraits kScaleOffsetTraits = {"ScaleOffset", kRowWise, ValidateScaleOffset,
                                     ScaleOffsetForward, ScaleOffsetBackward, nullptr};
const OpTraits kElementwiseProductTraits = {
    "ElementwiseProduct", kRowWise | kBackwardNeedsInput, ValidateElementwiseProduct,
    ElementwiseProductForward, ElementwiseProductBackward, nullptr};

}  // namespace kaldiq::nnet::ops
