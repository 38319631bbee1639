// kaldiq chain-compute-prob (also nnet3-chain-compute-prob) = Kaldi's nnet3-chain-compute-prob:
// the LF-MMI objective, its output-L2 term and the 'output-xent' cross-entropy of a model on
// chain egs, printed as Kaldi's LOG lines. Kaldi scripts pipe merged egs into it; users without
// Kaldi's egs tools pass unmerged egs, which are merged here by --minibatch-size (Kaldi's rules,
// default 1:64 as train.py uses for diagnostics). Egs already merged are computed as they are.
// A kaldiq int8 model (quantize, train --write-int8) is computed with its int8 kernels.
//
// The LOG lines carry Kaldi's prefix "(nnet3-chain-compute-prob[kaldiq]:PrintTotalStats():
// nnet-chain-diagnostics.cc:...)" so that steps/libs/nnet3/report/log_parse.py reads our
// compute_prob_*.log files as Kaldi's.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/chain_example.h"
#include "kaldi/chain_example_merge.h"
#include "kaldi/fst_io.h"
#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "quant/int8_model.h"
#include "train/chain/compute_prob.h"
#include "train/chain/den_graph.h"
#include "train/chain/minibatch_network.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct ComputeProbFlags {
  train::chain::ChainTrainingOptions chain;
  std::string minibatch_size = "1:64";
  bool compute_deriv = false;
  bool store_component_stats = false;
  bool batchnorm_test_mode = true;
  bool dropout_test_mode = true;
  int num_threads = 1;
  bool quiet = false;
  std::string model, den_fst, egs;
};

bool IsMerged(const kaldi::NnetChainExample& eg) {
  for (const kaldi::NnetChainSupervision& s : eg.outputs)
    if (s.supervision.num_sequences != 1) return true;
  for (const kaldi::NnetIo& io : eg.inputs)
    for (const kaldi::Index& i : io.indexes)
      if (i.n != 0) return true;
  return false;
}

int ComputeProb(const ComputeProbFlags& f) {
  KQ_CHECK(!f.compute_deriv && !f.store_component_stats, kUnsupported)
      << "--compute-deriv and --store-component-stats are not supported";
  KQ_CHECK(f.batchnorm_test_mode && f.dropout_test_mode, kUnsupported)
      << "only --batchnorm-test-mode=true --dropout-test-mode=true are supported";
  KQ_CHECK(f.num_threads >= 1, kInvalidArgument) << "--num-threads must be >= 1";
  // A kaldiq int8 model runs its int8 kernels (float between layers: the same numbers as QAT's
  // fake-quant forward); a Kaldi model its training lowering in test mode.
  std::unique_ptr<quant::Int8Model> int8;
  kaldi::KaldiModel model;
  std::unique_ptr<train::chain::MinibatchChainNetwork> net;
  if (quant::IsInt8ModelFile(f.model)) {
    int8 = std::make_unique<quant::Int8Model>(quant::ReadInt8Model(f.model));
    KQ_CHECK(f.chain.xent_regularize == 0.0f, kInvalidArgument)
        << f.model << ": an int8 model has no 'output-xent'; use --xent-regularize=0";
    net = std::make_unique<train::chain::MinibatchChainNetwork>(
        int8->graph, quant::Int8LayerKernels(*int8, "auto"));
  } else {
    model = kaldi::ReadKaldiModel(f.model);
    net = std::make_unique<train::chain::MinibatchChainNetwork>(model.nnet, f.model);
  }
  train::chain::MinibatchChainNetwork& network = *net;
  const int32_t num_pdfs = network.OutputDim("output");
  KQ_CHECK(num_pdfs > 0, kInvalidArgument) << f.model << ": the model has no output 'output'";
  train::chain::DenGraph den_graph = [&] {
    try {
      return train::chain::DenGraph(kaldi::ReadFstFile(f.den_fst), num_pdfs);
    } catch (const Error& e) {
      throw e.WithContext(f.den_fst);
    }
  }();
  train::chain::ChainComputeProb prob(f.chain, den_graph, &network, f.num_threads);
  Progress progress("chain-compute-prob", -1, f.quiet);
  int64_t minibatch = 0;
  auto compute = [&](const std::vector<const kaldi::NnetChainExample*>& egs,
                     const std::vector<std::string>& keys) {
    prob.Compute(egs, keys, "minibatch " + std::to_string(minibatch++));
    for (const std::string& w : prob.TakeWarnings())
      std::fprintf(stderr, "WARNING (kaldiq chain-compute-prob) %s\n", w.c_str());
    progress.Add(static_cast<int64_t>(egs.size()));
  };
  kaldi::ChainExampleMerger merger(
      kaldi::MinibatchSizeRules(f.minibatch_size),
      [&](std::vector<kaldi::NnetChainExample>&& egs, std::vector<std::string>&& keys) {
        std::vector<const kaldi::NnetChainExample*> ptrs;
        for (const kaldi::NnetChainExample& eg : egs) ptrs.push_back(&eg);
        compute(ptrs, keys);
      });
  kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> reader(f.egs);
  int64_t num_read = 0;
  for (; !reader.Done(); reader.Next(), ++num_read) {
    if (IsMerged(reader.Value())) {
      compute({&reader.Value()}, {reader.Key()});
    } else {
      merger.Accept(reader.Value(), reader.Key());
    }
  }
  merger.Finish();
  reader.Close();
  progress.Finish();
  KQ_CHECK(num_read > 0, kInvalidArgument) << "no egs in '" << f.egs << "' (empty archive)";
  KQ_CHECK(prob.NumMinibatches() > 0, kInvalidArgument)
      << "--minibatch-size=" << f.minibatch_size << " discarded all " << num_read << " egs";
  for (const std::string& line : prob.TotalStatsLines()) {
    // Kaldi's source lines: 239 for "X per frame", 244 for "A + B = C per frame".
    const bool with_l2 = line.find(" + ") != std::string::npos;
    std::fprintf(stderr,
                 "LOG (nnet3-chain-compute-prob[kaldiq]:PrintTotalStats():"
                 "nnet-chain-diagnostics.cc:%d) %s\n",
                 with_l2 ? 244 : 239, line.c_str());
  }
  return prob.output_totals().tot_weight > 0 ? 0 : 1;
}

}  // namespace

