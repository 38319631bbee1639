// Per-channel activation equalisation (quant/equalize.h): the equalised fp32 graph equals the
// original on the real tdnn-seed model, the scales round-trip through the plan and the int8
// model file, and scales that do not fit the model are refused with a clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "nnet/executor.h"
#include "quant/calibrate.h"
#include "quant/equalize.h"
#include "quant/int8_model.h"
#include "quant/int8_model_io.h"
#include "quant/plan.h"
#include "util/error.h"

namespace kaldiq::quant {
namespace {

const std::string kDir = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/";

nnet::Graph SeedGraph(std::vector<std::string>* folds = nullptr) {
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(kDir + "final.mdl");
  return LowerForInt8(km.nnet, "final.mdl", Int8Lowering::For(PresetScheme("best")), folds);
}

MatrixF FirstUtterance() {
  kaldi::SequentialMatrixReader r("ark:" + kDir + "dev60/feats_cmvn5.ark");
  return r.Value();
}

// A real plan: CalibrateGraph over the first fixture utterance.
Plan CalibratedPlan(const nnet::Graph& g, const std::vector<std::string>& folds,
                    const Scheme& scheme) {
  nnet::ComputeOptions opts;
  opts.frame_subsampling_factor = 3;
  opts.frames_per_chunk = 140;
  MatrixF feats = FirstUtterance();
  int passes = 0;
  Plan plan = CalibrateGraph(g, scheme, {}, folds, opts, [&](nnet::Executor& ex) {
    ++passes;
    ex.Compute(feats, nullptr, nullptr);
  });
  // Equalising calibrates twice: once to choose the scales, once on the equalised graph.
  EXPECT_EQ(passes, scheme.equalize == EqualizeMethod::kNone ? 1 : 2);
  return plan;
}

// Deterministic scales spanning two orders of magnitude (a harsh test of exactness).
std::vector<Equalization> SpreadScales(const nnet::Graph& g) {
  std::vector<Equalization> eq;
  for (const EqualizeSite& site : FindEqualizeSites(g)) {
    Equalization e;
    e.producer = g.ops[site.producer].name;
    for (int32_t j = 0; j < g.ops[site.producer].output_dim; ++j)
      e.scale.push_back(std::exp(2.3f * std::sin(0.7f * float(j) + float(site.producer))));
    eq.push_back(std::move(e));
  }
  return eq;
}

TEST(Equalize, SitesOfTdnnSeed) {
  nnet::Graph g = SeedGraph();
  std::vector<std::string> names;
  for (const EqualizeSite& s : FindEqualizeSites(g)) names.push_back(g.ops[s.producer].name);
  // The LDA and every hidden TDNN layer feed the next layer through splicing only; the output
  // affine feeds the network output and is never a site.
  ASSERT_GE(names.size(), 7u);
  EXPECT_EQ(names.front(), "lda");
  for (const std::string& n : names) EXPECT_NE(n, "output.affine");
}

TEST(Equalize, EqualisedGraphEqualsTheOriginal) {
  nnet::Graph g = SeedGraph();
  nnet::Graph e = g;
  std::vector<Equalization> eq = SpreadScales(g);
  ApplyEqualization(eq, &e, "test");
  // The weights really changed (row 0 of tdnn2 is divided by a scale far from 1)...
  const int32_t t2 = g.Find("tdnn2.affine");
  ASSERT_GE(t2, 0);
  EXPECT_NE(g.ops[t2].weight(0, 0), e.ops[t2].weight(0, 0));
  // ...but every output of the network is the same up to float rounding.
  nnet::ComputeOptions opts;
  opts.frame_subsampling_factor = 3;
  opts.frames_per_chunk = 140;
  nnet::ExecutableNet a = nnet::Prepare(g), b = nnet::Prepare(e);
  MatrixF feats = FirstUtterance();
  MatrixF ya = nnet::Executor(a, opts).Compute(feats, nullptr, nullptr);
  MatrixF yb = nnet::Executor(b, opts).Compute(feats, nullptr, nullptr);
  ASSERT_EQ(ya.rows(), yb.rows());
  ASSERT_EQ(ya.cols(), yb.cols());
  double max_abs = 0.0, max_diff = 0.0;
  for (int64_t i = 0; i < ya.size(); ++i) {
    max_abs = std::max(max_abs, double(std::fabs(ya.data()[i])));
    max_diff = std::max(max_diff, double(std::fabs(ya.data()[i] - yb.data()[i])));
  }
  EXPECT_GT(max_abs, 1.0);
  EXPECT_LT(max_diff / max_abs, 1e-5) << "max diff " << max_diff << " of " << max_abs;
}

TEST(Equalize, SmoothScalesHaveUnitGeometricMeanAndFollowTheActivations) {
  nnet::Graph g = SeedGraph();
  std::vector<EqualizeSite> sites = FindEqualizeSites(g);
  ASSERT_FALSE(sites.empty());
  const EqualizeSite& site = sites[1];
  const int32_t n = g.ops[site.producer].output_dim;
  std::vector<float> act(static_cast<size_t>(n));
  for (int32_t j = 0; j < n; ++j) act[j] = 1.0f + float(j % 7);
  std::vector<float> s = ChooseEqualizationScales(g, site, act, EqualizeMethod::kSmooth, 1.0f);
  double log_sum = 0.0;
  for (float x : s) log_sum += std::log(x);
  EXPECT_NEAR(log_sum / n, 0.0, 1e-5);
  // alpha = 1: s proportional to the activation range, so every channel gets the same range.
  EXPECT_NEAR(s[6] / s[0], 7.0, 1e-4);
  // alpha = 0 ignores activations entirely.
  std::vector<float> w = ChooseEqualizationScales(g, site, act, EqualizeMethod::kSmooth, 0.0f);
  act[0] = 100.0f;
  EXPECT_EQ(w, ChooseEqualizationScales(g, site, act, EqualizeMethod::kSmooth, 0.0f));
}

TEST(Equalize, PlanAndInt8ModelRoundTrip) {
  std::vector<std::string> folds;
  nnet::Graph g = SeedGraph(&folds);
  Scheme scheme = PresetScheme("best");
  scheme.equalize = EqualizeMethod::kSmooth;
  scheme.equalize_alpha = 0.25f;
  Plan plan = CalibratedPlan(g, folds, scheme);
  // Calibration chose scales for every site whose consumers are int8 (the LDA feeds tdnn1).
  ASSERT_GE(plan.equalize.size(), 7u);
  EXPECT_EQ(plan.equalize[0].producer, "lda");
  plan.equalize = SpreadScales(g);
  const std::string path = ::testing::TempDir() + "/kq_equalize_plan.txt";
  WritePlan(path, plan);
  {
    std::FILE* f = std::fopen(path.c_str(), "r");
    ASSERT_NE(f, nullptr);
    char line[64] = {};
    ASSERT_NE(std::fgets(line, sizeof(line), f), nullptr);
    std::fclose(f);
    // 3: a calibrated plan carries the input means (act-mean lines) besides the equalisation.
    EXPECT_STREQ(line, "kaldiq-plan 3\n");
  }
  Plan back = ReadPlan(path);
  EXPECT_EQ(back.scheme.equalize, EqualizeMethod::kSmooth);
  EXPECT_EQ(back.scheme.equalize_alpha, 0.25f);
  ASSERT_EQ(back.equalize.size(), plan.equalize.size());
  for (size_t i = 0; i < plan.equalize.size(); ++i) {
    EXPECT_EQ(back.equalize[i].producer, plan.equalize[i].producer);
    EXPECT_EQ(back.equalize[i].scale, plan.equalize[i].scale);  // bit-exact
  }
  // The int8 model keeps the scales (for `forward --compare-to`) bit-exactly too.
  Int8Model m = BuildInt8Model(g, back, path);
  Int8Model m2 = DeserializeInt8Model(SerializeInt8Model(m));
  ASSERT_EQ(m2.equalize.size(), plan.equalize.size());
  for (size_t i = 0; i < plan.equalize.size(); ++i)
    EXPECT_EQ(m2.equalize[i].scale, plan.equalize[i].scale);
  // A plan without equalisation is still written (and read) as version 1.
  plan.equalize.clear();
  plan.scheme.equalize = EqualizeMethod::kNone;
  WritePlan(path, plan);
  EXPECT_TRUE(ReadPlan(path).equalize.empty());
  std::remove(path.c_str());
}

TEST(Equalize, PlanThatDoesNotMatchTheModelIsRefused) {
  std::vector<std::string> folds;
  nnet::Graph g = SeedGraph(&folds);
  const Plan good = [&] {
    Scheme scheme = PresetScheme("best");
    scheme.equalize = EqualizeMethod::kNone;
    Plan p = CalibratedPlan(g, folds, scheme);
    p.equalize = SpreadScales(g);
    return p;
  }();
  auto expect_refused = [&](Plan p, const std::string& needle) {
    try {
      BuildInt8Model(g, p, "p.txt");
      ADD_FAILURE() << "accepted a plan that does not match (" << needle << ")";
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("plan 'p.txt' does not match the model"), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
  };
  Plan p = good;
  p.equalize[0].producer = "tdnn9.affine";
  expect_refused(p, "no op 'tdnn9.affine'");
  p = good;
  p.equalize[1].scale.pop_back();
  expect_refused(p, "scales, its output dimension is");
  p = good;
  p.equalize[0].producer = "output.affine";
  p.equalize[0].scale.assign(static_cast<size_t>(g.OutputDim()), 1.0f);
  expect_refused(p, "only feeds affine ops");
  p = good;
  p.equalize[2].scale[3] = 0.0f;
  expect_refused(p, "must be finite and > 0");
}

}  // namespace
}  // namespace kaldiq::quant
