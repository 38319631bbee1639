#include "train/chain/denominator.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "util/error.h"
#include "util/thread_pool.h"

namespace kaldiq::train::chain {

namespace {

// The forward-backward for sequences [s0, s1) of the minibatch. Rows of alpha hold
// S x n state values (state-major, sequences inner) followed by the n values A(t).
class DenominatorSlice {
 public:
  DenominatorSlice(const DenGraph& graph, float leaky, int32_t num_sequences,
                   const MatrixF& y, int32_t s0, int32_t s1)
      : g_(graph),
        leaky_(leaky),
        N_(num_sequences),
        F_(static_cast<int32_t>(y.rows() / num_sequences)),
        P_(graph.NumPdfs()),
        S_(graph.NumStates()),
        s0_(s0),
        n_(s1 - s0),
        row_(static_cast<int64_t>(S_) * n_ + n_) {
    // exp(y), transposed: x_[q * F n + t n + j] for sequence s0 + j.
    x_.resize(static_cast<size_t>(P_) * F_ * n_);
    const int64_t fn = static_cast<int64_t>(F_) * n_;
    for (int32_t t = 0; t < F_; ++t) {
      for (int32_t j = 0; j < n_; ++j) {
        const float* in = y.Row(static_cast<int64_t>(t) * N_ + s0_ + j);
        float* out = x_.data() + static_cast<int64_t>(t) * n_ + j;
        for (int32_t q = 0; q < P_; ++q) {
          float v = in[q];
          if (!(v >= -30.0f)) v = -30.0f;  // NaN too (Kaldi's ApplyExpLimited)
          if (v > 30.0f) v = 30.0f;
          out[q * fn] = std::exp(v);
        }
      }
    }
    leaky_init_.resize(static_cast<size_t>(S_));
    for (int32_t h = 0; h < S_; ++h) leaky_init_[h] = leaky_ * g_.InitialProbs()[h];
  }

  void Forward() {
    alpha_.assign(static_cast<size_t>(F_ + 1) * row_, 0.0f);
    float* a0 = Alpha(0);
    for (int32_t h = 0; h < S_; ++h)
      for (int32_t j = 0; j < n_; ++j) a0[h * n_ + j] = g_.InitialProbs()[h];
    AlphaDash(0);
    std::vector<double> acc(static_cast<size_t>(n_));
    std::vector<float> scale(static_cast<size_t>(n_));
    const int64_t fn = static_cast<int64_t>(F_) * n_;
    for (int32_t t = 1; t <= F_; ++t) {
      const float* prev = Alpha(t - 1);
      float* cur = Alpha(t);
      for (int32_t j = 0; j < n_; ++j)
        scale[j] = static_cast<float>(1.0 / prev[static_cast<int64_t>(S_) * n_ + j]);
      const float* x = x_.data() + static_cast<int64_t>(t - 1) * n_;
      for (int32_t h = 0; h < S_; ++h) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (const DenTransition* tr = g_.BackwardBegin(h); tr != g_.BackwardEnd(h); ++tr) {
          const float p = tr->prob;
          const float* a = prev + static_cast<int64_t>(tr->state) * n_;
          const float* xq = x + tr->pdf * fn;
          for (int32_t j = 0; j < n_; ++j) acc[j] += a[j] * p * xq[j];
        }
        float* out = cur + static_cast<int64_t>(h) * n_;
        for (int32_t j = 0; j < n_; ++j)
          out[j] = static_cast<float>(acc[j] * static_cast<double>(scale[j]));
      }
      AlphaDash(t);
    }
    // Totals: log sum_i alpha'(F, i) and sum_t log A(t), per sequence.
    tot_prob_.assign(static_cast<size_t>(n_), 0.0f);
    log_tot_.assign(static_cast<size_t>(n_), 0.0f);
    log_scales_.assign(static_cast<size_t>(n_), 0.0);
    std::vector<double> tot(static_cast<size_t>(n_), 0.0);
    const float* last = Alpha(F_);
    for (int32_t h = 0; h < S_; ++h)
      for (int32_t j = 0; j < n_; ++j) tot[j] += last[static_cast<int64_t>(h) * n_ + j];
    for (int32_t j = 0; j < n_; ++j) {
      tot_prob_[j] = static_cast<float>(tot[j]);
      log_tot_[j] = std::log(tot_prob_[j]);
      for (int32_t t = 0; t < F_; ++t)
        log_scales_[j] += std::log(Alpha(t)[static_cast<int64_t>(S_) * n_ + j]);
      if (!(tot_prob_[j] > 0.0f) || !std::isfinite(tot_prob_[j])) finite_ = false;
    }
  }

