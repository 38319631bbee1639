// Plan and int8 model files: every preset round-trips through both, the int8 network computes
// what its dequantized float twin computes (up to the int8 activation grid), and corrupt,
// truncated or mismatching files give clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "nnet/executor.h"
#include "quant/calibrate.h"
#include "quant/compare.h"
#include "quant/fold.h"
#include "quant/int8_model.h"
#include "quant/int8_model_io.h"
#include "quant/plan.h"
#include "util/error.h"

namespace kaldiq::quant {
namespace {

using nnet::DescExpr;
using nnet::Graph;
using nnet::Op;
using nnet::OpType;

DescExpr Node(int32_t i, int32_t offset = 0) {
  DescExpr e;
  e.node = i;
  if (offset == 0) return e;
  DescExpr o;
  o.kind = DescExpr::Kind::kOffset;
  o.value = offset;
  o.children.push_back(e);
  return o;
}

void Fill(MatrixF* m, std::mt19937* rng, float sd) {
  std::normal_distribution<float> d(0.0f, sd);
  for (int64_t i = 0; i < m->size(); ++i) m->data()[i] = d(*rng);
}

// input(8) -> lda affine 8->8 (no relu) -> tdnn1 affine 8->16 relu -> bn scale/offset ->
// tdnn2 affine over Append(bn@-1, bn@0, bn@1) 48->12 relu -> output affine 12->5 -> output.
Graph TinyGraph() {
  std::mt19937 rng(42);
  Graph g;
  Op in;
  in.name = "input";
  in.type = OpType::kInput;
  in.output_dim = 8;
  g.ops.push_back(in);
  auto affine = [&](const std::string& name, std::vector<DescExpr> parts, int32_t in_dim,
                    int32_t out_dim, bool relu) {
    Op op;
    op.name = name;
    op.type = OpType::kAffine;
    op.input.parts = std::move(parts);
    op.input_dim = in_dim;
    op.output_dim = out_dim;
    op.relu_after = relu;
    op.weight.Resize(out_dim, in_dim);
    Fill(&op.weight, &rng, 1.0f / std::sqrt(float(in_dim)));
    op.bias.assign(static_cast<size_t>(out_dim), 0.1f);
    g.ops.push_back(std::move(op));
  };
  affine("lda", {Node(0)}, 8, 8, false);
  affine("tdnn1.affine", {Node(1)}, 8, 16, true);
  Op bn;
  bn.name = "tdnn1.batchnorm";
  bn.type = OpType::kScaleOffset;
  bn.input.parts = {Node(2)};
  bn.input_dim = bn.output_dim = 16;
  for (int i = 0; i < 16; ++i) {
    bn.scale.push_back(0.5f + 0.1f * i);
    bn.offset.push_back(-0.2f + 0.03f * i);
  }
  g.ops.push_back(bn);
  affine("tdnn2.affine", {Node(3, -1), Node(3), Node(3, 1)}, 48, 12, true);
  affine("output.affine", {Node(4)}, 12, 5, false);
  Op out;
  out.name = "output";
  out.type = OpType::kOutput;
  out.input.parts = {Node(5)};
  out.input_dim = out.output_dim = 5;
  g.ops.push_back(out);
  g.output = 6;
  nnet::ValidateGraph(g);
  return g;
}

MatrixF Feats(int64_t frames, int seed) {
  std::mt19937 rng(seed);
  MatrixF f(frames, 8);
  Fill(&f, &rng, 1.0f);
  return f;
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/kq_quant_" + name;
}

TEST(Fold, BatchNormAndLdaFoldExactly) {
  Graph g = TinyGraph();
  Graph folded = g;
  std::vector<std::string> log = FoldForInt8(&folded);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "tdnn1.batchnorm -> tdnn2.affine");
  EXPECT_EQ(log[1], "lda -> tdnn1.affine");
  EXPECT_EQ(folded.Find("lda"), -1);
  EXPECT_EQ(folded.ops[folded.Find("tdnn1.batchnorm")].type, OpType::kCopy);
  nnet::ExecutableNet a = nnet::Prepare(g, nnet::KernelChoice::kReference);
  nnet::ExecutableNet b = nnet::Prepare(folded, nnet::KernelChoice::kReference);
  nnet::ComputeOptions opts;
  nnet::Executor ea(a, opts), eb(b, opts);
  MatrixF feats = Feats(40, 1);
  MatrixF ya = ea.Compute(feats, nullptr, nullptr), yb = eb.Compute(feats, nullptr, nullptr);
  ASSERT_EQ(ya.rows(), yb.rows());
  for (int64_t i = 0; i < ya.size(); ++i) EXPECT_NEAR(ya.data()[i], yb.data()[i], 1e-4);
}

Int8Model QuantizeTiny(const std::string& preset, Plan* plan_out, Graph* folded_out) {
  Graph g = TinyGraph();
  std::vector<std::string> folds = FoldForInt8(&g);
  Calibrator cal(g, PresetScheme(preset), {});
  nnet::ExecutableNet net = nnet::Prepare(g);
  nnet::Executor ex(net, nnet::ComputeOptions());
  ex.SetObserver(cal.Hook());
  for (int s = 0; s < 3; ++s) ex.Compute(Feats(60, 10 + s), nullptr, nullptr);
  Plan plan = cal.MakePlan(folds);
  Int8Model m = BuildInt8Model(g, plan, "plan");
  m.priors = {0.1f, 0.2f, 0.3f, 0.2f, 0.2f};
  if (plan_out) *plan_out = plan;
  if (folded_out) *folded_out = g;
  return m;
}

TEST(PlanAndModel, EveryPresetRoundTrips) {
  for (const std::string& preset : PresetNames()) {
    SCOPED_TRACE(preset);
    Plan plan;
    Graph g;
    Int8Model m = QuantizeTiny(preset, &plan, &g);
    const std::string plan_path = TempPath("plan.txt");
    WritePlan(plan_path, plan);
    Plan back = ReadPlan(plan_path);
    EXPECT_EQ(back.scheme.name, plan.scheme.name);
    EXPECT_EQ(FormatTensorSpec(back.scheme.act), FormatTensorSpec(plan.scheme.act));
    EXPECT_EQ(back.scheme.act_range, plan.scheme.act_range);
    EXPECT_EQ(back.folds, plan.folds);
    ASSERT_EQ(back.layers.size(), plan.layers.size());
    for (size_t i = 0; i < plan.layers.size(); ++i) {
      EXPECT_EQ(back.layers[i].act.scale, plan.layers[i].act.scale);
      EXPECT_EQ(back.layers[i].act.zero_point, plan.layers[i].act.zero_point);
      EXPECT_EQ(back.layers[i].act.wrap, plan.layers[i].act.wrap);
      EXPECT_EQ(back.layers[i].weight_scales, plan.layers[i].weight_scales);
      EXPECT_EQ(back.layers[i].bias_delta, plan.layers[i].bias_delta);
    }
    // Rebuilding from the re-read plan gives the same bytes.
    Int8Model m2 = BuildInt8Model(g, back, plan_path);
    m2.priors = m.priors;
    EXPECT_EQ(SerializeInt8Model(m), SerializeInt8Model(m2));

    const std::string path = TempPath("model.int8");
    WriteInt8Model(path, m);
    EXPECT_TRUE(IsInt8ModelFile(path));
    EXPECT_FALSE(IsInt8ModelFile(plan_path));
    Int8Model r = ReadInt8Model(path);
    EXPECT_EQ(SerializeInt8Model(r), SerializeInt8Model(m));
    EXPECT_EQ(r.priors, m.priors);
    EXPECT_EQ(r.scheme_name, preset);
    // lda folded away; tdnn1 (now reading the input) kept in fp32 by input_layer_float.
    ASSERT_EQ(r.layers.size(), 2u);
    EXPECT_EQ(r.layers[0].name, "tdnn2.affine");
    EXPECT_EQ(r.layers[0].weight, m.layers[0].weight);

    // The int8 network matches its float twin with the same (static) input quantization
    // closely; dynamic-range presets are compared on one chunk = the whole utterance.
    nnet::ComputeOptions opts;
    opts.frames_per_chunk = 1000;
    nnet::ExecutableNet ref = nnet::Prepare(g);
    nnet::ExecutableNet q = MakeInt8Executable(r);
    Comparer cmp(ref, q, opts);
    for (int s = 0; s < 2; ++s) cmp.Add(Feats(50, 100 + s), nullptr, nullptr);
    EXPECT_GT(cmp.OutputSqnrDb(), preset == "recipe" ? 10.0 : 25.0);
    EXPECT_GT(cmp.ArgmaxAgreement(), 0.8);
  }
}

// Version 2 stores each activation grid's inv_scale as computed; version-1 files (without it)
// are still read, with inv_scale = 1.0f / scale, which is what a version-2 writer stores.
TEST(PlanAndModel, Version1FilesAreStillRead) {
  Int8Model m = QuantizeTiny("best", nullptr, nullptr);
  ASSERT_FALSE(m.layers.empty());
  const std::string v1 = SerializeInt8Model(m, 1), v2 = SerializeInt8Model(m);
  uint32_t version = 0;
  std::memcpy(&version, v1.data() + 8, 4);
  EXPECT_EQ(version, 1u);
  std::memcpy(&version, v2.data() + 8, 4);
  EXPECT_EQ(version, kInt8FormatVersion);
  Int8Model r1 = DeserializeInt8Model(v1);
  for (const QuantizedAffine& q : r1.layers) EXPECT_EQ(q.act.inv_scale, 1.0f / q.act.scale);
  EXPECT_EQ(SerializeInt8Model(r1), v2);
  // A stored inv_scale is kept as stored (not recomputed).
  m.layers[0].act.inv_scale = std::nextafter(m.layers[0].act.inv_scale, 0.0f);
  EXPECT_EQ(DeserializeInt8Model(SerializeInt8Model(m)).layers[0].act.inv_scale,
            m.layers[0].act.inv_scale);
  // Versions from the future are refused naming the version.
  std::string v9 = v2;
  v9[8] = 9;
  try {
    DeserializeInt8Model(v9);
    ADD_FAILURE() << "version 9 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("version 9"), std::string::npos) << e.what();
  }
}

TEST(PlanAndModel, ReferenceAndFastKernelsAgreeBitForBit) {
  Int8Model m = QuantizeTiny("best", nullptr, nullptr);
  nnet::ExecutableNet a = MakeInt8Executable(m, kernels::KernelSelection::kReference);
  nnet::ExecutableNet b = MakeInt8Executable(m, kernels::KernelSelection::kFast);
  nnet::Executor ea(a, nnet::ComputeOptions()), eb(b, nnet::ComputeOptions());
  MatrixF feats = Feats(70, 5);
  MatrixF ya = ea.Compute(feats, nullptr, nullptr), yb = eb.Compute(feats, nullptr, nullptr);
  ASSERT_EQ(ya.size(), yb.size());
  for (int64_t i = 0; i < ya.size(); ++i) ASSERT_EQ(ya.data()[i], yb.data()[i]) << i;
}

std::string ErrorOf(const std::string& path) {
  try {
    ReadInt8Model(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PlanAndModel, CorruptTruncatedAndMismatchingFiles) {
  Plan plan;
  Graph g;
  Int8Model m = QuantizeTiny("best", &plan, &g);
  std::string bytes = SerializeInt8Model(m);
  const std::string path = TempPath("bad.int8");
  auto write = [&](const std::string& b) {
    std::ofstream f(path, std::ios::binary);
    f.write(b.data(), static_cast<std::streamsize>(b.size()));
  };
  write(bytes.substr(0, bytes.size() - 100));
  EXPECT_NE(ErrorOf(path).find("truncated"), std::string::npos) << ErrorOf(path);
  std::string flipped = bytes;
  flipped[flipped.size() - 7] ^= 0x10;
  write(flipped);
  EXPECT_NE(ErrorOf(path).find("checksum mismatch"), std::string::npos) << ErrorOf(path);
  std::string wrong_version = bytes;
  wrong_version[8] = 9;
  write(wrong_version);
  EXPECT_NE(ErrorOf(path).find("version 9"), std::string::npos) << ErrorOf(path);
  write("KQINT8");
  EXPECT_NE(ErrorOf(path).find("bad magic"), std::string::npos) << ErrorOf(path);
  EXPECT_NE(ErrorOf(path).find(path), std::string::npos);
  EXPECT_NE(ErrorOf(TempPath("does-not-exist")).find("cannot open"), std::string::npos);

  // A plan for another graph.
  Plan other = plan;
  other.layers[1].input_dim += 1;
  EXPECT_THROW(BuildInt8Model(g, other, "other.plan"), Error);
  other = plan;
  other.layers.pop_back();
  try {
    BuildInt8Model(g, other, "short.plan");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match the model"), std::string::npos);
  }
  // A corrupt plan file.
  const std::string plan_path = TempPath("bad.plan");
  WritePlan(plan_path, plan);
  std::ifstream in(plan_path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  ASSERT_NE(text.find("weight-scales 12"), std::string::npos);
  text.replace(text.find("weight-scales 12"), 16, "weight-scales 13");
  {
    std::ofstream f(plan_path);
    f << text;
  }
  try {
    ReadPlan(plan_path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line"), std::string::npos) << e.what();
  }
}

// A file whose checksum matches its content can still be hostile (or written by a buggy
// writer): a graph section naming an op out of range crashed OutputGrids; it is refused on
// reading, naming the problem.
TEST(PlanAndModel, ConsistentButCorruptGraphIsRefused) {
  Plan plan;
  Graph g;
  const Int8Model good = QuantizeTiny("best", &plan, &g);
  const std::string path = TempPath("hostile.int8");
  for (int32_t node : {1000000, -5, 6}) {  // past the end, negative, a later op (a cycle)
    SCOPED_TRACE(node);
    Int8Model m = good;
    m.graph.ops.back().input.parts[0].node = node;
    std::ofstream(path, std::ios::binary) << SerializeInt8Model(m);
    const std::string err = ErrorOf(path);
    EXPECT_NE(err.find("corrupt int8 model: graph section"), std::string::npos) << err;
    EXPECT_NE(err.find(path), std::string::npos) << err;
  }
  Int8Model dims = good;
  dims.graph.ops[1].output_dim = -3;
  std::ofstream(path, std::ios::binary) << SerializeInt8Model(dims);
  EXPECT_NE(ErrorOf(path).find("dimensions"), std::string::npos) << ErrorOf(path);
  std::remove(path.c_str());
}

// An empty or truncated plan was a segmentation fault (the line reader returned no words and
// the caller indexed them).
TEST(PlanAndModel, EmptyAndTruncatedPlansAreErrors) {
  Plan plan;
  Graph g;
  QuantizeTiny("best", &plan, &g);
  const std::string plan_path = TempPath("trunc.plan");
  WritePlan(plan_path, plan);
  std::string text;
  {
    std::ifstream in(plan_path);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  size_t lines = 0;
  for (size_t cut = 0; cut < text.size(); cut = text.find('\n', cut) + 1, ++lines) {
    SCOPED_TRACE(cut);
    std::istringstream is(text.substr(0, cut));
    try {
      ReadPlan(is, "cut.plan");
      ADD_FAILURE() << "a plan cut after " << lines << " lines was accepted";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("cut.plan: line ", 0), 0u) << msg;
      EXPECT_NE(msg.find(cut == 0 ? "empty plan file" : "end of file"), std::string::npos) << msg;
    }
  }
  EXPECT_GT(lines, 20u);
  std::istringstream whole(text);
  EXPECT_EQ(ReadPlan(whole, "whole.plan").layers.size(), plan.layers.size());
  std::remove(plan_path.c_str());
}

TEST(Observer, RangesOnKnownData) {
  // 0..999 uniform plus one outlier at 10000.
  Observer ob(1);
  std::vector<float> x;
  for (int i = 0; i < 1000; ++i) x.push_back(static_cast<float>(i));
  x.push_back(10000.0f);
  ob.Update(x.data(), static_cast<int64_t>(x.size()), 1, 1);
  TensorSpec u8;
  u8.is_signed = false;
  auto mm = ob.Range(ObserverKind::kMinMax, u8);
  EXPECT_EQ(mm.first, 0.0f);
  EXPECT_EQ(mm.second, 10000.0f);
  auto pc = ob.Range(ObserverKind::kPercentile, u8, 99.0f);
  EXPECT_NEAR(pc.second, 990.0f, 2.0f);
  // A lone outlier costs more squared error clipped than the coarser grid costs: MSE keeps it.
  EXPECT_EQ(ob.Range(ObserverKind::kMse, u8).second, 10000.0f);
  auto kl = ob.Range(ObserverKind::kHistogramKl, u8);
  EXPECT_GE(kl.second, 999.0f);
  EXPECT_LE(kl.second, 10000.0f);
  EXPECT_NEAR(ob.ColumnMeans()[0], (999.0 * 500.0 + 10000.0) / 1001.0, 1e-6);
  // A long thin tail on a 4-bit grid: MSE clips it.
  Observer tail(1);
  std::mt19937 rng(3);
  std::exponential_distribution<float> ex(1.0f);
  std::vector<float> y(100000);
  for (float& v : y) v = ex(rng);
  tail.Update(y.data(), static_cast<int64_t>(y.size()), 1, 1);
  TensorSpec u4 = u8;
  u4.bits = 4;
  EXPECT_LT(tail.Range(ObserverKind::kMse, u4).second, 0.7f * tail.max());
  EXPECT_LT(tail.Range(ObserverKind::kPercentile, u4, 99.9f).second, 0.7f * tail.max());
  // Moving average: EMA of per-batch max.
  Observer ma(1);
  float a[2] = {0.0f, 10.0f}, b[2] = {0.0f, 20.0f};
  ma.Update(a, 2, 1, 1);
  ma.Update(b, 2, 1, 1);
  EXPECT_FLOAT_EQ(ma.Range(ObserverKind::kMovingAverageMinMax, u8).second, 10.1f);
}

TEST(WeightQuantizer, MseClipsLongTailsPerChannel) {
  // Row 0: Laplacian weights (a long thin tail); row 1: a uniform grid of ±2.5.
  const int64_t cols = 1000;
  MatrixF w(2, cols);
  std::mt19937 rng(9);
  std::exponential_distribution<float> ex(20.0f);
  for (int64_t i = 0; i < cols; ++i) {
    w(0, i) = (i % 2 ? 1.0f : -1.0f) * ex(rng);
    w(1, i) = 0.5f * static_cast<float>(i % 11 - 5);
  }
  TensorSpec s;
  s.symmetric = true;
  s.narrow = true;
  s.bits = 4;
  auto mm = ChooseWeightQParams(w.data(), 2, cols, cols, s, true, WeightQuantizer::kMinMax);
  auto mse = ChooseWeightQParams(w.data(), 2, cols, cols, s, true, WeightQuantizer::kMse);
  EXPECT_LT(mse[0].scale, 0.8f * mm[0].scale);
  EXPECT_FLOAT_EQ(mm[1].scale, 2.5f / 7.0f);
  auto err = [&](const QParams& p) {
    double e = 0;
    for (int64_t i = 0; i < cols; ++i) e += std::pow(w(0, i) - FakeQuantize(w(0, i), p), 2);
    return e;
  };
  EXPECT_LT(err(mse[0]), err(mm[0]));
  auto pt = ChooseWeightQParams(w.data(), 2, cols, cols, s, false, WeightQuantizer::kMinMax);
  EXPECT_EQ(pt[0].scale, pt[1].scale);
}

}  // namespace
}  // namespace kaldiq::quant
