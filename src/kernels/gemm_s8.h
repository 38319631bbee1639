// int8 GEMM with fused requantization behind a narrow raw-pointer interface:
//   acc[i][j] = Σ_p (x[i][p] − x_zero_point) · (w[j][p] − w_zero_point)        (exact int32)
//   then per output column j one of
//     kS32:  out = acc + bias[j]
//     kF32:  out = float(acc + bias[j]) · scale[j]                 (dequantized; clamp optional)
//     kU8 / kS8: out = clamp(round_half_even(float(acc + bias[j]) · scale[j]) + out_zero_point,
//                            lo, hi)                              (kernels/qgrid.h's rounding)
// x is u8 (activations), w is s8 with one row per output unit (Kaldi's N×K layout). A fused ReLU
// is a clamp with lo = out_zero_point (or 0 for f32). Kernels know nothing of schemes or graphs.
//
// Backends are the rows of a table (Int8Backends()), chosen at run time per layer from the CPU's
// features and the layer's largest |w|: every backend computes only the raw u8×s8 accumulators,
// and the SAME epilogue (zero points, bias, requantization) follows, so every backend is
// bit-exact with the scalar reference. Rows:
//   reference  scalar loops; always built and available; the oracle (tests, --kernels=reference)
//   onednn     oneDNN 2.6 matmul u8×s8→s32. With AVX-512 VNNI / AVX-VNNI it is exact for any s8
//              weights; without VNNI it uses vpmaddubsw, whose 16-bit pair sums saturate unless
//              |w| ≤ 64, so it is exact only for 7-bit weights there
//   avx2-w7    kaldiq's AVX2 kernel on vpmaddubsw + vpmaddwd (exact for |w| ≤ 64), weights
//              pre-packed at load time
//   avx2-w8    kaldiq's AVX2 kernel on 16-bit products (vpmaddwd; exact for any s8 weights),
//              weights pre-packed at load time
// "auto" takes the most preferred available row that is exact for the layer's weights; the order
// (Int8BackendInfo::preference) was chosen by measurement, see bench/README.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kaldiq::kernels {

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

// One row of the int8 backend table, evaluated on this CPU and build.
struct Int8BackendInfo {
  std::string name;            // the --kernels= name
  std::string description;
  bool available = false;      // built in, and the CPU has what it needs
  int32_t max_abs_weight = 0;  // largest |w| it computes exactly on this CPU (128 = any s8)
  bool signed_input = false;   // activations it takes: false = u8 (every current backend)
  int preference = 0;          // "auto" tries lower values first on this CPU
};
// Every row, in table order (reference first).
std::vector<Int8BackendInfo> Int8Backends();
// The backend Int8Gemm uses for weights whose largest magnitude is max_abs_weight: `requested`
// when it is not "auto" — throws kaldiq::Error (kUnsupported) when that backend is unknown, not
// available here, or not exact for these weights — else the most preferred available exact row.
std::string ChooseInt8Backend(int32_t max_abs_weight, const std::string& requested = "auto");

// True when the CPU has AVX-512 VNNI or AVX-VNNI as oneDNN sees it (honours DNNL_MAX_CPU_ISA).
bool CpuHasVnni();
// True when the CPU has AVX2 (the avx2-* kernels run).
bool CpuHasAvx2();
// A short description of the ISA oneDNN dispatches to, e.g. "avx512_core_vnni" ("none" without
// oneDNN).
std::string Int8IsaName();

// Computes raw accumulators acc[i][j] = Σ_p x[i][p]·w[j][p] (m×n, row stride n) for weights packed
// at construction. Implemented by each backend (gemm_s8_backend.h).
class Int8Kernel;

// Weights of one layer, packed once (at model load) by the chosen backend, computing any number
// of rows. Thread-compatible: Compute() is const and may run concurrently from several threads.
class Int8Gemm {
 public:
  // w: n rows of k int8 weights, row-major with row stride ldw; w_zero_point: the weights' zero
  // point (0 for symmetric weights). backend: a row name of Int8Backends() or "auto" (see
  // ChooseInt8Backend; throws kUnsupported when a forced backend cannot compute these weights).
  Int8Gemm(int64_t n, int64_t k, const int8_t* w, int64_t ldw, int32_t w_zero_point,
           const std::string& backend = "auto");
  ~Int8Gemm();
  Int8Gemm(const Int8Gemm&) = delete;
  Int8Gemm& operator=(const Int8Gemm&) = delete;

  int64_t n() const { return n_; }
  int64_t k() const { return k_; }
  // The backend chosen (a row name of Int8Backends()).
  const std::string& Backend() const { return backend_; }

  // x: m rows of k u8 values (row stride ldx) with zero point x_zero_point; out: m rows of n
  // elements of the type chosen by rq.output (int32_t, float, uint8_t or int8_t) with row stride
  // ldout (in elements).
  void Compute(int64_t m, const uint8_t* x, int64_t ldx, int32_t x_zero_point, const Requant& rq,
               void* out, int64_t ldout) const;

 private:
  int64_t n_, k_;
  int32_t w_zero_point_;
  std::string backend_;
  std::vector<int32_t> w_row_sums_;  // Σ_p w[j][p], for the x zero-point correction
  std::unique_ptr<const Int8Kernel> kernel_;
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
