// oneDNN 2.6 backend of Int8Gemm: one matmul primitive per layer (M is a runtime dimension, so
// one primitive serves every chunk size), weights reordered once into the layout the primitive
// prefers. Only u8×s8→s32 is asked of oneDNN; zero points, bias and requantization are done by
// the shared epilogue, which keeps the results bit-exact with the reference kernel and keeps the
// oneDNN 2.x vs 3.x quantization-API differences (output scales, bias units) out of kaldiq.
#include <omp.h>

#include <dnnl.hpp>

#include "kernels/dnnl_engine.h"
#include "kernels/gemm_s8_backend.h"
#include "util/error.h"

namespace kaldiq::kernels {

namespace {

class DnnlGemm : public Int8Kernel {
 public:
  DnnlGemm(int64_t n, int64_t k, const int8_t* w) : n_(n), k_(k) {
    // Before any oneDNN call on this thread: an OpenMP team of more than one thread would leave
    // spinning workers behind (measured: +25 % CPU time for the whole forward pass).
    omp_set_num_threads(1);
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const dnnl::memory::dim M = DNNL_RUNTIME_DIM_VAL;
    dnnl::memory::desc x_md({M, k}, dt::u8, {k, 1});
    dnnl::memory::desc w_any({k, n}, dt::s8, tag::any);
    dnnl::memory::desc y_md({M, n}, dt::s32, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::matmul::primitive_desc pd;
    try {
      pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md, w_any, y_md), attr, DnnlEngine());
    } catch (const dnnl::error&) {
      // Some versions refuse "any" weights with a runtime M; plain N×K (= K×N "ba") always works.
      dnnl::memory::desc w_ba({k, n}, dt::s8, tag::ba);
      pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(x_md, w_ba, y_md), attr, DnnlEngine());
    }
    prim_ = dnnl::matmul(pd);
    scratch_md_ = pd.scratchpad_desc();
    // Reorder the user's N×K weights into the primitive's layout once.
    dnnl::memory::desc w_user({k, n}, dt::s8, tag::ba);
    dnnl::memory src(w_user, DnnlEngine(), const_cast<int8_t*>(w));
    weights_ = dnnl::memory(pd.weights_desc(), DnnlEngine());
    dnnl::stream s(DnnlEngine());
    dnnl::reorder(src, weights_).execute(s, src, weights_);
    s.wait();
  }

  void Run(int64_t m, const uint8_t* x, int64_t ldx, int32_t* acc) const override {
    using dt = dnnl::memory::data_type;
    // kaldiq parallelises above the kernels; keep oneDNN's OpenMP team to this thread.
    omp_set_num_threads(1);
    dnnl::memory::desc x_md({m, k_}, dt::u8, {ldx, 1});
    dnnl::memory::desc y_md({m, n_}, dt::s32, {n_, 1});
    dnnl::memory xm(x_md, DnnlEngine(), const_cast<uint8_t*>(x));
    dnnl::memory ym(y_md, DnnlEngine(), acc);
    dnnl::memory scratch(scratch_md_, DnnlEngine());
    dnnl::stream s(DnnlEngine());
    prim_.execute(s, {{DNNL_ARG_SRC, xm},
                      {DNNL_ARG_WEIGHTS, weights_},
                      {DNNL_ARG_DST, ym},
                      {DNNL_ARG_SCRATCHPAD, scratch}});
    s.wait();
  }

 private:
  int64_t n_, k_;
  dnnl::matmul prim_;
  dnnl::memory weights_;
  dnnl::memory::desc scratch_md_;
};

}  // namespace

bool DnnlInt8Available() { return true; }

// 0x20 marks avx512_core and everything above it in oneDNN 2.6's dnnl_cpu_isa_t bit sets.
bool DnnlInt8UsesAvx512() {
  return (static_cast<unsigned>(dnnl_get_effective_cpu_isa()) & 0x20u) != 0;
}

std::unique_ptr<Int8Kernel> CreateDnnlInt8Kernel(int64_t n, int64_t k, const int8_t* w) {
  try {
    return std::make_unique<DnnlGemm>(n, k, w);
  } catch (const dnnl::error& e) {
    KQ_THROW(kInternal) << "oneDNN int8 matmul " << n << "x" << k << ": " << e.what();
  }
}

namespace {
dnnl_cpu_isa_t EffectiveIsa() { return dnnl_get_effective_cpu_isa(); }
}  // namespace

// oneDNN 2.6's dnnl_cpu_isa_t values are bit sets: 0x40 marks avx512_core_vnni (and everything
// above it: bf16, amx), 0x400 marks avx2_vnni.
bool CpuHasVnni() {
  unsigned isa = static_cast<unsigned>(EffectiveIsa());
  return (isa & 0x40u) != 0 || (isa & 0x400u) != 0;
}

std::string Int8IsaName() {
  switch (EffectiveIsa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "isa-" + std::to_string(static_cast<unsigned>(EffectiveIsa()));
  }
}

}  // namespace kaldiq::kernels