int RunChainComputeProb(int argc, char** argv) {
  CLI::App app;
  ComputeProbFlags f;
  ConfigureApp(
      app,
      "Computes and prints to in logging messages the average log-prob per frame of\n"
      "the given data with an nnet3+chain neural net.  The input of this is the output of\n"
      "e.g. nnet3-chain-get-egs | nnet3-chain-merge-egs, or unmerged egs, merged here by\n"
      "--minibatch-size.\n\n"
      "Usage:  kaldiq chain-compute-prob [options] <model-in> <denominator-fst> "
      "<training-examples-in>\n"
      "e.g.:   kaldiq chain-compute-prob --l2-regularize=5e-05 --leaky-hmm-coefficient=0.1 "
      "--xent-regularize=0.1 final.mdl den.fst ark:valid_diagnostic.cegs");
  app.add_option("--l2-regularize", f.chain.l2_regularize,
                 "l2 regularization constant for 'chain' training, applied to the output of the "
                 "neural net.")
      ->default_val(0.0);
  app.add_option("--out-of-range-regularize", f.chain.out_of_range_regularize,
                 "Constant that controls how much we penalize the nnet output being outside the "
                 "range [-30,30] (only affects derivatives, so nothing here).")
      ->default_val(0.01);
  app.add_option("--leaky-hmm-coefficient", f.chain.leaky_hmm_coefficient,
                 "Coefficient that allows transitions from each HMM state to each other HMM "
                 "state, to ensure gradual forgetting of context (can improve generalization).  "
                 "For numerical reasons, may not be exactly zero.")
      ->default_val(1e-05);
  app.add_option("--xent-regularize", f.chain.xent_regularize,
                 "Cross-entropy regularization constant for 'chain' training.  If nonzero, the "
                 "network is expected to have an output named 'output-xent', which should have a "
                 "softmax as its final nonlinearity.")
      ->default_val(0.0);
  app.add_option("--minibatch-size", f.minibatch_size,
                 "How unmerged egs are merged into minibatches (Kaldi's nnet3-chain-merge-egs "
                 "rules); already-merged egs are used as they are.")
      ->default_val("1:64");
  AddBool(app, "--compute-deriv", &f.compute_deriv,
          "If true, compute derivatives w.r.t. the model (not supported)");
  AddBool(app, "--store-component-stats", &f.store_component_stats,
          "If true, store component stats (not supported)");
  AddBool(app, "--batchnorm-test-mode", &f.batchnorm_test_mode,
          "If true, set test-mode to true on any BatchNormComponents (only true is supported)");
  AddBool(app, "--dropout-test-mode", &f.dropout_test_mode,
          "If true, set test-mode to true on any DropoutComponents (only true is supported)");
  app.add_option("--num-threads", f.num_threads,
                 "Threads for the denominator computation (results do not depend on it)")
      ->default_val(1);
  AddBool(app, "--quiet", &f.quiet, "No progress on stderr");
  app.add_option("model", f.model, "model (final.mdl or raw nnet3)")->required();
  app.add_option("den-fst", f.den_fst, "denominator FST (den.fst)")->required();
  app.add_option("egs", f.egs, "chain egs rspecifier")->required();
  return RunGuarded("chain-compute-prob", app, argc, argv, [&]() { return ComputeProb(f); });
}

}  // namespace kaldiq::cli
