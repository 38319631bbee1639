#include "kernels/gemm_f32.h"

#include <cblas.h>

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
