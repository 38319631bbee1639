// Frame splicing followed by a linear or affine transform (Kaldi's OnlineSpliceFrames and
// OnlineTransform, feat/online-feature.cc): the i-vector extractor's "final.mat" applied to
// frames t-left..t+right of its base features.
//
// Splicing clamps indices into [0, available-1], where `available` is the number of base frames
// the source has ready. Kaldi's OnlineSpliceFrames withholds the last `right` frames until the
// input is finished, so a frame it returns never depends on frames that arrive later: spliced
// frame t is ready when t + right < available, or when the input is finished and t < available.
// Transform: y = A s for A of dim x (base*(left+1+right)); y = A[:, :-1] s + A[:, -1] for one
// column more (affine, the last column is the offset), in float with a row-stable dot-product
// order (kernels/gemm_f32_rowstable.h), so that a frame's output is the same bits whatever the
// chunk it is computed in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/matrix.h"

namespace kaldiq::kaldi {
class OptionTable;
}

namespace kaldiq::ivector {

// Kaldi's OnlineSpliceOptions (splice.conf): defaults 4 and 4.
struct OnlineSpliceOptions {
  int32_t left_context = 4;
  int32_t right_context = 4;
  void Register(kaldi::OptionTable* table);
  static OnlineSpliceOptions FromConfigFile(const std::string& path);
};

class SpliceTransform {
 public:
  // Throws kaldiq::Error (kInvalidArgument) when a context is negative or the transform has
  // neither base_dim*(left+1+right) nor one more columns.
  SpliceTransform(const MatrixF& transform, int32_t left, int32_t right, int32_t base_dim);

  int32_t InputDim() const { return base_dim_; }
  int32_t OutputDim() const { return static_cast<int32_t>(linear_.rows()); }
  int32_t LeftContext() const { return left_; }
  int32_t RightContext() const { return right_; }

  // Output frames first..first+n-1 into out (row stride out_stride). base(t) returns the base
  // frame t for t in [0, available); the indices asked for are clamped into that range.
  template <typename BaseFrame>
  void Compute(const BaseFrame& base, int64_t available, int64_t first, int64_t n, float* out,
               int64_t out_stride) const {
    const int64_t splice = left_ + 1 + right_;
    spliced_.resize(static_cast<size_t>(n * splice * base_dim_));
    for (int64_t r = 0; r < n; ++r) {
      float* dst = spliced_.data() + r * splice * base_dim_;
      for (int64_t k = 0; k < splice; ++k) {
        int64_t t = first + r - left_ + k;
        if (t < 0) t = 0;
        if (t >= available) t = available - 1;
        const float* src = base(t);
        for (int64_t d = 0; d < base_dim_; ++d) dst[k * base_dim_ + d] = src[d];
      }
    }
    Apply(spliced_.data(), n, out, out_stride);
  }

 private:
  void Apply(const float* spliced, int64_t n, float* out, int64_t out_stride) const;

  int32_t left_ = 0, right_ = 0, base_dim_ = 0;
  MatrixF linear_;             // dim x base_dim*splice
  std::vector<float> offset_;  // dim (zeros for a linear transform)
  mutable std::vector<float> spliced_;  // scratch: not thread-safe
};

}  // namespace kaldiq::ivector
