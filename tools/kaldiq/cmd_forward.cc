// kaldiq forward = Kaldi's nnet3-compute: propagates features through a network (Kaldi
// final.mdl / .raw, or a model format registered with nnet::RegisterModelLoader) and writes
// the output matrices. Utterances are computed in parallel (--num-threads) in batches; the
// output order is the input order and the values do not depend on the thread count.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "utterance_flags.h"
#include "commands.h"
#include "kaldi/table.h"
#include "nnet/executor.h"
#include "nnet/load_model.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/thread_pool.h"
#include "quant/compare.h"
#include "quant/int8_model.h"

namespace kaldiq::cli {

namespace {

struct ForwardFlags {
  UtteranceFlags in;  // nnet3-compute's chunking / context / i-vector options
  int num_threads = 1;
  bool quiet = false;
  std::string model, features, output;
  std::string compare_to;  // fp32 model for --compare-to
  std::string kernels = "auto";
};

struct Item {
  std::string key;
  UtteranceInput input;
  std::string error;  // set when the utterance failed
  MatrixF result;
};

int Forward(ForwardFlags& f) {
  KQ_CHECK(f.num_threads >= 1, kInvalidArgument) << "--num-threads must be >= 1";
  KQ_CHECK(f.in.utt2spk.empty() || !f.in.ivectors.empty() ||
               !f.in.ivector_extraction_config.empty(),
           kInvalidArgument)
      << "--utt2spk only makes sense with --ivectors or --ivector-extraction-config";
  KQ_CHECK(f.in.ivectors.empty() || f.in.online_ivectors.empty(), kInvalidArgument)
      << "give either --ivectors or --online-ivectors, not both";
  KQ_CHECK(f.in.online_ivectors.empty() || f.in.opts.online_ivector_period > 0, kInvalidArgument)
      << "--online-ivectors needs --online-ivector-period";
  PrepareIvectorExtraction(&f.in);
  const auto start = std::chrono::steady_clock::now();
  nnet::LoadOptions load;
  load.kernels = ParseKernels(f.kernels);
  nnet::InferenceModel model = nnet::LoadModelForInference(f.model, load);

  std::vector<std::unique_ptr<nnet::Executor>> executors;
  for (int i = 0; i < f.num_threads; ++i)
    executors.push_back(std::make_unique<nnet::Executor>(model.net, f.in.opts));

  kaldi::SequentialMatrixReader feature_reader(f.features);
  IvectorLookup ivectors(f.in);
  kaldi::MatrixWriter writer(f.output);

  // --- --compare-to=<fp32-model>: accuracy of this (int8) model against the fp32 one ---
  nnet::ExecutableNet compare_ref;
  std::unique_ptr<quant::Comparer> comparer;
  if (!f.compare_to.empty()) {
    compare_ref = quant::LoadComparisonReference(f.compare_to, f.model);
    comparer = std::make_unique<quant::Comparer>(compare_ref, model.net, f.in.opts);
  }
  // --- end --compare-to ---

  Progress progress("forward", -1, f.quiet);
  int64_t num_success = 0, num_fail = 0, frames = 0;
  const size_t batch_size = static_cast<size_t>(f.num_threads) * 4;
  std::vector<Item> batch;
  while (!feature_reader.Done()) {
    batch.clear();
    // Reading and table look-ups stay on this thread (readers are not thread-safe).
    for (; !feature_reader.Done() && batch.size() < batch_size; feature_reader.Next()) {
      Item item;
      item.key = feature_reader.Key();
      item.input.feats = feature_reader.Value();
      try {
        ivectors.Get(item.key, &item.input);
      } catch (const Error& e) {
        item.error = e.what();
      }
      batch.push_back(std::move(item));
    }
    ParallelFor(static_cast<int64_t>(batch.size()), f.num_threads, [&](int64_t i, int worker) {
      Item& item = batch[i];
      if (!item.error.empty()) return;
      try {
        item.result = executors[worker]->Compute(item.input);
      } catch (const Error& e) {
        item.error = e.what();
      }
    });
    for (Item& item : batch) {
      if (!item.error.empty()) {
        std::fprintf(stderr, "kaldiq forward: warning: utterance '%s': %s (skipped)\n",
                     SanitizeForTerminal(item.key).c_str(),
                     SanitizeForTerminal(item.error).c_str());
        ++num_fail;
      } else {
        writer.Write(item.key, item.result);
        if (comparer)  // recomputes both networks on this thread (a diagnostic)
          comparer->Add(item.input.feats, item.input.Ivector(), item.input.OnlineIvectors());
        ++num_success;
        frames += item.input.feats.rows();
      }
      progress.Add(1);
    }
  }
  progress.Finish();
  if (comparer) {  // --compare-to
    std::fprintf(stderr, "kaldiq forward: accuracy vs %s:\n", f.compare_to.c_str());
    comparer->Print(stderr, "  ");
  }
  KQ_CHECK(num_success > 0, kInvalidArgument)
      << "no utterance succeeded (" << num_fail << " failed); output not written";
  writer.Close();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!f.quiet) {
    std::fprintf(stderr,
                 "kaldiq forward: done %lld utterances, failed for %lld; %lld frames in %.2f s, "
                 "real-time factor %.4f (assuming 100 frames/s)\n",
                 static_cast<long long>(num_success), static_cast<long long>(num_fail),
                 static_cast<long long>(frames), seconds,
                 frames > 0 ? seconds * 100.0 / double(frames) : 0.0);
  }
  return 0;
}

}  // namespace

int RunForward(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Propagate features through a neural network model (Kaldi final.mdl / .raw, or a "
               "kaldiq int8 model) and write the output, exactly as Kaldi's nnet3-compute.\n"
               "Usage: kaldiq forward [options] <model> <features-rspecifier> "
               "<matrix-wspecifier>\n"
               " e.g.: kaldiq forward --frame-subsampling-factor=3 final.mdl scp:feats.scp "
               "ark:loglikes.ark");
  ForwardFlags f;
  AddUtteranceOptions(app, &f.in);
  AddBool(app, "--apply-exp", &f.in.opts.apply_exp, "Apply exp() to the output");
  AddBool(app, "--use-priors", &f.in.opts.use_priors,
          "Subtract the log of the priors stored in the model (a final.mdl with priors)");
  app.add_option("--num-threads", f.num_threads,
                 "Utterances computed in parallel (output identical for any value)")
      ->capture_default_str();
  app.add_option("--compare-to", f.compare_to,
                 "fp32 model to compare against (prints per-layer SQNR, log-likelihood SQNR and "
                 "frame-level argmax agreement on stderr)");
  AddKernelsOption(app, &f.kernels);
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("model", f.model, "Model: final.mdl, .raw, or kaldiq int8 model")->required();
  app.add_option("features-rspecifier", f.features, "Features")->required();
  app.add_option("matrix-wspecifier", f.output, "Output matrices")->required();
  return RunGuarded("forward", app, argc, argv, [&]() { return Forward(f); });
}

}  // namespace kaldiq::cli
