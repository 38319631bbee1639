// Build without oneDNN (-DKQ_WITH_DNNL=OFF): Int8Gemm always uses the reference kernel.
#include "kernels/gemm_s8_backend.h"

namespace kaldiq::kernels {

std::unique_ptr<Int8Gemm::Fast> CreateFastGemm(int64_t, int64_t, const int8_t*) { return nullptr; }
bool CpuHasVnni() { return false; }
std::string Int8IsaName() { return "none"; }
int32_t FastPathMaxAbsWeight() { return -1; }

}  // namespace kaldiq::kernels
