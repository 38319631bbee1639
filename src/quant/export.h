// `kaldiq export --dequantized`: turns an int8 model back into a Kaldi model (transition model +
// nnet3) whose weights are the int8 weights dequantized, (q − z)·s, i.e. snapped to the int8
// grid, so Kaldi's own tools (nnet3-compute, nnet3-latgen-faster, ...) can run it.
//
// The nnet is rebuilt from the lowered, folded graph: an affine op becomes a
// NaturalGradientAffineComponent (plus a RectifiedLinearComponent node when its ReLU was fused),
// a ScaleOffset a ScaleAndOffsetComponent, nonlinearities NonlinearComponents, identities are
// bypassed; descriptors are translated one to one. Folded BatchNorm / LDA therefore no longer
// appear as separate components, and branches the output does not use (xent) are absent.
// Activation quantization cannot be expressed in nnet3 and is not represented (as in the recipe).
#pragma once

#include "kaldi/nnet3/model_io.h"
#include "quant/int8_model.h"

namespace kaldiq::quant {

kaldi::KaldiModel ExportDequantized(const Int8Model& model);

// The Kaldi model computing `graph` (a lowered, folded graph whose affine ops all hold fp32
// weights; the rebuilding rules above), with the given transition model and priors: what
// ExportDequantized writes for the dequantized graph, and QAT's fp32 model for its trained one.
kaldi::KaldiModel ExportGraph(const nnet::Graph& graph, bool has_transition_model,
                              const kaldi::TransitionModel& trans_model,
                              const std::vector<float>& priors);

}  // namespace kaldiq::quant
