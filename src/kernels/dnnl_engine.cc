#include "kernels/dnnl_engine.h"

namespace kaldiq::kernels {

dnnl::engine& DnnlEngine() {
  static dnnl::engine* eng = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *eng;
}

}  // namespace kaldiq::kernels
