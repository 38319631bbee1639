// Exact graph rewrites that prepare a lowered graph for int8 (seed.md §8.4):
//  * a ScaleOffset (BatchNorm in test mode, ScaleAndOffset, FixedScale/Bias, PerElement*) whose
//    consumers are all affine ops reading it through pure time selection (Offset, ReplaceIndex,
//    Round, Switch) is folded into those ops' weights per input column
//    (W'[:, c] = W[:, c]·scale[c], b' = b + Σ_c W[:, c]·offset[c]) and becomes an identity;
//    BN after ReLU folds into the NEXT layer, which is exact because nothing non-linear sits
//    between them. IfDefined/Failover/Sum/Scale/Const paths block the fold (zero padding would
//    not see the offset).
//  * an affine op without ReLU (the LDA FixedAffine) read by exactly one affine op whose whole
//    input is that op at the same time index is multiplied into it (W' = W_B·W_A,
//    b' = W_B·b_A + b_B) and removed from the graph.
// The results equal the unfolded graph up to float rounding.
#pragma once

#include <string>
#include <vector>

#include "nnet/graph.h"

namespace kaldiq::quant {

// Applies the folds in place; returns one human-readable line per fold ("tdnn2.batchnorm ->
// tdnn3.affine"). Ops named in keep_unfolded are left alone (and so are their neighbours' folds).
std::vector<std::string> FoldForInt8(nnet::Graph* graph,
                                     const std::vector<std::string>& keep_unfolded = {});

// Before the inference optimisation (on a graph lowered with optimize=false): for
// affine -> ReLU -> ScaleOffset chains with all scales > 0 (test-mode BatchNorm), moves the scale
// into the affine rows, which is exact because relu(x)·s = relu(x·s) for s > 0. The offset stays
// and is later folded forward into the next layer's bias. The quantized activation is then the
// normalised one (similar ranges in every column) instead of the raw ReLU output, whose columns
// the BatchNorm scales differ by orders of magnitude.
std::vector<std::string> FoldScalesBackward(nnet::Graph* graph);

// Removes op `index` (which no descriptor may reference) and renumbers the graph's references.
void RemoveOp(nnet::Graph* graph, int32_t index);

}  // namespace kaldiq::quant
