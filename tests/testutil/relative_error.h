// Relative Frobenius error ‖a − b‖ / ‖b‖ accumulated over several arrays (parity tests against
// Kaldi's outputs state their tolerances in it).
#pragma once

#include <cmath>
#include <cstdint>

namespace kaldiq::testing {

struct RelativeError {
  double num = 0, den = 0;
  // a: ours, b: the reference.
  void Add(const float* a, const float* b, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      num += double(a[i] - b[i]) * (a[i] - b[i]);
      den += double(b[i]) * b[i];
    }
  }
  double Rel() const { return den > 0 ? std::sqrt(num / den) : 0.0; }
};

}  // namespace kaldiq::testing
