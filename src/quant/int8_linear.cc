#include "quant/int8_linear.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/quantize.h"
#include "util/error.h"

namespace kaldiq::quant {

QuantizedAffine QuantizeAffine(const nnet::Op& op, const std::vector<QParams>& wq,
                               const TensorSpec& weight_spec, const TensorSpec& act_spec,
                               RangeMode act_range, const QParams& act,
                               const std::vector<float>& bias_delta) {
  KQ_CHECK(op.type == nnet::OpType::kAffine, kInternal) << op.name << " is not affine";
  KQ_CHECK(static_cast<int32_t>(wq.size()) == op.output_dim, kInvalidArgument)
      << op.name << ": " << wq.size() << " weight scales for " << op.output_dim << " outputs";
  KQ_CHECK(weight_spec.is_signed, kInvalidArgument)
      << op.name << ": int8 weights must use a signed grid";
  for (const QParams& p : wq)
    KQ_CHECK(p.zero_point == wq[0].zero_point, kInvalidArgument)
        << op.name << ": per-channel weight zero points must be equal (use symmetric weights)";
  QuantizedAffine q;
  q.name = op.name;
  q.input_dim = op.input_dim;
  q.output_dim = op.output_dim;
  q.relu = op.relu_after;
  q.act_spec = act_spec;
  q.act_range = act_range;
  q.act = act;
  q.weight_spec = weight_spec;
  q.weight_zero_point = wq[0].zero_point;
  q.weight.resize(static_cast<size_t>(op.output_dim) * op.input_dim);
  q.weight_scale.resize(static_cast<size_t>(op.output_dim));
  for (int32_t o = 0; o < op.output_dim; ++o) {
    q.weight_scale[o] = wq[o].scale;
    for (int32_t i = 0; i < op.input_dim; ++i) {
      int32_t v = Quantize(op.weight(o, i), wq[o]);
      q.weight[static_cast<size_t>(o) * op.input_dim + i] = static_cast<int8_t>(v);
    }
  }
  q.bias = op.bias;
  if (!bias_delta.empty()) {
    KQ_CHECK(static_cast<int32_t>(bias_delta.size()) == op.output_dim, kInvalidArgument)
        << op.name << ": bias correction has " << bias_delta.size() << " entries";
    if (q.bias.empty()) q.bias.assign(static_cast<size_t>(op.output_dim), 0.0f);
    for (int32_t o = 0; o < op.output_dim; ++o) q.bias[o] += bias_delta[o];
  }
  return q;
}

MatrixF DequantizedWeights(const QuantizedAffine& q) {
  MatrixF w(q.output_dim, q.input_dim);
  for (int32_t o = 0; o < q.output_dim; ++o)
    for (int32_t i = 0; i < q.input_dim; ++i)
      w(o, i) = static_cast<float>(int32_t(q.weight[static_cast<size_t>(o) * q.input_dim + i]) -
                                   q.weight_zero_point) *
                q.weight_scale[o];
  return w;
}

namespace {

// Quantize(x, p) + shift as u8 (the bytes the GEMM reads): the row kernel of kernels/quantize.h,
// except for the recipe's wrap-around grids (the scalar Quantize()).
void QuantizeRowsToU8(const float* x, int64_t rows, int64_t k, int64_t ldx, const QParams& p,
                      int32_t shift, uint8_t* out) {
  if (p.wrap) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < k; ++c)
        out[r * k + c] = static_cast<uint8_t>(Quantize(x[r * ldx + c], p) + shift);
    return;
  }
  kernels::QuantizeRowsU8(x, rows, k, ldx, p, shift, out, k);
}

class Int8LinearKernel : public nnet::LinearKernel {
 public:
  Int8LinearKernel(const QuantizedAffine& q, const std::string& backend,
                   const QParams* output)
      : q_(q), gemm_(q.output_dim, q.input_dim, q.weight.data(), q.input_dim, q.weight_zero_point,
                     backend) {
    q_.weight.clear();
    q_.weight.shrink_to_fit();
    shift_ = q.act_spec.is_signed ? 128 : 0;
    if (q.act_range != RangeMode::kStatic) {
      KQ_CHECK(output == nullptr, kInternal) << q.name << ": u8 output needs a static input range";
      return;
    }
    scale_.resize(static_cast<size_t>(q.output_dim));
    bias32_.assign(static_cast<size_t>(q.output_dim), 0);
    for (int32_t o = 0; o < q.output_dim; ++o) {
      scale_[o] = q.act.scale * q.weight_scale[o];
      if (!q.bias.empty()) {
        double b = std::nearbyint(double(q.bias[o]) / double(scale_[o]));
        b = std::min(std::max(b, -2147483648.0), 2147483647.0);
        bias32_[o] = static_cast<int32_t>(b);
      }
    }
    if (!q.act_spec.is_signed && !q.act.wrap) {
      in_grid_ = q.act;
      has_in_grid_ = true;
    }
    if (output) {
      KQ_CHECK(output->qmin >= 0 && output->qmax <= 255 && !output->wrap && output->scale > 0,
               kInternal) << q.name << ": u8 output grid expected";
      out_grid_ = *output;
      has_out_grid_ = true;
      out_lo_ = q.relu ? std::max(output->qmin, output->zero_point) : output->qmin;
      out_hi_ = output->qmax;
      out_scale_.resize(scale_.size());
      for (size_t o = 0; o < scale_.size(); ++o)
        out_scale_[o] = static_cast<float>(double(scale_[o]) / double(output->scale));
    }
  }

