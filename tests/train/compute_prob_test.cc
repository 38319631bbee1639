// chain-compute-prob against Kaldi: the fixture's compute_prob_{valid,train}.log (parsed with
// the regular expression of Kaldi's steps/libs/nnet3/report/log_parse.py), the per-eg anchor of
// the design note (§4.5), self-consistency on frame-shifted and re-merged egs, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
// GCC 12 warns inside libstdc++'s regex (a false -Wmaybe-uninitialized under sanitizers).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop
#include <sstream>
#include <string>
#include <vector>

#include "kaldi/chain_example.h"
#include "kaldi/chain_example_merge.h"
#include "kaldi/fst_io.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "kaldi/test_util.h"
#include "train/chain/compute_prob.h"
#include "train/chain/den_graph.h"
#include "train/chain/minibatch_network.h"
#include "util/error.h"

namespace kaldiq::train::chain {
namespace {

const std::string kDir = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed";
bool HaveFixture() { return std::ifstream(kDir + "/egs/valid_diagnostic.cegs").good(); }
#define REQUIRE_FIXTURE() \
  if (!HaveFixture()) GTEST_SKIP() << "../shared fixtures not found (" << kDir << ")"

ChainTrainingOptions FixtureOptions() {  // the options of the fixture logs
  ChainTrainingOptions o;
  o.l2_regularize = 5e-5f;
  o.leaky_hmm_coefficient = 0.1f;
  o.xent_regularize = 0.1f;
  return o;
}

struct Model {
  kaldi::KaldiModel model;
  std::unique_ptr<MinibatchChainNetwork> network;
  std::unique_ptr<DenGraph> den;
};

Model& FixtureModel() {
  static Model m = [] {
    Model m;
    m.model = kaldi::ReadKaldiModel(kDir + "/final.mdl");
    m.network = std::make_unique<MinibatchChainNetwork>(m.model.nnet, "final.mdl");
    m.den = std::make_unique<DenGraph>(kaldi::ReadFstFile(kDir + "/den.fst"), 968);
    return m;
  }();
  return m;
}

struct Egs {
  std::vector<kaldi::NnetChainExample> egs;
  std::vector<std::string> keys;
};

Egs ReadEgs(const std::string& rspec, int max = -1) {
  Egs e;
  kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> reader(rspec);
  for (; !reader.Done() && (max < 0 || static_cast<int>(e.egs.size()) < max); reader.Next()) {
    e.egs.push_back(reader.Value());
    e.keys.push_back(reader.Key());
  }
  return e;
}

// Runs ChainComputeProb over the egs merged by `rule` (as chain-compute-prob does).
std::unique_ptr<ChainComputeProb> RunComputeProb(const Egs& in, const std::string& rule,
                                      const ChainTrainingOptions& opts = FixtureOptions(),
                                      ChainNetwork* network = nullptr) {
  Model& m = FixtureModel();
  auto prob = std::make_unique<ChainComputeProb>(opts, *m.den,
                                                 network ? network : m.network.get(), 2);
  int mb = 0;
  kaldi::ChainExampleMerger merger(
      kaldi::MinibatchSizeRules(rule),
      [&](std::vector<kaldi::NnetChainExample>&& egs, std::vector<std::string>&& keys) {
        std::vector<const kaldi::NnetChainExample*> ptrs;
        for (const auto& eg : egs) ptrs.push_back(&eg);
        prob->Compute(ptrs, keys, "minibatch " + std::to_string(mb++));
      });
  for (size_t i = 0; i < in.egs.size(); ++i) merger.Accept(in.egs[i], in.keys[i]);
  merger.Finish();
  return prob;
}

struct Numbers {
  double like = 0, l2 = 0, total = 0, xent = 0, frames = 0;
};

// Kaldi's log_parse.py regular expression, then the numbers of the line.
Numbers ParseLines(const std::vector<std::string>& lines) {
  Numbers n;
  const std::regex kaldi_regex(
      "LOG .nnet3.*compute-prob.*:PrintTotalStats..:nnet.*diagnostics.cc:[0-9]+. Overall "
      "([a-zA-Z\\-]+) for '(output[a-z\\-]*)'.*is ([0-9.\\-e]+) .*per frame");
  const std::regex output_re(
      ".*'output' is (\\S+) \\+ (\\S+) = (\\S+) per frame, over (\\S+) frames\\.");
  const std::regex xent_re(".*'output-xent' is (\\S+) per frame, over (\\S+) frames\\.");
  for (std::string line : lines) {
    if (line.rfind("LOG", 0) != 0)
      line = "compute_prob_valid.1.log:LOG (nnet3-chain-compute-prob[kaldiq]:PrintTotalStats():"
             "nnet-chain-diagnostics.cc:244) " + line;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(line, m, kaldi_regex)) << "log_parse.py would miss: " << line;
    if (std::regex_match(line, m, output_re)) {
      n.like = std::stod(m[1]);
      n.l2 = std::stod(m[2]);
      n.total = std::stod(m[3]);
      n.frames = std::stod(m[4]);
    } else if (std::regex_match(line, m, xent_re)) {
      n.xent = std::stod(m[1]);
    }
  }
  return n;
}

Numbers KaldiLog(const std::string& name) {
  std::ifstream f(kDir + "/egs/" + name);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(f, line)) lines.push_back(line);
  return ParseLines(lines);
}

