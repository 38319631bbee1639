#include "ivector/diag_gmm.h"

#include <algorithm>
#include <cmath>

#include "kernels/gemm_f32_rowstable.h"
#include "util/error.h"

namespace kaldiq::ivector {

namespace {
constexpr double kLog2Pi = 1.8378770664093454835606594728112;  // Kaldi's M_LOG_2PI

// Kaldi's CompareReverseSecond: sorts by decreasing posterior.
struct ReverseSecond {
  bool operator()(const std::pair<int32_t, float>& a, const std::pair<int32_t, float>& b) const {
    return a.second > b.second;
  }
};
}  // namespace

DiagGmm::DiagGmm(const kaldi::DiagGmmFile& file)
    : num_gauss_(file.NumGauss()),
      dim_(file.Dim()),
      means_invvars_(file.means_invvars),
      neg_half_inv_vars_(file.inv_vars) {
  KQ_CHECK(num_gauss_ >= 1 && dim_ >= 1 && file.means_invvars.rows() == num_gauss_ &&
               file.means_invvars.cols() == dim_ && file.inv_vars.rows() == num_gauss_ &&
               (file.gconsts.empty() || file.gconsts.size() == file.weights.size()),
           kFormat)
      << "DiagGmm: inconsistent dimensions";
  gconsts_.resize(static_cast<size_t>(num_gauss_));
  const float offset = static_cast<float>(-0.5 * kLog2Pi * dim_);
  for (int32_t g = 0; g < num_gauss_; ++g) {
    const float w = file.weights[g];
    KQ_CHECK(w >= 0.0f, kFormat) << "DiagGmm: Gaussian " << g << " has a negative weight " << w;
    float gc = std::log(w) + offset;  // -inf for a zero weight
    const float* mi = file.means_invvars.Row(g);
    const float* iv = file.inv_vars.Row(g);
    for (int32_t d = 0; d < dim_; ++d) {
      gc += 0.5 * std::log(iv[d]) - 0.5 * mi[d] * mi[d] / iv[d];
    }
    KQ_CHECK(!std::isnan(gc), kFormat)
        << "DiagGmm: at component " << g
        << ", not a number in gconst computation (non-positive inverse variance?)";
    if (std::isinf(gc) && gc > 0) gc = -gc;
    gconsts_[g] = gc;
  }
  for (int64_t i = 0; i < neg_half_inv_vars_.size(); ++i) neg_half_inv_vars_.data()[i] *= -0.5f;
}

void DiagGmm::LogLikelihoods(const float* feats, int64_t n, int64_t stride, float* out) const {
  if (n == 0) return;
  const int64_t G = num_gauss_, D = dim_;
  for (int64_t t = 0; t < n; ++t) std::copy(gconsts_.begin(), gconsts_.end(), out + t * G);
  kernels::GemmF32RowStable(n, G, D, feats, stride, means_invvars_.data(), D, out, G, /*accumulate=*/true);
  std::vector<float> sq(static_cast<size_t>(n * D));
  for (int64_t t = 0; t < n; ++t) {
    const float* x = feats + t * stride;
    float* s = sq.data() + t * D;
    for (int64_t d = 0; d < D; ++d) s[d] = x[d] * x[d];
  }
  kernels::GemmF32RowStable(n, G, D, sq.data(), D, neg_half_inv_vars_.data(), D, out, G,
                   /*accumulate=*/true);
}

float VectorToPosteriorEntry(const float* loglikes, int32_t num_gauss, int32_t num_gselect,
                             float min_post, std::vector<std::pair<int32_t, float>>* post) {
  KQ_CHECK(num_gselect > 0 && min_post >= 0.0f && min_post < 1.0f && num_gauss > 0,
           kInvalidArgument)
      << "Gaussian selection needs num-gselect > 0 and 0 <= min-post < 1";
  if (num_gselect > num_gauss) num_gselect = num_gauss;
  const float max_like = *std::max_element(loglikes, loglikes + num_gauss);
  std::vector<std::pair<int32_t, float>> temp;
  temp.reserve(static_cast<size_t>(num_gauss));
  if (min_post != 0.0f) {
    const float cutoff = max_like + std::log(min_post);
    for (int32_t g = 0; g < num_gauss; ++g) {
      const float like = loglikes[g];
      if (like > cutoff) temp.emplace_back(g, std::exp(like - max_like));
    }
  }
  if (temp.empty()) {  // min_post was 0 or nothing passed the threshold: we need one
    for (int32_t g = 0; g < num_gauss; ++g) temp.emplace_back(g, std::exp(loglikes[g] - max_like));
  }
  // The same library calls as Kaldi, so that ties resolve identically.
  ReverseSecond compare;
  if (static_cast<int32_t>(temp.size()) > num_gselect * 2) {
    std::nth_element(temp.begin(), temp.begin() + num_gselect, temp.end(), compare);
    std::sort(temp.begin(), temp.begin() + num_gselect, compare);
  } else {
    std::sort(temp.begin(), temp.end(), compare);
  }
  const size_t keep = std::min<size_t>(temp.size(), static_cast<size_t>(num_gselect));
  post->assign(temp.begin(), temp.begin() + keep);
  float tot = 0.0f;
  for (const auto& p : *post) tot += p.second;
  const float cutoff = min_post * tot;
  while (post->size() > 1 && post->back().second < cutoff) {
    tot -= post->back().second;
    post->pop_back();
  }
  const float inv_tot = static_cast<float>(1.0 / tot);
  for (auto& p : *post) p.second *= inv_tot;
  return static_cast<float>(max_like + std::log(tot));
}

}  // namespace kaldiq::ivector
