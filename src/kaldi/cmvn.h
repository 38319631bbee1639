// Cepstral mean/variance normalisation exactly as Kaldi's src/transform/cmvn.cc, so that
// `kaldiq compute-cmvn-stats` / `apply-cmvn` reproduce Kaldi's stats and features bit for bit
// (same float/double mixing, same summation order).
//
// Stats layout (Kaldi's): a double matrix 2 x (dim+1); row 0 = sum of features with the total
// weight (frame count) in the last column, row 1 = sum of squares (last column 0).
#pragma once

#include <vector>

#include "core/matrix.h"

namespace kaldiq::kaldi {

// Initialises *stats to 2 x (dim+1) zeros.
void InitCmvnStats(int64_t dim, MatrixD* stats);

// Adds the frames of feats (optionally weighted per frame; weights->size() == rows) to *stats,
// which must be empty (initialised here) or 2 x (cols+1). Throws kInvalidArgument on dimension
// mismatch.
void AccCmvnStats(const MatrixF& feats, const std::vector<float>* weights, MatrixD* stats);

// Kaldi's ApplyCmvn / ApplyCmvnReverse on feats in place. Throws kInvalidArgument for a
// dimension mismatch, count < 1, missing variance stats, or NaN/Inf in the normalisation.
void ApplyCmvn(const MatrixD& stats, bool norm_vars, MatrixF* feats);
void ApplyCmvnReverse(const MatrixD& stats, bool norm_vars, MatrixF* feats);

}  // namespace kaldiq::kaldi
