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

// Removes op `index` (which no descriptor may reference) and renumbers the graph's references.
void RemoveOp(nnet::Graph* graph, int32_t index);

}  // namespace kaldiq::quant
