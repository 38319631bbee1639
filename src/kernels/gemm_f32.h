// fp32 GEMM behind a narrow interface: raw GEMMs, and a packed linear layer with a table of
// backends. Kernels know nothing of graphs or Kaldi.
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
#include <string>
#include <vector>

namespace kaldiq::kernels {

// fp32 linear-layer backends (a table, like the int8 one in gemm_s8.h; chosen per layer):
//   onednn    oneDNN 2.6 f32 matmul, weights reordered once, bias and ReLU fused, one primitive
//             per row-count bucket (oneDNN 2.6's runtime-M f32 path is slow), created on first
//             use and cached without a lock
//   openblas  cblas_sgemm on a K×N copy of the weights, then one bias/ReLU pass
//   reference GemmF32Ref (double accumulation); the oracle
// The backends built into this binary (reference and openblas always; onednn with oneDNN).
std::vector<std::string> F32BackendNames();
// The backend a layer of n outputs and k inputs uses: `requested` unless "auto" (throws
// kaldiq::Error, kUnsupported, for a name not built in), else the one measured fastest for this
// ISA and shape (rule and table in bench/README.md).
std::string ChooseF32Backend(int64_t n, int64_t k, const std::string& requested = "auto");

// A linear layer y[m×n] = x[m×k] · Wᵀ + b, optionally followed by max(·, 0), with W (N×K,
// Kaldi's layout) packed once at construction into the backend's preferred layout. Run() is
// const and may be called concurrently from several threads (no lock on the call path); each
// call runs on the calling thread only.
class PackedLinearF32 {
 public:
  // Internal backend interface (gemm_f32*.cc).
  struct Impl {
    virtual ~Impl() = default;
    virtual void Run(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const = 0;
  };

  PackedLinearF32(int64_t n, int64_t k, const float* w, const float* bias, bool relu,
                  const std::string& backend = "auto");
  ~PackedLinearF32();
  PackedLinearF32(const PackedLinearF32&) = delete;
  PackedLinearF32& operator=(const PackedLinearF32&) = delete;

  void Run(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const {
    if (m > 0) impl_->Run(m, x, ldx, y, ldy);
  }
  const std::string& Backend() const { return backend_; }

 private:
  std::string backend_;
  std::unique_ptr<Impl> impl_;
};

// The oneDNN backend (gemm_f32_dnnl.cc; without oneDNN, gemm_f32_nodnnl.cc returns null).
std::unique_ptr<PackedLinearF32::Impl> CreateDnnlLinearF32(int64_t n, int64_t k, const float* w,
                                                           const float* bias, bool relu);
bool DnnlF32Available();
// True when oneDNN dispatches to AVX-512 kernels on this CPU (honours DNNL_MAX_CPU_ISA).
bool DnnlF32UsesAvx512();

}  // namespace kaldiq::kernels
