#include "quant/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.h"

namespace kaldiq::quant {

namespace {
constexpr int kBins = 2048;
constexpr float kEmaConstant = 0.01f;

uint64_t NextRandom(uint64_t* state) {
  // splitmix64: deterministic and good enough for reservoir sampling.
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct Histogram {
  float lo = 0, width = 1;
  std::vector<double> counts;
  float Center(int b) const { return lo + (static_cast<float>(b) + 0.5f) * width; }
};

Histogram Build(const std::vector<float>& xs, float lo, float hi, bool absolute) {
  Histogram h;
  h.lo = lo;
  h.width = std::max((hi - lo) / kBins, std::numeric_limits<float>::min());
  h.counts.assign(kBins, 0.0);
  for (float x : xs) {
    float v = absolute ? std::fabs(x) : x;
    int b = static_cast<int>((v - lo) / h.width);
    h.counts[std::min(std::max(b, 0), kBins - 1)] += 1.0;
  }
  return h;
}

double FakeQuantError(const Histogram& h, float lo, float hi, const TensorSpec& spec) {
  QParams p = ChooseQParams(lo, hi, spec);
  double err = 0.0;
  for (int b = 0; b < kBins; ++b) {
    if (h.counts[b] == 0.0) continue;
    float c = h.Center(b);
    double d = double(c) - FakeQuantize(c, p);
    err += h.counts[b] * d * d;
  }
  return err;
}
}  // namespace

Observer::Observer(int64_t cols)
    : cols_(cols),
      col_sums_(static_cast<size_t>(cols), 0.0),
      col_absmax_(static_cast<size_t>(cols), 0.0f) {}

void Observer::Update(const float* x, int64_t rows, int64_t cols, int64_t ld) {
  if (rows <= 0 || cols <= 0) return;
  KQ_CHECK(cols_ == 0 || cols == cols_, kInternal)
      << "observer expected " << cols_ << " columns, got " << cols;
  float bmin = std::numeric_limits<float>::infinity(), bmax = -bmin;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * ld;
    for (int64_t c = 0; c < cols; ++c) {
      float v = row[c];
      bmin = std::min(bmin, v);
      bmax = std::max(bmax, v);
      if (cols_ > 0) {
        col_sums_[c] += v;
        col_absmax_[c] = std::max(col_absmax_[c], std::fabs(v));
      }
      ++count_;
      if (static_cast<int64_t>(sample_.size()) < kMaxSamples) {
        sample_.push_back(v);
      } else {
        uint64_t j = NextRandom(&rng_) % static_cast<uint64_t>(count_);
        if (j < static_cast<uint64_t>(kMaxSamples)) sample_[j] = v;
      }
    }
  }
  col_rows_ += rows;
  if (count_ == rows * cols) {
    min_ = bmin;
    max_ = bmax;
  } else {
    min_ = std::min(min_, bmin);
    max_ = std::max(max_, bmax);
  }
  if (!have_ema_) {
    ema_min_ = bmin;
    ema_max_ = bmax;
    have_ema_ = true;
  } else {
    ema_min_ += kEmaConstant * (bmin - ema_min_);
    ema_max_ += kEmaConstant * (bmax - ema_max_);
  }
}

std::vector<double> Observer::ColumnMeans() const {
  std::vector<double> m(col_sums_.size(), 0.0);
  if (col_rows_ == 0) return m;
  for (size_t c = 0; c < m.size(); ++c) m[c] = col_sums_[c] / static_cast<double>(col_rows_);
  return m;
}

std::pair<float, float> Observer::Range(ObserverKind kind, const TensorSpec& spec,
                                        float percentile) const {
  KQ_CHECK(count_ > 0, kInvalidArgument) << "observer saw no data";
  switch (kind) {
    case ObserverKind::kMinMax: return {min_, max_};
    case ObserverKind::kMovingAverageMinMax: return {ema_min_, ema_max_};
    case ObserverKind::kPercentile: return PercentileRange(percentile);
    case ObserverKind::kHistogramKl: return KlRange(spec);
    case ObserverKind::kMse: return MseRange(spec);
  }
  return {min_, max_};
}

std::pair<float, float> Observer::PercentileRange(float percentile) const {
  KQ_CHECK(percentile > 50.0f && percentile <= 100.0f, kInvalidArgument)
      << "percentile must be in (50, 100], got " << percentile;
  std::vector<float> s = sample_;
  const double n = static_cast<double>(s.size());
  auto at = [&](double q) {
    size_t k = static_cast<size_t>(std::min(n - 1.0, std::max(0.0, std::floor(q * (n - 1.0)))));
    std::nth_element(s.begin(), s.begin() + static_cast<int64_t>(k), s.end());
    return s[k];
  };
  float hi = at(percentile / 100.0);
  float lo = at(1.0 - percentile / 100.0);
  return {std::max(lo, min_), std::min(hi, max_)};
}

std::pair<float, float> Observer::MseRange(const TensorSpec& spec) const {
  float lo = std::min(min_, 0.0f), hi = std::max(max_, 0.0f);
  if (hi == lo) return {lo, hi};
  Histogram h = Build(sample_, lo, hi, false);
  if (spec.symmetric) {
    float amax = std::max(-lo, hi), best_a = amax;
    double best = std::numeric_limits<double>::infinity();
    for (int i = 100; i >= 1; --i) {
      float a = amax * static_cast<float>(i) / 100.0f;
      double e = FakeQuantError(h, -a, a, spec);
      if (e < best) best = e, best_a = a;
    }
    return {-best_a, best_a};
  }
  // Coordinate search over the two ends (hi, then lo, then hi again).
  float best_lo = lo, best_hi = hi;
  for (int pass = 0; pass < 3; ++pass) {
    bool upper = pass != 1;
    float end = upper ? hi : lo;
    if (end == 0.0f) continue;
    double best = std::numeric_limits<double>::infinity();
    float chosen = end;
    for (int i = 100; i >= 1; --i) {
      float v = end * static_cast<float>(i) / 100.0f;
      double e = upper ? FakeQuantError(h, best_lo, v, spec) : FakeQuantError(h, v, best_hi, spec);
      if (e < best) best = e, chosen = v;
    }
    (upper ? best_hi : best_lo) = chosen;
  }
  return {best_lo, best_hi};
}

std::pair<float, float> Observer::KlRange(const TensorSpec& spec) const {
  // TensorRT's entropy calibration on |x|: one-sided data (min ≥ 0) uses all levels of the
  // grid, two-sided data half of them per side.
  const bool one_sided = min_ >= 0.0f;
  const float amax = std::max(std::fabs(min_), std::fabs(max_));
  if (amax == 0.0f) return {min_, max_};
  const int levels = one_sided ? spec.qmax() - spec.qmin() + 1 : (spec.qmax() - spec.qmin() + 1) / 2;
  Histogram h = Build(sample_, 0.0f, amax, true);
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = kBins;
  std::vector<double> p, q;
  for (int i = std::max(levels, 1); i <= kBins; ++i) {
    p.assign(h.counts.begin(), h.counts.begin() + i);
    double outliers = 0.0;
    for (int b = i; b < kBins; ++b) outliers += h.counts[b];
    p[i - 1] += outliers;
    q.assign(static_cast<size_t>(i), 0.0);
    const double per = static_cast<double>(i) / levels;
    for (int l = 0; l < levels; ++l) {
      int b0 = static_cast<int>(std::floor(l * per)), b1 = static_cast<int>(std::floor((l + 1) * per));
      if (l == levels - 1) b1 = i;
      double total = 0.0;
      int nonzero = 0;
      for (int b = b0; b < b1; ++b) {
        total += h.counts[b];
        nonzero += h.counts[b] != 0.0;
      }
      for (int b = b0; b < b1; ++b)
        if (h.counts[b] != 0.0) q[b] = total / nonzero;
    }
    double ps = 0.0, qs = 0.0;
    for (int b = 0; b < i; ++b) ps += p[b], qs += q[b];
    if (ps == 0.0 || qs == 0.0) continue;
    double kl = 0.0;
    for (int b = 0; b < i; ++b) {
      if (p[b] == 0.0) continue;
      double pb = p[b] / ps, qb = q[b] / qs;
      kl += pb * std::log(pb / std::max(qb, 1e-12));
    }
    if (kl < best_kl) best_kl = kl, best_i = i;
  }
  float t = (static_cast<float>(best_i) + 0.5f) * h.width;
  if (one_sided) return {min_, std::min(t, max_)};
  return {std::max(-t, min_), std::min(t, max_)};
}

std::vector<QParams> ChooseWeightQParams(const float* w, int64_t rows, int64_t cols, int64_t ld,
                                         const TensorSpec& spec, bool per_channel,
                                         WeightQuantizer quantizer) {
  auto choose = [&](int64_t r0, int64_t r1) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < cols; ++c) lo = std::min(lo, w[r * ld + c]), hi = std::max(hi, w[r * ld + c]);
    QParams best = ChooseQParams(lo, hi, spec);
    if (quantizer == WeightQuantizer::kMinMax || spec.rule == ZeroPointRule::kRecipe) return best;
    double best_err = std::numeric_limits<double>::infinity();
    for (int i = 100; i >= 30; --i) {
      float a = static_cast<float>(i) / 100.0f;
      QParams p = ChooseQParams(lo * a, hi * a, spec);
      double err = 0.0;
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          double d = double(w[r * ld + c]) - FakeQuantize(w[r * ld + c], p);
          err += d * d;
        }
      if (err < best_err) best_err = err, best = p;
    }
    return best;
  };
  std::vector<QParams> out;
  out.reserve(static_cast<size_t>(rows));
  if (!per_channel) {
    QParams p = choose(0, rows);
    out.assign(static_cast<size_t>(rows), p);
    return out;
  }
  for (int64_t r = 0; r < rows; ++r) out.push_back(choose(r, r + 1));
  return out;
}

}  // namespace kaldiq::quant
