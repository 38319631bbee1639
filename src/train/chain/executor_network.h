// A ChainNetwork on the inference executor (nnet/executor.h): BatchNorm and dropout in test
// mode, as nnet3-chain-compute-prob runs a model. "output-xent" is computed by a second lowering
// of the same nnet whose "output" node takes output-xent's input.
//
// Each sequence n of a minibatch is computed as one "utterance": its input rows (consecutive
// times) from the first row whose time is a whole number of output steps before the first
// output, with the output spacing as frame subsampling factor; the outputs are then taken at
// the requested times. An eg with less context than the model needs is an error (Kaldi fails
// on missing inputs too), never edge padding.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kaldi/nnet3/nnet.h"
#include "nnet/executor.h"
#include "train/chain/compute_prob.h"

namespace kaldiq::train::chain {

class ExecutorChainNetwork : public ChainNetwork {
 public:
  // Lowers `nnet` (and its xent branch when it has an output "output-xent"). Throws
  // kaldiq::Error naming `model_name` for unsupported components.
  ExecutorChainNetwork(const kaldi::Nnet& nnet, const std::string& model_name);
  ~ExecutorChainNetwork() override;

  int32_t InputDim(const std::string& name) const override;
  int32_t OutputDim(const std::string& name) const override;
  void Forward(const std::vector<kaldi::NnetIo>& inputs,
               const std::vector<kaldi::Index>& output_indexes, MatrixF* output,
               MatrixF* xent) override;

 private:
  nnet::Executor& ExecutorFor(bool xent, int32_t step);

  std::map<std::string, int32_t> input_dims_, output_dims_;
  std::unique_ptr<nnet::ExecutableNet> output_net_, xent_net_;
  std::map<std::pair<bool, int32_t>, std::unique_ptr<nnet::Executor>> executors_;
};

}  // namespace kaldiq::train::chain
