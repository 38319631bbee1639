// A ChainNetwork on nnet::MinibatchComputer: the training lowering of a Kaldi nnet (nothing
// folded, both "output" and "output-xent"), or any given graph with its kernels (an int8 model,
// QAT), run over a whole merged minibatch in test mode
// (BatchNorm from its stored statistics, dropout off), as nnet3-chain-compute-prob runs it.
// Every op computes Kaldi's pruned rows for the requested output times.
//
// A minibatch's sequences must share input times (rows t0 .. t0 + T - 1, sequence-major) and
// output times, which Kaldi's merging guarantees (egs of one structure); the output rows are
// t-major as Kaldi merges them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kaldi/nnet3/nnet.h"
#include "nnet/graph.h"
#include "nnet/minibatch.h"
#include "train/chain/compute_prob.h"

namespace kaldiq::train::chain {

class MinibatchChainNetwork : public ChainNetwork {
 public:
  // Lowers `nnet` for training. Throws kaldiq::Error naming `model_name` for unsupported
  // components.
  MinibatchChainNetwork(const kaldi::Nnet& nnet, const std::string& model_name);
  // Runs `graph` (borrowed; it must outlive this) with the given affine kernels (null = weight
  // views): an int8 model's graph with its int8 kernels (quant::Int8LayerKernels), or the graph
  // QAT trains with its fake-quantizing ones.
  MinibatchChainNetwork(const nnet::Graph& graph, const nnet::KernelFactory& kernels);
  ~MinibatchChainNetwork() override;

  int32_t InputDim(const std::string& name) const override;
  int32_t OutputDim(const std::string& name) const override;
  void Forward(const std::vector<kaldi::NnetIo>& inputs,
               const std::vector<kaldi::Index>& output_indexes, MatrixF* output,
               MatrixF* xent) override;

 private:
  nnet::Graph owned_;
  const nnet::Graph& graph_;
  std::unique_ptr<nnet::MinibatchComputer> computer_;
};

}  // namespace kaldiq::train::chain
