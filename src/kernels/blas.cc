#include "kernels/blas.h"

#include <cblas.h>

namespace kaldiq::kernels {

namespace {

struct OpenBlasSingleThread {
  OpenBlasSingleThread() { openblas_set_num_threads(1); }
};

CBLAS_TRANSPOSE ToCblas(Trans t) { return t == Trans::kYes ? CblasTrans : CblasNoTrans; }

}  // namespace

void Sgemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  static OpenBlasSingleThread once;
  (void)once;
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS would still scale C; do the same without reading A or B
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  cblas_sgemm(CblasRowMajor, ToCblas(trans_a), ToCblas(trans_b), static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

void SgemmRef(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
              int64_t ldc) {
  const bool ta = trans_a == Trans::kYes, tb = trans_b == Trans::kYes;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double x = ta ? a[p * lda + i] : a[i * lda + p];
        const double y = tb ? b[j * ldb + p] : b[p * ldb + j];
        sum += x * y;
      }
      float& out = c[i * ldc + j];
      out = static_cast<float>(double(alpha) * sum + (beta == 0.0f ? 0.0 : double(beta) * out));
    }
  }
}

}  // namespace kaldiq::kernels
