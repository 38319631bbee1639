#include "train/chain/compute_prob.h"

#include <cmath>
#include <sstream>

#include "kaldi/chain_example_merge.h"
#include "util/error.h"

namespace kaldiq::train::chain {

ChainComputeProb::ChainComputeProb(const ChainTrainingOptions& opts, const DenGraph& den_graph,
                                   ChainNetwork* network, int num_threads)
    : opts_(opts),
      den_graph_(den_graph),
      network_(network),
      num_threads_(num_threads),
      use_xent_(opts.xent_regularize != 0.0f) {
  const int32_t dim = network_->OutputDim("output");
  KQ_CHECK(dim > 0, kInvalidArgument) << "the model has no output node 'output'";
  KQ_CHECK(dim == den_graph.NumPdfs(), kInvalidArgument)
      << "the model's output 'output' has dim " << dim << " but the den graph was built for "
      << den_graph.NumPdfs() << " pdfs";
  if (use_xent_) {
    const int32_t xdim = network_->OutputDim("output-xent");
    KQ_CHECK(xdim == dim, kInvalidArgument)
        << "--xent-regularize=" << opts.xent_regularize << " needs an output node 'output-xent' "
        << "of dim " << dim << (xdim < 0 ? ", the model has none" : ", the model's has dim ")
        << (xdim < 0 ? "" : std::to_string(xdim));
  }
}

void ChainComputeProb::Compute(const std::vector<const kaldi::NnetChainExample*>& egs,
                               const std::vector<std::string>& keys, const std::string& what) {
  KQ_CHECK(!egs.empty() && egs.size() == keys.size(), kInternal) << "empty minibatch";
  const int32_t model_pdfs = network_->OutputDim("output");
  // Validate every eg against the model first, naming it.
  for (size_t i = 0; i < egs.size(); ++i) {
    const kaldi::NnetChainExample& eg = *egs[i];
    try {
      for (const kaldi::NnetIo& io : eg.inputs) {
        const int32_t dim = network_->InputDim(io.name);
        KQ_CHECK(dim >= 0, kInvalidArgument)
            << "Nnet example has input named '" << io.name
            << "', but no such input node is in the network.";
        KQ_CHECK(dim == io.features.NumCols(), kInvalidArgument)
            << "input '" << io.name << "' has dim " << io.features.NumCols()
            << ", the model's input node '" << io.name << "' has dim " << dim;
      }
      KQ_CHECK(eg.outputs.size() == 1 && eg.outputs[0].name == "output", kUnsupported)
          << "only egs with one chain output named 'output' are supported (eg has "
          << eg.outputs.size() << " outputs, the first named '"
          << (eg.outputs.empty() ? "" : eg.outputs[0].name) << "')";
      KQ_CHECK(eg.outputs[0].supervision.label_dim == model_pdfs, kInvalidArgument)
          << "supervision label-dim is " << eg.outputs[0].supervision.label_dim
          << ", the model has " << model_pdfs << " pdfs";
    } catch (const Error& e) {
      throw e.WithContext(what + ", eg '" + keys[i] + "'");
    }
  }
  std::vector<kaldi::NnetIo> merged_inputs;
  std::vector<kaldi::Index> merged_indexes;
  const std::vector<kaldi::NnetIo>* inputs = &egs[0]->inputs;
  const std::vector<kaldi::Index>* indexes = &egs[0]->outputs[0].indexes;
  ChainSupervisionRef sup;
  try {
    if (egs.size() == 1) {
      sup = SupervisionRefOf(egs[0]->outputs[0].supervision);
    } else {
      merged_inputs = kaldi::MergeChainInputs(egs, /*compress=*/false);
      merged_indexes = kaldi::MergeChainOutputIndexes(egs, 0);
      inputs = &merged_inputs;
      indexes = &merged_indexes;
      std::vector<const kaldi::ChainSupervision*> sups;
      for (const kaldi::NnetChainExample* eg : egs) sups.push_back(&eg->outputs[0].supervision);
      sup = SupervisionRefOf(sups);
    }
  } catch (const Error& e) {
    throw e.WithContext(what + " (egs '" + keys.front() + "' .. '" + keys.back() + "')");
  }
  const std::string context = what + " (" + std::to_string(egs.size()) + " egs, '" +
                              keys.front() + "'" + (egs.size() > 1 ? " .. '" + keys.back() + "'" : "") +
                              ")";
  MatrixF y, yx;
  try {
    network_->Forward(*inputs, *indexes, &y, use_xent_ ? &yx : nullptr);
  } catch (const Error& e) {
    throw e.WithContext(context);
  }
  for (int64_t i = 0; i < y.size(); ++i) {
    KQ_CHECK(std::isfinite(y.data()[i]), kInvalidArgument)
        << context << ": the network output 'output' is " << y.data()[i] << " at row "
        << i / y.cols() << ", column " << i % y.cols();
  }
  MatrixF xent_post;
  ChainObjective obj;
  try {
    obj = ComputeChainObjective(opts_, den_graph_, sup, y, nullptr, use_xent_ ? &xent_post : nullptr,
                                nullptr, num_threads_);
  } catch (const Error& e) {
    throw e.WithContext(context);
  }
  for (const std::string& w : obj.warnings) warnings_.push_back(context + ": " + w);
  output_.tot_weight += obj.weight;
  output_.tot_like += obj.objf;
  output_.tot_l2_term += obj.l2_term;
  if (use_xent_) {
    // Kaldi: TraceMatMat(xent_output, xent_deriv, kTrans) in float.
    double x = 0.0;
    for (int64_t i = 0; i < yx.size(); ++i) {
      if (xent_post.data()[i] != 0.0f) x += static_cast<double>(yx.data()[i]) * xent_post.data()[i];
    }
    KQ_CHECK(std::isfinite(x), kInvalidArgument)
        << context << ": the cross-entropy objective of 'output-xent' is " << x;
    xent_.tot_weight += obj.weight;
    xent_.tot_like += static_cast<float>(x);
  }
  ++num_minibatches_;
}

std::vector<std::string> ChainComputeProb::TotalStatsLines() const {
  std::vector<std::string> lines;
  auto line = [&](const std::string& name, const ChainObjectiveTotals& t) {
    const float like = static_cast<float>(t.tot_like / t.tot_weight);
    const float l2 = static_cast<float>(t.tot_l2_term / t.tot_weight);
    const float total = like + l2;
    std::ostringstream os;
    os << "Overall log-probability for '" << name << "' is " << like;
    if (t.tot_l2_term != 0.0) os << " + " << l2 << " = " << total;
    os << " per frame, over " << t.tot_weight << " frames.";
    lines.push_back(os.str());
  };
  // Kaldi prints its unordered_map: 'output-xent' first for these names.
  if (use_xent_ && xent_.tot_weight > 0) line("output-xent", xent_);
  if (output_.tot_weight > 0) line("output", output_);
  return lines;
}

std::vector<std::string> ChainComputeProb::TakeWarnings() {
  std::vector<std::string> w;
  w.swap(warnings_);
  return w;
}

}  // namespace kaldiq::train::chain
