// One quantize function everywhere (kernels/qgrid.h): the scalar quant::Quantize used by
// calibration and weight quantization, fake quantization, the activation row kernel, and the
// bytes an int8 layer really feeds its GEMM agree bit for bit, on random data with exact ties and
// near-ties. The GEMM input is observed through an int8 layer with identity weights (scale 1):
// its f32 output is float(q_x − z_x) · s_x, which is exactly the fake-quantized input, on every
// available int8 backend. Also: re-deriving a plan at another weight width equals calibrating at
// that width.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kaldi/nnet3/model_io.h"
#include "kernels/gemm_s8.h"
#include "kernels/quantize.h"
#include "quant/calibrate.h"
#include "quant/int8_linear.h"
#include "quant/scheme.h"
#include "quant_fixtures.h"

namespace kaldiq::quant {
namespace {

// Random values with exact ties (x · inv_scale = k + 0.5 in float) and their float neighbours.
std::vector<float> TiesAndNearTies(const QParams& p, std::mt19937* rng) {
  std::vector<float> v;
  std::uniform_real_distribution<float> u(-1.1f, 1.1f);
  const float span = static_cast<float>(p.qmax - p.qmin) * p.scale;
  for (int i = 0; i < 3000; ++i) v.push_back(u(*rng) * span);
  int ties = 0;
  for (int32_t q = p.qmin - p.zero_point - 2; q <= p.qmax - p.zero_point + 2; ++q) {
    const float want = static_cast<float>(q) + 0.5f;
    float t = want * p.scale;
    for (int s = 0; s < 32 && t * p.inv_scale != want; ++s)
      t = std::nextafter(t, t * p.inv_scale < want ? 1e30f : -1e30f);
    ties += t * p.inv_scale == want;
    for (float x : {t, std::nextafter(t, 1e30f), std::nextafter(t, -1e30f)}) v.push_back(x);
  }
  EXPECT_GT(ties, 20);
  return v;
}

std::vector<QParams> Grids() {
  TensorSpec u8;
  u8.is_signed = false;
  TensorSpec s8;  // signed asymmetric [−128, 127] (fed to the u8 GEMM shifted by 128)
  return {ChooseQParams(-0.37f, 6.1f, u8), ChooseQParams(0.0f, 11.0f, u8),
          ChooseQParams(-3.3f, 2.9f, s8)};
}

TEST(QuantizeUnification, ScalarQuantizeIsTheKernelFunction) {
  std::mt19937 rng(1);
  for (const QParams& p : Grids()) {
    for (float x : TiesAndNearTies(p, &rng)) {
      ASSERT_EQ(Quantize(x, p), kernels::QuantizeOne(x, p)) << x;
      ASSERT_EQ(FakeQuantize(x, p), kernels::FakeQuantizeOne(x, p)) << x;
      ASSERT_EQ(FakeQuantize(x, p), Dequantize(Quantize(x, p), p)) << x;
    }
  }
}

TEST(QuantizeUnification, Int8LayerFeedsItsGemmTheFakeQuantizedInput) {
  std::mt19937 rng(2);
  const int32_t dim = 41;  // not a multiple of 2, 4, 8 or 32
  nnet::Op op;
  op.type = nnet::OpType::kAffine;
  op.name = "identity";
  op.input_dim = op.output_dim = dim;
  op.weight = MatrixF(dim, dim);
  for (int32_t i = 0; i < dim; ++i) op.weight(i, i) = 1.0f;
  TensorSpec wspec;
  wspec.symmetric = wspec.narrow = true;
  QParams wq = ChooseQParams(-127.0f, 127.0f, wspec);  // scale 1: the codes are the weights
  ASSERT_EQ(wq.scale, 1.0f);
  for (const QParams& act : Grids()) {
    TensorSpec aspec;
    aspec.is_signed = act.qmin < 0;
    QuantizedAffine q = QuantizeAffine(op, std::vector<QParams>(dim, wq), wspec, aspec,
                                       RangeMode::kStatic, act, {});
    std::vector<float> values = TiesAndNearTies(act, &rng);
    const int64_t rows = static_cast<int64_t>(values.size()) / dim;
    const int64_t ldx = dim + 3;
    std::vector<float> x(static_cast<size_t>(rows * ldx), 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int32_t c = 0; c < dim; ++c) x[r * ldx + c] = values[r * dim + c];
    // The row kernel's bytes, as the executor quantizes float ops for int8 consumers.
    std::vector<uint8_t> bytes(static_cast<size_t>(rows * dim));
    const int32_t shift = aspec.is_signed ? 128 : 0;
    kernels::QuantizeRowsU8(x.data(), rows, dim, ldx, act, shift, bytes.data(), dim);
    for (const kernels::Int8BackendInfo& b : kernels::Int8Backends()) {
      if (!b.available) continue;
      SCOPED_TRACE(b.name + (aspec.is_signed ? " signed grid" : " unsigned grid"));
      auto kernel = MakeInt8LinearKernel(q, b.name);
      std::vector<float> y(static_cast<size_t>(rows * dim));
      kernel->Forward(x.data(), rows, ldx, y.data(), dim);
      for (int64_t r = 0; r < rows; ++r)
        for (int32_t c = 0; c < dim; ++c) {
          const float xv = x[r * ldx + c];
          ASSERT_EQ(y[r * dim + c], FakeQuantize(xv, act)) << "x=" << xv;
          ASSERT_EQ(int32_t(bytes[r * dim + c]) - shift, Quantize(xv, act)) << "x=" << xv;
        }
    }
  }
}

TEST(QuantizeUnification, PlanAtAnotherWidthEqualsCalibratingAtThatWidth) {
  testing::QuantizedFixture f = testing::TdnnSeed("best");  // the preset: 8-bit weights
  const Scheme& s = f.plan.scheme;
  ASSERT_EQ(s.weight.bits, 8);
  // The plan re-derived at 7 bits, and back at 8: the second equals the calibrated plan.
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(f.model_path);
  const nnet::Graph folded = LowerForInt8(km.nnet, "m", Int8Lowering::For(s), nullptr);
  const nnet::Graph lowered = EqualizedGraph(folded, f.plan, "plan");
  Plan p7 = WithWeightBits(f.plan, lowered, 7);
  EXPECT_EQ(p7.scheme.weight.bits, 7);
  Plan p8 = WithWeightBits(p7, lowered, 8);
  ASSERT_EQ(p8.layers.size(), f.plan.layers.size());
  int compared = 0;
  for (size_t i = 0; i < p8.layers.size(); ++i) {
    const LayerPlan &a = p8.layers[i], &b = f.plan.layers[i];
    if (b.keep_float) continue;
    EXPECT_EQ(a.weight_scales, b.weight_scales) << a.name;
    EXPECT_EQ(a.bias_delta, b.bias_delta) << a.name;
    EXPECT_NE(p7.layers[i].weight_scales, b.weight_scales) << a.name;
    ++compared;
  }
  EXPECT_GT(compared, 5);
  // 7-bit weights stay within the range every fast kernel computes exactly.
  Int8Model m7 = BuildInt8Model(folded, p7, "plan");
  for (const QuantizedAffine& q : m7.layers)
    for (int8_t w : q.weight) ASSERT_LE(std::abs(int(w)), 63) << q.name;
}

}  // namespace
}  // namespace kaldiq::quant