Numbers Exact(const ChainComputeProb& p) {
  Numbers n;
  n.like = p.output_totals().tot_like / p.output_totals().tot_weight;
  n.l2 = p.output_totals().tot_l2_term / p.output_totals().tot_weight;
  n.total = n.like + n.l2;
  n.xent = p.xent_totals().tot_like / p.xent_totals().tot_weight;
  n.frames = p.output_totals().tot_weight;
  return n;
}

void ExpectKaldiParity(const std::string& egs, const std::string& log) {
  const Numbers kaldi = KaldiLog(log);
  ASSERT_GT(kaldi.frames, 0) << log;
  const auto prob = RunComputeProb(ReadEgs("ark:" + kDir + "/egs/" + egs), "1:64");
  const Numbers ours = Exact(*prob);
  EXPECT_EQ(ours.frames, kaldi.frames);
  // Kaldi prints 6 significant digits: 5e-7 absolute on the output numbers (design note §4.5).
  EXPECT_NEAR(ours.like, kaldi.like, 5e-7) << egs;
  EXPECT_NEAR(ours.l2, kaldi.l2, 5e-7) << egs;
  EXPECT_NEAR(ours.total, kaldi.total, 5e-7) << egs;
  // The xent line has 4-6 printed digits ("-1.019"): half a unit of its last digit.
  EXPECT_NEAR(ours.xent, kaldi.xent, 5e-4 * std::fabs(kaldi.xent)) << egs;
  // Our printed lines read back to the same numbers through Kaldi's regex.
  const Numbers printed = ParseLines(prob->TotalStatsLines());
  EXPECT_NEAR(printed.like, kaldi.like, 1.5e-7);
  EXPECT_NEAR(printed.total, kaldi.total, 1.5e-7);
  EXPECT_EQ(printed.frames, kaldi.frames);
}

TEST(ChainComputeProb, ValidDiagnosticMatchesKaldisLog) {
  REQUIRE_FIXTURE();
  ExpectKaldiParity("valid_diagnostic.cegs", "compute_prob_valid.log");
}

TEST(ChainComputeProb, TrainDiagnosticMatchesKaldisLog) {
  REQUIRE_FIXTURE();
  ExpectKaldiParity("train_diagnostic.cegs", "compute_prob_train.log");
}

