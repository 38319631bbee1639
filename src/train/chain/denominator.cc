#include "train/chain/denominator.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "kernels/multiversion.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace kaldiq::train::chain {

namespace {

// The hot loops, compiled for AVX-512 / AVX2 / baseline with identical results: every sequence
// j has its own accumulators and the sums run over states and arcs in a fixed order (Kaldi's
// order), so vectorising over j reorders nothing; no FMA contraction (-ffp-contract=off).

// One state h of frame t: acc[j] = sum over arcs (prev -> h, p, q) of alpha'(t-1, prev, j) p
// x(t-1, q, j) in double (Kaldi: float products, double sum); alpha(t, h, j) = acc * scale[j];
// sum[j] += alpha(t, h, j) (for A(t)).
KQ_MULTIVERSION void ForwardState(const DenTransition* begin, const DenTransition* end,
                                  const float* prev, const float* x, int64_t x_stride,
                                  const float* scale, int32_t n, double* acc, float* out,
                                  double* sum) {
  for (int32_t j = 0; j < n; ++j) acc[j] = 0.0;
  for (const DenTransition* tr = begin; tr != end; ++tr) {
    const float p = tr->prob;
    const float* a = prev + static_cast<int64_t>(tr->state) * n;
    const float* xq = x + tr->pdf * x_stride;
    for (int32_t j = 0; j < n; ++j) acc[j] += a[j] * p * xq[j];
  }
  for (int32_t j = 0; j < n; ++j) {
    out[j] = static_cast<float>(acc[j] * static_cast<double>(scale[j]));
    sum[j] += out[j];
  }
}

// One state h of frame t, backward: occ = alpha'(t, h) / A(t); over the arcs (h -> next, p, q):
// v = p beta(t+1, next) x(t, q); tot += v (double); gamma(q) += v occ;
// beta'(t, h) = tot / A(t); bsum[j] += init(h) beta'(t, h) (for B(t)).
KQ_MULTIVERSION void BackwardState(const DenTransition* begin, const DenTransition* end,
                                   const float* next, const float* x, int64_t x_stride,
                                   const float* alpha_h, const float* scale_inv, double init_h,
                                   int32_t n, float* occ, double* tot, float* gamma, float* out,
                                   double* bsum) {
  for (int32_t j = 0; j < n; ++j) {
    occ[j] = alpha_h[j] / scale_inv[j];
    tot[j] = 0.0;
  }
  for (const DenTransition* tr = begin; tr != end; ++tr) {
    const float p = tr->prob;
    const float* b = next + static_cast<int64_t>(tr->state) * n;
    const float* xq = x + tr->pdf * x_stride;
    float* gq = gamma + static_cast<int64_t>(tr->pdf) * n;
    for (int32_t j = 0; j < n; ++j) {
      const float v = p * b[j] * xq[j];
      tot[j] += v;
      gq[j] += v * occ[j];
    }
  }
  for (int32_t j = 0; j < n; ++j) {
    out[j] = static_cast<float>(tot[j] / static_cast<double>(scale_inv[j]));
    bsum[j] += init_h * out[j];
  }
}

// rows[h n + j] += coef[h] * v[j] (coef = null: += v[j]) for h < num_rows.
KQ_MULTIVERSION void AddOuter(float* rows, int32_t num_rows, const float* coef, const float* v,
                              int32_t n) {
  for (int32_t h = 0; h < num_rows; ++h) {
    float* r = rows + static_cast<int64_t>(h) * n;
    if (coef != nullptr) {
      const float c = coef[h];
      for (int32_t j = 0; j < n; ++j) r[j] += c * v[j];
    } else {
      for (int32_t j = 0; j < n; ++j) r[j] += v[j];
    }
  }
}

// Kaldi's ApplyExpLimited(-30, 30) into the transposed layout x[q * x_stride + j] for the n
// rows in[j] (j < n). Tiled by 64 pdfs so reads and writes stay in L1.
void ExpLimitedTransposed(const float* const* in, int32_t n, int32_t num_pdfs, float* x,
                          int64_t x_stride) {
  constexpr int32_t kTile = 64;
  for (int32_t q0 = 0; q0 < num_pdfs; q0 += kTile) {
    const int32_t q1 = std::min(num_pdfs, q0 + kTile);
    for (int32_t j = 0; j < n; ++j) {
      const float* row = in[j];
      for (int32_t q = q0; q < q1; ++q) {
        float v = row[q];
        if (!(v >= -30.0f)) v = -30.0f;  // NaN too
        if (v > 30.0f) v = 30.0f;
        x[q * x_stride + j] = std::exp(v);
      }
    }
  }
}

// out[j][q] += w * gamma[q * n + j], tiled by 16 sequences (one cache line of gamma).
KQ_MULTIVERSION void FlushPosteriors(const float* gamma, int32_t num_pdfs, int32_t n, float w,
                                     float* const* out) {
  constexpr int32_t kTile = 16;
  for (int32_t j0 = 0; j0 < n; j0 += kTile) {
    const int32_t j1 = std::min(n, j0 + kTile);
    for (int32_t q = 0; q < num_pdfs; ++q) {
      const float* g = gamma + static_cast<int64_t>(q) * n;
      for (int32_t j = j0; j < j1; ++j) out[j][q] += w * g[j];
    }
  }
}

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
    std::vector<const float*> rows(static_cast<size_t>(n_));
    for (int32_t t = 0; t < F_; ++t) {
      for (int32_t j = 0; j < n_; ++j) rows[j] = y.Row(static_cast<int64_t>(t) * N_ + s0_ + j);
      ExpLimitedTransposed(rows.data(), n_, P_, x_.data() + static_cast<int64_t>(t) * n_, fn);
    }
    leaky_init_.resize(static_cast<size_t>(S_));
    for (int32_t h = 0; h < S_; ++h) leaky_init_[h] = leaky_ * g_.InitialProbs()[h];
  }

  void Forward() {
    alpha_.assign(static_cast<size_t>(F_ + 1) * row_, 0.0f);
    std::vector<double> acc(static_cast<size_t>(n_)), sum(static_cast<size_t>(n_));
    float* a0 = Alpha(0);
    for (int32_t h = 0; h < S_; ++h) {
      for (int32_t j = 0; j < n_; ++j) {
        a0[h * n_ + j] = g_.InitialProbs()[h];
        sum[j] += a0[h * n_ + j];
      }
    }
    AlphaDash(0, sum.data());
    std::vector<float> scale(static_cast<size_t>(n_));
    const int64_t fn = static_cast<int64_t>(F_) * n_;
    for (int32_t t = 1; t <= F_; ++t) {
      const float* prev = Alpha(t - 1);
      float* cur = Alpha(t);
      for (int32_t j = 0; j < n_; ++j)
        scale[j] = static_cast<float>(1.0 / prev[static_cast<int64_t>(S_) * n_ + j]);
      const float* x = x_.data() + static_cast<int64_t>(t - 1) * n_;
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int32_t h = 0; h < S_; ++h) {
        ForwardState(g_.BackwardBegin(h), g_.BackwardEnd(h), prev, x, fn, scale.data(), n_,
                     acc.data(), cur + static_cast<int64_t>(h) * n_, sum.data());
      }
      AlphaDash(t, sum.data());
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
    std::vector<double> bsum(static_cast<size_t>(n_), 0.0), tot(static_cast<size_t>(n_));
    float* bF = Beta(F_);
    for (int32_t h = 0; h < S_; ++h) {
      const double init = g_.InitialProbs()[h];
      for (int32_t j = 0; j < n_; ++j) {
        bF[h * n_ + j] = 1.0f / tot_prob_[j];
        bsum[j] += init * bF[h * n_ + j];
      }
    }
    BetaFromBetaDash(F_, bsum.data());
    const int64_t fn = static_cast<int64_t>(F_) * n_;
    std::vector<float> occ(static_cast<size_t>(n_));
    std::vector<float*> out_rows(static_cast<size_t>(n_));
    gamma_.assign(static_cast<size_t>(P_) * n_, 0.0f);
    for (int32_t t = F_ - 1; t >= 0; --t) {
      const float* alpha = Alpha(t);
      const float* next = Beta(t + 1);
      float* cur = Beta(t);
      const float* x = x_.data() + static_cast<int64_t>(t) * n_;
      const float* scale_inv = alpha + static_cast<int64_t>(S_) * n_;  // A(t)
      std::fill(bsum.begin(), bsum.end(), 0.0);
      for (int32_t h = 0; h < S_; ++h) {
        BackwardState(g_.ForwardBegin(h), g_.ForwardEnd(h), next, x, fn,
                      alpha + static_cast<int64_t>(h) * n_, scale_inv, g_.InitialProbs()[h], n_,
                      occ.data(), tot.data(), gamma_.data(), cur + static_cast<int64_t>(h) * n_,
                      bsum.data());
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
      BetaFromBetaDash(t, bsum.data());
      // This frame's posteriors into the (t-major, pdf-minor) derivative.
      for (int32_t j = 0; j < n_; ++j) out_rows[j] = deriv->Row(static_cast<int64_t>(t) * N_ + s0_ + j);
      FlushPosteriors(gamma_.data(), P_, n_, deriv_weight, out_rows.data());
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

  // A(t) = sum_i alpha(t, i) (given, summed in state order); alpha'(t, i) = alpha(t, i) +
  // lambda init(i) A(t).
  void AlphaDash(int32_t t, const double* sum) {
    float* a = Alpha(t);
    float* A = a + static_cast<int64_t>(S_) * n_;
    for (int32_t j = 0; j < n_; ++j) {
      A[j] = static_cast<float>(sum[j]);
      if (!(A[j] > 0.0f) || !std::isfinite(A[j])) finite_ = false;
    }
    AddOuter(a, S_, leaky_init_.data(), A, n_);
  }

  // B(t) = lambda sum_i init(i) beta'(t, i) (given the sum); beta(t, i) = beta'(t, i) + B(t).
  void BetaFromBetaDash(int32_t t, const double* sum) {
    float* b = Beta(t);
    float* B = b + static_cast<int64_t>(S_) * n_;
    for (int32_t j = 0; j < n_; ++j) B[j] = static_cast<float>(leaky_ * sum[j]);
    AddOuter(b, S_, nullptr, B, n_);
  }

  const DenGraph& g_;
  const float leaky_;
  const int32_t N_, F_, P_, S_, s0_, n_;
  const int64_t row_;
  std::vector<float> x_, alpha_, beta_, gamma_, leaky_init_, tot_prob_, log_tot_;
  std::vector<double> log_scales_, alpha_beta_, gamma_sum_;
  bool finite_ = true;
};

constexpr int kSliceSequences = 16;

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
  // Slices of about kSliceSequences sequences keep one frame's alpha of a slice (S x 16 floats,
  // 370 KB for the fixture graph) in L2; threads take slices in turn.
  // (Measured on the fixture graph, 64 x 47: slices of 16, 32 and 64 cost the same within the
  // noise, 8 is 20-30 % slower; 16 gives two threads four slices to share.)
  const int num_slices =
      std::max(1, (static_cast<int>(num_sequences) + kSliceSequences - 1) / kSliceSequences);
  std::vector<int32_t> bounds(static_cast<size_t>(num_slices) + 1);
  for (int i = 0; i <= num_slices; ++i)
    bounds[i] = static_cast<int32_t>(static_cast<int64_t>(num_sequences) * i / num_slices);
  std::vector<std::vector<float>> log_tot(num_slices);
  std::vector<std::vector<double>> log_scales(num_slices), alpha_beta(num_slices),
      gamma_sum(num_slices);
  std::vector<char> finite(static_cast<size_t>(num_slices), 1);
  ParallelFor(num_slices, std::max(1, std::min(num_threads, num_slices)), [&](int64_t i, int) {
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
