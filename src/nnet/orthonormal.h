// Kaldi's orthonormal constraint (nnet-utils.cc ConstrainOrthonormal / ConstrainOrthonormalInternal;
// Povey et al., "Semi-orthogonal low-rank matrix factorization", Interspeech 2018, §2.2–2.3):
// one step that moves a component's weight M towards a semi-orthogonal matrix, applied after a
// parameter update to Linear / Affine / Tdnn components with orthonormal-constraint ≠ 0.
// Works on the orientation with rows ≤ cols (a tall M is transposed and back). With P = M Mᵀ:
//   constraint c > 0:  s = c;
//   constraint < 0 (floating, TDNN-F): s² = tr(P Pᵀ) / tr(P); the step is skipped when
//     tr(P) < 1e-15; ν = 0.125 is halved when tr(P Pᵀ)·rows / tr(P)² > 1.02 and again above 1.1;
//   M ← M − 4 (ν / s²) (P − s² I) M.
// Kaldi applies it to each such matrix with probability 1/4 per minibatch; that choice (and its
// random numbers) belongs to the trainer: this is the deterministic step. Computed in double.
#pragma once

#include "core/matrix.h"

namespace kaldiq::nnet {

// One constraint step on M (out × in, Kaldi's layout). constraint = 0 leaves M unchanged.
// Throws kaldiq::Error (kInvalidArgument) when M is not finite (Kaldi asserts ratio > 0.9).
void ConstrainOrthonormal(float constraint, MatrixF* m);

}  // namespace kaldiq::nnet
