// Normalize (Kaldi's NormalizeComponent) and BatchNorm (BatchNormComponent), both per block of
// columns. BatchNorm's formulas are Kaldi's (nnet-normalize-component.cc, "BATCHNORM_MATH"),
// in float as Kaldi computes them; column statistics are summed in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/multiversion.h"
#include "nnet/ops/ops_internal.h"
#include "util/error.h"

namespace kaldiq::nnet::ops {

void ScaleOffsetForward(const ForwardArgs& a);  // elementwise.cc

// --- Normalize: y = x · f, f = max(p, 2^-66)^(-1/2), p = |x|² / (D · target_rms²), plus the
// optional log-stddev column log(target_rms / f). Backward (p above the floor):
//   d x += f d y − f³/(D·rms²) ⟨d y, x⟩ x  +  d y_D · x / |x|²
// -----------------------------------------------------------------------------------------------

namespace {

constexpr double kSquaredNormFloor = 1.3552527156068805425e-20;  // 2^-66

void NormalizeRow(const float* x, int64_t d, float target_rms, bool add_log_stddev, float* y) {
  double sumsq = 0;
  for (int64_t j = 0; j < d; ++j) sumsq += double(x[j]) * x[j];
  double in_norm = sumsq / (double(d) * target_rms * target_rms);
  in_norm = std::pow(std::max(in_norm, kSquaredNormFloor), -0.5);
  for (int64_t j = 0; j < d; ++j) y[j] = static_cast<float>(x[j] * in_norm);
  if (add_log_stddev) y[d] = static_cast<float>(-std::log(in_norm) + std::log(target_rms));
}

void ValidateNormalize(const Op& op, bool) {
  KQ_CHECK(op.output_dim == op.input_dim + (op.add_log_stddev ? 1 : 0), kFormat)
      << "bad dimensions";
}

}  // namespace

KQ_MULTIVERSION void NormalizeForward(const ForwardArgs& a) {
  for (int64_t r = 0; r < a.in.rows; ++r)
    NormalizeRow(a.in.Row(r), a.op->input_dim, a.op->target_rms, a.op->add_log_stddev,
                 a.out.Row(r));
}

void NormalizeBackward(const BackwardArgs& a) {
  const int64_t d = a.op->input_dim;
  const double rms2 = double(a.op->target_rms) * a.op->target_rms;
  for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
    const float* x = a.in.Row(r);
    const float* g = a.out_deriv.Row(r);
    float* dx = a.in_deriv.Row(r);
    double sumsq = 0, dot = 0;
    for (int64_t j = 0; j < d; ++j) {
      sumsq += double(x[j]) * x[j];
      dot += double(g[j]) * x[j];
    }
    const double p = sumsq / (double(d) * rms2);
    const bool floored = p <= kSquaredNormFloor;
    const double f = std::pow(std::max(p, kSquaredNormFloor), -0.5);
    const double cross = floored ? 0.0 : -f * f * f / (double(d) * rms2) * dot;
    const double log_term = (a.op->add_log_stddev && !floored) ? double(g[d]) / sumsq : 0.0;
    for (int64_t j = 0; j < d; ++j)
      dx[j] += static_cast<float>(f * g[j] + (cross + log_term) * x[j]);
  }
}

// --- BatchNorm. Test mode: y = x ∘ scale + offset (Op::scale / Op::offset, from the stored
// statistics, exactly the inference lowering's kScaleOffset); d x += d y ∘ scale.
// Train mode, per column of a block over all R rows of the minibatch (the R·dim/block_dim
// block rows):  μ, E[x²] over the rows, s = (max(E[x²]/t² − μ²/t², 0) + ε/t²)^(−1/2) (so
// s = t/√(σ² + ε), t = target_rms), z = (x − μ) s; backward
//   d x += s (d z − mean(d z)) − z · s · mean(z ∘ d z) / t².
// The memo keeps s; the stats (when asked) get count += R, sum += R·μ, sumsq += R·E[x²].
// -----------------------------------------------------------------------------------------------

namespace {

void ValidateBatchNorm(const Op& op, bool) {
  const BatchNormAttrs* bn = op.Attrs<BatchNormAttrs>();
  KQ_CHECK(bn != nullptr, kFormat) << "BatchNorm op without its attributes";
  CheckSameDim(op);
  KQ_CHECK(bn->block_dim > 0 && op.input_dim % bn->block_dim == 0, kFormat)
      << "block-dim " << bn->block_dim << " does not divide dim " << op.input_dim;
  KQ_CHECK(bn->epsilon > 0 && bn->target_rms > 0, kFormat) << "epsilon and target-rms must be > 0";
  CheckPerColumn(op.scale, op, "scale");
  CheckPerColumn(op.offset, op, "offset");
}

// Visits every element of `rows` as (block row, column within the block).
template <typename F>
void ForEachBlockElement(int64_t rows, int64_t cols, int64_t block, F&& f) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < cols; b += block)
      for (int64_t j = 0; j < block; ++j) f(r, b + j, j);
}

