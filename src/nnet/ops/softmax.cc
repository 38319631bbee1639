// Softmax and LogSoftmax per row (sums in double). Backward as Kaldi's DiffSoftmaxPerRow /
// DiffLogSoftmaxPerRow, from the output:
//   Softmax:     d x += y ∘ (d y − ⟨d y, y⟩)
//   LogSoftmax:  d x += d y − exp(y) · Σ d y
#include <algorithm>
#include <cmath>

#include "kernels/multiversion.h"
#include "nnet/ops/ops_internal.h"

namespace kaldiq::nnet::ops {

namespace {

void LogSoftmaxRow(const float* x, int64_t n, float* y) {
  float max = x[0];
  for (int64_t j = 1; j < n; ++j) max = std::max(max, x[j]);
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += std::exp(double(x[j]) - max);
  const float log_sum = static_cast<float>(std::log(sum));
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] - max - log_sum;
}

void SoftmaxRow(const float* x, int64_t n, float* y) {
  float max = x[0];
  for (int64_t j = 1; j < n; ++j) max = std::max(max, x[j]);
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += std::exp(double(x[j]) - max);
  for (int64_t j = 0; j < n; ++j) {
    // Kaldi's SoftmaxComponent floors its output at 1e-20.
    y[j] = std::max(static_cast<float>(std::exp(double(x[j]) - max) / sum), 1.0e-20f);
  }
}

}  // namespace

KQ_MULTIVERSION void SoftmaxForward(const ForwardArgs& a) {
  for (int64_t r = 0; r < a.in.rows; ++r) SoftmaxRow(a.in.Row(r), a.op->input_dim, a.out.Row(r));
}

void SoftmaxBackward(const BackwardArgs& a) {
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* y = a.out.Row(r);
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    double dot = 0;
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) dot += double(g[j]) * y[j];
    const float p = static_cast<float>(dot);
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) d[j] += y[j] * (g[j] - p);
  }
}

KQ_MULTIVERSION void LogSoftmaxForward(const ForwardArgs& a) {
  for (int64_t r = 0; r < a.in.rows; ++r)
    LogSoftmaxRow(a.in.Row(r), a.op->input_dim, a.out.Row(r));
}

void LogSoftmaxBackward(const BackwardArgs& a) {
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* y = a.out.Row(r);
    const float* g = a.out_deriv.Row(r);
    float* d = a.in_deriv.Row(r);
    double sum = 0;
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) sum += g[j];
    const float s = static_cast<float>(sum);
    for (int64_t j = 0; j < a.out_deriv.cols; ++j) d[j] += g[j] - std::exp(y[j]) * s;
  }
}

const OpTraits kSoftmaxTraits = {"Softmax", kRowWise | kBackwardNeedsOutput, ValidateSameDim,
                                 SoftmaxForward, SoftmaxBackward, nullptr};
const OpTraits kLogSoftmaxTraits = {"LogSoftmax", kRowWise | kBackwardNeedsOutput,
                                    ValidateSameDim, LogSoftmaxForward, LogSoftmaxBackward,
                                    nullptr};

}  // namespace kaldiq::nnet::ops
