// Finite-difference gradient checks (Kaldi's TestSimpleComponentDataDerivative / ggml's
// MODE_GRAD): compares an analytic gradient of a scalar objective with central differences
//   (f(x + ε d) − f(x − ε d)) / 2ε   against   ⟨∇f, d⟩
// along random directions d (unit norm, all coordinates at once) and along single coordinates.
// f is float code; it should accumulate its objective in double so that rounding stays far
// below ε·|⟨∇f, d⟩|. Accepts |numeric − analytic| ≤ rel_tol · max(|numeric|, |analytic|)
// + abs_tol · ‖∇f‖ (the abs term covers directions almost orthogonal to the gradient).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace kaldiq::testing {

struct GradCheckOptions {
  double epsilon = 1e-3;
  double rel_tol = 1e-2;
  double abs_tol = 1e-4;
  int directions = 4;
  int coordinates = 8;
  uint32_t seed = 1;
};

// `x` is perturbed in place and restored; f reads it (directly or through pointers into it).
inline ::testing::AssertionResult GradCheck(const std::function<double()>& f,
                                            std::vector<float*> x,
                                            const std::vector<double>& analytic,
                                            const GradCheckOptions& o = GradCheckOptions()) {
  if (x.size() != analytic.size())
    return ::testing::AssertionFailure() << "gradient has " << analytic.size() << " entries for "
                                         << x.size() << " variables";
  if (x.empty()) return ::testing::AssertionSuccess();
  std::mt19937 rng(o.seed);
  std::normal_distribution<double> normal;
  double gnorm = 0;
  for (double g : analytic) gnorm += g * g;
  gnorm = std::sqrt(gnorm);
  std::vector<float> saved(x.size());
  for (size_t i = 0; i < x.size(); ++i) saved[i] = *x[i];
  auto eval = [&](const std::vector<double>& d, double step) {
    for (size_t i = 0; i < x.size(); ++i) *x[i] = static_cast<float>(saved[i] + step * d[i]);
    double v = f();
    for (size_t i = 0; i < x.size(); ++i) *x[i] = saved[i];
    return v;
  };
  std::ostringstream failures;
  int failed = 0, checks = 0;
  auto check = [&](const std::vector<double>& d, const std::string& what) {
    // The step actually applied is the float-rounded one: use the realised perturbation.
    double ana = 0;
    for (size_t i = 0; i < x.size(); ++i) ana += analytic[i] * d[i];
    const double num = (eval(d, o.epsilon) - eval(d, -o.epsilon)) / (2 * o.epsilon);
    const double tol = o.rel_tol * std::max(std::abs(num), std::abs(ana)) + o.abs_tol * gnorm;
    ++checks;
    if (std::abs(num - ana) > tol) {
      ++failed;
      failures << "\n  " << what << ": numeric " << num << ", analytic " << ana
               << " (tolerance " << tol << ")";
    }
  };
  for (int k = 0; k < o.directions; ++k) {
    std::vector<double> d(x.size());
    double norm = 0;
    for (double& v : d) {
      v = normal(rng);
      norm += v * v;
    }
    for (double& v : d) v /= std::sqrt(norm);
    check(d, "random direction " + std::to_string(k));
  }
  std::uniform_int_distribution<size_t> pick(0, x.size() - 1);
  for (int k = 0; k < o.coordinates; ++k) {
    std::vector<double> d(x.size(), 0.0);
    const size_t i = k == 0 ? 0 : k == 1 ? x.size() - 1 : pick(rng);
    d[i] = 1.0;
    check(d, "coordinate " + std::to_string(i));
  }
  if (failed == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << failed << " of " << checks << " checks failed"
                                       << failures.str();
}

// Pointers to every element of a float container (for GradCheck's `x`).
template <typename C>
std::vector<float*> Pointers(C* c) {
  std::vector<float*> p;
  for (auto& v : *c) p.push_back(&v);
  return p;
}
inline std::vector<float*> Pointers(float* data, size_t n) {
  std::vector<float*> p;
  for (size_t i = 0; i < n; ++i) p.push_back(data + i);
  return p;
}

}  // namespace kaldiq::testing
