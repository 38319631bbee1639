// The diagonal-covariance UBM of online i-vector extraction (Kaldi's DiagGmm, gmm/diag-gmm.cc)
// and the Gaussian selection that turns its log-likelihoods into pruned posteriors
// (hmm/posterior.cc: VectorToPosteriorEntry).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/matrix.h"
#include "kaldi/ivector_model_io.h"

namespace kaldiq::ivector {

class DiagGmm {
 public:
  // Recomputes the gconsts as Kaldi does at load (the stored ones are ignored):
  // gconst_g = log w_g - D/2 log 2pi + sum_d (log iv_gd - mi_gd^2 / iv_gd) / 2, in float with
  // Kaldi's float/double mixing. Throws kaldiq::Error (kFormat) for a negative weight, or a NaN
  // gconst (e.g. a non-positive inverse variance).
  explicit DiagGmm(const kaldi::DiagGmmFile& file);

  int32_t NumGauss() const { return num_gauss_; }
  int32_t Dim() const { return dim_; }
  const std::vector<float>& gconsts() const { return gconsts_; }

  // loglikes[t][g] = gconst_g + mi_g . x_t - 0.5 iv_g . x_t^2 for the n frames of `feats` (row
  // stride `stride`), into `out` (n x NumGauss(), contiguous). Float arithmetic like Kaldi's,
  // in a row-stable order (kernels/gemm_f32_rowstable.h): a frame's values do not depend on
  // how many frames are computed together, so streaming equals whole-utterance bit for bit.
  void LogLikelihoods(const float* feats, int64_t n, int64_t stride, float* out) const;

 private:
  int32_t num_gauss_ = 0, dim_ = 0;
  std::vector<float> gconsts_;
  MatrixF means_invvars_;       // G x D
  MatrixF neg_half_inv_vars_;   // G x D, -0.5 * inverse variances (exact in float)
};

// Kaldi's VectorToPosteriorEntry: keeps the Gaussians whose log-likelihood exceeds max +
// log(min_post) (all of them when min_post is 0 or none passes), the best num_gselect of those,
// then drops from the worst end while a posterior is below min_post times the kept total
// (always keeping one); writes (index, posterior) pairs summing to one, best first, and returns
// max + log(kept total) (the frame's log-likelihood under the pruned mixture).
float VectorToPosteriorEntry(const float* loglikes, int32_t num_gauss, int32_t num_gselect,
                             float min_post, std::vector<std::pair<int32_t, float>>* post);

}  // namespace kaldiq::ivector
