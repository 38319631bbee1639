// Where an int8 model will run (`--target` of calibrate / quantize), and the weight bit width
// whose kernels are fastest there (kernels/gemm_s8.h):
//   vnni      AVX-512 VNNI / AVX-VNNI: oneDNN is exact and fastest for full 8-bit weights → 8
//   avx2      AVX2 without VNNI: the u8×s8 pair-add (vpmaddubsw) is exact only for |w| ≤ 64;
//             7-bit weights run 1.2–1.9x faster per GEMM than 8-bit ones (avx2-w7 vs avx2-w8,
//             bench/README.md) → 7
//   portable  every x86-64 CPU: 7-bit weights are exact on the fast path of every CPU → 7
//   native    the CPU this runs on: vnni when it has VNNI, else avx2 (also for CPUs without
//             AVX2, whose oneDNN SSE4.1 path has the same 16-bit saturation)
// 8-bit weights run on every CPU too (avx2-w8 without VNNI, measured ≥ 1.3x fp32); the choice
// trades SQNR (about 3 dB of output SQNR, docs/quantization.md) for speed. Never slower than fp32.
#pragma once

#include <string>

namespace kaldiq::quant {

enum class Target { kNative, kPortable, kAvx2, kVnni };

Target ParseTarget(const std::string& s);  // throws kInvalidArgument naming the known targets
std::string ToString(Target t);
// kNative resolved on this CPU (kVnni or kAvx2); other targets unchanged.
Target Resolve(Target t);
// 7 or 8.
int WeightBitsFor(Target t);
// e.g. "native = avx2 (this CPU: AVX2, no VNNI): 7-bit weights".
std::string DescribeTarget(Target t);

}  // namespace kaldiq::quant
