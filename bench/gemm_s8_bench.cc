// int8 GEMM micro-benchmarks at the fixture networks' shapes (M×K×N, M = rows per call): every
// available int8 backend of kernels/gemm_s8.h (forced by name; weights within its exact range),
// through Int8Gemm::Compute with the shared epilogue (f32 out, bias, ReLU), next to the fp32
// PackedLinearF32 backends for the ratio. GOP/s counts one multiply-add as 2 ops.
// Run: build/bench/kq_bench_gemm_s8 [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/gemm_f32.h"
#include "kernels/gemm_s8.h"

namespace {

using kaldiq::kernels::Int8Gemm;
using kaldiq::kernels::Requant;

const std::vector<std::vector<int64_t>>& Shapes() {
  static const std::vector<std::vector<int64_t>> s = {
      {170, 1875, 625},  // seed625 lower layers (frames-per-chunk 140)
      {58, 1875, 625},   // seed625 upper layers (subsampled)
      {47, 625, 4664},   // seed625 output
      {58, 768, 256},    // tdnn-seed
      {60, 1536, 160},   // tdnnf17 linear (subsampled rows)
      {60, 320, 1536},   // tdnnf17 affine
      {50, 1536, 6016},  // tdnnf17 output
      {300, 1875, 625},  // gemm-backends.md shapes
      {300, 1536, 160},  {300, 320, 1536}, {100, 1536, 6016}, {50, 625, 3456}, {1, 1536, 160}};
  return s;
}

void SetCounters(benchmark::State& state, int64_t m, int64_t k, int64_t n) {
  state.counters["GOPs"] = benchmark::Counter(2.0 * double(m * n * k) * double(state.iterations()),
                                              benchmark::Counter::kIsRate,
                                              benchmark::Counter::kIs1000);
}

void Int8(benchmark::State& state, const std::string& backend, int wmax) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> dw(-wmax, wmax), dx(0, 255);
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  for (auto& v : w) v = static_cast<int8_t>(dw(rng));
  std::vector<uint8_t> x(static_cast<size_t>(m * k));
  for (auto& v : x) v = static_cast<uint8_t>(dx(rng));
  std::vector<float> scale(static_cast<size_t>(n), 1e-3f), y(static_cast<size_t>(m * n));
  std::vector<int32_t> bias(static_cast<size_t>(n), 7);
  Int8Gemm g(n, k, w.data(), k, 0, backend);
  Requant rq;
  rq.output = Requant::Output::kF32;
  rq.scale = scale.data();
  rq.bias = bias.data();
  rq.relu = true;
  for (auto _ : state) {
    g.Compute(m, x.data(), k, 128, rq, y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  SetCounters(state, m, k, n);
}

void F32(benchmark::State& state, const std::string& backend) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  std::mt19937 rng(1);
  std::normal_distribution<float> d;
  std::vector<float> x(static_cast<size_t>(m * k)), w(static_cast<size_t>(n * k)),
      b(static_cast<size_t>(n)), y(static_cast<size_t>(m * n));
  for (auto* v : {&x, &w, &b})
    for (float& e : *v) e = d(rng);
  kaldiq::kernels::PackedLinearF32 layer(n, k, w.data(), b.data(), true, backend);
  for (auto _ : state) {
    layer.Run(m, x.data(), k, y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  SetCounters(state, m, k, n);
}

void Register() {
  for (const auto& info : kaldiq::kernels::Int8Backends()) {
    if (!info.available || info.name == "reference") continue;
    const int wmax = info.max_abs_weight >= 128 ? 127 : info.max_abs_weight;
    auto* b = benchmark::RegisterBenchmark(("int8/" + info.name + "/w" + std::to_string(wmax)).c_str(),
                                           [name = info.name, wmax](benchmark::State& s) {
                                             Int8(s, name, wmax);
                                           });
    for (const auto& s : Shapes()) b->Args(s);
    b->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("int8/reference/w127",
                               [](benchmark::State& s) { Int8(s, "reference", 127); })
      ->Args({50, 768, 256})
      ->Unit(benchmark::kMillisecond);
  for (const std::string& name : kaldiq::kernels::F32BackendNames()) {
    if (name == "reference") continue;
    auto* b = benchmark::RegisterBenchmark(("fp32/" + name).c_str(),
                                           [name](benchmark::State& s) { F32(s, name); });
    for (const auto& s : Shapes()) b->Args(s);
    b->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Register();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
