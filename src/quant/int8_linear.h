// One affine op quantized for real int8 inference, and the LinearKernel that runs it.
//
// The kernel takes u8 rows already on the layer's input grid (static ranges), or quantizes fp32
// input rows to u8 with the layer's input QParams (static from calibration, or per call for the
// `chunk`/`utterance` range modes), runs the u8×s8→s32 GEMM of kernels/gemm_s8.h, and in the
// fused epilogue (int32 bias, per-channel scale, ReLU as a clamp) either requantizes straight
// onto the next layer's input grid (u8 out; no float in between) or dequantizes to fp32. Signed
// activation grids (the recipe's [−127, 127]) are fed to the u8 kernel shifted by +128, which is
// exact; such layers only exchange float.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/matrix.h"
#include "kernels/gemm_s8.h"
#include "nnet/graph.h"
#include "nnet/linear_kernel.h"
#include "quant/scheme.h"

namespace kaldiq::quant {

struct QuantizedAffine {
  std::string name;
  int32_t input_dim = 0;
  int32_t output_dim = 0;
  bool relu = false;
  // Input activations.
  TensorSpec act_spec;
  RangeMode act_range = RangeMode::kStatic;
  QParams act;  // used when act_range == kStatic
  // Weights: output_dim × input_dim, one scale per output row, one zero point per tensor.
  TensorSpec weight_spec;
  std::vector<int8_t> weight;
  std::vector<float> weight_scale;
  int32_t weight_zero_point = 0;
  std::vector<float> bias;  // fp32, bias correction applied; empty = none
};

// Quantizes op's weights with the given per-row QParams (per-tensor = all rows equal) and
// copies its bias (+ bias_delta if not empty). Throws kInvalidArgument when the weight grid is
// not signed or per-row zero points differ.
QuantizedAffine QuantizeAffine(const nnet::Op& op, const std::vector<QParams>& weight_qparams,
                               const TensorSpec& weight_spec, const TensorSpec& act_spec,
                               RangeMode act_range, const QParams& act,
                               const std::vector<float>& bias_delta);

// The weights on the int8 grid as floats: (q − z)·s (export --dequantized, SQNR).
MatrixF DequantizedWeights(const QuantizedAffine& q);

// output: when non-null (static ranges only), the kernel's ForwardQuantized writes u8 rows on
// this grid (the consuming layer's input QParams; ReLU clamps at its zero point).
// backend: an int8 backend name of kernels/gemm_s8.h or "auto" (chosen from the CPU and the
// layer's weight range); throws kUnsupported when a forced backend cannot run these weights.
std::shared_ptr<const nnet::LinearKernel> MakeInt8LinearKernel(
    const QuantizedAffine& q, const std::string& backend = "auto",
    const QParams* output = nullptr);

}  // namespace kaldiq::quant
