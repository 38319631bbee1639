// LF-MMI training speed on the fixture: one ChainTrainer step (forward, objective, backward,
// update) on a minibatch of 64 egs x 47 output frames from cegs.1.ark, at 1 and 2 threads
// (Arg = --num-threads). Learning-rate scale 0, so every iteration does the same work on the
// same model. Counter: output_frames_per_s (wall); on a shared machine compare the CPU column
// (64 x 47 = 3008 output frames per iteration). Kaldi's nnet3-chain-train on these egs: ~1,430
// output frames/s per thread (egs README).
//   OMP_NUM_THREADS=1 build/bench/kq_bench_train_step
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "kaldi/chain_example.h"
#include "kaldi/fst_io.h"
#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "train/chain/den_graph.h"
#include "train/trainer.h"

namespace {

using namespace kaldiq;

const std::string kModelDir = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed";
constexpr int kN = 64, kF = 47;

struct Fixture {
  kaldi::KaldiModel model;
  std::unique_ptr<train::chain::DenGraph> den;
  std::vector<kaldi::NnetChainExample> egs;
  std::vector<std::string> keys;
  bool ok = false;
};

const Fixture& GetFixture() {
  static Fixture f = [] {
    Fixture f;
    if (!std::ifstream(kModelDir + "/egs/cegs.1.ark").good()) return f;
    f.model = kaldi::ReadKaldiModel(kModelDir + "/final.mdl");
    f.den = std::make_unique<train::chain::DenGraph>(kaldi::ReadFstFile(kModelDir + "/den.fst"),
                                                     968);
    kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> reader(
        "ark:" + kModelDir + "/egs/cegs.1.ark");
    for (; !reader.Done() && static_cast<int>(f.egs.size()) < kN; reader.Next())
      if (reader.Value().outputs[0].supervision.frames_per_sequence == kF) {
        f.egs.push_back(reader.Value());
        f.keys.push_back(reader.Key());
      }
    f.ok = static_cast<int>(f.egs.size()) == kN;
    return f;
  }();
  return f;
}

void BM_TrainStep(benchmark::State& state) {
  const Fixture& f = GetFixture();
  if (!f.ok) {
    state.SkipWithError("../shared fixtures not found");
    return;
  }
  train::TrainerOptions o;
  o.chain.l2_regularize = 5e-5f;
  o.chain.leaky_hmm_coefficient = 0.1f;
  o.chain.xent_regularize = 0.1f;
  o.num_threads = static_cast<int>(state.range(0));
  train::ChainTrainer trainer(f.model.nnet, *f.den, o, "final.mdl");
  std::vector<const kaldi::NnetChainExample*> egs;
  for (const kaldi::NnetChainExample& eg : f.egs) egs.push_back(&eg);
  double network = 0, den = 0, total = 0;
  for (auto _ : state) {
    const train::MinibatchResult r = trainer.Train(egs, f.keys, "bench", 0.0f, nullptr);
    network += r.seconds_network;
    den += r.seconds_denominator;
    total += r.seconds_network + r.seconds_denominator + r.seconds_numerator + r.seconds_update;
  }
  state.counters["output_frames_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kN * kF, benchmark::Counter::kIsRate);
  state.counters["network_share"] = network / total;
  state.counters["denominator_share"] = den / total;
}
BENCHMARK(BM_TrainStep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
