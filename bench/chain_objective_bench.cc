// LF-MMI objective speed on the fixture den.fst (5796 states, 43430 arcs, 968 pdfs): one
// minibatch of 64 sequences x 47 output frames, as in Kaldi's training (design note §9).
// Counter: wall_us_per_seq_frame = wall time per (sequence, output frame); on a shared machine
// divide the CPU column by 64 x 47 = 3008 instead.
//   OMP_NUM_THREADS=1 taskset -c 0 build/bench/kq_bench_chain_objective
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "kaldi/chain_example.h"
#include "kaldi/fst_io.h"
#include "kaldi/table.h"
#include "train/chain/chain_objective.h"
#include "train/chain/den_graph.h"
#include "train/chain/denominator.h"
#include "train/chain/numerator.h"

namespace {

using namespace kaldiq;
using namespace kaldiq::train::chain;

const std::string kModelDir = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed";
constexpr int kN = 64, kF = 47;

struct Fixture {
  std::unique_ptr<DenGraph> graph;
  std::vector<kaldi::NnetChainExample> egs;  // 64 egs of 47 frames
  MatrixF y;
  bool ok = false;
};

const Fixture& GetFixture() {
  static Fixture f = [] {
    Fixture f;
    if (!std::ifstream(kModelDir + "/den.fst").good()) return f;
    f.graph = std::make_unique<DenGraph>(kaldi::ReadFstFile(kModelDir + "/den.fst"), 968);
    kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> reader(
        "ark:" + kModelDir + "/egs/valid_diagnostic.cegs");
    for (; !reader.Done() && static_cast<int>(f.egs.size()) < kN; reader.Next())
      if (reader.Value().outputs[0].supervision.frames_per_sequence == kF)
        f.egs.push_back(reader.Value());
    // Outputs of the scale a trained chain model produces (roughly N(0, 3)).
    std::mt19937 gen(1);
    std::normal_distribution<float> dist(0.0f, 3.0f);
    f.y.Resize(kN * kF, 968);
    for (int64_t i = 0; i < f.y.size(); ++i) f.y.data()[i] = dist(gen);
    f.ok = static_cast<int>(f.egs.size()) == kN;
    return f;
  }();
  return f;
}

void SetCounters(benchmark::State& state) {
  state.counters["wall_us_per_seq_frame"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kN * kF * 1e-6,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_DenominatorForward(benchmark::State& state) {
  const Fixture& f = GetFixture();
  if (!f.ok) return state.SkipWithError("../shared fixtures not found");
  for (auto _ : state) {
    DenominatorResult r = ComputeDenominator(*f.graph, 0.1f, kN, f.y, 1.0f, nullptr,
                                             static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(r.log_prob);
  }
  SetCounters(state);
}
BENCHMARK(BM_DenominatorForward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_DenominatorForwardBackward(benchmark::State& state) {
  const Fixture& f = GetFixture();
  if (!f.ok) return state.SkipWithError("../shared fixtures not found");
  MatrixF deriv(f.y.rows(), f.y.cols());
  for (auto _ : state) {
    DenominatorResult r = ComputeDenominator(*f.graph, 0.1f, kN, f.y, -1.0f, &deriv,
                                             static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(r.log_prob);
  }
  SetCounters(state);
}
BENCHMARK(BM_DenominatorForwardBackward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_NumeratorForwardBackward(benchmark::State& state) {
  const Fixture& f = GetFixture();
  if (!f.ok) return state.SkipWithError("../shared fixtures not found");
  MatrixF deriv(f.y.rows(), f.y.cols());
  for (auto _ : state) {
    double total = 0;
    for (int n = 0; n < kN; ++n)
      total += ComputeNumerator(f.egs[n].outputs[0].supervision.fst, n, 1, kN, f.y, 1.0f, &deriv)
                   .log_prob;
    benchmark::DoNotOptimize(total);
  }
  SetCounters(state);
}
BENCHMARK(BM_NumeratorForwardBackward)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ChainObjective(benchmark::State& state) {
  const Fixture& f = GetFixture();
  if (!f.ok) return state.SkipWithError("../shared fixtures not found");
  std::vector<const kaldi::ChainSupervision*> sups;
  for (const auto& eg : f.egs) sups.push_back(&eg.outputs[0].supervision);
  const ChainSupervisionRef sup = SupervisionRefOf(sups);
  ChainTrainingOptions opts;
  opts.l2_regularize = 5e-5f;
  opts.leaky_hmm_coefficient = 0.1f;
  opts.xent_regularize = 0.1f;
  MatrixF deriv, xent;
  for (auto _ : state) {
    ChainObjective o = ComputeChainObjective(opts, *f.graph, sup, f.y, &deriv, &xent, nullptr,
                                             static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(o.objf);
  }
  SetCounters(state);
}
BENCHMARK(BM_ChainObjective)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
