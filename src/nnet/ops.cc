#include "nnet/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/multiversion.h"
#include "util/error.h"

namespace kaldiq::nnet {

namespace {

void LogSoftmaxRow(const float* x, int32_t n, float* y) {
  float max = x[0];
  for (int32_t j = 1; j < n; ++j) max = std::max(max, x[j]);
  double sum = 0;
  for (int32_t j = 0; j < n; ++j) sum += std::exp(double(x[j]) - max);
  const float log_sum = static_cast<float>(std::log(sum));
  for (int32_t j = 0; j < n; ++j) y[j] = x[j] - max - log_sum;
}

void SoftmaxRow(const float* x, int32_t n, float* y) {
  float max = x[0];
  for (int32_t j = 1; j < n; ++j) max = std::max(max, x[j]);
  double sum = 0;
  for (int32_t j = 0; j < n; ++j) sum += std::exp(double(x[j]) - max);
  for (int32_t j = 0; j < n; ++j) {
    // Kaldi's SoftmaxComponent floors its output at 1e-20.
    y[j] = std::max(static_cast<float>(std::exp(double(x[j]) - max) / sum), 1.0e-20f);
  }
}

// Kaldi's cu::NormalizePerRow: y = x / sqrt(max(|x|² / (D·rms²), 2^-66)), optionally followed
// by the log of the row's "stddev" relative to target_rms.
void NormalizeRow(const float* x, int32_t d, float target_rms, bool add_log_stddev, float* y) {
  const double kSquaredNormFloor = 1.3552527156068805425e-20;  // 2^-66
  double sumsq = 0;
  for (int32_t j = 0; j < d; ++j) sumsq += double(x[j]) * x[j];
  double in_norm = sumsq / (double(d) * target_rms * target_rms);
  in_norm = std::pow(std::max(in_norm, kSquaredNormFloor), -0.5);
  for (int32_t j = 0; j < d; ++j) y[j] = static_cast<float>(x[j] * in_norm);
  if (add_log_stddev) y[d] = static_cast<float>(-std::log(in_norm) + std::log(target_rms));
}

}  // namespace

KQ_MULTIVERSION void RunElementwiseOp(const Op& op, const float* x, int64_t ldx, int64_t rows,
                                      float* y, int64_t ldy) {
  const int32_t in = op.input_dim, out = op.output_dim;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    switch (op.type) {
      case OpType::kRelu:
        for (int32_t j = 0; j < in; ++j) yr[j] = std::max(xr[j], 0.0f);
        break;
      case OpType::kScaleOffset: {
        const float* s = op.scale.empty() ? nullptr : op.scale.data();
        const float* o = op.offset.empty() ? nullptr : op.offset.data();
        for (int32_t j = 0; j < in; ++j) {
          float v = s ? xr[j] * s[j] : xr[j];
          yr[j] = o ? v + o[j] : v;
        }
        break;
      }
      case OpType::kSigmoid:
        for (int32_t j = 0; j < in; ++j) yr[j] = 1.0f / (1.0f + std::exp(-xr[j]));
        break;
      case OpType::kTanh:
        for (int32_t j = 0; j < in; ++j) yr[j] = std::tanh(xr[j]);
        break;
      case OpType::kSoftmax:
        SoftmaxRow(xr, in, yr);
        break;
      case OpType::kLogSoftmax:
        LogSoftmaxRow(xr, in, yr);
        break;
      case OpType::kNormalize:
        NormalizeRow(xr, in, op.target_rms, op.add_log_stddev, yr);
        break;
      case OpType::kElementwiseProduct: {
        std::memcpy(yr, xr, sizeof(float) * out);
        for (int32_t k = 1; k < in / out; ++k)
          for (int32_t j = 0; j < out; ++j) yr[j] *= xr[k * out + j];
        break;
      }
      case OpType::kSumGroup: {
        int32_t c = 0;
        for (int32_t g = 0; g < out; ++g) {
          float s = 0;
          for (int32_t k = 0; k < op.ints[g]; ++k) s += xr[c++];
          yr[g] = s;
        }
        break;
      }
      case OpType::kPermute:
        for (int32_t j = 0; j < out; ++j) yr[j] = xr[op.ints[j]];
        break;
      default:
        KQ_THROW(kInternal) << "op type " << OpTypeName(op.type) << " is not element-wise";
    }
  }
}

}  // namespace kaldiq::nnet