  void Backward(float deriv_weight, MatrixF* deriv) {
    beta_.assign(static_cast<size_t>(2) * row_, 0.0f);
    float* bF = Beta(F_);
    for (int32_t h = 0; h < S_; ++h)
      for (int32_t j = 0; j < n_; ++j) bF[h * n_ + j] = 1.0f / tot_prob_[j];
    BetaFromBetaDash(F_);
    const int64_t fn = static_cast<int64_t>(F_) * n_;
    std::vector<double> tot(static_cast<size_t>(n_));
    std::vector<float> occ(static_cast<size_t>(n_)), inv_scale(static_cast<size_t>(n_));
    gamma_.assign(static_cast<size_t>(P_) * n_, 0.0f);
    for (int32_t t = F_ - 1; t >= 0; --t) {
      const float* alpha = Alpha(t);
      const float* next = Beta(t + 1);
      float* cur = Beta(t);
      const float* x = x_.data() + static_cast<int64_t>(t) * n_;
      for (int32_t j = 0; j < n_; ++j) inv_scale[j] = alpha[static_cast<int64_t>(S_) * n_ + j];
      for (int32_t h = 0; h < S_; ++h) {
        const float* a = alpha + static_cast<int64_t>(h) * n_;
        for (int32_t j = 0; j < n_; ++j) occ[j] = a[j] / inv_scale[j];
        std::fill(tot.begin(), tot.end(), 0.0);
        for (const DenTransition* tr = g_.ForwardBegin(h); tr != g_.ForwardEnd(h); ++tr) {
          const float p = tr->prob;
          const float* b = next + static_cast<int64_t>(tr->state) * n_;
          const float* xq = x + tr->pdf * fn;
          float* gq = gamma_.data() + static_cast<int64_t>(tr->pdf) * n_;
          for (int32_t j = 0; j < n_; ++j) {
            const float v = p * b[j] * xq[j];
            tot[j] += v;
            gq[j] += v * occ[j];
          }
        }
        float* out = cur + static_cast<int64_t>(h) * n_;
        for (int32_t j = 0; j < n_; ++j)
          out[j] = static_cast<float>(tot[j] / static_cast<double>(inv_scale[j]));
      }
      if (t == 0) {
        // Kaldi's BetaGeneralFrameDebug at t = 0 (before beta' becomes beta).
        alpha_beta_.assign(static_cast<size_t>(n_), 0.0);
        gamma_sum_.assign(static_cast<size_t>(n_), 0.0);
        for (int32_t h = 0; h < S_; ++h)
          for (int32_t j = 0; j < n_; ++j)
            alpha_beta_[j] += static_cast<double>(alpha[h * n_ + j]) * cur[h * n_ + j];
        for (int32_t q = 0; q < P_; ++q)
          for (int32_t j = 0; j < n_; ++j) gamma_sum_[j] += gamma_[q * n_ + j];
      }
      BetaFromBetaDash(t);
      // Flush this frame's posteriors into the (t-major, pdf-minor) derivative.
      for (int32_t j = 0; j < n_; ++j) {
        float* d = deriv->Row(static_cast<int64_t>(t) * N_ + s0_ + j);
        for (int32_t q = 0; q < P_; ++q) d[q] += deriv_weight * gamma_[q * n_ + j];
      }
      std::fill(gamma_.begin(), gamma_.end(), 0.0f);
    }
  }

  const std::vector<float>& log_tot() const { return log_tot_; }
  const std::vector<double>& log_scales() const { return log_scales_; }
  const std::vector<double>& alpha_beta() const { return alpha_beta_; }
  const std::vector<double>& gamma_sum() const { return gamma_sum_; }
  bool finite() const { return finite_; }

 private:
  float* Alpha(int32_t t) { return alpha_.data() + t * row_; }
  float* Beta(int32_t t) { return beta_.data() + (t % 2) * row_; }

  // A(t) = sum_i alpha(t, i); alpha'(t, i) = alpha(t, i) + lambda init(i) A(t).
  void AlphaDash(int32_t t) {
    float* a = Alpha(t);
    std::vector<double> sum(static_cast<size_t>(n_), 0.0);
    for (int32_t h = 0; h < S_; ++h)
      for (int32_t j = 0; j < n_; ++j) sum[j] += a[static_cast<int64_t>(h) * n_ + j];
    float* A = a + static_cast<int64_t>(S_) * n_;
    for (int32_t j = 0; j < n_; ++j) {
      A[j] = static_cast<float>(sum[j]);
      if (!(A[j] > 0.0f) || !std::isfinite(A[j])) finite_ = false;
    }
    for (int32_t h = 0; h < S_; ++h) {
      const float li = leaky_init_[h];
      float* row = a + static_cast<int64_t>(h) * n_;
      for (int32_t j = 0; j < n_; ++j) row[j] += li * A[j];
    }
  }

  // B(t) = lambda sum_i init(i) beta'(t, i); beta(t, i) = beta'(t, i) + B(t).
  void BetaFromBetaDash(int32_t t) {
    float* b = Beta(t);
    std::vector<double> sum(static_cast<size_t>(n_), 0.0);
    for (int32_t h = 0; h < S_; ++h) {
      const double init = g_.InitialProbs()[h];
      for (int32_t j = 0; j < n_; ++j) sum[j] += init * b[static_cast<int64_t>(h) * n_ + j];
    }
    float* B = b + static_cast<int64_t>(S_) * n_;
    for (int32_t j = 0; j < n_; ++j) B[j] = static_cast<float>(leaky_ * sum[j]);
    for (int32_t h = 0; h < S_; ++h) {
      float* row = b + static_cast<int64_t>(h) * n_;
      for (int32_t j = 0; j < n_; ++j) row[j] += B[j];
    }
  }

