#include "quant/target.h"

#include "kernels/gemm_s8.h"
#include "util/error.h"

namespace kaldiq::quant {

Target ParseTarget(const std::string& s) {
  if (s == "native") return Target::kNative;
  if (s == "portable") return Target::kPortable;
  if (s == "avx2") return Target::kAvx2;
  if (s == "vnni") return Target::kVnni;
  KQ_THROW(kInvalidArgument) << "unknown --target '" << s
                             << "' (native, portable, avx2, vnni)";
}

std::string ToString(Target t) {
  switch (t) {
    case Target::kNative: return "native";
    case Target::kPortable: return "portable";
    case Target::kAvx2: return "avx2";
    case Target::kVnni: return "vnni";
  }
  return "native";
}

Target Resolve(Target t) {
  if (t != Target::kNative) return t;
  return kernels::CpuHasVnni() ? Target::kVnni : Target::kAvx2;
}

int WeightBitsFor(Target t) { return Resolve(t) == Target::kVnni ? 8 : 7; }

std::string DescribeTarget(Target t) {
  std::string s = ToString(t);
  if (t == Target::kNative) {
    s += " = " + ToString(Resolve(t)) + " (this CPU: " +
         (kernels::CpuHasAvx2() ? "AVX2" : "no AVX2") + ", " +
         (kernels::CpuHasVnni() ? "VNNI" : "no VNNI") + ")";
  }
  return s + ": " + std::to_string(WeightBitsFor(t)) + "-bit weights";
}

}  // namespace kaldiq::quant
