// fp32 GEMM shapes of the fixture networks (M = frames per call, K = input dim, N = output
// dim): OpenBLAS with Kaldi's N×K weights, OpenBLAS with weights pre-transposed to K×N (what
// the executor uses) and, when built with oneDNN, oneDNN's f32 matmul with the weights in its
// preferred layout. Single-threaded, warm caches. Run: build/bench/kq_bench_gemm_f32
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "core/matrix.h"
#include "kernels/gemm_f32.h"

#ifdef KQ_BENCH_DNNL
#include <dnnl.hpp>
#endif

namespace {

using kaldiq::MatrixF;

MatrixF Random(int64_t r, int64_t c) {
  MatrixF m(r, c);
  std::mt19937 rng(1);
  std::normal_distribution<float> d;
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = d(rng);
  return m;
}

// {M, K, N}: seed625 layers at the chunk sizes the executor sees (frames-per-chunk 140 with
// subsampling 3: lower layers ~170 rows, upper layers ~50-60 rows), tdnn-seed, TDNN-F factors.
void Shapes(benchmark::internal::Benchmark* b) {
  for (auto s : std::vector<std::vector<int64_t>>{{172, 120, 625},
                                                  {170, 1875, 625},
                                                  {58, 1875, 625},
                                                  {47, 625, 4664},
                                                  {170, 768, 256},
                                                  {47, 256, 968},
                                                  {300, 1536, 160},
                                                  {300, 320, 1536},
                                                  {100, 1536, 6016}})
    b->Args(s);
}

void SetCounters(benchmark::State& state, int64_t m, int64_t k, int64_t n) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k * state.iterations(),
                                                 benchmark::Counter::kIsRate,
                                                 benchmark::Counter::kIs1000);
}

void BM_OpenBlasNK(benchmark::State& state) {
  int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  MatrixF a = Random(m, k), w = Random(n, k), c(m, n);
  for (auto _ : state) {
    kaldiq::kernels::GemmF32(m, n, k, a.data(), k, w.data(), k, c.data(), n, false);
    benchmark::DoNotOptimize(c.data());
  }
  SetCounters(state, m, k, n);
}
BENCHMARK(BM_OpenBlasNK)->Apply(Shapes);

void BM_OpenBlasKN(benchmark::State& state) {
  int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  MatrixF a = Random(m, k), wt = Random(k, n), c(m, n);
  for (auto _ : state) {
    kaldiq::kernels::GemmF32KN(m, n, k, a.data(), k, wt.data(), n, c.data(), n, false);
    benchmark::DoNotOptimize(c.data());
  }
  SetCounters(state, m, k, n);
}
BENCHMARK(BM_OpenBlasKN)->Apply(Shapes);

#ifdef KQ_BENCH_DNNL
void BM_OneDnnMatmul(benchmark::State& state) {
  using namespace dnnl;
  int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  memory::desc a_md({m, k}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc w_any({k, n}, memory::data_type::f32, memory::format_tag::any);
  memory::desc w_user({k, n}, memory::data_type::f32, memory::format_tag::ba);  // N×K storage
  memory::desc c_md({m, n}, memory::data_type::f32, memory::format_tag::ab);
  matmul::primitive_desc pd(matmul::desc(a_md, w_any, c_md), eng);
  MatrixF a = Random(m, k), w = Random(n, k), c(m, n);
  memory a_mem(a_md, eng, a.data()), c_mem(c_md, eng, c.data());
  memory w_user_mem(w_user, eng, w.data()), w_mem(pd.weights_desc(), eng);
  reorder(w_user_mem, w_mem).execute(s, w_user_mem, w_mem);  // packed once, as at load time
  matmul prim(pd);
  for (auto _ : state) {
    prim.execute(s, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, c_mem}});
    s.wait();
  }
  SetCounters(state, m, k, n);
}
BENCHMARK(BM_OneDnnMatmul)->Apply(Shapes);
#endif

}  // namespace

BENCHMARK_MAIN();
