#include "kernels/gemm_f32.h"

#include <cblas.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "util/error.h"

namespace kaldiq::kernels {

namespace {
// OpenBLAS is used single-threaded (see header); set once before the first call.
struct OpenBlasSingleThread {
  OpenBlasSingleThread() { openblas_set_num_threads(1); }
};
}  // namespace

void GemmF32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  static OpenBlasSingleThread once;
  (void)once;
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              accumulate ? 1.0f : 0.0f, c, static_cast<int>(ldc));
}

void GemmF32KN(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  static OpenBlasSingleThread once;
  (void)once;
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              accumulate ? 1.0f : 0.0f, c, static_cast<int>(ldc));
}

void GemmF32Ref(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = accumulate ? c[i * ldc + j] : 0.0;
      for (int64_t p = 0; p < k; ++p) sum += double(a[i * lda + p]) * double(b[j * ldb + p]);
      c[i * ldc + j] = static_cast<float>(sum);
    }
  }
}

}  // namespace kaldiq::kernels

// ---- PackedLinearF32 backends -------------------------------------------------------------

namespace kaldiq::kernels {

namespace {

void BiasRelu(const std::vector<float>& bias, bool relu, int64_t m, int64_t n, float* y,
              int64_t ldy) {
  if (bias.empty() && !relu) return;
  for (int64_t r = 0; r < m; ++r) {
    float* row = y + r * ldy;
    if (!bias.empty())
      for (int64_t c = 0; c < n; ++c) row[c] += bias[c];
    if (relu)
      for (int64_t c = 0; c < n; ++c) row[c] = std::max(row[c], 0.0f);
  }
}

class OpenBlasLinear : public PackedLinearF32::Impl {
 public:
  OpenBlasLinear(int64_t n, int64_t k, const float* w, const float* bias, bool relu)
      : n_(n), k_(k), relu_(relu), wt_(static_cast<size_t>(n * k)) {
    for (int64_t o = 0; o < n; ++o)
      for (int64_t i = 0; i < k; ++i) wt_[i * n + o] = w[o * k + i];
    if (bias) bias_.assign(bias, bias + n);
  }
  void Run(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const override {
    GemmF32KN(m, n_, k_, x, ldx, wt_.data(), n_, y, ldy, false);
    BiasRelu(bias_, relu_, m, n_, y, ldy);
  }

 private:
  int64_t n_, k_;
  bool relu_;
  std::vector<float> wt_;  // K×N
  std::vector<float> bias_;
};

class RefLinear : public PackedLinearF32::Impl {
 public:
  RefLinear(int64_t n, int64_t k, const float* w, const float* bias, bool relu)
      : n_(n), k_(k), relu_(relu), w_(w, w + n * k) {
    if (bias) bias_.assign(bias, bias + n);
  }
  void Run(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const override {
    GemmF32Ref(m, n_, k_, x, ldx, w_.data(), k_, y, ldy, false);
    BiasRelu(bias_, relu_, m, n_, y, ldy);
  }

 private:
  int64_t n_, k_;
  bool relu_;
  std::vector<float> w_;  // N×K
  std::vector<float> bias_;
};

}  // namespace

std::vector<std::string> F32BackendNames() {
  std::vector<std::string> names = {"reference"};
  if (DnnlF32Available()) names.push_back("onednn");
  names.push_back("openblas");
  return names;
}

std::string ChooseF32Backend(int64_t n, int64_t k, const std::string& requested) {
  if (requested != "auto") {
    for (const std::string& b : F32BackendNames())
      if (b == requested) return b;
    std::string known;
    for (const std::string& b : F32BackendNames()) known += ", " + b;
    KQ_THROW(kUnsupported) << "unknown or unavailable fp32 kernel '" << requested
                           << "' (known: auto" << known << ")";
  }
  // Measured (bench/README.md, "fp32 backend per ISA and shape"): with AVX-512 oneDNN's
  // kernels are ~2x OpenBLAS 0.3.21's AVX2 ones on every fixture shape. On AVX2 (Zen 3) OpenBLAS
  // is 1.1–1.3x faster for wide outputs (n ≥ 1024: TDNN-F's 320 → 1536 affine, the 1536-unit
  // first layer, the 4664 / 6016-pdf output layers) and for the 1875 → 625 TDNN layers, oneDNN
  // 1.1–1.4x for the narrower ones (TDNN-F's 3072 → 160 linear, 625 → 625, 256 → 968).
  if (!DnnlF32Available()) return "openblas";
  if (DnnlF32UsesAvx512()) return "onednn";
  return n >= 1024 || (k >= 1536 && n >= 512) ? "openblas" : "onednn";
}

PackedLinearF32::PackedLinearF32(int64_t n, int64_t k, const float* w, const float* bias,
                                 bool relu, const std::string& backend)
    : backend_(ChooseF32Backend(n, k, backend)) {
  KQ_CHECK(n > 0 && k > 0, kInvalidArgument) << "PackedLinearF32: bad shape " << n << "x" << k;
  if (backend_ == "onednn") {
    impl_ = CreateDnnlLinearF32(n, k, w, bias, relu);
  } else if (backend_ == "openblas") {
    impl_ = std::make_unique<OpenBlasLinear>(n, k, w, bias, relu);
  } else {
    impl_ = std::make_unique<RefLinear>(n, k, w, bias, relu);
  }
}

PackedLinearF32::~PackedLinearF32() = default;

}  // namespace kaldiq::kernels
