// fp32 linear layer for block-sparse weights: the matrices a convolution becomes when it is
// written as one affine map over its spliced input (TimeHeightConvolution: each output height
// reads 3 of 40 input heights at each time offset, so ~92 % of the dense weight is zero).
//
// Contract: y[m×n] = x[m×k] · Wᵀ + b (then max(·, 0) when relu) for the dense W (n×k, Kaldi's
// layout) given at construction, up to float rounding: only exact zeros of W are skipped, so
// the result equals the dense product's except for the summation order (and for inf/NaN
// inputs meeting a skipped zero). The structure is found from W itself:
//   * every row's non-zero columns are covered by spans (runs of columns; zero gaps shorter
//     than kMinGap are kept inside a span);
//   * consecutive rows with the same spans form a group; a group's spans are gathered from x
//     into a contiguous patch (im2col) and multiplied by the group's packed weights with one
//     GEMM (OpenBLAS, kernels/gemm_f32.h).
// Nothing but W is trusted, so folding or equalising W before packing cannot break the layer.
// Run() is const and thread-safe (the patch buffer is per call).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace kaldiq::kernels {

class BlockSparseLinearF32 {
 public:
  // Null when W is not sparse enough to win: the spans of some row cover more than
  // max_density of its columns, or all spans together more than max_density of W. (A dense
  // row is found on the first row scanned, so dense layers cost one row scan.)
  static std::unique_ptr<BlockSparseLinearF32> TryCreate(int64_t n, int64_t k, const float* w,
                                                         const float* bias, bool relu,
                                                         double max_density = 0.25);

  void Run(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const;

  int64_t NumGroups() const { return static_cast<int64_t>(groups_.size()); }
  // Fraction of W's entries the layer multiplies (spans × rows / (n·k)).
  double Density() const { return density_; }

  static constexpr int64_t kMinGap = 4;

 private:
  struct Span {
    int64_t begin, len;
  };
  struct Group {
    int64_t row0, rows;       // output columns [row0, row0 + rows)
    std::vector<Span> spans;  // input columns gathered, in order
    int64_t patch_k = 0;      // Σ span lengths
    std::vector<float> w_kn;  // patch_k × rows, packed
  };
  BlockSparseLinearF32() = default;

  int64_t n_ = 0, k_ = 0, max_patch_k_ = 0;
  std::vector<Group> groups_;
  std::vector<float> bias_;
  bool relu_ = false;
  double density_ = 1.0;
};

}  // namespace kaldiq::kernels
