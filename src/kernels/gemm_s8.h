// int8 GEMM with fused requantization behind a narrow raw-pointer interface:
//   acc[i][j] = Σ_p (x[i][p] − x_zero_point) · (w[j][p] − w_zero_point)        (exact int32)
//   then per output column j one of
//     kS32:  out = acc + bias[j]
//     kF32:  out = float(acc + bias[j]) · scale[j]                 (dequantized; clamp optional)
//     kU8 / kS8: out = clamp(nearbyint(float(acc + bias[j]) · scale[j]) + out_zero_point, lo, hi)
// x is u8 (activations), w is s8 with one row per output unit (Kaldi's N×K layout). A fused ReLU
// is a clamp with lo = out_zero_point (or 0 for f32). Kernels know nothing of schemes or graphs.
//
// Backends: the scalar reference (always built; the oracle) and oneDNN 2.6 matmul (u8×s8→s32 with
// prepacked weights), followed by the SAME epilogue code, so every backend is bit-exact with the
// reference. oneDNN on CPUs without VNNI computes u8×s8 with vpmaddubsw, which saturates 16-bit
// pair sums: it is exact only when |w| ≤ 64 (7-bit weights). Int8Gemm checks this when the
// weights are packed and falls back to the reference kernel when the fast path would be wrong;
// `UsesFastPath()` tells which was chosen.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kaldiq::kernels {

enum class Int8Backend { kAuto, kReference, kDnnl };

// Requantization epilogue applied to int32 accumulators.
struct Requant {
  enum class Output { kS32, kF32, kU8, kS8 };
  Output output = Output::kF32;
  const int32_t* bias = nullptr;   // n entries in accumulator units, or null
  const float* scale = nullptr;    // n entries (required for kF32/kU8/kS8)
  int32_t out_zero_point = 0;      // kU8/kS8
  int32_t lo = INT32_MIN, hi = INT32_MAX;  // integer clamp (kU8/kS8; narrowed to the type)
  bool relu = false;               // kF32: max(out, 0)
};

// True when the CPU has AVX-512 VNNI or AVX-VNNI (oneDNN's int8 matmul is exact at 8 bits).
bool CpuHasVnni();
// A short description of the ISA oneDNN dispatches to, e.g. "avx512_core_vnni" ("none" without
// oneDNN).
std::string Int8IsaName();
// Largest |w| (w ∈ s8) the fast path computes exactly on this CPU: 127 with VNNI, 64 without.
int32_t FastPathMaxAbsWeight();

// Weights of one layer, packed once (at model load), computing any number of rows.
// Thread-compatible: Compute() is const and may run concurrently from several threads.
class Int8Gemm {
 public:
  // w: n rows of k int8 weights, row-major with row stride ldw; w_zero_point: the weights' zero
  // point (0 for symmetric weights). The weights are copied.
  Int8Gemm(int64_t n, int64_t k, const int8_t* w, int64_t ldw, int32_t w_zero_point,
           Int8Backend backend = Int8Backend::kAuto);
  ~Int8Gemm();
  Int8Gemm(const Int8Gemm&) = delete;
  Int8Gemm& operator=(const Int8Gemm&) = delete;

  int64_t n() const { return n_; }
  int64_t k() const { return k_; }
  bool UsesFastPath() const { return fast_ != nullptr; }

  // x: m rows of k u8 values (row stride ldx) with zero point x_zero_point; out: m rows of n
  // elements of the type chosen by rq.output (int32_t, float, uint8_t or int8_t) with row stride
  // ldout (in elements).
  void Compute(int64_t m, const uint8_t* x, int64_t ldx, int32_t x_zero_point, const Requant& rq,
               void* out, int64_t ldout) const;

  struct Fast;  // backend state (oneDNN primitive and packed weights)

 private:
  int64_t n_, k_;
  int32_t w_zero_point_;
  std::vector<int8_t> w_;            // n×k, dense
  std::vector<int32_t> w_row_sums_;  // Σ_p w[j][p], for the x zero-point correction
  std::unique_ptr<Fast> fast_;
};

// The scalar reference for the raw accumulators acc[i][j] = Σ_p x[i][p]·w[j][p] (no zero points).
void GemmU8S8S32Ref(int64_t m, int64_t n, int64_t k, const uint8_t* x, int64_t ldx,
                    const int8_t* w, int64_t ldw, int32_t* acc, int64_t ldacc);

// The epilogue shared by all backends: corrects raw accumulators for the zero points
// (col_corr[j] = −x_zp·Σw[j] + k·x_zp·w_zp; row term −w_zp·Σx[i]) and applies rq.
void RequantizeRows(int64_t m, int64_t n, const int32_t* acc, int64_t ldacc,
                    const int32_t* col_corr, const int32_t* row_corr, const Requant& rq,
                    void* out, int64_t ldout);

}  // namespace kaldiq::kernels