  void Forward(const float* x, int64_t rows, int64_t ldx, float* y, int64_t ldy) const override {
    Run(x, false, rows, ldx, y, false, ldy);
  }
  void ForwardQuantized(const void* x, bool x_is_u8, int64_t rows, int64_t ldx, void* y,
                        int64_t ldy) const override {
    KQ_CHECK(!x_is_u8 || has_in_grid_, kInternal) << q_.name << ": u8 input without a grid";
    Run(x, x_is_u8, rows, ldx, y, has_out_grid_, ldy);
  }
  const nnet::U8Grid* InputGrid() const override { return has_in_grid_ ? &in_grid_ : nullptr; }
  const nnet::U8Grid* OutputGrid() const override { return has_out_grid_ ? &out_grid_ : nullptr; }

  int64_t InputDim() const override { return q_.input_dim; }
  int64_t OutputDim() const override { return q_.output_dim; }
  std::string Describe() const override {
    const std::string& b = gemm_.Backend();
    return "int8 " + b + (b == "onednn" ? "(" + kernels::Int8IsaName() + ")" : "") + " w" +
           std::to_string(q_.weight_spec.bits) +
           (q_.act_range == RangeMode::kStatic ? "" : " dynamic-" + ToString(q_.act_range)) +
           (has_out_grid_ ? " u8-out" : "");
  }

 private:
  // x: u8 rows on in_grid_ (x_is_u8) or float rows; y: u8 rows on out_grid_ (y_is_u8) or float.
  void Run(const void* x, bool x_is_u8, int64_t rows, int64_t ldx, void* y, bool y_is_u8,
           int64_t ldy) const {
    if (rows <= 0) return;
    const int64_t k = q_.input_dim, n = q_.output_dim;
    if (x_is_u8) {
      // Already on the input grid (the previous layer requantized onto it).
      Gemm(static_cast<const uint8_t*>(x), ldx, q_.act, rows, y, y_is_u8, ldy);
      return;
    }
    const float* xf = static_cast<const float*>(x);
    QParams act = q_.act;
    if (q_.act_range != RangeMode::kStatic) {
      // Dynamic ranges: min/max of the rows of this call (a chunk; a whole utterance when the
      // chunk covers it).
      float lo = std::numeric_limits<float>::infinity(), hi = -lo;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < k; ++c)
          lo = std::min(lo, xf[r * ldx + c]), hi = std::max(hi, xf[r * ldx + c]);
      act = ChooseQParams(lo, hi, q_.act_spec);
    }
    // Per-thread scratch (grown, never shrunk): see Int8Gemm::Compute.
    thread_local std::vector<uint8_t> xq;
    if (xq.size() < static_cast<size_t>(rows * k)) xq.resize(static_cast<size_t>(rows * k));
    QuantizeRowsToU8(xf, rows, k, ldx, act, shift_, xq.data());
    if (q_.act_range == RangeMode::kStatic) {
      Gemm(xq.data(), k, act, rows, y, y_is_u8, ldy);
      return;
    }
    // The recipe adds the fp32 bias after rescaling.
    float* yf = static_cast<float*>(y);
    kernels::Requant rq;
    rq.output = kernels::Requant::Output::kF32;
    std::vector<float> scale(static_cast<size_t>(n));
    for (int64_t o = 0; o < n; ++o) scale[o] = act.scale * q_.weight_scale[o];
    rq.scale = scale.data();
    gemm_.Compute(rows, xq.data(), k, act.zero_point + shift_, rq, yf, ldy);
    for (int64_t r = 0; r < rows; ++r) {
      float* yr = yf + r * ldy;
      if (!q_.bias.empty())
        for (int64_t o = 0; o < n; ++o) yr[o] += q_.bias[o];
      if (q_.relu)
        for (int64_t o = 0; o < n; ++o) yr[o] = std::max(yr[o], 0.0f);
    }
  }

  // Static ranges: int32 bias and ReLU fused into the epilogue, which dequantizes to float or
  // requantizes onto the output grid.
  void Gemm(const uint8_t* xq, int64_t ldx, const QParams& act, int64_t rows, void* y,
            bool y_is_u8, int64_t ldy) const {
    kernels::Requant rq;
    rq.bias = bias32_.data();
    if (y_is_u8) {
      rq.output = kernels::Requant::Output::kU8;
      rq.scale = out_scale_.data();
      rq.out_zero_point = out_grid_.zero_point;
      rq.lo = out_lo_;
      rq.hi = out_hi_;
    } else {
      rq.output = kernels::Requant::Output::kF32;
      rq.scale = scale_.data();
      rq.relu = q_.relu;
    }
    gemm_.Compute(rows, xq, ldx, act.zero_point + shift_, rq, y, ldy);
  }

  QuantizedAffine q_;  // without the weight bytes (kept by gemm_)
  kernels::Int8Gemm gemm_;
  int32_t shift_ = 0;
  std::vector<float> scale_;  // s_x · s_w[o]
  std::vector<int32_t> bias32_;
  nnet::U8Grid in_grid_, out_grid_;
  bool has_in_grid_ = false, has_out_grid_ = false;
  std::vector<float> out_scale_;  // s_x · s_w[o] / s_out
  int32_t out_lo_ = 0, out_hi_ = 255;
};

}  // namespace

std::shared_ptr<const nnet::LinearKernel> MakeInt8LinearKernel(const QuantizedAffine& q,
                                                               const std::string& backend,
                                                               const QParams* output) {
  return std::make_shared<Int8LinearKernel>(q, backend, output);
}

}  // namespace kaldiq::quant
