// Dense row-major matrix and vector used throughout kaldiq. Rows are contiguous (stride ==
// cols), storage is 64-byte aligned for SIMD kernels. Time is the row dimension everywhere.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace kaldiq {

namespace internal {
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
}  // namespace internal

template <typename T>
class Matrix {
 public:
  Matrix() = default;
  Matrix(int64_t rows, int64_t cols) { Resize(rows, cols); }
  Matrix(const Matrix& other) { *this = other; }
  Matrix(Matrix&&) noexcept = default;
  Matrix& operator=(Matrix&&) noexcept = default;
  Matrix& operator=(const Matrix& other) {
    if (this != &other) {
      Resize(other.rows_, other.cols_);
      std::copy(other.data(), other.data() + other.size(), data());
    }
    return *this;
  }

  // Resizes and zero-fills (contents are not preserved).
  void Resize(int64_t rows, int64_t cols) {
    rows_ = rows;
    cols_ = cols;
    size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
    if (n == 0) {
      data_.reset();
      return;
    }
    size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    data_.reset(p);
    std::fill(data(), data() + n, T(0));
  }

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t size() const { return rows_ * cols_; }
  bool empty() const { return size() == 0; }
  T* data() { return static_cast<T*>(data_.get()); }
  const T* data() const { return static_cast<const T*>(data_.get()); }
  T* Row(int64_t r) { return data() + r * cols_; }
  const T* Row(int64_t r) const { return data() + r * cols_; }
  T& operator()(int64_t r, int64_t c) { return data()[r * cols_ + c]; }
  const T& operator()(int64_t r, int64_t c) const { return data()[r * cols_ + c]; }

 private:
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  std::unique_ptr<void, internal::AlignedFree> data_;
};

template <typename T>
using Vector = std::vector<T>;

using MatrixF = Matrix<float>;
using MatrixD = Matrix<double>;

}  // namespace kaldiq
