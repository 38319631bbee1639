// Post-training calibration: run the fp32 network (lowered, optimised and folded for int8) over
// a calibration set with an observer on the input of every affine op, then turn the statistics
// into a Plan (activation ranges, weight scales, bias correction).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kaldi/nnet3/nnet.h"
#include "nnet/executor.h"
#include "nnet/graph.h"
#include "quant/equalize.h"
#include "quant/observer.h"
#include "quant/plan.h"
#include "quant/scheme.h"

namespace kaldiq::quant {

// Lowers a Kaldi nnet exactly as inference does (nnet::LowerNnet with optimisation), then
// applies FoldForInt8. *folds receives the fold log (may be null). The same function is used by
// calibrate and quantize, so a plan always matches the graph it was made for.
nnet::Graph LowerForInt8(const kaldi::Nnet& nnet, const std::string& model_name,
                         const Int8Lowering& lowering, std::vector<std::string>* folds);

// Affine ops reading the network input ("input" op) directly (the LDA, or tdnn1 after a fold).
std::vector<std::string> InputLayers(const nnet::Graph& graph);

// Throws kInvalidArgument if a --keep-float name is not an affine op of the graph.
void CheckKeepFloat(const nnet::Graph& graph, const std::vector<std::string>& keep_float);

class Calibrator {
 public:
  Calibrator(const nnet::Graph& graph, const Scheme& scheme,
             const std::vector<std::string>& keep_float);

  // The executor hook collecting statistics (install with Executor::SetObserver).
  nnet::ActivationObserver Hook();

  // The plan for `graph` (the same graph given to the constructor).
  Plan MakePlan(const std::vector<std::string>& folds) const;

  // Equalisation scales for every equalisable producer with at least one observed (int8)
  // consumer, chosen by scheme.equalize from the statistics seen so far; empty for kNone.
  // Sites are processed in graph order, each on the graph with the earlier ones applied
  // (weights of a layer that is both consumer and producer change with the first).
  std::vector<Equalization> ChooseEqualization() const;

 private:
  const nnet::Graph& graph_;
  Scheme scheme_;
  std::vector<std::string> keep_float_;
  std::map<std::string, Observer> observers_;
};

// The whole calibration of `graph` (from LowerForInt8). run(executor) must compute every
// calibration utterance once with that executor; it is called once, or twice when the scheme
// equalises: the statistics of `graph` choose the scales, then the equalised graph (the one the
// plan's layers describe) is calibrated.
Plan CalibrateGraph(const nnet::Graph& graph, const Scheme& scheme,
                    const std::vector<std::string>& keep_float,
                    const std::vector<std::string>& folds, const nnet::ComputeOptions& opts,
                    const std::function<void(nnet::Executor&)>& run,
                    const kernels::KernelSelection& kernels = kernels::KernelSelection());

// Per-row weight grids of `op` on scheme.weight (zero point, scales) and, with bias correction,
// its bias delta from l->act_mean (throws kInvalidArgument when the means are missing).
// Calibration and WithWeightBits share it, so both give the same weights.
void ChooseLayerWeights(const nnet::Op& op, const Scheme& scheme, LayerPlan* l);

// The plan with its weights re-derived at `bits` (the activation grids unchanged): what
// calibrate would have written with --weight-bits=bits. `graph` is the graph the plan's layers
// describe (EqualizedGraph). Returns the plan unchanged when it already has `bits`.
Plan WithWeightBits(const Plan& plan, const nnet::Graph& graph, int bits);

// Splits "a,b,c" (empty string -> empty list).
std::vector<std::string> SplitCommaList(const std::string& s);

}  // namespace kaldiq::quant
