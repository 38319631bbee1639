#include "kernels/gemm_f32_rowstable.h"

#include "kernels/multiversion.h"

namespace kaldiq::kernels {

namespace {

inline float Combine(const float* s) {
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

}  // namespace

KQ_MULTIVERSION
void GemmF32RowStable(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                      const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const int64_t k8 = k - k % 8;
  for (int64_t i = 0; i < m; ++i) {
    const float* ar = a + i * lda;
    float* cr = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) {
      const float* br = b + j * ldb;
      float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t p = 0; p < k8; p += 8) {
        for (int l = 0; l < 8; ++l) s[l] += ar[p + l] * br[p + l];
      }
      float tail = 0.0f;
      for (int64_t p = k8; p < k; ++p) tail += ar[p] * br[p];
      const float dot = Combine(s) + tail;
      cr[j] = accumulate ? cr[j] + dot : dot;
    }
  }
}

void GemmF32RowStableRef(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                         const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const int64_t k8 = k - k % 8;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t p = 0; p < k8; ++p) {
        const float prod = a[i * lda + p] * b[j * ldb + p];
        s[p % 8] = s[p % 8] + prod;
      }
      float tail = 0.0f;
      for (int64_t p = k8; p < k; ++p) tail = tail + a[i * lda + p] * b[j * ldb + p];
      const float dot = Combine(s) + tail;
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + dot : dot;
    }
  }
}

}  // namespace kaldiq::kernels
