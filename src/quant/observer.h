// Calibration observers: statistics of one tensor (an affine op's input) over a calibration set,
// turned into a clipping range by one of the ObserverKinds of scheme.h, plus weight quantizers.
//
// The observer keeps the exact min/max, an EMA of per-batch min/max (PyTorch's
// MovingAverageMinMaxObserver, averaging constant 0.01), per-column sums (for bias correction),
// and a deterministic sample of at most kMaxSamples values (every value while the sample is not
// full, then a fixed-seed reservoir) from which the percentile, KL and MSE ranges are computed on
// a 2048-bin histogram. Results depend only on the data order, never on threads.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "quant/scheme.h"

namespace kaldiq::quant {

class Observer {
 public:
  static constexpr int64_t kMaxSamples = 1 << 20;

  explicit Observer(int64_t cols = 0);

  // One batch (a chunk of rows); rows × cols with row stride ld.
  void Update(const float* x, int64_t rows, int64_t cols, int64_t ld);

  int64_t count() const { return count_; }
  float min() const { return min_; }
  float max() const { return max_; }
  // Per-column mean of everything seen (bias correction).
  std::vector<double> ColumnMeans() const;
  // Per-column max |x| of everything seen (activation equalisation).
  const std::vector<float>& ColumnAbsMax() const { return col_absmax_; }

  // The range [lo, hi] chosen by `kind` for a tensor on grid `spec`.
  std::pair<float, float> Range(ObserverKind kind, const TensorSpec& spec,
                                float percentile = 99.99f) const;

 private:
  std::pair<float, float> PercentileRange(float percentile) const;
  std::pair<float, float> KlRange(const TensorSpec& spec) const;
  std::pair<float, float> MseRange(const TensorSpec& spec) const;

  int64_t cols_;
  int64_t count_ = 0;
  float min_ = 0.0f, max_ = 0.0f;
  bool have_ema_ = false;
  float ema_min_ = 0.0f, ema_max_ = 0.0f;
  std::vector<double> col_sums_;
  std::vector<float> col_absmax_;
  int64_t col_rows_ = 0;
  std::vector<float> sample_;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

// Per-output-row (or per-tensor) quantization parameters of a weight matrix (rows × cols,
// row stride ld): min-max, or the clipping that minimises Σ(w − ŵ)² (searched over 100 clip
// ratios of the min-max range). Per-tensor returns `rows` copies of the same QParams.
std::vector<QParams> ChooseWeightQParams(const float* w, int64_t rows, int64_t cols, int64_t ld,
                                         const TensorSpec& spec, bool per_channel,
                                         WeightQuantizer quantizer);

}  // namespace kaldiq::quant
