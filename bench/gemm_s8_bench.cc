// int8 GEMM micro-benchmarks at the TDNN shapes of gemm-backends.md (M×K×N): the Int8Gemm
// fast path (oneDNN u8×s8→s32 + kaldiq's epilogue to f32) and the scalar reference on a small
// shape, next to OpenBLAS fp32 for the ratio. GOP/s counters count one multiply-add as 2 ops.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/gemm_f32.h"
#include "kernels/gemm_s8.h"

namespace {

using kaldiq::kernels::Int8Backend;
using kaldiq::kernels::Int8Gemm;
using kaldiq::kernels::Requant;

void Shapes(benchmark::internal::Benchmark* b) {
  b->Args({300, 1875, 625})->Args({100, 1875, 625})->Args({300, 768, 256})
      ->Args({300, 1536, 160})->Args({300, 320, 1536})->Args({100, 1536, 6016})
      ->Args({50, 625, 3456});
}

void Int8(benchmark::State& state, Int8Backend backend, int wmax) {
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
  state.counters["GOPs"] = benchmark::Counter(2.0 * double(m * n * k) * double(state.iterations()),
                                              benchmark::Counter::kIsRate);
  state.SetLabel(g.UsesFastPath() ? kaldiq::kernels::Int8IsaName() : "reference");
}

void F32(benchmark::State& state) {
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  std::vector<float> x(static_cast<size_t>(m * k), 0.5f), w(static_cast<size_t>(n * k), 0.25f),
      y(static_cast<size_t>(m * n));
  for (auto _ : state) {
    kaldiq::kernels::GemmF32(m, n, k, x.data(), k, w.data(), k, y.data(), n, false);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GOPs"] = benchmark::Counter(2.0 * double(m * n * k) * double(state.iterations()),
                                              benchmark::Counter::kIsRate);
}

void BM_Int8Fast(benchmark::State& s) { Int8(s, Int8Backend::kAuto, 127); }
void BM_Int8Fast7bit(benchmark::State& s) { Int8(s, Int8Backend::kAuto, 64); }
void BM_Int8Reference(benchmark::State& s) { Int8(s, Int8Backend::kReference, 127); }
void BM_F32OpenBlas(benchmark::State& s) { F32(s); }

BENCHMARK(BM_Int8Fast)->Apply(Shapes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Int8Fast7bit)->Apply(Shapes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_F32OpenBlas)->Apply(Shapes)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Int8Reference)->Args({50, 768, 256})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
