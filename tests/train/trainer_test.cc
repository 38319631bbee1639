// kaldiq train on tiny data: the optimizer's max-change and momentum rules against their
// formulas, a few SGD steps on a few fixture egs raise their own objective, determinism for a
// seed and for 1 vs 2 threads, resume equals an uninterrupted run, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "kaldi/chain_example.h"
#include "kaldi/fst_io.h"
#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "nnet/lower.h"
#include "nnet/params.h"
#include "train/chain/den_graph.h"
#include "train/optimizer.h"
#include "train/train_run.h"
#include "train/trainer.h"
#include "util/error.h"

namespace kaldiq::train {
namespace {

const std::string kDir = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed";
bool HaveFixture() { return std::ifstream(kDir + "/egs/cegs.1.ark").good(); }
#define REQUIRE_FIXTURE() \
  if (!HaveFixture()) GTEST_SKIP() << "../shared fixtures not found (" << kDir << ")"

struct Fixture {
  kaldi::KaldiModel model;
  std::unique_ptr<chain::DenGraph> den;
  std::vector<std::string> keys;
  std::vector<kaldi::NnetChainExample> egs;  // the first 140-frame egs of cegs.1.ark
};

Fixture& Get() {
  static Fixture f = [] {
    Fixture f;
    f.model = kaldi::ReadKaldiModel(kDir + "/final.mdl");
    f.den = std::make_unique<chain::DenGraph>(kaldi::ReadFstFile(kDir + "/den.fst"), 968);
    kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> r("ark:" + kDir + "/egs/cegs.1.ark");
    for (; !r.Done() && f.egs.size() < 6; r.Next()) {
      if (r.Value().outputs[0].indexes.size() != 47) continue;  // one structure
      f.keys.push_back(r.Key());
      f.egs.push_back(r.Value());
    }
    return f;
  }();
  return f;
}

TrainerOptions FixtureOptions() {
  TrainerOptions o;
  o.chain.l2_regularize = 5e-5f;
  o.chain.leaky_hmm_coefficient = 0.1f;
  o.chain.xent_regularize = 0.1f;
  o.unit_sequences = 2;
  return o;
}

std::vector<const kaldi::NnetChainExample*> Ptrs(const std::vector<kaldi::NnetChainExample>& egs,
                                                 size_t n) {
  std::vector<const kaldi::NnetChainExample*> p;
  for (size_t i = 0; i < n; ++i) p.push_back(&egs[i]);
  return p;
}

std::vector<float> AllParams(const nnet::Graph& g) {
  std::vector<float> v;
  for (const nnet::ParamRef& p : nnet::TrainableParams(g)) {
    const float* d = nnet::ParamData(g, p);
    v.insert(v.end(), d, d + nnet::ParamSize(g, p));
  }
  return v;
}

// ---- optimizer: the formulas of optimizer.h ---------------------------------------------------

struct OptCase {
  nnet::Graph graph;
  nnet::Gradients grads;
};

OptCase MakeOptCase() {
  OptCase c;
  c.graph = nnet::LowerNnet(Get().model.nnet, "final.mdl", {nnet::LowerMode::kTraining, false});
  c.grads = nnet::Gradients::For(c.graph);
  return c;
}

double ComponentChange(const nnet::Graph& before, const nnet::Graph& after,
                       const SgdOptimizer& opt, size_t component) {
  double sq = 0;
  for (size_t i : opt.components()[component].params) {
    const nnet::ParamRef& p = opt.params()[i];
    const float* a = nnet::ParamData(before, p);
    const float* b = nnet::ParamData(after, p);
    for (int64_t j = 0; j < nnet::ParamSize(before, p); ++j) sq += double(b[j] - a[j]) * (b[j] - a[j]);
  }
  return std::sqrt(sq);
}

TEST(SgdOptimizer, SmallStepIsLearningRateTimesGradient) {
  REQUIRE_FIXTURE();
  OptCase c = MakeOptCase();
  SgdOptimizer opt(c.graph, Get().model.nnet, SgdOptions());
  for (const nnet::ParamRef& p : opt.params()) {
    float* g = c.grads.Data(p);
    for (int64_t j = 0; j < nnet::ParamSize(c.graph, p); ++j) g[j] = 1e-3f * static_cast<float>((j % 7) - 3);
  }
  const nnet::Graph before = c.graph;
  const UpdateStats st = opt.Step(c.grads, 0.5f, 4, nullptr, &c.graph);
  EXPECT_EQ(st.num_limited, 0);
  EXPECT_FLOAT_EQ(st.scale, 1.0f);
  for (const SgdOptimizer::Component& comp : opt.components()) {
    const float lr = 0.5f * comp.training.learning_rate;
    ASSERT_GT(lr, 0.0f) << comp.name;
    for (size_t i : comp.params) {
      const nnet::ParamRef& p = opt.params()[i];
      const float* a = nnet::ParamData(before, p);
      const float* b = nnet::ParamData(c.graph, p);
      const float* g = c.grads.Data(p);
      for (int64_t j = 0; j < nnet::ParamSize(before, p); ++j)
        ASSERT_EQ(b[j], a[j] + lr * g[j]) << comp.name << " " << j;  // l2_c = 0 in the fixture
    }
  }
}

TEST(SgdOptimizer, MaxChangeClipsEachComponentAndTheWholeModel) {
  REQUIRE_FIXTURE();
  OptCase c = MakeOptCase();
  SgdOptions so;
  so.max_param_change = 0.0f;  // per-component only first
  SgdOptimizer opt(c.graph, Get().model.nnet, so);
  // A huge gradient on component 0 only.
  for (size_t i : opt.components()[0].params) {
    const nnet::ParamRef& p = opt.params()[i];
    float* g = c.grads.Data(p);
    for (int64_t j = 0; j < nnet::ParamSize(c.graph, p); ++j) g[j] = 100.0f;
  }
  nnet::Graph before = c.graph;
  UpdateStats st = opt.Step(c.grads, 1.0f, 4, nullptr, &c.graph);
  const float m0 = opt.components()[0].training.max_change;
  ASSERT_GT(m0, 0.0f);
  EXPECT_EQ(st.num_limited, 1);
  EXPECT_NEAR(ComponentChange(before, c.graph, opt, 0), m0, 1e-4 * m0);
  for (size_t k = 1; k < opt.components().size(); ++k)
    EXPECT_EQ(ComponentChange(before, c.graph, opt, k), 0.0) << opt.components()[k].name;

  // Every component big: each clipped to its max-change, then the global norm to 1.5.
  OptCase d = MakeOptCase();
  so.max_param_change = 1.5f;
  SgdOptimizer opt2(d.graph, Get().model.nnet, so);
  double expect_sq = 0;
  for (const SgdOptimizer::Component& comp : opt2.components()) {
    expect_sq += double(comp.training.max_change) * comp.training.max_change;
    for (size_t i : comp.params) {
      const nnet::ParamRef& p = opt2.params()[i];
      float* g = d.grads.Data(p);
      for (int64_t j = 0; j < nnet::ParamSize(d.graph, p); ++j) g[j] = 50.0f;
    }
  }
  before = d.graph;
  st = opt2.Step(d.grads, 1.0f, 4, nullptr, &d.graph);
  EXPECT_EQ(st.num_limited, static_cast<int32_t>(opt2.components().size()));
  EXPECT_NEAR(st.global_norm, std::sqrt(expect_sq), 1e-4 * std::sqrt(expect_sq));
  double total_sq = 0;
  for (size_t k = 0; k < opt2.components().size(); ++k) {
    const double ck = ComponentChange(before, d.graph, opt2, k);
    total_sq += ck * ck;
    // Every component is scaled by the same global factor 1.5 / n.
    EXPECT_NEAR(ck, opt2.components()[k].training.max_change * 1.5 / std::sqrt(expect_sq),
                1e-4) << opt2.components()[k].name;
  }
  EXPECT_NEAR(std::sqrt(total_sq), 1.5, 1e-4);
}

TEST(SgdOptimizer, MomentumAccumulatesAndScalesByOneMinusMomentum) {
  REQUIRE_FIXTURE();
  OptCase c = MakeOptCase();
  SgdOptions so;
  so.momentum = 0.5f;
  so.max_param_change = 0.0f;
  SgdOptimizer opt(c.graph, Get().model.nnet, so);
  const nnet::ParamRef p = opt.params()[0];
  c.grads.Data(p)[0] = 1e-3f;
  const float lr = opt.components()[0].training.learning_rate;
  const float theta0 = nnet::ParamData(c.graph, p)[0];
  opt.Step(c.grads, 1.0f, 1, nullptr, &c.graph);  // delta = lr g; θ += 0.5 delta; delta *= 0.5
  opt.Step(c.grads, 1.0f, 1, nullptr, &c.graph);  // delta = 0.5 lr g + lr g; θ += 0.5 delta
  const float d1 = lr * 1e-3f;
  const float d2 = 0.5f * (0.5f * d1) + lr * 1e-3f;
  EXPECT_NEAR(nnet::ParamData(c.graph, p)[0], theta0 + 0.5f * d1 + 0.5f * d2, 1e-9);
  EXPECT_THROW(SgdOptimizer(c.graph, Get().model.nnet, SgdOptions{1.0f, 2.0f, 1.0f}), Error);
}

// ---- trainer ------------------------------------------------------------------------------

TEST(ChainTrainer, FewStepsRaiseTheObjectiveOfTheirMinibatch) {
  REQUIRE_FIXTURE();
  Fixture& f = Get();
  ChainTrainer t(f.model.nnet, *f.den, FixtureOptions(), "final.mdl");
  KaldiRand rng(0);
  std::vector<double> objf;
  for (int step = 0; step < 4; ++step) {
    // lr 5e-4 (the model's own) times 4.
    const MinibatchResult r = t.Train(Ptrs(f.egs, 4), {f.keys.begin(), f.keys.begin() + 4},
                                      "minibatch " + std::to_string(step), 4.0f, &rng);
    EXPECT_EQ(r.num_sequences, 4);
    EXPECT_EQ(r.output_frames, 4 * 47);
    EXPECT_FLOAT_EQ(static_cast<float>(r.weight), 4 * 47);
    objf.push_back(r.objf / r.weight);
  }
  EXPECT_GT(objf[3], objf[0] + 1e-3) << objf[0] << " -> " << objf[3];
  // Written back into the Kaldi model: the trained values, nothing else.
  kaldi::Nnet nnet = f.model.nnet;
  t.WriteBack(&nnet);
  const nnet::Graph g2 = nnet::LowerNnet(nnet, "x", {nnet::LowerMode::kTraining, false});
  EXPECT_EQ(AllParams(g2), AllParams(t.graph()));
  EXPECT_NE(AllParams(g2), AllParams(nnet::LowerNnet(f.model.nnet, "x",
                                                     {nnet::LowerMode::kTraining, false})));
}

std::vector<float> TrainSteps(int threads, uint32_t seed, int steps) {
  Fixture& f = Get();
  TrainerOptions o = FixtureOptions();
  o.num_threads = threads;
  o.sgd.momentum = 0.3f;
  ChainTrainer t(f.model.nnet, *f.den, o, "final.mdl");
  KaldiRand rng(seed);
  for (int s = 0; s < steps; ++s)
    t.Train(Ptrs(f.egs, 5), {f.keys.begin(), f.keys.begin() + 5}, "mb", 2.0f, &rng);
  return AllParams(t.graph());
}

TEST(ChainTrainer, DeterministicForASeedAndAnyThreadCount) {
  REQUIRE_FIXTURE();
  const std::vector<float> a = TrainSteps(1, 3, 2);
  EXPECT_EQ(a, TrainSteps(1, 3, 2));
  EXPECT_EQ(a, TrainSteps(2, 3, 2));  // 3 work units of <= 2 sequences on 2 threads
}

TEST(ChainTrainer, BadInputIsAClearErrorAndChangesNothing) {
  REQUIRE_FIXTURE();
  Fixture& f = Get();
  // den.fst read for another pdf count.
  const chain::DenGraph den969(kaldi::ReadFstFile(kDir + "/den.fst"), 969);
  EXPECT_THROW(ChainTrainer(f.model.nnet, den969, FixtureOptions(), "final.mdl"), Error);
  ChainTrainer t(f.model.nnet, *f.den, FixtureOptions(), "final.mdl");
  const std::vector<float> before = AllParams(t.graph());
  // Feature dim.
  kaldi::NnetChainExample bad = f.egs[0];
  MatrixF m;
  bad.inputs[0].features.GetMatrix(&m);
  MatrixF wide(m.rows(), m.cols() + 1);
  bad.inputs[0].features = kaldi::GeneralMatrix(wide);
  try {
    t.Train({&bad}, {"bad-eg"}, "minibatch 7", 1.0f, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("minibatch 7, eg 'bad-eg'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dim 41"), std::string::npos) << e.what();
  }
  // Label dim.
  bad = f.egs[0];
  bad.outputs[0].supervision.label_dim = 100;
  EXPECT_THROW(t.Train({&bad}, {"bad-eg"}, "mb", 1.0f, nullptr), Error);
  // NaN in the network: a non-finite output stops the step, naming the minibatch.
  ChainTrainer nan_trainer(f.model.nnet, *f.den, FixtureOptions(), "final.mdl");
  for (nnet::Op& op : nan_trainer.mutable_graph()->ops)
    if (op.trainable) {
      op.bias[0] = std::numeric_limits<float>::quiet_NaN();
      break;
    }
  const std::vector<float> nan_before = AllParams(nan_trainer.graph());
  try {
    nan_trainer.Train(Ptrs(f.egs, 2), {f.keys[0], f.keys[1]}, "minibatch 3", 1.0f, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("minibatch 3"), std::string::npos) << e.what();
  }
  const std::vector<float> nan_after = AllParams(nan_trainer.graph());
  ASSERT_EQ(nan_after.size(), nan_before.size());
  for (size_t i = 0; i < nan_after.size(); ++i)
    ASSERT_TRUE(nan_after[i] == nan_before[i] || (std::isnan(nan_after[i]) && std::isnan(nan_before[i])));
  EXPECT_EQ(AllParams(t.graph()), before);
}

// ---- the epoch loop: resume == uninterrupted --------------------------------------------------

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/kq_train_test_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

TEST(RunChainTraining, ResumeEqualsUninterruptedAndEmptyArchiveFails) {
  REQUIRE_FIXTURE();
  Fixture& f = Get();
  TempDir dir;
  const std::string ark = dir.path + "/egs.ark";
  {
    kaldi::TableWriter<kaldi::NnetChainExampleHolder> w("ark:" + ark);
    for (size_t i = 0; i < 6; ++i) w.Write(f.keys[i], f.egs[i]);
    w.Close();
  }
  TrainRunOptions o;
  o.trainer = FixtureOptions();
  o.trainer.sgd.momentum = 0.5f;
  o.learning_rate = 2e-3f;
  o.final_learning_rate = 5e-4f;
  o.num_epochs = 2;
  o.minibatch_size = "3";
  o.frame_shifts = {0, 1};
  o.srand = 5;
  o.quiet = true;
  auto quiet_log = [](const std::string&) {};
  kaldi::KaldiModel full = f.model;
  TrainRunResult r = RunChainTraining(o, *f.den, "ark:" + ark, "m", &full, quiet_log);
  ASSERT_EQ(r.epochs.size(), 2u);
  EXPECT_EQ(r.epochs[0].minibatches, 2);

  // The same run with checkpoints, "interrupted" after epoch 1 (epoch 2's checkpoint removed),
  // then resumed: the same final parameters.
  o.checkpoint_dir = dir.path + "/ckpt";
  {
    kaldi::KaldiModel tmp = f.model;
    RunChainTraining(o, *f.den, "ark:" + ark, "m", &tmp, quiet_log);
    EXPECT_EQ(NewestCheckpoint(o.checkpoint_dir), 2);
    std::filesystem::remove(o.checkpoint_dir + "/epoch.2.state");
    EXPECT_EQ(NewestCheckpoint(o.checkpoint_dir), 1);
  }
  kaldi::KaldiModel part = f.model;
  o.resume = true;
  r = RunChainTraining(o, *f.den, "ark:" + ark, "m", &part, quiet_log);
  ASSERT_EQ(r.epochs.size(), 1u);
  EXPECT_EQ(r.epochs[0].epoch, 2);
  const auto lower = [](const kaldi::KaldiModel& m) {
    return AllParams(nnet::LowerNnet(m.nnet, "x", {nnet::LowerMode::kTraining, false}));
  };
  EXPECT_EQ(lower(part), lower(full));
  EXPECT_NE(lower(full), lower(f.model));

  // Empty archive.
  const std::string empty = dir.path + "/empty.ark";
  std::ofstream(empty).close();
  o.resume = false;
  o.checkpoint_dir.clear();
  kaldi::KaldiModel m = f.model;
  EXPECT_THROW(RunChainTraining(o, *f.den, "ark:" + empty, "m", &m, quiet_log), Error);
}


// ---- the CLI: a Kaldi model out, and none after a failure ---------------------------------------


int RunTrainCli(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  return cli::RunTrain(static_cast<int>(argv.size()), argv.data());
}

TEST(TrainCli, WritesAKaldiModelKeepingEveryOtherFieldAndNothingOnNaN) {
  REQUIRE_FIXTURE();
  Fixture& f = Get();
  TempDir dir;
  const std::string ark = dir.path + "/egs.ark";
  {
    kaldi::TableWriter<kaldi::NnetChainExampleHolder> w("ark:" + ark);
    for (size_t i = 0; i < 4; ++i) w.Write(f.keys[i], f.egs[i]);
    w.Close();
  }
  const std::string out = dir.path + "/out.mdl";
  ASSERT_EQ(RunTrainCli({"train", "--quiet", "--learning-rate=1e-4", "--minibatch-size=4",
                 "--l2-regularize=5e-05", "--leaky-hmm-coefficient=0.1", "--xent-regularize=0.1",
                 "--valid-egs=ark:" + ark, "--log-dir=" + dir.path + "/log",
                 kDir + "/final.mdl", kDir + "/den.fst", "ark:" + ark, out}),
            0);
  const kaldi::KaldiModel m = kaldi::ReadKaldiModel(out);
  ASSERT_TRUE(m.has_transition_model);
  EXPECT_EQ(m.priors, f.model.priors);
  ASSERT_EQ(m.nnet.components.size(), f.model.nnet.components.size());
  int changed = 0;
  for (size_t c = 0; c < m.nnet.components.size(); ++c) {
    if (const auto* bn = m.nnet.components[c].As<kaldi::BatchNormComponent>()) {
      const auto* b0 = f.model.nnet.components[c].As<kaldi::BatchNormComponent>();
      EXPECT_EQ(bn->stats_mean, b0->stats_mean);  // frozen
      EXPECT_EQ(bn->count, b0->count);
    }
    if (const auto* a = m.nnet.components[c].As<kaldi::AffineComponent>()) {
      const auto* a0 = f.model.nnet.components[c].As<kaldi::AffineComponent>();
      EXPECT_FLOAT_EQ(a->common.learning_rate, 1e-4f * a0->common.learning_rate_factor);
      EXPECT_EQ(a->common.max_change, a0->common.max_change);
      changed += a->bias_params != a0->bias_params;
    }
  }
  EXPECT_GT(changed, 0);
  EXPECT_TRUE(std::ifstream(dir.path + "/log/compute_prob_valid.0.log").good());
  EXPECT_TRUE(std::ifstream(dir.path + "/log/compute_prob_valid.1.log").good());

  // A model with a NaN weight: error, and no output file.
  kaldi::KaldiModel bad = f.model;
  for (kaldi::Component& c : bad.nnet.components)
    if (auto* a = c.As<kaldi::AffineComponent>()) {
      a->bias_params[0] = std::numeric_limits<float>::quiet_NaN();
      break;
    }
  const std::string bad_mdl = dir.path + "/bad.mdl", bad_out = dir.path + "/bad_out.mdl";
  kaldi::WriteKaldiModel(bad_mdl, bad, true);
  EXPECT_EQ(RunTrainCli({"train", "--quiet", "--minibatch-size=4", bad_mdl, kDir + "/den.fst",
                 "ark:" + ark, bad_out}),
            1);
  EXPECT_FALSE(std::filesystem::exists(bad_out));
  // Empty archive.
  const std::string empty = dir.path + "/empty.ark";
  std::ofstream(empty).close();
  EXPECT_EQ(RunTrainCli({"train", "--quiet", kDir + "/final.mdl", kDir + "/den.fst", "ark:" + empty,
                 bad_out}),
            1);
  EXPECT_FALSE(std::filesystem::exists(bad_out));
}


}  // namespace
}  // namespace kaldiq::train
