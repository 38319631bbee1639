// Quantization schemes as data, and the quantize/dequantize functions every part of kaldiq uses
// (calibration, weight quantization, the int8 pipeline, fake quantization, export, later QAT).
//
// A QParams is the one grid type of kaldiq (kernels::QGrid: x ≈ (q − zero_point) · scale,
// q ∈ [qmin, qmax], inv_scale = 1.0f / scale) plus the recipe's wrap-around flag, and Quantize()
// is kernels::QuantizeOne: q = clamp(round_half_even(x · inv_scale) + zero_point, qmin, qmax) —
// the same function, bit for bit, as the row kernel that feeds the int8 GEMM and the GEMM
// epilogue's requantization (kernels/qgrid.h).
//
// The `recipe` preset reproduces the original pkwrap recipe exactly (seed.md §3):
//   scale = (M − m) / 254, z0 = −127 − m / scale, z = int(clamp(z0, −127, 127)) — truncated
//   toward zero, not rounded; q = round(x / scale + z) (the recipe's own arithmetic, a division)
//   with NO clamp, then an int8 cast, so 128
//   wraps to −128. The range is not nudged to contain 0 and M == m divides by zero (we return
//   scale 1 instead of inf, the only deviation, so that a constant tensor does not crash).
// All other presets round and clamp the zero point and nudge the range to contain 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/qgrid.h"

namespace kaldiq::quant {

// Where activation ranges come from.
enum class RangeMode {
  kStatic,     // calibrated once over a calibration set (deployable; the int8 pipeline)
  kUtterance,  // the recipe's: min/max of the whole utterance's layer input (not streamable)
  kChunk,      // per chunk of frames (streaming comparison)
};

// How a calibration observer turns the statistics of a tensor into a range.
enum class ObserverKind {
  kMinMax,               // global min / max
  kMovingAverageMinMax,  // EMA (0.01) of per-utterance min / max, as PyTorch's observer
  kPercentile,           // clip at the given percentile of |x| (both tails)
  kHistogramKl,          // TensorRT-style KL-divergence threshold on a 2048-bin histogram
  kMse,                  // clipping range minimising the quantization MSE (PyTorch's
                         // HistogramObserver minimises the same L2 error)
};

// How the weight grid is chosen.
enum class WeightQuantizer { kMinMax, kMse };

// How per-channel activation equalisation scales are chosen (quant/equalize.h).
enum class EqualizeMethod {
  kNone,
  kSmooth,  // SmoothQuant: s_j = a_j^α / w_j^(1−α) (a: activation range, w: consumer weights)
  kDfq,     // data-free cross-layer equalisation (Nagel et al. 2019): s_j = sqrt(r1_j / r2_j)
};

// Integer arithmetic rules of a tensor's grid.
enum class ZeroPointRule {
  kRecipe,      // truncated zero point, no clamp of q (wraps), range not nudged to 0
  kRoundClamp,  // rounded zero point in [qmin, qmax], q clamped, range nudged to contain 0
};

// The grid of one tensor: bits, signedness, symmetry and the zero-point rule.
struct TensorSpec {
  int bits = 8;
  bool is_signed = true;
  bool symmetric = false;
  // "Narrow" grids drop the most negative code: [−127, 127] for signed 8-bit (the recipe's grid
  // and our symmetric weights, so that −q never overflows).
  bool narrow = false;
  ZeroPointRule rule = ZeroPointRule::kRoundClamp;

