// Which kernels a network runs on, from `--kernels=<name>[,<name>...]`. Each name forces that
// kernel in every kernel table that has a row of that name:
//   int8 (kernels/gemm_s8.h):  reference, onednn, avx2-w7, avx2-w8
//   fp32 (kernels/gemm_f32.h): reference, onednn, openblas
// so `reference` selects the scalar oracles everywhere and `onednn` oneDNN for both. A table no
// name mentions stays `auto` (chosen per layer from the CPU and the layer's shape / weights).
#pragma once

#include <string>

namespace kaldiq::kernels {

struct KernelSelection {
  std::string int8 = "auto";
  std::string f32 = "auto";

  // Throws kaldiq::Error (kInvalidArgument) for a name no table knows, or two names for one table.
  static KernelSelection Parse(const std::string& text);
  // For logs: "auto", or "int8 <name>, fp32 <name>".
  std::string ToString() const;
  bool operator==(const KernelSelection& o) const { return int8 == o.int8 && f32 == o.f32; }
  bool operator!=(const KernelSelection& o) const { return !(*this == o); }

  static const KernelSelection kFast;       // auto everywhere
  static const KernelSelection kReference;  // the scalar references everywhere
};

inline const KernelSelection KernelSelection::kFast{};
inline const KernelSelection KernelSelection::kReference{"reference", "reference"};

}  // namespace kaldiq::kernels
