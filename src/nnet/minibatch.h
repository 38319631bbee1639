// Forward and backward of a merged minibatch of sequences at explicit times: what chain
// training (nnet3-chain-train, nnet3-chain-compute-prob) runs on a merged eg. N sequences
// supply input rows at times [first_t, first_t + T) each (a 140-frame fixture eg: 173 rows at
// t = −16 … 156) and outputs are requested at explicit times (t = 0, 3, …, 138 for "output"
// and "output-xent"). Every op computes exactly the rows those outputs need — Kaldi's pruned
// index sets (tdnn-seed, 47 outputs: lda and tdnn1 167 rows per sequence, tdnn2 165, tdnn3 55,
// tdnn4 53, …, the prefinal layers 47) — so train-mode BatchNorm takes its statistics over the
// rows Kaldi does, for all N sequences at once.
//
// Layouts are Kaldi's merged-minibatch layouts: inputs sequence-major (sequence n's T rows at
// [n·T, (n+1)·T)), outputs and their derivatives t-major (row f·N + n = sequence n at
// times[f]).
//
// Typical use (a training step; the trainer owns graph, gradients and statistics):
//   Graph g = LowerNnet(nnet, name, {LowerMode::kTraining});
//   MinibatchComputer mb(g);
//   mb.Forward(N, {{g.Find("input"), &feats, -16}}, {{g.Find("output"), times},
//              {g.Find("output-xent"), times}}, {ComputeMode::kTrain, &stats, seed});
//   ... objective on mb.Output(0), mb.Output(1) -> derivatives d0, d1 ...
//   mb.Backward({&d0, &d1}, &grads);     // grads: Gradients::For(g), zeroed by the caller
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "core/matrix.h"
#include "nnet/chunk_computer.h"
#include "nnet/executor.h"
#include "nnet/graph.h"
#include "nnet/params.h"
#include "nnet/planner.h"

namespace kaldiq::nnet {

struct MinibatchInput {
  int32_t op = -1;                // an input op of the graph ("input", "ivector")
  const MatrixF* rows = nullptr;  // num_sequences · T rows, sequence-major; borrowed
  int32_t first_t = 0;            // time of every sequence's first row (an i-vector: 0, T = 1)
};

struct MinibatchOutput {
  int32_t op = -1;              // an output op ("output", "output-xent")
  std::vector<int32_t> times;   // strictly increasing, the same for every sequence
};

class MinibatchComputer {
 public:
  // `graph` is borrowed (usually a training lowering). factory supplies the affine kernels
  // (tests: reference kernels); null = MakeWeightViewKernel, which reads the weights in place,
  // so parameter updates between forwards need no rebuild.
  explicit MinibatchComputer(const Graph& graph, const KernelFactory& factory = nullptr);
  ~MinibatchComputer();
  MinibatchComputer(const MinibatchComputer&) = delete;
  MinibatchComputer& operator=(const MinibatchComputer&) = delete;

  // Computes the requested outputs (test or train mode per `options`). Plans are cached per
  // request shape. Throws kaldiq::Error (kInvalidArgument) when the inputs' rows do not divide
  // into num_sequences, have the wrong width, or cannot produce a requested output time.
  void Forward(int32_t num_sequences, const std::vector<MinibatchInput>& inputs,
               const std::vector<MinibatchOutput>& outputs,
               const ForwardOptions& options = ForwardOptions());

  // Output k of the last Forward: num_sequences · times.size() rows, t-major.
  const MatrixF& Output(size_t k) const { return outputs_.at(k); }

  // Backward through the last Forward. output_derivs[k]: ∂objective/∂Output(k) in the same
  // layout, or null. Parameter gradients are ADDED to *grads (Gradients::For(graph); null =
  // none). input_derivs: also compute InputDeriv().
  void Backward(const std::vector<const MatrixF*>& output_derivs, Gradients* grads,
                bool input_derivs = false);
  // After Backward(..., true): ∂objective/∂(input k of the last Forward), in that input's
  // layout (rows the network did not read are 0).
  MatrixF InputDeriv(size_t k) const;

  // The plan of the last Forward: rows per sequence of op i = plan().ops[i].times.size().
  const ChunkPlan& plan() const { return *plan_; }
  ChunkComputer& chunks() { return chunks_; }

 private:
  const Graph& graph_;
  std::vector<std::shared_ptr<const LinearKernel>> kernels_;
  ChunkComputer chunks_;
  std::map<std::vector<int32_t>, std::unique_ptr<ChunkPlan>> plans_;
  const ChunkPlan* plan_ = nullptr;
  int32_t num_sequences_ = 0;
  std::vector<MinibatchInput> inputs_;
  std::vector<MatrixF> outputs_;
  std::vector<MatrixF> derivs_;  // the output derivatives in the computer's layout
};

}  // namespace kaldiq::nnet
