#include "kernels/gemm_s8.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/gemm_s8_backend.h"
#include "kernels/multiversion.h"
#include "kernels/qgrid.h"
#include "util/error.h"

namespace kaldiq::kernels {

void GemmU8S8S32Ref(int64_t m, int64_t n, int64_t k, const uint8_t* x, int64_t ldx,
                    const int8_t* w, int64_t ldw, int32_t* acc, int64_t ldacc) {
  for (int64_t i = 0; i < m; ++i) {
    const uint8_t* xr = x + i * ldx;
    for (int64_t j = 0; j < n; ++j) {
      const int8_t* wr = w + j * ldw;
      int32_t s = 0;
      for (int64_t p = 0; p < k; ++p) s += int32_t(xr[p]) * int32_t(wr[p]);
      acc[i * ldacc + j] = s;
    }
  }
}

namespace {

// The epilogue loops read everything through local __restrict pointers: a u8/s8 output may
// alias anything as far as the compiler knows, and reloading rq's fields after every byte store
// kept these loops scalar (measured: 30 % of an int8 forward pass).
// Always inlined, so that it is compiled inside each ISA clone of RequantizeRows.
template <typename T>
__attribute__((always_inline)) inline void RequantInt(
    int64_t m, int64_t n, const int32_t* __restrict acc, int64_t ldacc,
    const int32_t* __restrict col, const int32_t* row_corr, const float* __restrict scale,
    int32_t out_zero_point, int32_t lo_q, int32_t hi_q, T* __restrict out, int64_t ldout) {
  // The rounding of kernels/qgrid.h (QuantizeOne with inv_scale = scale[j]):
  // q = clamp(round_half_even(float(acc) · scale[j]) + zp, lo, hi).
  const float lo = static_cast<float>(lo_q - out_zero_point);
  const float hi = static_cast<float>(hi_q - out_zero_point);
  for (int64_t i = 0; i < m; ++i) {
    const int32_t rc = row_corr ? row_corr[i] : 0;
    const int32_t* __restrict arow = acc + i * ldacc;
    T* __restrict orow = out + i * ldout;
    for (int64_t j = 0; j < n; ++j) {
      float v = RoundClamp(static_cast<float>(arow[j] + col[j] + rc) * scale[j], lo, hi);
      orow[j] = static_cast<T>(static_cast<int32_t>(v) + out_zero_point);
    }
  }
}

}  // namespace

KQ_MULTIVERSION void RequantizeRows(int64_t m, int64_t n, const int32_t* acc, int64_t ldacc,
                                    const int32_t* col_corr, const int32_t* row_corr, const Requant& rq,
                    void* out, int64_t ldout) {
  // Column terms (zero-point correction + bias) folded into one vector; per-thread, grown only.
  thread_local std::vector<int32_t> col_terms;
  if (col_terms.size() < static_cast<size_t>(n)) col_terms.resize(static_cast<size_t>(n));
  int32_t* __restrict col = col_terms.data();
  for (int64_t j = 0; j < n; ++j) col[j] = col_corr[j] + (rq.bias ? rq.bias[j] : 0);
  const float* __restrict scale = rq.scale;
  switch (rq.output) {
    case Requant::Output::kS32: {
      auto* __restrict o = static_cast<int32_t*>(out);
      for (int64_t i = 0; i < m; ++i) {
        const int32_t rc = row_corr ? row_corr[i] : 0;
        for (int64_t j = 0; j < n; ++j) o[i * ldout + j] = acc[i * ldacc + j] + col[j] + rc;
      }
      return;
    }
    case Requant::Output::kF32: {
      auto* __restrict o = static_cast<float*>(out);
      const bool relu = rq.relu;
      for (int64_t i = 0; i < m; ++i) {
        const int32_t rc = row_corr ? row_corr[i] : 0;
        float* __restrict orow = o + i * ldout;
        const int32_t* __restrict arow = acc + i * ldacc;
        if (relu) {
          for (int64_t j = 0; j < n; ++j)
            orow[j] = std::max(static_cast<float>(arow[j] + col[j] + rc) * scale[j], 0.0f);
        } else {
          for (int64_t j = 0; j < n; ++j)
            orow[j] = static_cast<float>(arow[j] + col[j] + rc) * scale[j];
        }
      }
      return;
    }
    case Requant::Output::kU8:
      RequantInt(m, n, acc, ldacc, col, row_corr, scale, rq.out_zero_point, std::max(rq.lo, 0),
                 std::min(rq.hi, 255), static_cast<uint8_t*>(out), ldout);
      return;
    case Requant::Output::kS8:
      RequantInt(m, n, acc, ldacc, col, row_corr, scale, rq.out_zero_point, std::max(rq.lo, -128),
                 std::min(rq.hi, 127), static_cast<int8_t*>(out), ldout);
      return;
  }
}

namespace {

// The reference backend: the scalar loops on a dense copy of the weights.
class RefInt8Kernel : public Int8Kernel {
 public:
  RefInt8Kernel(int64_t n, int64_t k, const int8_t* w) : n_(n), k_(k), w_(w, w + n * k) {}
  void Run(int64_t m, const uint8_t* x, int64_t ldx, int32_t* acc) const override {
    GemmU8S8S32Ref(m, n_, k_, x, ldx, w_.data(), k_, acc, n_);
  }