void BatchNormForward(const ForwardArgs& a) {
  const BatchNormAttrs& bn = *a.op->Attrs<BatchNormAttrs>();
  if (a.mode == ComputeMode::kTest) {
    KQ_CHECK(bn.has_stats, kInvalidArgument)
        << "BatchNorm '" << a.op->name << "' has no statistics (count 0); cannot run in test mode";
    ScaleOffsetForward(a);
    return;
  }
  const int64_t dim = a.op->input_dim, block = bn.block_dim;
  const int64_t n = a.in.rows * (dim / block);  // rows of the block_dim-wide view
  KQ_CHECK(n > 0, kInvalidArgument) << "train-mode BatchNorm '" << a.op->name << "' on no rows";
  std::vector<double> sum(block, 0.0), sumsq(block, 0.0);
  ForEachBlockElement(a.in.rows, dim, block, [&](int64_t r, int64_t c, int64_t j) {
    const double x = a.in.Row(r)[c];
    sum[j] += x;
    sumsq[j] += x * x;
  });
  const float inv_n = static_cast<float>(1.0 / double(n));
  const float var_scale = 1.0f / (bn.target_rms * bn.target_rms);
  std::vector<float> mean(block), uvar(block);
  std::vector<float>& scale = a.memo->values;
  scale.resize(block);
  for (int64_t j = 0; j < block; ++j) {
    mean[j] = static_cast<float>(sum[j]) * inv_n;
    uvar[j] = static_cast<float>(sumsq[j]) * inv_n;
    float s = -var_scale * mean[j] * mean[j] + var_scale * uvar[j];
    s = std::max(s, 0.0f) + var_scale * bn.epsilon;
    scale[j] = std::pow(s, -0.5f);
  }
  ForEachBlockElement(a.in.rows, dim, block, [&](int64_t r, int64_t c, int64_t j) {
    a.out.Row(r)[c] = (a.in.Row(r)[c] - mean[j]) * scale[j];
  });
  if (a.stats) {
    BatchNormStats& st = *a.stats;
    if (st.sum.size() != static_cast<size_t>(block)) {
      KQ_CHECK(st.count == 0 && st.sum.empty(), kInternal) << "BatchNorm statistics of another size";
      st.sum.assign(block, 0.0);
      st.sumsq.assign(block, 0.0);
    }
    const double count = double(n);
    st.count += count;
    for (int64_t j = 0; j < block; ++j) {
      st.sum[j] += count * mean[j];
      st.sumsq[j] += count * uvar[j];
    }
  }
}

void BatchNormBackward(const BackwardArgs& a) {
  const int64_t dim = a.op->input_dim;
  if (a.mode == ComputeMode::kTest) {
    const float* s = a.op->scale.empty() ? nullptr : a.op->scale.data();
    for (int64_t r = 0; r < a.out_deriv.rows; ++r) {
      const float* g = a.out_deriv.Row(r);
      float* d = a.in_deriv.Row(r);
      for (int64_t c = 0; c < dim; ++c) d[c] += s ? g[c] * s[c] : g[c];
    }
    return;
  }
  const BatchNormAttrs& bn = *a.op->Attrs<BatchNormAttrs>();
  const int64_t block = bn.block_dim;
  const int64_t n = a.out_deriv.rows * (dim / block);
  const std::vector<float>& scale = a.memo->values;
  KQ_CHECK(static_cast<int64_t>(scale.size()) == block, kInternal)
      << "BatchNorm backward without its train-mode forward";
  std::vector<double> sum_g(block, 0.0), sum_zg(block, 0.0);
  ForEachBlockElement(a.out_deriv.rows, dim, block, [&](int64_t r, int64_t c, int64_t j) {
    const double g = a.out_deriv.Row(r)[c];
    sum_g[j] += g;
    sum_zg[j] += g * a.out.Row(r)[c];
  });
  const float coeff = static_cast<float>(-1.0 / (double(bn.target_rms) * bn.target_rms * n));
  std::vector<float> var_deriv_mod(block), mean_g(block);
  for (int64_t j = 0; j < block; ++j) {
    var_deriv_mod[j] = coeff * static_cast<float>(sum_zg[j]) * scale[j];
    mean_g[j] = static_cast<float>(-sum_g[j] / double(n));
  }
  ForEachBlockElement(a.out_deriv.rows, dim, block, [&](int64_t r, int64_t c, int64_t j) {
    const float g = a.out_deriv.Row(r)[c], z = a.out.Row(r)[c];
    a.in_deriv.Row(r)[c] += (g + mean_g[j]) * scale[j] + z * var_deriv_mod[j];
  });
}

}  // namespace

const OpTraits kNormalizeTraits = {"Normalize", kRowWise | kBackwardNeedsInput,
                                   ValidateNormalize, NormalizeForward, NormalizeBackward,
                                   nullptr};
const OpTraits kBatchNormTraits = {
    "BatchNorm", kRowWise | kBackwardNeedsOutput | kBatchCoupledInTrain | kStoresStats,
    ValidateBatchNorm, BatchNormForward, BatchNormBackward, nullptr};

}  // namespace kaldiq::nnet::ops
