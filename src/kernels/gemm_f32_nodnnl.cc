// Build without oneDNN (-DKQ_WITH_DNNL=OFF): the onednn fp32 row is absent.
#include "kernels/gemm_f32.h"

namespace kaldiq::kernels {

bool DnnlF32Available() { return false; }
bool DnnlF32UsesAvx512() { return false; }
std::unique_ptr<PackedLinearF32::Impl> CreateDnnlLinearF32(int64_t, int64_t, const float*,
                                                           const float*, bool) {
  return nullptr;
}

}  // namespace kaldiq::kernels
