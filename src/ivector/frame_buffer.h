// A growing sequence of fixed-dimension float frames that can forget its oldest frames, so that
// an online feature keeps only the frames it may still read (constant memory on long streams).
#pragma once

#include <cstdint>
#include <vector>

#include "util/error.h"

namespace kaldiq::ivector {

class FrameBuffer {
 public:
  explicit FrameBuffer(int64_t dim = 0) : dim_(dim) {}

  int64_t dim() const { return dim_; }
  // Frames [begin(), end()) are held.
  int64_t begin() const { return offset_; }
  int64_t end() const {
    return dim_ == 0 ? offset_ : offset_ + static_cast<int64_t>(data_.size()) / dim_;
  }

  // Appends n frames (row stride `stride`) and returns a pointer to the first new one.
  float* Append(int64_t n) {
    data_.resize(data_.size() + static_cast<size_t>(n * dim_));
    return data_.data() + data_.size() - static_cast<size_t>(n * dim_);
  }
  void Append(const float* frames, int64_t n, int64_t stride) {
    float* dst = Append(n);
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t d = 0; d < dim_; ++d) dst[r * dim_ + d] = frames[r * stride + d];
    }
  }

  const float* Row(int64_t t) const {
    KQ_CHECK(t >= begin() && t < end(), kInternal)
        << "frame " << t << " is not held (frames " << begin() << ".." << end() << ")";
    return data_.data() + static_cast<size_t>((t - offset_) * dim_);
  }

  // Forgets frames before t (lazily: storage moves only when a quarter of it is dead, so the
  // cost is amortised constant per frame).
  void DropBefore(int64_t t) {
    if (t > end()) t = end();
    int64_t dead = t - offset_;
    if (dead <= 0) return;
    if (dead * 4 < end() - offset_ && dead < 4096) return;
    data_.erase(data_.begin(), data_.begin() + static_cast<size_t>(dead * dim_));
    offset_ = t;
  }

 private:
  int64_t dim_;
  int64_t offset_ = 0;
  std::vector<float> data_;
};

}  // namespace kaldiq::ivector