// A network wrapper that records the outputs of the last minibatch.
class Recorder : public ChainNetwork {
 public:
  explicit Recorder(ChainNetwork* inner) : inner_(inner) {}
  int32_t InputDim(const std::string& n) const override { return inner_->InputDim(n); }
  int32_t OutputDim(const std::string& n) const override { return inner_->OutputDim(n); }
  void Forward(const std::vector<kaldi::NnetIo>& in, const std::vector<kaldi::Index>& idx,
               MatrixF* out, MatrixF* xent) override {
    inner_->Forward(in, idx, out, xent);
    y = *out;
    if (corrupt) out->data()[5] = std::numeric_limits<float>::quiet_NaN();
  }
  ChainNetwork* inner_;
  MatrixF y;
  bool corrupt = false;
};

TEST(ChainComputeProb, FirstValidEgMatchesTheDesignNotesAnchor) {
  REQUIRE_FIXTURE();
  Model& m = FixtureModel();
  const Egs e = ReadEgs("ark:" + kDir + "/egs/valid_diagnostic.cegs", 1);
  Recorder rec(m.network.get());
  ChainComputeProb prob(FixtureOptions(), *m.den, &rec);
  prob.Compute({&e.egs[0]}, e.keys, "minibatch 0");
  EXPECT_NEAR(rec.y(0, 0), 5.91962, 1e-4);
  // Anchor (NumPy re-implementation of Kaldi, design note §4.5); our network output differs
  // from it by ~2e-5, which moves the log-probs by about as much.
  const auto sup = SupervisionRefOf(e.egs[0].outputs[0].supervision);
  MatrixF post;
  const ChainObjective o = ComputeChainObjective(FixtureOptions(), *m.den, sup, rec.y, nullptr, &post);
  EXPECT_NEAR(o.num_logprob, 90.267549, 1e-4);
  EXPECT_NEAR(o.den_logprob, 91.681578, 1e-4);
  EXPECT_NEAR(o.l2_term, -0.232683, 2e-6);
  EXPECT_NEAR(prob.xent_totals().tot_like, -56.61158, 1e-4);
  EXPECT_EQ(prob.output_totals().tot_weight, 47);
}

// Frame shifts cannot be checked against Kaldi (no log), so they are checked for consistency:
// the network is time-invariant, so only the input-output offset matters. --frame-shift=1 moves
// inputs by +1 and outputs by 0, --frame-shift=-2 inputs by -2 and outputs by -3: the same +1
// offset, so both must give the same objective; likewise 2 (+2/+3) and -1 (-1/0), and 3 must
// equal 0. Shifts 1 and 2 see other frames, so they must differ from 0.
TEST(ChainComputeProb, FrameShiftsAreConsistent) {
  REQUIRE_FIXTURE();
  const Egs base = ReadEgs("ark:" + kDir + "/egs/valid_diagnostic.cegs", 24);
  auto shifted = [&](int s) {
    Egs e = base;
    for (auto& eg : e.egs) kaldi::ShiftChainExampleTimes(s, &eg);
    return Exact(*RunComputeProb(e, "1:64"));
  };
  const Numbers s0 = shifted(0), s1 = shifted(1), s2 = shifted(2), s3 = shifted(3),
                sm1 = shifted(-1), sm2 = shifted(-2);
  EXPECT_NEAR(s3.like, s0.like, 1e-7);
  EXPECT_NEAR(s1.like, sm2.like, 1e-7);
  EXPECT_NEAR(s1.xent, sm2.xent, 1e-6);
  EXPECT_NEAR(s2.like, sm1.like, 1e-7);
  EXPECT_NEAR(s2.l2, sm1.l2, 1e-8);
  EXPECT_GT(std::fabs(s1.like - s0.like), 1e-5);  // 100x the equality tolerance
  EXPECT_GT(std::fabs(s2.like - s0.like), 1e-5);
  // Shifted egs are still sensible: within 0.05 per frame of the unshifted objective.
  EXPECT_NEAR(s1.like, s0.like, 0.05);
  EXPECT_NEAR(s2.like, s0.like, 0.05);
}

