// Per-channel activation equalisation (cross-layer equalisation / SmoothQuant) for int8.
//
// An affine op P ("producer") whose output reaches only affine ops ("consumers"), each reading
// it through pure time selection (Offset, ReplaceIndex, Round, Switch; possibly via identity
// kCopy ops such as a BatchNorm whose scale and offset were folded away), can have output
// channel j divided by s_j > 0 (row j of W_P and b_P) while every consumer column that reads
// channel j (at every spliced time offset) is multiplied by s_j. Because s_j > 0,
// relu(x / s_j) = relu(x) / s_j, so the transform is exact in real arithmetic whether or not a
// ReLU is fused into P. Its purpose: the consumers' inputs are quantized per tensor (one u8 grid
// for all channels), so channels with a small range waste most of the grid; dividing the large
// channels and multiplying the small ones moves range from the activation grid into the
// consumer's weights, which are quantized per output row.
//
// The chosen scales are data (Plan::equalize, and META of the int8 model) so that calibrate,
// quantize and `forward --compare-to` apply the very same transform.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nnet/graph.h"
#include "quant/scheme.h"

namespace kaldiq::quant {

// One producer's per-output-channel scales s (output_dim of the producer, all > 0).
struct Equalization {
  std::string producer;
  std::vector<float> scale;
};

// A producer with its consumers: for each consumer op, the first column of every block of its
// input that holds the producer's channels (one block per spliced time offset).
struct EqualizeSite {
  int32_t producer = -1;
  std::vector<std::pair<int32_t, std::vector<int32_t>>> consumers;
};

// Every affine op of `graph` that can be equalised (see above), in graph order. The network
// output op and ops whose output reaches anything but an affine op's time selection are not
// sites.
std::vector<EqualizeSite> FindEqualizeSites(const nnet::Graph& graph);

// Applies the scales in place. Throws kInvalidArgument (prefixed with `what`, e.g. "plan 'p.txt'
// does not match the model") when a producer is not an op of the graph, is not an equalisable
// site, or the scale count or values (finite, > 0) are wrong.
void ApplyEqualization(const std::vector<Equalization>& eq, nnet::Graph* graph,
                       const std::string& what);

// Scales for one site. act_max[j]: calibrated max |x| of producer channel j (over all consumer
// blocks), used by kSmooth; the weight statistics are taken from the graph: w_j = max |W_C| over
// the consumer columns of channel j, r1_j = max |row j of W_P| (kDfq). Ranges below 1 % of
// the largest are raised to that floor (dead channels would otherwise get extreme scales), and
// the scales are normalised to geometric mean 1 (an overall factor changes nothing: both grids
// adapt to it).
std::vector<float> ChooseEqualizationScales(const nnet::Graph& graph, const EqualizeSite& site,
                                            const std::vector<float>& act_max,
                                            EqualizeMethod method, float alpha);

}  // namespace kaldiq::quant
