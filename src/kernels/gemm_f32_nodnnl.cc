// PackedLinearF32 without oneDNN: OpenBLAS on a K×N copy of the weights, then bias and ReLU.
#include <algorithm>
#include <vector>

#include "kernels/gemm_f32.h"

namespace kaldiq::kernels {

struct PackedLinearF32::Impl {
  int64_t n, k;
  std::vector<float> wt;  // K×N
  std::vector<float> bias;
  bool relu;
};

PackedLinearF32::PackedLinearF32(int64_t n, int64_t k, const float* w, const float* bias,
                                 bool relu)
    : impl_(std::make_unique<Impl>()) {
  impl_->n = n;
  impl_->k = k;
  impl_->relu = relu;
  impl_->wt.resize(static_cast<size_t>(n * k));
  for (int64_t o = 0; o < n; ++o)
    for (int64_t i = 0; i < k; ++i) impl_->wt[i * n + o] = w[o * k + i];
  if (bias) impl_->bias.assign(bias, bias + n);
}

PackedLinearF32::~PackedLinearF32() = default;

void PackedLinearF32::Run(int64_t m, const float* x, int64_t ldx, float* y, int64_t ldy) const {
  const int64_t n = impl_->n;
  GemmF32KN(m, n, impl_->k, x, ldx, impl_->wt.data(), n, y, ldy, false);
  if (impl_->bias.empty() && !impl_->relu) return;
  for (int64_t r = 0; r < m; ++r) {
    float* row = y + r * ldy;
    if (!impl_->bias.empty())
      for (int64_t c = 0; c < n; ++c) row[c] += impl_->bias[c];
    if (impl_->relu)
      for (int64_t c = 0; c < n; ++c) row[c] = std::max(row[c], 0.0f);
  }
}

const char* PackedLinearF32::Backend() { return "openblas"; }

}  // namespace kaldiq::kernels