 private:
  int64_t n_, k_;
  std::vector<int8_t> w_;
};

bool Always() { return true; }
int32_t AnyS8() { return 128; }
int32_t SevenBit() { return 64; }
// vpmaddubsw adds two u8·s8 products in saturating 16 bits: exact while 2·255·|w| ≤ 32767.
int32_t DnnlMaxAbsWeight() { return CpuHasVnni() ? 128 : 64; }

// Preferences on this CPU ("auto" tries lower first), from bench/README.md's measurements on
// AVX2: without VNNI kaldiq's pre-packed avx2-w7 beats oneDNN 2.6 (which re-packs the weights on
// every call) at the executor's shapes, and avx2-w8 is the only fast exact kernel for full 8-bit
// weights. oneDNN comes first when it has VNNI (exact for any weights, the fastest instruction)
// or AVX-512 (twice the vector width of the AVX2 kernels; not measured here, there being no such
// CPU on hand, and limited to 7-bit weights without VNNI all the same).
int PreferReference() { return 100; }
int PreferDnnl() { return CpuHasVnni() || DnnlInt8UsesAvx512() ? 0 : 2; }
int PreferAvx2W7() { return 1; }
int PreferAvx2W8() { return 3; }

std::unique_ptr<Int8Kernel> CreateRef(int64_t n, int64_t k, const int8_t* w) {
  return std::make_unique<RefInt8Kernel>(n, k, w);
}

const std::vector<Int8BackendRow>& Table() {
  static const std::vector<Int8BackendRow> rows = {
      {"reference", "scalar loops (the oracle)", Always, AnyS8, false, PreferReference,
       CreateRef},
      {"onednn", "oneDNN matmul u8xs8->s32 (exact for any s8 weights with VNNI, |w| <= 64 without)",
       DnnlInt8Available, DnnlMaxAbsWeight, false, PreferDnnl, CreateDnnlInt8Kernel},
      {"avx2-w7", "AVX2 vpmaddubsw+vpmaddwd, pre-packed weights (exact for |w| <= 64)",
       CpuHasAvx2, SevenBit, false, PreferAvx2W7, CreateAvx2W7Kernel},
      {"avx2-w8", "AVX2 16-bit vpmaddwd, pre-packed weights (exact for any s8 weights)",
       CpuHasAvx2, AnyS8, false, PreferAvx2W8, CreateAvx2W8Kernel},
  };
  return rows;
}

const Int8BackendRow* FindRow(const std::string& name) {
  for (const Int8BackendRow& r : Table())
    if (name == r.name) return &r;
  return nullptr;
}

std::string RowNames() {
  std::string s;
  for (const Int8BackendRow& r : Table()) s += (s.empty() ? "" : ", ") + std::string(r.name);
  return s;
}

}  // namespace

bool CpuHasAvx2() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
#else
  return false;
#endif
}

std::vector<Int8BackendInfo> Int8Backends() {
  std::vector<Int8BackendInfo> out;
  for (const Int8BackendRow& r : Table()) {
    Int8BackendInfo info;
    info.name = r.name;
    info.description = r.description;
    info.available = r.available();
    info.max_abs_weight = info.available ? r.max_abs_weight() : 0;
    info.signed_input = r.signed_input;
    info.preference = r.preference();
    out.push_back(std::move(info));
  }
  return out;
}

