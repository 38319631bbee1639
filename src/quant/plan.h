// The per-layer quantization plan: a diffable text file written by `kaldiq calibrate` and read
// by `kaldiq quantize`. It fixes every number of the int8 model: the scheme, the folds applied,
// and per affine op of the folded graph its input range / scale / zero point, its per-channel
// weight scales and zero point, and its bias correction. Format (one item per line, floats
// with 9 significant digits so they round-trip exactly):
//
//   kaldiq-plan 3                                   (2 without target / act-mean lines, 1 also
//                                                    without equalisation)
//   scheme best
//   weight bits=8,signed=1,symmetric=1,narrow=1,rule=round-clamp
//   weight-per-channel 1
//   weight-quantizer mse
//   act bits=8,signed=0,symmetric=0,narrow=0,rule=round-clamp
//   act-range static
//   observer percentile 99.999
//   bias-correction 1
//   fold-input-affine 0
//   input-layer-float 1
//   target native                                   (version 3, optional: --target of calibrate)
//   equalize-method smooth 0.5                      (version 2, optional: how scales were chosen)
//   fold tdnn1.batchnorm -> tdnn2.affine            (zero or more)
//   equalize tdnn1.affine 256 0.8 1.3 ...           (version 2, zero or more: producer, count,
//                                                    per-channel scales, see equalize.h)
//   layer tdnn2.affine int8 768 256                 (name, int8|float, input dim, output dim)
//   act-min-max -0.5 7.25
//   act-qparams 0.0304 16                           (scale, zero point)
//   weight-zero-point 0
//   weight-scales 256 0.0012 ...
//   bias-delta 256 0.001 ...                        (count 0 when none)
//   act-mean 768 0.21 ...                           (version 3, optional: input column means, so
//                                                    quantize can re-derive the weight grids and
//                                                    bias correction at another bit width)
//   end-layer
//   end
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "nnet/graph.h"
#include "quant/equalize.h"
#include "quant/scheme.h"

namespace kaldiq::quant {

struct LayerPlan {
  std::string name;
  bool keep_float = false;
  int32_t input_dim = 0;
  int32_t output_dim = 0;
  float act_min = 0.0f, act_max = 0.0f;
  QParams act;
  int32_t weight_zero_point = 0;
  std::vector<float> weight_scales;  // output_dim entries
  std::vector<float> bias_delta;     // output_dim entries or empty
  std::vector<float> act_mean;       // input_dim entries (calibration means) or empty
};

struct Plan {
  Scheme scheme;
  std::string target;  // the --target calibrate chose the weight bits for ("" = not recorded)
  std::vector<std::string> folds;
  // Applied, in order, to the graph LowerForInt8 returns before anything is quantized; the
  // layers below describe the equalised graph.
  std::vector<Equalization> equalize;
  std::vector<LayerPlan> layers;

  const LayerPlan* Find(const std::string& name) const;
};

void WritePlan(const std::string& path, const Plan& plan);
Plan ReadPlan(const std::string& path);
// The same from an open stream; `path` names it in messages.
Plan ReadPlan(std::istream& is, const std::string& path);

// The graph the plan's layers describe: `graph` (from LowerForInt8) with plan.equalize applied.
// Throws kInvalidArgument naming the plan when an equalisation does not fit the graph.
nnet::Graph EqualizedGraph(nnet::Graph graph, const Plan& plan, const std::string& plan_path);

// Checks that the plan describes this (already folded) graph: same affine ops in order, same
// dimensions. Throws kInvalidArgument naming the first mismatch.
void CheckPlanMatchesGraph(const Plan& plan, const nnet::Graph& graph,
                           const std::string& plan_path);

// The per-row weight QParams a LayerPlan describes (for QuantizeAffine).
std::vector<QParams> WeightQParams(const LayerPlan& layer, const TensorSpec& spec);

}  // namespace kaldiq::quant