  const DenGraph& g_;
  const float leaky_;
  const int32_t N_, F_, P_, S_, s0_, n_;
  const int64_t row_;
  std::vector<float> x_, alpha_, beta_, gamma_, leaky_init_, tot_prob_, log_tot_;
  std::vector<double> log_scales_, alpha_beta_, gamma_sum_;
  bool finite_ = true;
};

bool ApproxEqual(double a, double b, double tol) {
  return std::fabs(a - b) <= tol * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace

DenominatorResult ComputeDenominator(const DenGraph& graph, float leaky_hmm_coefficient,
                                     int32_t num_sequences, const MatrixF& nnet_output,
                                     float deriv_weight, MatrixF* deriv, int num_threads) {
  KQ_CHECK(leaky_hmm_coefficient > 0.0f && leaky_hmm_coefficient < 1.0f, kInvalidArgument)
      << "--leaky-hmm-coefficient must be in (0, 1), got " << leaky_hmm_coefficient;
  KQ_CHECK(num_sequences > 0 && nnet_output.rows() % num_sequences == 0 &&
               nnet_output.rows() > 0,
           kInvalidArgument)
      << "denominator: " << nnet_output.rows() << " output rows for " << num_sequences
      << " sequences";
  KQ_CHECK(nnet_output.cols() == graph.NumPdfs(), kInvalidArgument)
      << "denominator: network output has " << nnet_output.cols() << " columns, den.fst has "
      << graph.NumPdfs() << " pdfs";
  KQ_CHECK(deriv == nullptr ||
               (deriv->rows() == nnet_output.rows() && deriv->cols() == nnet_output.cols()),
           kInvalidArgument)
      << "denominator: derivative matrix has the wrong size";
  const int num_slices = std::max(1, std::min(num_threads, static_cast<int>(num_sequences)));
  std::vector<int32_t> bounds(static_cast<size_t>(num_slices) + 1);
  for (int i = 0; i <= num_slices; ++i)
    bounds[i] = static_cast<int32_t>(static_cast<int64_t>(num_sequences) * i / num_slices);
  std::vector<std::vector<float>> log_tot(num_slices);
  std::vector<std::vector<double>> log_scales(num_slices), alpha_beta(num_slices),
      gamma_sum(num_slices);
  std::vector<char> finite(static_cast<size_t>(num_slices), 1);
  ParallelFor(num_slices, num_slices, [&](int64_t i, int) {
    DenominatorSlice slice(graph, leaky_hmm_coefficient, num_sequences, nnet_output, bounds[i],
                           bounds[i + 1]);
    slice.Forward();
    if (deriv != nullptr) {
      slice.Backward(deriv_weight, deriv);
      alpha_beta[i] = slice.alpha_beta();
      gamma_sum[i] = slice.gamma_sum();
    }
    log_tot[i] = slice.log_tot();
    log_scales[i] = slice.log_scales();
    finite[i] = slice.finite();
  });
  // Combine in sequence order (independent of the slicing).
  double tot = 0.0, scales = 0.0, ab = 0.0, gs = 0.0;
  DenominatorResult result;
  for (int i = 0; i < num_slices; ++i) {
    for (float v : log_tot[i]) tot += v;
    for (double v : log_scales[i]) scales += v;
    for (double v : alpha_beta[i]) ab += v;
    for (double v : gamma_sum[i]) gs += v;
    if (!finite[i]) result.ok = false;
  }
  result.log_prob = static_cast<float>(tot) + static_cast<float>(scales);
  if (!result.ok) {
    result.warnings.push_back("denominator: zero or non-finite probability mass in the "
                              "forward pass, will abandon this minibatch");
  }
  if (deriv != nullptr) {
    const double n = num_sequences;
    if (!ApproxEqual(ab, n, 1e-4)) {
      std::ostringstream w;
      w << "On time 0, alpha-beta product " << ab << " != " << num_sequences;
      result.warnings.push_back(w.str());
      if (!(std::fabs(ab - n) <= 2.0)) {
        result.warnings.push_back("Excessive error detected, will abandon this minibatch");
        result.ok = false;
      }
    }
    if (!ApproxEqual(gs, n, 0.01)) {
      std::ostringstream w;
      w << "On time 0, log-prob-deriv sum " << gs << " != " << num_sequences;
      result.warnings.push_back(w.str());
      if (!(std::fabs(gs - n) <= 2.0)) {
        result.warnings.push_back("Excessive error detected, will abandon this minibatch");
        result.ok = false;
      }
    }
  }
  return result;
}

}  // namespace kaldiq::train::chain
