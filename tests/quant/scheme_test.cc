// The scheme arithmetic on hand-computed cases, in particular the recipe's truncated zero point and
// its unclamped int8 cast (seed.md §3.1–3.5).
#include "quant/scheme.h"

#include <gtest/gtest.h>

#include <cmath>

#include "util/error.h"

namespace kaldiq::quant {
namespace {

TEST(RecipeScheme, TruncatedZeroPointAndWrap) {
  const Scheme s = PresetScheme("recipe");
  // Range [-100.25, 153.75]: scale = 254 / 254 = 1, z0 = -127 + 100.25 = -26.75.
  QParams p = ChooseQParams(-100.25f, 153.75f, s.weight);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zero_point, -26);  // int() truncates toward zero; rounding would give -27
  EXPECT_EQ(p.qmin, -127);
  EXPECT_EQ(p.qmax, 127);
  EXPECT_TRUE(p.wrap);
  // The maximum maps to round(153.75 - 26) = round(127.75) = 128, which wraps to -128.
  EXPECT_EQ(Quantize(153.75f, p), -128);
  EXPECT_EQ(Dequantize(Quantize(153.75f, p), p), -102.0f);
  // round-half-to-even: 127.5 -> 128 (wraps), 126.5 -> 126, 125.5 -> 126.
  EXPECT_EQ(Quantize(153.5f, p), -128);
  EXPECT_EQ(Quantize(152.5f, p), 126);
  EXPECT_EQ(Quantize(151.5f, p), 126);
  // The minimum: round(-100.25 - 26) = round(-126.25) = -126 (the -127 code is never reached).
  EXPECT_EQ(Quantize(-100.25f, p), -126);
  EXPECT_EQ(Quantize(0.0f, p), -26);
}

TEST(RecipeScheme, RangeWithoutZeroWrapsMuchOfTheRange) {
  const Scheme s = PresetScheme("recipe");
  // [10, 264]: scale 1, z0 = -137 clamped to -127; x > 254 exceeds 127 and wraps.
  QParams p = ChooseQParams(10.0f, 264.0f, s.act);
  EXPECT_EQ(p.zero_point, -127);
  EXPECT_EQ(Quantize(200.0f, p), 73);
  EXPECT_EQ(Quantize(255.0f, p), -128);
  EXPECT_EQ(Quantize(264.0f, p), 137 - 256);
}

TEST(RecipeScheme, ConstantTensorDoesNotDivideByZero) {
  QParams p = ChooseQParams(2.0f, 2.0f, PresetScheme("recipe").weight);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_TRUE(std::isfinite(FakeQuantize(2.0f, p)));
}

TEST(RecipeFixedScheme, RoundedClampedZeroPoint) {
  const Scheme s = PresetScheme("recipe-fixed");
  QParams p = ChooseQParams(-100.25f, 153.75f, s.weight);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zero_point, -27);
  EXPECT_FALSE(p.wrap);
  EXPECT_EQ(Quantize(153.75f, p), 127);  // round(126.75); no wrap
  EXPECT_EQ(Quantize(1000.0f, p), 127);  // clamped
  EXPECT_EQ(Quantize(-1000.0f, p), -127);
  // A range without 0 is nudged to contain it: [10, 264] -> [0, 264].
  QParams q = ChooseQParams(10.0f, 264.0f, s.act);
  EXPECT_FLOAT_EQ(q.scale, 264.0f / 254.0f);
  EXPECT_EQ(q.zero_point, -127);
  EXPECT_EQ(Quantize(0.0f, q), -127);
  EXPECT_EQ(Quantize(264.0f, q), 127);
}

TEST(TorchDefaultScheme, SymmetricWeightsAndUnsignedActivations) {
  const Scheme s = PresetScheme("torch-default");
  EXPECT_FALSE(s.weight_per_channel);
  EXPECT_TRUE(PresetScheme("torch-default-pc").weight_per_channel);
  QParams w = ChooseQParams(-0.5f, 1.0f, s.weight);
  EXPECT_EQ(w.zero_point, 0);
  EXPECT_FLOAT_EQ(w.scale, 1.0f / 127.5f);  // PyTorch: amax / ((qmax - qmin) / 2)
  EXPECT_EQ(Quantize(1.0f, w), 127);        // 127.5 rounds to even 128, clamped to 127
  EXPECT_EQ(Quantize(-1.01f, w), -128);  // -128 is on the torch grid
  QParams a = ChooseQParams(-1.0f, 3.0f, s.act);
  EXPECT_EQ(a.qmin, 0);
  EXPECT_EQ(a.qmax, 255);
  EXPECT_FLOAT_EQ(a.scale, 4.0f / 255.0f);
  EXPECT_EQ(a.zero_point, 64);  // round(63.75)
  EXPECT_EQ(Quantize(0.0f, a), 64);
  EXPECT_EQ(Quantize(3.0f, a), 255);
}

TEST(Scheme, LowBitGridsAndSymmetricNarrow) {
  TensorSpec s;
  s.bits = 4;
  s.is_signed = true;
  s.symmetric = true;
  s.narrow = true;
  EXPECT_EQ(s.qmin(), -7);
  EXPECT_EQ(s.qmax(), 7);
  QParams p = ChooseQParams(-0.7f, 0.35f, s);
  EXPECT_FLOAT_EQ(p.scale, 0.1f);
  EXPECT_EQ(Quantize(-0.7f, p), -7);
  EXPECT_EQ(Quantize(0.25f, p), 2);  // 2.5 -> 2 (half to even)
  EXPECT_EQ(Quantize(5.0f, p), 7);
  s.bits = 2;
  EXPECT_EQ(s.qmin(), -1);
  EXPECT_EQ(s.qmax(), 1);
  s.bits = 9;
  EXPECT_THROW(ChooseQParams(0, 1, s), Error);
}

TEST(Scheme, SpecAndNamesRoundTrip) {
  for (const auto& name : PresetNames()) {
    Scheme s = PresetScheme(name);
    for (const TensorSpec& t : {s.weight, s.act}) {
      TensorSpec back = ParseTensorSpec(FormatTensorSpec(t));
      EXPECT_EQ(back.bits, t.bits);
      EXPECT_EQ(back.is_signed, t.is_signed);
      EXPECT_EQ(back.symmetric, t.symmetric);
      EXPECT_EQ(back.narrow, t.narrow);
      EXPECT_EQ(back.rule, t.rule);
    }
    EXPECT_EQ(ParseObserverKind(ToString(s.observer)), s.observer);
    EXPECT_EQ(ParseRangeMode(ToString(s.act_range)), s.act_range);
  }
  EXPECT_THROW(PresetScheme("fastest"), Error);
  EXPECT_THROW(ParseTensorSpec("bits=8,signed=1"), Error);
  EXPECT_THROW(ParseTensorSpec("bits=x,signed=1,symmetric=0,narrow=0,rule=recipe"), Error);
}

TEST(Scheme, Sqnr) {
  float ref[4] = {1, -1, 1, -1}, test[4] = {1.1f, -1, 1, -1};
  EXPECT_NEAR(SqnrDb(ref, test, 4), 10 * std::log10(4 / 0.01), 1e-4);
  EXPECT_TRUE(std::isinf(SqnrDb(ref, ref, 4)));
}

}  // namespace
}  // namespace kaldiq::quant
