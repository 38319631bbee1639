// Left/right context and modulus of an nnet3 network, as Kaldi's ComputeSimpleNnetContext
// (nnet3-am-info / nnet3-info) computes them: the number of input frames needed before/after
// an output frame, from the descriptors (Offset, Append, Round, ReplaceIndex, IfDefined,
// Failover, Switch) and the components' own time offsets (TdnnComponent time_offsets,
// TimeHeightConvolution required time offsets). The "ivector" input is treated as available
// everywhere, as in Kaldi.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kaldi/nnet3/nnet.h"

namespace kaldiq::kaldi {

struct NnetContext {
  int32_t left_context = 0;
  int32_t right_context = 0;
  int32_t modulus = 1;  // lcm of Round() moduli in the graph (1 for ordinary TDNNs)
};

// Throws kaldiq::Error if the network has no node `output_name` fed from "input", or if the
// context cannot be established (e.g. > 1000 frames).
NnetContext ComputeContext(const Nnet& nnet, const std::string& output_name = "output");

// Time offsets a component reads relative to its output frame: {0} for frame-wise components,
// TdnnComponent::time_offsets, the convolution's distinct time offsets.
std::vector<int32_t> ComponentTimeOffsets(const Component& c);

}  // namespace kaldiq::kaldi
