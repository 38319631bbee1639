#include "kaldi/cmvn.h"

#include <cmath>
#include <cstdio>

#include "util/error.h"

// Mirrors Kaldi's arithmetic types: products of features are taken in float and accumulated
// in double; offsets/scales are computed in double and stored as float; the features are
// updated in float. Compiled with -ffp-contract=off (see CMakeLists.txt).

namespace kaldiq::kaldi {

void InitCmvnStats(int64_t dim, MatrixD* stats) { stats->Resize(2, dim + 1); }

void AccCmvnStats(const MatrixF& feats, const std::vector<float>* weights, MatrixD* stats) {
  const int64_t dim = feats.cols();
  if (stats->rows() == 0 && stats->cols() == 0) InitCmvnStats(dim, stats);
  KQ_CHECK(stats->rows() == 2 && stats->cols() == dim + 1, kInvalidArgument)
      << "CMVN stats are " << stats->rows() << " x " << stats->cols() << ", features have dim "
      << dim;
  KQ_CHECK(weights == nullptr || static_cast<int64_t>(weights->size()) == feats.rows(),
           kInvalidArgument)
      << "weights have " << (weights ? weights->size() : 0) << " entries, features "
      << feats.rows() << " frames";
  double* mean = stats->Row(0);
  double* var = stats->Row(1);
  for (int64_t r = 0; r < feats.rows(); ++r) {
    float w = weights == nullptr ? 1.0f : (*weights)[r];
    if (w == 0.0f) continue;
    const float* f = feats.Row(r);
    mean[dim] += w;
    for (int64_t d = 0; d < dim; ++d) {
      mean[d] += f[d] * w;       // float product, double sum (as Kaldi)
      var[d] += f[d] * f[d] * w;
    }
  }
}

namespace {
double CheckedCount(const MatrixD& stats, const MatrixF& feats, bool norm_vars) {
  const int64_t dim = stats.cols() - 1;
  KQ_CHECK(stats.rows() >= 1 && stats.rows() <= 2 && feats.cols() == dim, kInvalidArgument)
      << "dimension mismatch: CMVN stats " << stats.rows() << "x" << stats.cols() << ", features "
      << feats.rows() << "x" << feats.cols();
  KQ_CHECK(!(stats.rows() == 1 && norm_vars), kInvalidArgument)
      << "variance normalization requested but no variance stats are supplied";
  double count = stats(0, dim);
  KQ_CHECK(count >= 1.0, kInvalidArgument)
      << "insufficient stats for cepstral mean and variance normalization: count = " << count;
  return count;
}

double FlooredVariance(const MatrixD& stats, int64_t d, double count, double mean) {
  double var = (stats(1, d) / count) - mean * mean;
  const double floor = 1.0e-20;
  if (var < floor) {
    std::fprintf(stderr, "kaldiq: warning: flooring cepstral variance from %g to %g\n", var, floor);
    var = floor;
  }
  return var;
}
}  // namespace

void ApplyCmvn(const MatrixD& stats, bool norm_vars, MatrixF* feats) {
  double count = CheckedCount(stats, *feats, norm_vars);
  const int64_t dim = feats->cols();
  std::vector<float> offset(dim), scale(dim, 1.0f);
  if (!norm_vars) {
    // Kaldi: offset.AddVec(-1.0 / count, mean_stats) with a float alpha and double stats.
    const float alpha = static_cast<float>(-1.0 / count);
    for (int64_t d = 0; d < dim; ++d) offset[d] = static_cast<float>(0.0f + alpha * stats(0, d));
  } else {
    for (int64_t d = 0; d < dim; ++d) {
      double mean = stats(0, d) / count;
      double var = FlooredVariance(stats, d, count, mean);
      double s = 1.0 / std::sqrt(var);
      KQ_CHECK(s == s && 1 / s != 0.0, kInvalidArgument)
          << "NaN or infinity in cepstral mean/variance computation";
      offset[d] = static_cast<float>(-(mean * s));
      scale[d] = static_cast<float>(s);
    }
  }
  for (int64_t r = 0; r < feats->rows(); ++r) {
    float* f = feats->Row(r);
    if (norm_vars) {
      for (int64_t d = 0; d < dim; ++d) f[d] *= scale[d];
    }
    for (int64_t d = 0; d < dim; ++d) f[d] += offset[d];
  }
}

void ApplyCmvnReverse(const MatrixD& stats, bool norm_vars, MatrixF* feats) {
  double count = CheckedCount(stats, *feats, norm_vars);
  const int64_t dim = feats->cols();
  std::vector<float> offset(dim), scale(dim, 1.0f);
  for (int64_t d = 0; d < dim; ++d) {
    double mean = stats(0, d) / count;
    offset[d] = static_cast<float>(mean);
    if (norm_vars) scale[d] = static_cast<float>(std::sqrt(FlooredVariance(stats, d, count, mean)));
  }
  for (int64_t r = 0; r < feats->rows(); ++r) {
    float* f = feats->Row(r);
    if (norm_vars) {
      for (int64_t d = 0; d < dim; ++d) f[d] *= scale[d];
    }
    for (int64_t d = 0; d < dim; ++d) f[d] += offset[d];
  }
}

}  // namespace kaldiq::kaldi
