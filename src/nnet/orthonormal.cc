#include "nnet/orthonormal.h"

#include <cmath>
#include <vector>

#include "util/error.h"

namespace kaldiq::nnet {

namespace {

// M is rows × cols (rows ≤ cols) in double, row-major.
void ConstrainInternal(double constraint, int64_t rows, int64_t cols, std::vector<double>* m) {
  std::vector<double>& M = *m;
  std::vector<double> P(static_cast<size_t>(rows * rows), 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      for (int64_t k = 0; k < cols; ++k) s += M[i * cols + k] * M[j * cols + k];
      P[i * rows + j] = P[j * rows + i] = s;
    }
  double nu = 0.125, scale = constraint;
  if (constraint < 0) {
    double trace_p = 0, trace_pp = 0;
    for (int64_t i = 0; i < rows; ++i) trace_p += P[i * rows + i];
    for (double v : P) trace_pp += v * v;
    if (trace_p < 1e-15) return;
    const double ratio = trace_pp * rows / (trace_p * trace_p);
    KQ_CHECK(std::isfinite(ratio) && ratio > 0.9, kInvalidArgument)
        << "orthonormal constraint: bad matrix (ratio " << ratio << ")";
    if (ratio > 1.02) {
      nu *= 0.5;
      if (ratio > 1.1) nu *= 0.5;
    }
    scale = std::sqrt(trace_pp / trace_p);
  }
  for (int64_t i = 0; i < rows; ++i) P[i * rows + i] -= scale * scale;
  const double alpha = nu / (scale * scale);
  std::vector<double> update(M.size(), 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < rows; ++j) {
      const double p = P[i * rows + j];
      if (p == 0) continue;
      for (int64_t k = 0; k < cols; ++k) update[i * cols + k] += p * M[j * cols + k];
    }
  for (size_t i = 0; i < M.size(); ++i) M[i] -= 4.0 * alpha * update[i];
}

}  // namespace

void ConstrainOrthonormal(float constraint, MatrixF* m) {
  if (constraint == 0.0f || m->size() == 0) return;
  for (int64_t i = 0; i < m->size(); ++i)
    KQ_CHECK(std::isfinite(m->data()[i]), kInvalidArgument)
        << "orthonormal constraint: weight matrix is not finite";
  const int64_t r = m->rows(), c = m->cols();
  const bool transpose = r > c;
  const int64_t rows = transpose ? c : r, cols = transpose ? r : c;
  std::vector<double> M(static_cast<size_t>(r * c));
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j)
      M[transpose ? j * r + i : i * c + j] = (*m)(i, j);
  ConstrainInternal(constraint, rows, cols, &M);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j)
      (*m)(i, j) = static_cast<float>(M[transpose ? j * r + i : i * c + j]);
}

}  // namespace kaldiq::nnet
