#include "ivector/ivector_extractor.h"

#include <algorithm>
#include <cmath>

#include "ivector/linear_cgd.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace kaldiq::ivector {

IvectorExtractor::IvectorExtractor(const kaldi::IvectorExtractorFile& file, int num_threads) {
  KQ_CHECK(file.w.rows() == 0, kUnsupported)
      << "the i-vector extractor has i-vector-dependent weights (<w> is " << file.w.rows() << " x "
      << file.w.cols() << "); online i-vector estimation needs one trained with "
      << "--use-weights=false";
  num_gauss_ = file.NumGauss();
  feat_dim_ = file.FeatDim();
  ivector_dim_ = file.IvectorDim();
  KQ_CHECK(num_gauss_ >= 1 && feat_dim_ >= 1 && ivector_dim_ >= 1 &&
               file.sigma_inv.size() == file.M.size(),
           kFormat)
      << "i-vector extractor: inconsistent dimensions (" << file.M.size() << " <M>, "
      << file.sigma_inv.size() << " <SigmaInv>)";
  for (int32_t g = 0; g < num_gauss_; ++g) {
    KQ_CHECK(file.M[g].rows() == feat_dim_ && file.M[g].cols() == ivector_dim_ &&
                 file.sigma_inv[g].dim == feat_dim_ &&
                 static_cast<int64_t>(file.sigma_inv[g].data.size()) == PackedSize(feat_dim_),
             kFormat)
        << "i-vector extractor: Gaussian " << g << " has inconsistent dimensions";
  }
  KQ_CHECK(std::isfinite(file.prior_offset), kFormat)
      << "i-vector extractor: prior offset is " << file.prior_offset;
  prior_offset_ = file.prior_offset;
  const int64_t D = feat_dim_, I = ivector_dim_;
  u_size_ = static_cast<size_t>(PackedSize(I));
  u_.assign(static_cast<size_t>(num_gauss_) * u_size_, 0.0);
  sigma_inv_m_.assign(static_cast<size_t>(num_gauss_ * D * I), 0.0);
  ParallelFor(num_gauss_, std::max(1, num_threads), [&](int64_t g, int) {
    const double* sp = file.sigma_inv[g].data.data();
    const double* m = file.M[g].data();
    // Sigma^-1 (full) then S = Sigma^-1 M.
    std::vector<double> full(static_cast<size_t>(D * D));
    for (int64_t i = 0; i < D; ++i) {
      for (int64_t j = 0; j <= i; ++j) {
        double v = sp[PackedSize(i) + j];
        full[i * D + j] = v;
        full[j * D + i] = v;
      }
    }
    double* s = sigma_inv_m_.data() + g * D * I;
    for (int64_t d = 0; d < D; ++d) {
      double* srow = s + d * I;
      for (int64_t e = 0; e < D; ++e) {
        const double f = full[d * D + e];
        const double* mrow = m + e * I;
        for (int64_t i = 0; i < I; ++i) srow[i] += f * mrow[i];
      }
    }
    // U = M' S, lower triangle packed.
    double* u = u_.data() + g * u_size_;
    for (int64_t d = 0; d < D; ++d) {
      const double* mrow = m + d * I;
      const double* srow = s + d * I;
      for (int64_t i = 0; i < I; ++i) {
        double* urow = u + PackedSize(i);
        const double mi = mrow[i];
        for (int64_t j = 0; j <= i; ++j) urow[j] += mi * srow[j];
      }
    }
  });
}

OnlineIvectorEstimationStats::OnlineIvectorEstimationStats(int32_t ivector_dim,
                                                           float prior_offset, float max_count)
    : dim_(ivector_dim), prior_offset_(prior_offset), max_count_(max_count) {
  KQ_CHECK(ivector_dim >= 0, kInvalidArgument) << "negative i-vector dimension";
  quadratic_.assign(static_cast<size_t>(PackedSize(dim_)), 0.0);
  linear_.assign(static_cast<size_t>(dim_), 0.0);
  if (dim_ != 0) {
    linear_[0] += prior_offset_;
    AddToDiag(dim_, 1.0, quadratic_.data());
  }
}