// Egs merged by nnet3-chain-merge-egs (one concatenated FST, merged inputs) give the objective of
// the same egs merged in memory (one FST per sequence), and minibatches of one the same too.
TEST(ChainComputeProb, MergedEgsAndMinibatchSizesAgree) {
  REQUIRE_FIXTURE();
  const Egs e = ReadEgs("ark:" + kDir + "/egs/valid_diagnostic.cegs", 24);
  const Numbers in_memory = Exact(*RunComputeProb(e, "1:64"));
  const Numbers single = Exact(*RunComputeProb(e, "1"));
  EXPECT_NEAR(single.like, in_memory.like, 2e-7);
  EXPECT_NEAR(single.xent, in_memory.xent, 2e-6);
  Egs merged;
  kaldi::ChainExampleMerger merger(
      kaldi::MinibatchSizeRules("1:64"),
      [&](std::vector<kaldi::NnetChainExample>&& egs, std::vector<std::string>&& keys) {
        // Through the binary format, as a Kaldi script would pipe it.
        std::stringstream ss;
        kaldi::MergeChainExamples(egs, /*compress=*/false).Write(ss, true);
        kaldi::NnetChainExample back;
        back.Read(ss, true);
        merged.egs.push_back(std::move(back));
        merged.keys.push_back(keys.front());
      });
  for (size_t i = 0; i < e.egs.size(); ++i) merger.Accept(e.egs[i], e.keys[i]);
  merger.Finish();
  Model& m = FixtureModel();
  ChainComputeProb prob(FixtureOptions(), *m.den, m.network.get());
  for (size_t i = 0; i < merged.egs.size(); ++i)
    prob.Compute({&merged.egs[i]}, {merged.keys[i]}, "minibatch");
  const Numbers kaldi_merged = Exact(prob);
  EXPECT_NEAR(kaldi_merged.like, in_memory.like, 2e-7);
  EXPECT_NEAR(kaldi_merged.l2, in_memory.l2, 1e-9);
  EXPECT_NEAR(kaldi_merged.xent, in_memory.xent, 2e-6);
}

