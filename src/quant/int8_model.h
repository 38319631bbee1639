// The kaldiq int8 model file (docs/int8-format.md): versioned, little-endian, 64-byte aligned
// sections with an FNV-1a 64 checksum, holding the lowered (folded) graph, the int8 layers
// (weights, scales, zero points, biases, input quantization), fp32 layers kept in float, the
// transition model and the priors — everything decoding needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kaldi/transition_model.h"
#include "kernels/gemm_s8.h"
#include "kernels/kernel_selection.h"
#include "nnet/executor.h"
#include "nnet/graph.h"
#include "nnet/load_model.h"
#include "quant/int8_linear.h"
#include "quant/plan.h"

namespace kaldiq::quant {

inline constexpr char kInt8Magic[8] = {'K', 'Q', 'I', 'N', 'T', '8', '\r', '\n'};
// Version 2: activation grids store inv_scale, and activations are quantized with the rule of
// kernels/qgrid.h (docs/int8-format.md says what that changes for version-1 files).
inline constexpr uint32_t kInt8FormatVersion = 2;

struct Int8Model {
  std::string scheme_name;
  std::vector<std::string> folds;
  // How the fp32 graph was lowered, so a reference can be lowered alike.
  Int8Lowering lowering;
  // Equalisation applied to the folded graph before quantization (Plan::equalize), so a
  // reference can be transformed alike; the weights below already include it.
  std::vector<Equalization> equalize;
  // The folded (and equalised) graph. Ops listed in `layers` have an empty weight matrix
  // (their weights are the int8 ones); other affine ops keep fp32 weights.
  nnet::Graph graph;
  std::vector<int32_t> layer_ops;        // op index of layers[i]
  std::vector<QuantizedAffine> layers;
  bool has_transition_model = false;
  kaldi::TransitionModel trans_model;
  std::vector<float> priors;
};

// Builds the int8 model from a folded graph (LowerForInt8) and a matching plan; applies the
// plan's equalisation first (EqualizedGraph).
Int8Model BuildInt8Model(nnet::Graph graph, const Plan& plan, const std::string& plan_path);

// The graph with each int8 layer's weights replaced by their dequantized values (what
// `export --dequantized` writes, and a float simulation of the int8 model).
nnet::Graph DequantizedGraph(const Int8Model& model);

// Writes atomically (temporary file + rename).
void WriteInt8Model(const std::string& path, const Int8Model& model);
// Throws kaldiq::Error (kFormat) naming the file for a bad magic, version, truncation,
// checksum mismatch or inconsistent content.
Int8Model ReadInt8Model(const std::string& path);
// True when `path` is a regular file starting with the int8 magic (never throws).
bool IsInt8ModelFile(const std::string& path);
// Size in bytes of a file (for size reports); -1 if unknown.
int64_t FileSize(const std::string& path);

// Per op of model.graph, the u8 grid its output is stored on when the integer pipeline is on
// (none = float):
//  * an int8 layer: the input QParams of the layers consuming it, when every consumer (through
//    plain copies and dim-ranges) is an int8 layer with a static unsigned input grid, one grid
//    shared by all, and a descriptor that only selects rows (splicing); its kernel requantizes
//    onto it. Not when anything else reads it (a TDNN-F BatchNorm, the network output).
//  * a float op (a TDNN-F bypass sum, a BatchNorm kept float) read by at least one such int8
//    layer and otherwise only by float ops other than the output: quantized once onto the
//    layers' grid by the executor; the float consumers then read the dequantized values.
std::vector<std::optional<QParams>> OutputGrids(const Int8Model& model);

// The kernels of model's int8 layers for nnet::Prepare or nnet::MinibatchComputer (`model`
// must outlive the factory): float rows in, float rows out unless grids[op] (sized like
// model.graph.ops, or empty) names the u8 grid the layer writes; null for the float ops.
// int8_backend: a kernels/gemm_s8.h backend or "auto".
nnet::KernelFactory Int8LayerKernels(const Int8Model& model, const std::string& int8_backend,
                                     std::vector<std::optional<QParams>> grids = {});

// A runnable network: int8 kernels for the int8 layers, fp32 for the rest. integer_pipeline:
// layers pass u8 tensors to each other where OutputGrids() allows (the default); false keeps
// float between layers (each layer quantizes its input and dequantizes its output), for
// comparison.
// kernels: the int8 backend for the int8 layers and the fp32 backend for the float ones.
nnet::ExecutableNet MakeInt8Executable(
    const Int8Model& model, const kernels::KernelSelection& kernels = kernels::KernelSelection(),
    bool integer_pipeline = true);

// The fp32 reference network for `forward --compare-to`: the Kaldi model `fp32_model` lowered
// exactly as the int8 model at `int8_model` was (same folds, same equalisation), so per-layer
// outputs compare like with like. When `int8_model` is not an int8 file, the plain LoadModelForInference network.
nnet::ExecutableNet LoadComparisonReference(const std::string& fp32_model,
                                            const std::string& int8_model);

// Registers the int8 format with nnet::LoadModelForInference (idempotent). Commands that load
// models call this once at start-up.
void RegisterInt8ModelLoader();

}  // namespace kaldiq::quant
