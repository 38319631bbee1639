#include "kernels/kernel_selection.h"

#include <sstream>

#include "kernels/gemm_f32.h"
#include "kernels/gemm_s8.h"
#include "util/error.h"

namespace kaldiq::kernels {

KernelSelection KernelSelection::Parse(const std::string& text) {
  KernelSelection s;
  if (text.empty() || text == "auto") return s;
  std::istringstream is(text);
  std::string name;
  bool set_int8 = false, set_f32 = false;
  while (std::getline(is, name, ',')) {
    bool known = false;
    for (const Int8BackendInfo& b : Int8Backends()) {
      if (b.name != name) continue;
      KQ_CHECK(!set_int8, kInvalidArgument)
          << "--kernels='" << text << "' names two int8 kernels";
      s.int8 = name;
      set_int8 = known = true;
    }
    for (const std::string& b : F32BackendNames()) {
      if (b != name) continue;
      KQ_CHECK(!set_f32, kInvalidArgument) << "--kernels='" << text << "' names two fp32 kernels";
      s.f32 = name;
      set_f32 = known = true;
    }
    if (!known) {
      std::string all;
      for (const Int8BackendInfo& b : Int8Backends()) all += ", " + b.name;
      for (const std::string& b : F32BackendNames())
        if (all.find(", " + b) == std::string::npos) all += ", " + b;
      KQ_THROW(kInvalidArgument) << "--kernels: unknown kernel '" << name << "' (known: auto"
                                 << all << ")";
    }
  }
  return s;
}

std::string KernelSelection::ToString() const {
  if (int8 == "auto" && f32 == "auto") return "auto";
  return "int8 " + int8 + ", fp32 " + f32;
}

}  // namespace kaldiq::kernels