  int32_t qmin() const;
  int32_t qmax() const;
};

// One tensor's quantization parameters: its grid (set the scale with SetScale, which keeps
// inv_scale = 1.0f / scale) and the recipe's wrap rule.
struct QParams : kernels::QGrid {
  QParams() {
    qmin = -128;
    qmax = 127;
  }
  bool wrap = false;  // recipe: round without clamp, then wrap into int8 (two's complement)
};

// Chooses scale/zero point for the real range [min, max] on the grid `spec`.
QParams ChooseQParams(float min, float max, const TensorSpec& spec);

// kernels::QuantizeOne(x, p), or for the recipe's wrapping grids round(x / scale + zero_point)
// unclamped and wrapped to int8.
int32_t Quantize(float x, const QParams& p);
// x̂ = (q − zero_point) · scale.
inline float Dequantize(int32_t q, const QParams& p) {
  return static_cast<float>(q - p.zero_point) * p.scale;
}
inline float FakeQuantize(float x, const QParams& p) { return Dequantize(Quantize(x, p), p); }
void FakeQuantizeInPlace(float* x, int64_t n, const QParams& p);

// A complete quantization scheme (per layer; a plan can override per layer).
struct Scheme {
  std::string name;
  // Weights.
  TensorSpec weight;                 // bits 2..8 for weight-only studies
  bool weight_per_channel = true;    // per output row
  WeightQuantizer weight_quantizer = WeightQuantizer::kMinMax;
  // Activations (inputs of the affine layers).
  TensorSpec act;
  bool quantize_activations = true;  // false: weight-only study
  RangeMode act_range = RangeMode::kStatic;
  ObserverKind observer = ObserverKind::kMinMax;
  float percentile = 99.99f;  // for kPercentile
  int chunk_frames = 50;      // for RangeMode::kChunk
  bool bias_correction = false;
  // Per-channel equalisation of producer outputs / consumer inputs before quantization.
  EqualizeMethod equalize = EqualizeMethod::kNone;
  float equalize_alpha = 0.5f;  // for kSmooth
  // Graph rewrites: fold the input affine (LDA) into the next layer, and keep the affine layers
  // that read the network input in fp32. Measured on tdnn-seed: quantizing raw MFCCs per tensor
  // (what folding the LDA implies) costs ~9 dB of output SQNR, while the fp32 LDA is 0.1 % of
  // the parameters; the recipe also kept the LDA in float.
  bool fold_input_affine = false;
  bool input_layer_float = true;
  // Fold test-mode BatchNorm / ScaleOffset ops into the neighbouring affine layers (exact).
  // false keeps them as float ops between the int8 layers, so each layer's quantized input is
  // the BatchNorm output — what the recipe quantized (seed.md §3.3); its presets use false.
  bool fold_batchnorm = true;
};

// How a Kaldi nnet is lowered for int8; recorded in the int8 model so that a reference network
// can be lowered alike.
struct Int8Lowering {
  bool fold_input_affine = false;  // the input affine (LDA) into the next layer
  // FoldScalesBackward (only useful with per-channel weights: it makes the rows of a layer
  // differ in magnitude, which per-tensor weight grids cannot follow).
  bool fold_scales_backward = false;
  bool fold_batchnorm = true;  // Scheme::fold_batchnorm

  static Int8Lowering For(const Scheme& scheme) {
    return {scheme.fold_input_affine, scheme.weight_per_channel && scheme.fold_batchnorm,
            scheme.fold_batchnorm};
  }
};

// Presets: "recipe", "recipe-fixed", "torch-default", "torch-default-pc", "best".
// Throws kInvalidArgument naming the known presets for anything else.
Scheme PresetScheme(const std::string& name);
std::vector<std::string> PresetNames();

// Names used in plan files and on the command line.
std::string ToString(RangeMode m);
std::string ToString(ObserverKind k);
std::string ToString(WeightQuantizer w);
std::string ToString(ZeroPointRule r);
std::string ToString(EqualizeMethod m);
RangeMode ParseRangeMode(const std::string& s);
ObserverKind ParseObserverKind(const std::string& s);
WeightQuantizer ParseWeightQuantizer(const std::string& s);
ZeroPointRule ParseZeroPointRule(const std::string& s);
EqualizeMethod ParseEqualizeMethod(const std::string& s);

// "bits=8,signed=1,symmetric=0,narrow=0,rule=round-clamp" and back (plan files).
std::string FormatTensorSpec(const TensorSpec& s);
TensorSpec ParseTensorSpec(const std::string& s);

// Quantization-to-noise ratio in dB: 10·log10(Σ ref² / Σ (ref − test)²); +inf when equal.
double SqnrDb(const float* ref, const float* test, int64_t n);

}  // namespace kaldiq::quant