std::string ChooseInt8Backend(int32_t max_abs_weight, const std::string& requested) {
  if (requested != "auto") {
    const Int8BackendRow* r = FindRow(requested);
    KQ_CHECK(r != nullptr, kUnsupported)
        << "unknown int8 kernel '" << requested << "' (known: auto, " << RowNames() << ")";
    KQ_CHECK(r->available(), kUnsupported)
        << "int8 kernel '" << requested << "' is not available on this CPU / build";
    KQ_CHECK(max_abs_weight <= r->max_abs_weight(), kUnsupported)
        << "int8 kernel '" << requested << "' is exact only for |w| <= " << r->max_abs_weight()
        << " on this CPU, and these weights reach " << max_abs_weight
        << " (make 7-bit weights: calibrate --target=avx2, or quantize --target=avx2)";
    return r->name;
  }
  const Int8BackendRow* best = nullptr;
  for (const Int8BackendRow& r : Table()) {
    if (!r.available() || max_abs_weight > r.max_abs_weight()) continue;
    if (!best || r.preference() < best->preference()) best = &r;
  }
  return best->name;  // the reference row is always available and exact
}

Int8Gemm::Int8Gemm(int64_t n, int64_t k, const int8_t* w, int64_t ldw, int32_t w_zero_point,
                   const std::string& backend)
    : n_(n), k_(k), w_zero_point_(w_zero_point) {
  KQ_CHECK(n > 0 && k > 0 && ldw >= k, kInvalidArgument)
      << "Int8Gemm: bad shape n=" << n << " k=" << k << " ldw=" << ldw;
  std::vector<int8_t> dense(static_cast<size_t>(n * k));
  w_row_sums_.assign(static_cast<size_t>(n), 0);
  int32_t max_abs = 0;
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t p = 0; p < k; ++p) {
      int8_t v = w[j * ldw + p];
      dense[static_cast<size_t>(j * k + p)] = v;
      w_row_sums_[j] += v;
      max_abs = std::max(max_abs, std::abs(int32_t(v)));
    }
  }
  backend_ = ChooseInt8Backend(max_abs, backend);
  kernel_ = FindRow(backend_)->create(n_, k_, dense.data());
}

Int8Gemm::~Int8Gemm() = default;

void Int8Gemm::Compute(int64_t m, const uint8_t* x, int64_t ldx, int32_t x_zero_point,
                       const Requant& rq, void* out, int64_t ldout) const {
  if (m <= 0) return;
  KQ_CHECK(rq.output == Requant::Output::kS32 || rq.scale != nullptr, kInvalidArgument)
      << "Int8Gemm: requantization needs per-column scales";
  // Zero-point corrections: Σ(x − zx)(w − zw) = Σxw − zx·Σw − zw·Σx + k·zx·zw.
  // Per-thread scratch, grown and never shrunk: fresh multi-megabyte vectors per call cost
  // mmap + page faults + zero fills that were measured at ~25 % of an int8 forward pass.
  thread_local std::vector<int32_t> col_corr, acc, row_corr;
  if (col_corr.size() < static_cast<size_t>(n_)) col_corr.resize(static_cast<size_t>(n_));
  for (int64_t j = 0; j < n_; ++j)
    col_corr[j] = -x_zero_point * w_row_sums_[j] +
                  static_cast<int32_t>(k_) * x_zero_point * w_zero_point_;
  // Rows are processed in blocks so that the int32 accumulators stay in cache before the
  // epilogue reads them.
  const int64_t kBlock = 128;
  const size_t acc_size = static_cast<size_t>(std::min(m, kBlock) * n_);
  if (acc.size() < acc_size) acc.resize(acc_size);
  size_t out_elem = rq.output == Requant::Output::kU8 || rq.output == Requant::Output::kS8 ? 1 : 4;
  for (int64_t r0 = 0; r0 < m; r0 += kBlock) {
    const int64_t rows = std::min(kBlock, m - r0);
    const uint8_t* xb = x + r0 * ldx;
    kernel_->Run(rows, xb, ldx, acc.data());
    const int32_t* rc = nullptr;
    if (w_zero_point_ != 0) {
      if (row_corr.size() < static_cast<size_t>(rows)) row_corr.resize(static_cast<size_t>(rows));
      for (int64_t i = 0; i < rows; ++i) {
        int32_t s = 0;
        for (int64_t p = 0; p < k_; ++p) s += xb[i * ldx + p];
        row_corr[i] = -w_zero_point_ * s;
      }
      rc = row_corr.data();
    }
    void* ob = static_cast<char*>(out) + static_cast<size_t>(r0 * ldout) * out_elem;
    RequantizeRows(rows, n_, acc.data(), n_, col_corr.data(), rc, rq, ob, ldout);
  }
}

}  // namespace kaldiq::kernels