void OnlineIvectorEstimationStats::AccStats(const IvectorExtractor& extractor, const float* feats,
                                            int64_t stride, const std::vector<GaussPost>& posts) {
  KQ_CHECK(extractor.IvectorDim() == dim_, kInvalidArgument)
      << "i-vector stats of dimension " << dim_ << " used with an extractor of dimension "
      << extractor.IvectorDim();
  const int32_t G = extractor.NumGauss();
  const int64_t D = extractor.FeatDim(), I = dim_;
  if (gamma_scratch_.size() != static_cast<size_t>(G)) {
    gamma_scratch_.assign(static_cast<size_t>(G), 0.0);
    x_scratch_.assign(static_cast<size_t>(G * D), 0.0);
  }
  std::vector<char> seen(static_cast<size_t>(G), 0);
  touched_scratch_.clear();
  for (size_t t = 0; t < posts.size(); ++t) {
    const float* y = feats + static_cast<int64_t>(t) * stride;
    for (const auto& [g, w] : posts[t]) {
      KQ_CHECK(g >= 0 && g < G, kInvalidArgument) << "Gaussian index " << g << " out of range";
      if (w == 0.0f) continue;
      const double weight = w;
      if (!seen[g]) {
        seen[g] = 1;
        touched_scratch_.push_back(g);
      }
      gamma_scratch_[g] += weight;
      double* x = x_scratch_.data() + g * D;
      for (int64_t d = 0; d < D; ++d) x[d] += weight * y[d];
    }
  }
  std::sort(touched_scratch_.begin(), touched_scratch_.end());
  double tot_weight = 0.0;
  for (int32_t g : touched_scratch_) {
    const double gamma = gamma_scratch_[g];
    double* x = x_scratch_.data() + g * D;
    const double* sm = extractor.SigmaInvM(g);
    for (int64_t d = 0; d < D; ++d) {  // linear += (Sigma^-1 M)' x
      const double xd = x[d];
      const double* row = sm + d * I;
      for (int64_t i = 0; i < I; ++i) linear_[i] += row[i] * xd;
    }
    const double* u = extractor.U(g);
    for (size_t k = 0; k < quadratic_.size(); ++k) quadratic_[k] += gamma * u[k];
    tot_weight += gamma;
    gamma_scratch_[g] = 0.0;
    std::fill(x, x + D, 0.0);
  }
  if (max_count_ > 0.0) {
    // The prior weight is max(count, max_count) / max_count: add its change to the prior term
    // instead of scaling the data down.
    const double old_scale = std::max(num_frames_, max_count_) / max_count_;
    const double new_scale = std::max(num_frames_ + tot_weight, max_count_) / max_count_;
    const double change = new_scale - old_scale;
    if (change != 0.0) {
      linear_[0] += prior_offset_ * change;
      AddToDiag(dim_, change, quadratic_.data());
    }
  }
  num_frames_ += tot_weight;
}

void OnlineIvectorEstimationStats::Scale(double scale) {
  KQ_CHECK(scale >= 0.0 && scale <= 1.0, kInvalidArgument)
      << "i-vector stats scale " << scale << " is not in [0, 1]";
  const double old_num_frames = num_frames_;
  num_frames_ *= scale;
  for (double& q : quadratic_) q *= scale;
  for (double& l : linear_) l *= scale;
  if (dim_ == 0) return;
  if (max_count_ == 0.0) {
    linear_[0] += prior_offset_ * (1.0 - scale);
    AddToDiag(dim_, 1.0 - scale, quadratic_.data());
  } else {
    const double old_prior_scale = scale * std::max(old_num_frames, max_count_) / max_count_;
    const double new_prior_scale = std::max(num_frames_, max_count_) / max_count_;
    linear_[0] += prior_offset_ * (new_prior_scale - old_prior_scale);
    AddToDiag(dim_, new_prior_scale - old_prior_scale, quadratic_.data());
  }
}

void OnlineIvectorEstimationStats::GetIvector(int32_t num_cg_iters, double* ivector) const {
  if (dim_ == 0) return;
  if (num_frames_ > 0.0) {
    if (ivector[0] == 0.0) ivector[0] = prior_offset_;  // a better initial guess
    LinearCgd(num_cg_iters, dim_, quadratic_.data(), linear_.data(), ivector);
  } else {
    std::fill(ivector, ivector + dim_, 0.0);
    ivector[0] = prior_offset_;
  }
}

double OnlineIvectorEstimationStats::Objf(const double* ivector) const {
  if (num_frames_ == 0.0) return 0.0;
  double lin = 0.0;
  for (int32_t i = 0; i < dim_; ++i) lin += ivector[i] * linear_[i];
  return (1.0 / num_frames_) * (-0.5 * VecSpVec(dim_, quadratic_.data(), ivector) + lin);
}

double OnlineIvectorEstimationStats::DefaultObjf() const {
  if (num_frames_ == 0.0 || dim_ == 0) return 0.0;
  const double x = prior_offset_;
  return (1.0 / num_frames_) * (-0.5 * quadratic_[0] * x * x + x * linear_[0]);
}

double OnlineIvectorEstimationStats::ObjfChange(const double* ivector) const {
  return Objf(ivector) - DefaultObjf();
}

}  // namespace kaldiq::ivector
