// The integer pipeline: int8 layers hand u8 tensors to each other (requantized in the GEMM
// epilogue onto the consumer's input grid, spliced as bytes) instead of going through float.
// Checked on the two vendored fixture models: which ops hold u8 (all of a TDNN chain but the
// output layer; in TDNN-F the bottlenecks, and the float bypass sums quantized once for the next
// layer while keeping their float rows for the next sum), that the fast and reference
// kernels still agree bit for bit end to end, and that the integer pipeline computes what the
// float-between-layers pipeline computes up to the rounding of the requantization scale.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "nnet/executor.h"
#include "quant/int8_model.h"
#include "quant_fixtures.h"

namespace kaldiq::quant {
namespace {

// name -> the grid that layer's output is requantized onto (layers without one are absent).
std::map<std::string, QParams> GridsByName(const Int8Model& m) {
  std::vector<std::optional<QParams>> grids = OutputGrids(m);
  std::map<std::string, QParams> out;
  for (size_t i = 0; i < grids.size(); ++i)
    if (grids[i]) out[m.graph.ops[i].name] = *grids[i];
  return out;
}

const QuantizedAffine& Layer(const Int8Model& m, const std::string& name) {
  for (const QuantizedAffine& q : m.layers)
    if (q.name == name) return q;
  throw std::runtime_error("no layer " + name);
}

void ExpectSameGrid(const QParams& a, const QParams& b, const std::string& what) {
  EXPECT_EQ(a.scale, b.scale) << what;
  EXPECT_EQ(a.zero_point, b.zero_point) << what;
  EXPECT_EQ(a.qmin, b.qmin) << what;
  EXPECT_EQ(a.qmax, b.qmax) << what;
}

// Output SQNR of `test` against `ref` in dB, and the largest absolute difference.
void Agreement(const MatrixF& ref, const MatrixF& test, double* db, double* max_abs) {
  double sig = 0, err = 0;
  *max_abs = 0;
  for (int64_t i = 0; i < ref.size(); ++i) {
    double d = double(test.data()[i]) - ref.data()[i];
    sig += double(ref.data()[i]) * ref.data()[i];
    err += d * d;
    *max_abs = std::max(*max_abs, std::abs(d));
  }
  *db = err == 0 ? 999.0 : 10 * std::log10(sig / err);
}

TEST(IntegerPipeline, TdnnChainExchangesU8UpToTheOutputLayer) {
  testing::QuantizedFixture c = testing::TdnnSeed();
  std::map<std::string, QParams> grids = GridsByName(c.model);
  // Each TDNN layer's output is spliced into the next layer only: u8 on the next layer's grid.
  const std::vector<std::string> chain = {"tdnn1.affine", "tdnn2.affine", "tdnn3.affine",
                                          "tdnn4.affine", "tdnn5.affine", "tdnn6.affine",
                                          "tdnn7.affine", "prefinal-chain.affine",
                                          "output.affine"};
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    ASSERT_TRUE(grids.count(chain[i])) << chain[i] << " should output u8";
    ExpectSameGrid(grids[chain[i]], Layer(c.model, chain[i + 1]).act, chain[i]);
  }
  EXPECT_EQ(grids.count("output.affine"), 0u) << "the network output must stay float";
  EXPECT_EQ(grids.size(), chain.size() - 1);

