#include "ivector/linear_cgd.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <vector>

namespace kaldiq::ivector {

namespace {
double Dot(int64_t n, const double* a, const double* b) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
}  // namespace

void SpMatVec(int64_t n, const double* a, const double* x, double* y) {
  std::fill(y, y + n, 0.0);
  const double* row = a;
  for (int64_t i = 0; i < n; ++i, row += i) {
    double acc = 0.0;
    const double xi = x[i];
    for (int64_t j = 0; j < i; ++j) {
      acc += row[j] * x[j];
      y[j] += row[j] * xi;
    }
    y[i] += acc + row[i] * xi;
  }
}

double VecSpVec(int64_t n, const double* a, const double* x) {
  double s = 0.0;
  const double* row = a;
  for (int64_t i = 0; i < n; ++i, row += i) {
    double off = 0.0;
    for (int64_t j = 0; j < i; ++j) off += row[j] * x[j];
    s += x[i] * (2.0 * off + row[i] * x[i]);
  }
  return s;
}

void AddToDiag(int64_t n, double v, double* a) {
  for (int64_t i = 0; i < n; ++i) a[PackedSize(i + 1) - 1] += v;
}

bool CholeskySolve(int64_t n, const double* a, const double* b, double* x) {
  // L (packed lower, row by row) with A = L L'.
  std::vector<double> l(static_cast<size_t>(PackedSize(n)));
  for (int64_t i = 0; i < n; ++i) {
    double* li = l.data() + PackedSize(i);
    const double* ai = a + PackedSize(i);
    for (int64_t j = 0; j <= i; ++j) {
      const double* lj = l.data() + PackedSize(j);
      double s = ai[j];
      for (int64_t k = 0; k < j; ++k) s -= li[k] * lj[k];
      if (j == i) {
        if (!(s > 0.0) || !std::isfinite(s)) return false;
        li[i] = std::sqrt(s);
      } else {
        li[j] = s / lj[j];
      }
    }
  }
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {  // L y = b
    const double* li = l.data() + PackedSize(i);
    double s = b[i];
    for (int64_t k = 0; k < i; ++k) s -= li[k] * y[k];
    y[i] = s / li[i];
  }
  for (int64_t i = n - 1; i >= 0; --i) {  // L' x = y
    double s = y[i];
    for (int64_t k = i + 1; k < n; ++k) s -= l[PackedSize(k) + i] * y[k];
    y[i] = s / l[PackedSize(i) + i];
  }
  std::copy(y.begin(), y.end(), x);
  return true;
}

int32_t LinearCgd(int32_t max_iters, int64_t n, const double* a, const double* b, double* x) {
  std::vector<double> storage(static_cast<size_t>(4 * n));
  double* r = storage.data();
  double* p = r + n;
  double* ap = p + n;
  double* x_orig = ap + n;
  SpMatVec(n, a, x, ap);
  for (int64_t i = 0; i < n; ++i) {
    p[i] = b[i] + -1.0 * ap[i];  // p0 = b - A x0
    r[i] = -p[i];                // r0 = -p0
    x_orig[i] = x[i];
  }
  double r_cur_norm_sq = Dot(n, r, r), r_initial_norm_sq = r_cur_norm_sq,
         r_recompute_norm_sq = r_cur_norm_sq;
  // Kaldi: max_error = 0 (a BaseFloat), recompute_residual_factor = 0.01 (a BaseFloat, squared
  // in float).
  const double max_error_sq = std::max(0.0, DBL_MIN);
  const double residual_factor = static_cast<double>(0.01f * 0.01f);
  const double inv_residual_factor = 1.0 / residual_factor;
  int32_t k = 0;
  for (; k < n + 5 && k != max_iters; ++k) {
    SpMatVec(n, a, p, ap);
    const double pap = Dot(n, p, ap);
    // Kaldi divides by p'Ap unconditionally; a zero direction (exact solution at the start)
    // would make x NaN there. Stop instead: x is already the solution.
    if (pap == 0.0) break;
    const double alpha = -Dot(n, p, r) / pap;
    for (int64_t i = 0; i < n; ++i) x[i] += alpha * p[i];
    for (int64_t i = 0; i < n; ++i) r[i] += alpha * ap[i];
    double r_next_norm_sq = Dot(n, r, r);
    if (r_next_norm_sq < residual_factor * r_recompute_norm_sq ||
        r_next_norm_sq > inv_residual_factor * r_recompute_norm_sq) {
      SpMatVec(n, a, x, r);  // r = A x - b, from scratch
      for (int64_t i = 0; i < n; ++i) r[i] += -1.0 * b[i];
      r_next_norm_sq = Dot(n, r, r);
      r_recompute_norm_sq = r_next_norm_sq;
    }
    if (r_next_norm_sq <= max_error_sq) break;
    const double beta_next = r_next_norm_sq / r_cur_norm_sq;
    for (int64_t i = 0; i < n; ++i) p[i] = p[i] * beta_next + -1.0 * r[i];
    r_cur_norm_sq = r_next_norm_sq;
  }
  if (r_cur_norm_sq > r_initial_norm_sq &&
      r_cur_norm_sq > r_initial_norm_sq + 1.0e-10 * Dot(n, b, b)) {
    std::fprintf(stderr,
                 "kaldiq: warning: doing linear CGD in dimension %lld, after %d iterations the "
                 "squared residual has got worse, %g > %g. Will do an exact optimization.\n",
                 static_cast<long long>(n), k, r_cur_norm_sq, r_initial_norm_sq);
    std::copy(x_orig, x_orig + n, x);
    std::vector<double> exact(static_cast<size_t>(n));
    if (CholeskySolve(n, a, b, exact.data())) {
      auto objf = [&](const double* v) { return Dot(n, b, v) - 0.5 * VecSpVec(n, a, v); };
      if (objf(exact.data()) > objf(x)) std::copy(exact.begin(), exact.end(), x);
    }
  }
  return k;
}

}  // namespace kaldiq::ivector
