#include "kernels/dnnl_engine.h"

#include <cstdlib>

namespace kaldiq::kernels {

dnnl::engine& DnnlEngine() {
  static dnnl::engine* eng = [] {
    if (std::getenv("DNNL_JIT_PROFILE") == nullptr) dnnl::set_jit_profiling_flags(0);
    return new dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return *eng;
}

}  // namespace kaldiq::kernels
