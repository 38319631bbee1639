// Build without oneDNN (-DKQ_WITH_DNNL=OFF): the onednn row of the int8 backend table is absent.
#include "kernels/gemm_s8_backend.h"

namespace kaldiq::kernels {

bool DnnlInt8Available() { return false; }
bool DnnlInt8UsesAvx512() { return false; }
std::unique_ptr<Int8Kernel> CreateDnnlInt8Kernel(int64_t, int64_t, const int8_t*) {
  return nullptr;
}
bool CpuHasVnni() { return false; }
std::string Int8IsaName() { return "none"; }

}  // namespace kaldiq::kernels
