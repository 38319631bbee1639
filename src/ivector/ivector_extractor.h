// The i-vector extractor (Kaldi's IvectorExtractor, ivector/ivector-extractor.cc) as the online
// estimator needs it, and Kaldi's OnlineIvectorEstimationStats: the running linear and
// quadratic terms of the i-vector posterior from which an i-vector is estimated at any point.
//
// Model: Gaussian g has mean M_g w (M_g is D x I; no separate offset: i-vector dimension 0 has
// prior mean `prior_offset`, so M_g's first column carries the UBM mean) and inverse covariance
// Sigma_g^-1. Derived at load, in double: U_g = M_g' Sigma_g^-1 M_g (packed I x I) and
// Sigma_g^-1 M_g (D x I).
//
// Stats (prior included): linear b = [o, 0, ...] + sum_t,g gamma_tg M_g' Sigma_g^-1 y_t,
// quadratic A = I + sum_t,g gamma_tg U_g, count = sum gamma. The raw feature y_t is used (no UBM
// mean is subtracted). With max_count m > 0 the prior is re-weighted by max(count, m) / m as the
// count grows (Kaldi's long-utterance safeguard). The i-vector is the solution of A w = b by
// LinearCgd warm-started from the previous estimate; outputs subtract o from dimension 0.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "kaldi/ivector_model_io.h"

namespace kaldiq::ivector {

class IvectorExtractor {
 public:
  // Computes the derived quantities on num_threads threads (one Gaussian per task; the result
  // does not depend on the thread count). Throws kaldiq::Error: kUnsupported for an extractor
  // with i-vector-dependent weights (<w> non-empty; Kaldi's online estimator refuses them too),
  // kFormat for inconsistent dimensions.
  explicit IvectorExtractor(const kaldi::IvectorExtractorFile& file, int num_threads = 1);

  int32_t FeatDim() const { return feat_dim_; }
  int32_t IvectorDim() const { return ivector_dim_; }
  int32_t NumGauss() const { return num_gauss_; }
  double PriorOffset() const { return prior_offset_; }
  // U_g, packed (IvectorDim() * (IvectorDim() + 1) / 2 values).
  const double* U(int32_t g) const { return u_.data() + static_cast<size_t>(g) * u_size_; }
  // Sigma_g^-1 M_g, row-major FeatDim() x IvectorDim().
  const double* SigmaInvM(int32_t g) const {
    return sigma_inv_m_.data() + static_cast<size_t>(g) * feat_dim_ * ivector_dim_;
  }

 private:
  int32_t feat_dim_ = 0, ivector_dim_ = 0, num_gauss_ = 0;
  size_t u_size_ = 0;
  double prior_offset_ = 0;
  std::vector<double> u_;            // G x packed(I)
  std::vector<double> sigma_inv_m_;  // G x D x I
};

// Gaussian posteriors of one frame: (Gaussian index, weight) pairs.
using GaussPost = std::vector<std::pair<int32_t, float>>;

class OnlineIvectorEstimationStats {
 public:
  // Kaldi passes the prior offset and max-count as BaseFloat; they are rounded to float here too.
  OnlineIvectorEstimationStats(int32_t ivector_dim, float prior_offset, float max_count);

  // Adds frames t = 0..n-1 (feature row t at feats + t * stride, dimension extractor.FeatDim())
  // with posteriors posts[t] (any sign; zero weights are skipped). The frames are summed per
  // Gaussian first (Kaldi's batched AccStats).
  void AccStats(const IvectorExtractor& extractor, const float* feats, int64_t stride,
                const std::vector<GaussPost>& posts);

  // Multiplies the data part of the stats by scale in [0, 1] and restores the prior term
  // (Kaldi's Scale, used to forget old adaptation data).
  void Scale(double scale);

  // Re-estimates the i-vector (with the prior offset still in dimension 0) into ivector, which
  // holds the previous estimate on entry: LinearCgd with num_cg_iters iterations (if its first
  // entry is 0 it starts from [prior_offset, ...]); with no data, [prior_offset, 0, ...].
  void GetIvector(int32_t num_cg_iters, double* ivector) const;

  // Objective-function change per frame from the default [prior_offset, 0, ...] to ivector
  // (diagnostics, as Kaldi prints them).
  double ObjfChange(const double* ivector) const;

  int32_t IvectorDim() const { return dim_; }
  double NumFrames() const { return num_frames_; }
  double Count() const { return num_frames_; }
  double PriorOffset() const { return prior_offset_; }
  double MaxCount() const { return max_count_; }
  const std::vector<double>& linear_term() const { return linear_; }
  const std::vector<double>& quadratic_term() const { return quadratic_; }  // packed

 private:
  double Objf(const double* ivector) const;
  double DefaultObjf() const;

  int32_t dim_ = 0;
  double prior_offset_ = 0, max_count_ = 0, num_frames_ = 0;
  std::vector<double> quadratic_;  // packed
  std::vector<double> linear_;
  // AccStats scratch: per-Gaussian occupancy and weighted feature sums.
  std::vector<double> gamma_scratch_, x_scratch_;
  std::vector<int32_t> touched_scratch_;
};

}  // namespace kaldiq::ivector