  nnet::ExecutableNet integer = MakeInt8Executable(c.model);
  nnet::ExecutableNet floats = MakeInt8Executable(c.model, kernels::KernelSelection::kFast, false);
  nnet::ExecutableNet reference = MakeInt8Executable(c.model, kernels::KernelSelection::kReference);
  for (size_t u = 3; u < 5; ++u) {
    MatrixF yi = c.Run(integer, u), yf = c.Run(floats, u), yr = c.Run(reference, u);
    ASSERT_EQ(yi.size(), yr.size());
    for (int64_t k = 0; k < yi.size(); ++k)
      ASSERT_EQ(yi.data()[k], yr.data()[k]) << "fast vs reference kernels, element " << k;
    // Requantizing with s_x·s_w/s_next in one step instead of dequantize-then-quantize moves a
    // few values by one quantum. Measured: utterance 3 identical, utterance 4 52.2 dB (max abs
    // difference 0.029) between the two pipelines.
    double db, max_abs;
    Agreement(yf, yi, &db, &max_abs);
    std::fprintf(stderr, "  integer vs float pipeline, utterance %zu: %.1f dB, max abs %.4f\n", u, db, max_abs);
    EXPECT_GT(db, 45.0) << "utterance " << u;
    EXPECT_LT(max_abs, 0.5) << "utterance " << u;
  }
}

TEST(IntegerPipeline, TdnnfBypassSumsAreQuantizedOnceForTheNextLayer) {
  testing::QuantizedFixture c = testing::TdnnfSmallBest();
  std::map<std::string, QParams> grids = GridsByName(c.model);
  for (int l = 2; l <= 7; ++l) {
    std::string n = "tdnnf" + std::to_string(l);
    // linear -> affine is a plain splice: u8 on the affine's grid.
    ASSERT_TRUE(grids.count(n + ".linear")) << n;
    ExpectSameGrid(grids[n + ".linear"], Layer(c.model, n + ".affine").act, n);
    // The affine feeds a float BatchNorm: float.
    EXPECT_EQ(grids.count(n + ".affine"), 0u) << n;
    // The bypass sum Sum(Scale(0.66, previous), batchnorm) is float, read by the next linear
    // layer (spliced) and the next sum: quantized once onto the next layer's grid, float rows
    // kept for the sum.
    ASSERT_TRUE(grids.count(n + ".noop")) << n;
    const std::string next = l < 7 ? "tdnnf" + std::to_string(l + 1) + ".linear" : "prefinal-l";
    ExpectSameGrid(grids[n + ".noop"], Layer(c.model, next).act, n + ".noop");
  }
  ASSERT_TRUE(grids.count("tdnn1.batchnorm"));  // a float BatchNorm read by tdnnf2.linear
  ExpectSameGrid(grids["tdnn1.batchnorm"], Layer(c.model, "tdnnf2.linear").act, "tdnn1");
  EXPECT_TRUE(grids.count("prefinal-l"));
  EXPECT_TRUE(grids.count("prefinal-chain.affine"));
  EXPECT_TRUE(grids.count("prefinal-chain.linear"));
  EXPECT_EQ(grids.count("output.affine"), 0u);
  EXPECT_EQ(grids.count("tdnn1.affine"), 0u);  // into the float BatchNorm
  EXPECT_EQ(grids.count("lda"), 0u);           // an fp32 layer

  nnet::ExecutableNet integer = MakeInt8Executable(c.model);
  nnet::ExecutableNet floats = MakeInt8Executable(c.model, kernels::KernelSelection::kFast, false);
  nnet::ExecutableNet reference = MakeInt8Executable(c.model, kernels::KernelSelection::kReference);
  MatrixF yi = c.Run(integer, 1), yf = c.Run(floats, 1), yr = c.Run(reference, 1);
  ASSERT_EQ(yi.size(), yr.size());
  for (int64_t k = 0; k < yi.size(); ++k)
    ASSERT_EQ(yi.data()[k], yr.data()[k]) << "fast vs reference kernels, element " << k;
  double db, max_abs;
  Agreement(yf, yi, &db, &max_abs);
  std::fprintf(stderr, "  integer vs float pipeline: %.1f dB, max abs %.4f\n", db, max_abs);
  // Measured 50.7 dB, max abs 0.195 (outputs span about ±15): the bypass path keeps float rows,
  // so only the one-step requantization differs.
  EXPECT_GT(db, 45.0);
}

}  // namespace
}  // namespace kaldiq::quant
