// Internal: the seam between Int8Gemm and its backends, and the backend table. Only the
// gemm_s8*.cc files include this.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/gemm_s8.h"

namespace kaldiq::kernels {

// Raw accumulators acc[i][j] = Σ_p x[i][p]·w[j][p] (m×n, dense, row stride n), for the weights
// given at construction. Run() is const and may be called concurrently (scratch is per thread).
class Int8Kernel {
 public:
  virtual ~Int8Kernel() = default;
  virtual void Run(int64_t m, const uint8_t* x, int64_t ldx, int32_t* acc) const = 0;
};

// A row of the backend table. Function pointers so that availability and exactness are
// evaluated on the CPU the program runs on.
struct Int8BackendRow {
  const char* name;
  const char* description;
  bool (*available)();
  int32_t (*max_abs_weight)();
  bool signed_input;
  int (*preference)();
  // w: n×k dense s8 (row stride k); the kernel keeps what it needs.
  std::unique_ptr<Int8Kernel> (*create)(int64_t n, int64_t k, const int8_t* w);
};

// The oneDNN backend (gemm_s8_dnnl.cc, or the stubs of gemm_s8_nodnnl.cc).
bool DnnlInt8Available();
// True when oneDNN dispatches to AVX-512 kernels (avx512_core or above) on this CPU.
bool DnnlInt8UsesAvx512();
std::unique_ptr<Int8Kernel> CreateDnnlInt8Kernel(int64_t n, int64_t k, const int8_t* w);
// The AVX2 backends (gemm_s8_avx2.cc); call only when CpuHasAvx2().
std::unique_ptr<Int8Kernel> CreateAvx2W7Kernel(int64_t n, int64_t k, const int8_t* w);
std::unique_ptr<Int8Kernel> CreateAvx2W8Kernel(int64_t n, int64_t k, const int8_t* w);

}  // namespace kaldiq::kernels