template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ChainComputeProb, BadInputGivesErrorsNamingTheEg) {
  REQUIRE_FIXTURE();
  Model& m = FixtureModel();
  const Egs e = ReadEgs("ark:" + kDir + "/egs/valid_diagnostic.cegs", 2);
  ChainComputeProb prob(FixtureOptions(), *m.den, m.network.get());
  // Feature dim that does not match the model.
  {
    kaldi::NnetChainExample eg = e.egs[0];
    MatrixF f(eg.inputs[0].features.NumRows(), 39);
    eg.inputs[0].features = kaldi::GeneralMatrix(f);
    const std::string msg = ErrorOf([&] { prob.Compute({&eg}, {"bad-dim"}, "minibatch 7"); });
    EXPECT_NE(msg.find("bad-dim"), std::string::npos) << msg;
    EXPECT_NE(msg.find("minibatch 7"), std::string::npos) << msg;
    EXPECT_NE(msg.find("dim 39"), std::string::npos) << msg;
  }
  // Supervision for another number of pdfs.
  {
    kaldi::NnetChainExample eg = e.egs[0];
    eg.outputs[0].supervision.label_dim = 1000;
    const std::string msg = ErrorOf([&] { prob.Compute({&eg}, {"bad-pdfs"}, "minibatch 1"); });
    EXPECT_NE(msg.find("bad-pdfs"), std::string::npos) << msg;
    EXPECT_NE(msg.find("968"), std::string::npos) << msg;
  }
  // Too little context for the model.
  {
    kaldi::NnetChainExample eg = e.egs[0];
    std::string warning;
    kaldi::ModifyChainExampleContext(10, -1, &eg, &warning);  // 10 frames left, the model needs 15
    const std::string msg = ErrorOf([&] { prob.Compute({&eg}, {"short"}, "minibatch 2"); });
    // e.g. "... the network output 'output' at relative time 0 cannot be computed from the
    // chunk's inputs ('input' at [-10, 156]) (missing input or i-vector)"
    EXPECT_NE(msg.find("cannot be computed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("short"), std::string::npos) << msg;
  }
  // NaN from the network: an error naming the minibatch, never a crash or a NaN total.
  {
    Recorder rec(m.network.get());
    rec.corrupt = true;
    ChainComputeProb p2(FixtureOptions(), *m.den, &rec);
    const std::string msg = ErrorOf([&] { p2.Compute({&e.egs[0]}, {"nan-eg"}, "minibatch 3"); });
    EXPECT_NE(msg.find("minibatch 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nan"), std::string::npos) << msg;
  }
  // A den.fst for another tree: labels beyond the model's pdfs.
  {
    kaldi::StdFst den = kaldi::ReadFstFile(kDir + "/den.fst");
    den.arcs[10].ilabel = den.arcs[10].olabel = 2000;
    const std::string msg = ErrorOf([&] { DenGraph g(den, 968); });
    EXPECT_NE(msg.find("label 2000"), std::string::npos) << msg;
  }
  // A model without output-xent while --xent-regularize is set is refused up front.
  {
    class NoXent : public Recorder {
     public:
      using Recorder::Recorder;
      int32_t OutputDim(const std::string& n) const override {
        return n == "output-xent" ? -1 : inner_->OutputDim(n);
      }
    } no_xent(m.network.get());
    const std::string msg = ErrorOf([&] { ChainComputeProb p(FixtureOptions(), *m.den, &no_xent); });
    EXPECT_NE(msg.find("output-xent"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace kaldiq::train::chain

namespace kaldiq::cli {
int RunChainComputeProb(int argc, char** argv);
}

namespace kaldiq::train::chain {
namespace {

int RunCmd(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return cli::RunChainComputeProb(static_cast<int>(args.size()), argv.data());
}

TEST(ChainComputeProbCli, RunsAndFailsCleanly) {
  REQUIRE_FIXTURE();
  kaldiq::testing::TempDir dir;
  const std::string tmp = dir.path();
  {
    kaldi::TableWriter<kaldi::NnetChainExampleHolder> w("ark:" + tmp + "/few.cegs");
    const Egs e = ReadEgs("ark:" + kDir + "/egs/valid_diagnostic.cegs", 6);
    for (size_t i = 0; i < e.egs.size(); ++i) w.Write(e.keys[i], e.egs[i]);
    w.Close();
    std::ofstream(tmp + "/empty.cegs").close();
    kaldi::StdFst den = kaldi::ReadFstFile(kDir + "/den.fst");
    den.arcs[3].ilabel = den.arcs[3].olabel = 969;
    kaldi::Output out(tmp + "/bad_den.fst", true, false);
    kaldi::WriteVectorFst(out.Stream(), den);
    out.Commit();
  }
  const std::vector<std::string> base{"chain-compute-prob", "--quiet", "--l2-regularize=5e-05",
                                      "--leaky-hmm-coefficient=0.1", "--xent-regularize=0.1",
                                      kDir + "/final.mdl"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return RunCmd(a);
  };
  EXPECT_EQ(0, with({kDir + "/den.fst", "ark:" + tmp + "/few.cegs"}));
  EXPECT_EQ(0, with({"--minibatch-size=2", kDir + "/den.fst", "ark:" + tmp + "/few.cegs"}));
  EXPECT_EQ(1, with({kDir + "/den.fst", "ark:" + tmp + "/empty.cegs"}));        // empty archive
  EXPECT_EQ(1, with({tmp + "/bad_den.fst", "ark:" + tmp + "/few.cegs"}));       // 969 > 968 pdfs
  EXPECT_EQ(1, with({kDir + "/den.fst", "ark:" + tmp + "/missing.cegs"}));      // no such file
  EXPECT_EQ(1, with({"--minibatch-size=100", kDir + "/den.fst", "ark:" + tmp + "/few.cegs"}));
}

}  // namespace
}  // namespace kaldiq::train::chain
