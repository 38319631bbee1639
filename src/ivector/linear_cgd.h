// Symmetric positive-definite solves for i-vector estimation, in Kaldi's packed layout: a
// symmetric n x n matrix is its lower triangle row by row, (0,0), (1,0), (1,1), (2,0), ...
//
// LinearCgd is Kaldi's matrix/optimization.cc LinearCgd with LinearCgdOptions{max_iters,
// max_error = 0, recompute_residual_factor = 0.01}, step for step: p0 = b - A x0, r0 = -p0;
// alpha = -p.r / p.Ap; the residual is recomputed from scratch (r = A x - b) whenever its squared
// norm drops below 1e-4 or rises above 1e4 times the last recomputed value; beta = |r'|^2/|r|^2,
// p = beta p - r; at most min(max_iters, n + 5) iterations (max_iters < 0: n + 5), stopping
// early only at an exactly zero residual (max_error 0 means DBL_MIN). Warm starts matter: the
// online estimator calls it with the previous i-vector and 15 iterations, so results depend on
// the starting point exactly as Kaldi's do. If the final residual is worse than the initial one
// it warns and solves exactly from the original x (Kaldi calls SolveQuadraticProblem there;
// here a Cholesky solve, kept only if it improves the objective b.x - x'Ax/2).
#pragma once

#include <cstdint>

namespace kaldiq::ivector {

inline int64_t PackedSize(int64_t n) { return n * (n + 1) / 2; }

// y = A x for packed symmetric A (n x n).
void SpMatVec(int64_t n, const double* a, const double* x, double* y);
// x' A x.
double VecSpVec(int64_t n, const double* a, const double* x);
// A(i,i) += v for all i.
void AddToDiag(int64_t n, double v, double* a);

// Returns the number of iterations run. x holds the starting point on entry.
int32_t LinearCgd(int32_t max_iters, int64_t n, const double* a, const double* b, double* x);

// Solves A x = b by Cholesky (A symmetric positive definite); returns false (x untouched) when
// A is not numerically positive definite.
bool CholeskySolve(int64_t n, const double* a, const double* b, double* x);

}  // namespace kaldiq::ivector
