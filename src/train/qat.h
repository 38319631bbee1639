// Quantization-aware training (lfmmi-training.md §7) whose forward IS the int8 model.
//
// The network QAT trains is the int8 model's own graph: the Kaldi model lowered, folded and
// equalised exactly as `kaldiq quantize` does it with the plan (quant::LowerForInt8 +
// quant::EqualizedGraph; BatchNorm frozen and folded, §7.5), whose int8 layers keep fp32 master
// weights and run through fake-quantizing kernels:
//   forward   the layer's QuantizedAffine made from the current master weights on the plan's
//             frozen grids (quant::QuantizeAffine: weights per row on the plan's scales, the
//             plan's activation grid), run by the int8 kernel itself. So the QAT forward equals
//             the int8 model built from the trained weights bit for bit (float between layers),
//             and the one quantize function (kernels/qgrid.h) makes every code.
//   backward  the straight-through estimator (§7.1). With x̂ = FQ(x), Ŵ = the dequantized
//             weights, and m_x, m_w = 1 where the unclamped code round(v · inv_scale) + z lies in
//             [qmin, qmax] (0 where clipped):
//               dx += (dy · Ŵ) ⊙ m_x        dW += (dyᵀ · x̂) ⊙ m_w        db += Σ_rows dy
//             (dy already masked by the fused ReLU, ops/affine.cc).
// Ranges stay frozen (§7.2's default: the plan's activation grids and per-row weight scales);
// the plan's bias correction is added to the trained bias once, at the start. Float layers of
// the plan (the LDA, --keep-float) train as plain affine ops when their component is trainable.
// The xent branch does not exist in this graph (the int8 lowering keeps only "output"), so QAT
// trains the chain objective alone. Learned step sizes (LSQ, §7.3) are not implemented.
//
// Results: ToInt8Model (quant::BuildInt8Model of the trained graph with UpdatedPlan, i.e. the
// very quantization the forward ran), UpdatedPlan (the same grids, no bias correction, no folds
// or equalisation left to apply) and ToKaldiModel (the folded graph as a Kaldi nnet3 model with
// the fp32 master weights, transition model and priors kept), from which `kaldiq quantize` with
// UpdatedPlan rebuilds the same int8 model.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kaldi/nnet3/model_io.h"
#include "nnet/executor.h"
#include "nnet/graph.h"
#include "quant/int8_model.h"
#include "quant/plan.h"

namespace kaldiq::train {

class Qat {
 public:
  // Throws kInvalidArgument when the plan does not use static activation ranges or uses the
  // recipe's wrap-around grids (neither is trainable as one fixed grid).
  Qat(quant::Plan plan, const std::string& plan_path, const std::string& int8_backend = "auto");
  ~Qat();
  Qat(const Qat&) = delete;
  Qat& operator=(const Qat&) = delete;

  // The graph QAT trains for `nnet`: as above, the plan's int8 layers and the float layers of
  // trainable components marked Op::trainable, int8 layers' biases plus the plan's bias
  // correction. Throws kInvalidArgument when the plan does not match the model.
  nnet::Graph MakeGraph(const kaldi::Nnet& nnet, const std::string& model_name) const;

  // Kernels for the affine ops of a MakeGraph graph (the graph being trained, which must outlive
  // them): each int8 layer's fake-quantizing kernel, made once per op index and shared by every
  // computer that asks; null (a weight view) for the float layers. Refresh() before a forward.
  nnet::KernelFactory Kernels();
  // Re-quantizes every kernel's weights from its op's current master weights: after each
  // update, before the next forward (never concurrently with one).
  void Refresh();

  const quant::Plan& plan() const { return plan_; }
  quant::Plan UpdatedPlan() const;
  quant::Int8Model ToInt8Model(const nnet::Graph& trained, const kaldi::KaldiModel& source) const;
  kaldi::KaldiModel ToKaldiModel(const nnet::Graph& trained,
                                 const kaldi::KaldiModel& source) const;

 private:
  class Kernel;
  quant::Plan plan_;
  std::string plan_path_;
  std::string backend_;
  std::vector<std::shared_ptr<Kernel>> kernels_;  // by op index
};

}  // namespace kaldiq::train
