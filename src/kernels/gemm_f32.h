// fp32 GEMM behind a narrow interface. Kernels know nothing of graphs or Kaldi.
// Single-threaded: kaldiq parallelises above the kernel (per utterance), which keeps results
// independent of the thread count.
#pragma once

#include <cstdint>

namespace kaldiq::kernels {

// C[m×n] (+)= A[m×k] · Bᵀ where B is n×k row-major (Kaldi's weight layout: one row per output
// unit). Library-backed (OpenBLAS sgemm). lda/ldb/ldc are row strides in elements.
void GemmF32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc, bool accumulate);

// C[m×n] (+)= A[m×k] · B where B is k×n row-major (weights pre-transposed once at load time;
// measured slightly faster than the N×K layout for OpenBLAS, see bench/README.md).
void GemmF32KN(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate);

// Scalar reference for GemmF32 (double accumulation); the oracle the fast paths are tested
// against.
void GemmF32Ref(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace kaldiq::kernels

#include <memory>

namespace kaldiq::kernels {

// A linear layer y[m×n] = x[m×k] · Wᵀ + b, optionally followed by max(·, 0), with W (N×K,
// Kaldi's layout) packed once at construction into the backend's preferred layout.
// Backend: oneDNN f32 matmul when built with oneDNN (chosen by measurement: bench/README.md),
// else OpenBLAS on a K×N copy plus a bias/ReLU pass. Run() is const and may be called
// concurrently from several threads; each call runs on the calling thread only.
class PackedLinearF32 {
 public:
  PackedLinearF32(int64_t n, int64_t k, const float* w, const float* bias, bool relu);
  ~PackedLinearF32();
  PackedLinearF32(const PackedLinearF32&) = delete;
  PackedLinearF32& operator=(const PackedLinearF32&) = delete;

  void Run(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const;
  static const char* Backend();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kaldiq::kernels
