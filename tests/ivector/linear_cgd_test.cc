// Packed symmetric helpers and Kaldi's LinearCgd: against dense arithmetic, against the exact
// solution, and against the defining property of conjugate gradient (iterate k minimises the
// quadratic over x0 + Krylov_k(r0)), computed independently by a projected dense solve.
#include "ivector/linear_cgd.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace kaldiq::ivector {
namespace {

// A random symmetric positive definite matrix I*shift + B B', as a dense row-major matrix.
std::vector<double> RandomSpd(int n, uint32_t seed, double shift) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<double> b(n * n), a(n * n, 0.0);
  for (double& v : b) v = g(rng);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      for (int k = 0; k < n; ++k) a[i * n + j] += b[i * n + k] * b[j * n + k];
      if (i == j) a[i * n + j] += shift;
    }
  return a;
}

std::vector<double> Pack(const std::vector<double>& dense, int n) {
  std::vector<double> p;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) p.push_back(dense[i * n + j]);
  return p;
}

// Dense Gaussian elimination with partial pivoting (small systems only).
std::vector<double> DenseSolve(std::vector<double> a, std::vector<double> b, int n) {
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int r = c + 1; r < n; ++r)
      if (std::abs(a[r * n + c]) > std::abs(a[p * n + c])) p = r;
    for (int k = 0; k < n; ++k) std::swap(a[c * n + k], a[p * n + k]);
    std::swap(b[c], b[p]);
    for (int r = c + 1; r < n; ++r) {
      double f = a[r * n + c] / a[c * n + c];
      for (int k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (int r = n - 1; r >= 0; --r) {
    double s = b[r];
    for (int k = r + 1; k < n; ++k) s -= a[r * n + k] * x[k];
    x[r] = s / a[r * n + r];
  }
  return x;
}

TEST(PackedSym, MatVecAndQuadraticFormMatchDense) {
  const int n = 7;
  std::vector<double> a = RandomSpd(n, 1, 0.5), p = Pack(a, n), x(n), y(n);
  for (int i = 0; i < n; ++i) x[i] = 0.5 * i - 1.0;
  SpMatVec(n, p.data(), x.data(), y.data());
  double quad = 0;
  for (int i = 0; i < n; ++i) {
    double want = 0;
    for (int j = 0; j < n; ++j) want += a[i * n + j] * x[j];
    EXPECT_NEAR(y[i], want, 1e-12 * (1 + std::abs(want)));
    quad += x[i] * want;
  }
  EXPECT_NEAR(VecSpVec(n, p.data(), x.data()), quad, 1e-12 * std::abs(quad));
  AddToDiag(n, 2.0, p.data());
  EXPECT_DOUBLE_EQ(p[0], a[0] + 2.0);
  EXPECT_DOUBLE_EQ(p[PackedSize(n) - 1], a[n * n - 1] + 2.0);
  EXPECT_DOUBLE_EQ(p[1], a[n]);  // off-diagonal untouched
}

TEST(LinearCgd, ConvergesToTheExactSolution) {
  for (int n : {1, 2, 5, 32}) {
    std::vector<double> a = RandomSpd(n, 10 + n, 1.0), p = Pack(a, n), b(n);
    for (int i = 0; i < n; ++i) b[i] = std::sin(1.0 + i);
    std::vector<double> exact = DenseSolve(a, b, n), x(n, 0.0), chol(n);
    int iters = LinearCgd(-1, n, p.data(), b.data(), x.data());
    EXPECT_LE(iters, n + 5);
    ASSERT_TRUE(CholeskySolve(n, p.data(), b.data(), chol.data()));
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(x[i], exact[i], 1e-9 * (1 + std::abs(exact[i]))) << n;
      EXPECT_NEAR(chol[i], exact[i], 1e-10 * (1 + std::abs(exact[i]))) << n;
    }
  }
}

TEST(LinearCgd, IterateMinimisesOverTheKrylovSubspace) {
  // x_k = x0 + V c with V = [r0, A r0, ..., A^{k-1} r0] and (V'AV) c = V'(b - A x0).
  const int n = 12;
  std::vector<double> a = RandomSpd(n, 3, 4.0), p = Pack(a, n), b(n), x0(n);
  for (int i = 0; i < n; ++i) {
    b[i] = std::cos(0.3 * i);
    x0[i] = 0.1 * i;
  }
  auto matvec = [&](const std::vector<double>& v) {
    std::vector<double> out(n, 0.0);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) out[i] += a[i * n + j] * v[j];
    return out;
  };
  std::vector<double> r0 = matvec(x0);
  for (int i = 0; i < n; ++i) r0[i] = b[i] - r0[i];
  for (int k = 1; k <= 4; ++k) {
    std::vector<std::vector<double>> v{r0};
    for (int j = 1; j < k; ++j) v.push_back(matvec(v.back()));
    std::vector<double> g(k * k), h(k);
    for (int i = 0; i < k; ++i) {
      std::vector<double> av = matvec(v[i]);
      for (int j = 0; j < k; ++j) {
        double s = 0;
        for (int t = 0; t < n; ++t) s += v[j][t] * av[t];
        g[j * k + i] = s;
      }
      double s = 0;
      for (int t = 0; t < n; ++t) s += v[i][t] * r0[t];
      h[i] = s;
    }
    std::vector<double> c = DenseSolve(g, h, k), want = x0;
    for (int i = 0; i < k; ++i)
      for (int t = 0; t < n; ++t) want[t] += c[i] * v[i][t];
    std::vector<double> x = x0;
    EXPECT_EQ(LinearCgd(k, n, p.data(), b.data(), x.data()), k);
    for (int t = 0; t < n; ++t) EXPECT_NEAR(x[t], want[t], 1e-7 * (1 + std::abs(want[t]))) << k;
  }
}

TEST(LinearCgd, ExactStartStaysAndNonPositiveDefiniteIsDetected) {
  const int n = 4;
  std::vector<double> a = RandomSpd(n, 5, 1.0), p = Pack(a, n), b(n, 1.0);
  std::vector<double> x = DenseSolve(a, b, n), x_in = x;
  // Replace b by A x exactly so that the starting residual is zero.
  SpMatVec(n, p.data(), x.data(), b.data());
  LinearCgd(15, n, p.data(), b.data(), x.data());
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(std::isfinite(x[i]));
    EXPECT_NEAR(x[i], x_in[i], 1e-12 * (1 + std::abs(x_in[i])));
  }
  std::vector<double> indefinite = {1.0, 2.0, 1.0};  // [[1, 2], [2, 1]]
  std::vector<double> out(2, 7.0);
  EXPECT_FALSE(CholeskySolve(2, indefinite.data(), b.data(), out.data()));
  EXPECT_EQ(out[0], 7.0);
}

}  // namespace
}  // namespace kaldiq::ivector
