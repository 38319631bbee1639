// Internal: the seam between Int8Gemm and its fast backend (oneDNN, or nothing). Only
// gemm_s8.cc and the backend file include this.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/gemm_s8.h"

namespace kaldiq::kernels {

// Computes raw accumulators acc[i][j] = Σ_p x[i][p]·w[j][p] (m×n, dense, row stride n).
struct Int8Gemm::Fast {
  virtual ~Fast() = default;
  virtual void Run(int64_t m, const uint8_t* x, int64_t ldx, int32_t* acc) const = 0;
};

// Packs w (n×k dense s8) for the fast backend; null when no fast backend is built or usable.
std::unique_ptr<Int8Gemm::Fast> CreateFastGemm(int64_t n, int64_t k, const int8_t* w);

inline void RunFastGemm(const Int8Gemm::Fast& f, int64_t m, const uint8_t* x, int64_t ldx,
                        int32_t* acc) {
  f.Run(m, x, ldx, acc);
}

}  // namespace kaldiq::kernels
