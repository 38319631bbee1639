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
  nnet::ComputeOptions opts;
  std::string ivectors, online_ivectors, utt2spk;
  int num_threads = 1;
  bool quiet = false;
  std::string model, features, output;
  std::string compare_to;  // H6: fp32 model for --compare-to
};

struct Item {
  std::string key;
  MatrixF feats;
  bool has_ivector = false;
  std::vector<float> ivector;
  bool has_online = false;
  MatrixF online;
  std::string error;  // set when the utterance failed
  MatrixF result;
};

int Forward(const ForwardFlags& f) {
  KQ_CHECK(f.num_threads >= 1, kInvalidArgument) << "--num-threads must be >= 1";
  KQ_CHECK(f.utt2spk.empty() || !f.ivectors.empty(), kInvalidArgument)
      << "--utt2spk only makes sense with --ivectors";
  KQ_CHECK(f.ivectors.empty() || f.online_ivectors.empty(), kInvalidArgument)
      << "give either --ivectors or --online-ivectors, not both";
  KQ_CHECK(f.online_ivectors.empty() || f.opts.online_ivector_period > 0, kInvalidArgument)
      << "--online-ivectors needs --online-ivector-period";
  const auto start = std::chrono::steady_clock::now();
  nnet::InferenceModel model = nnet::LoadModelForInference(f.model);

  std::vector<std::unique_ptr<nnet::Executor>> executors;
  for (int i = 0; i < f.num_threads; ++i)
    executors.push_back(std::make_unique<nnet::Executor>(model.net, f.opts));

  kaldi::SequentialMatrixReader feature_reader(f.features);
  kaldi::RandomAccessVectorReader ivector_reader;
  kaldi::RandomAccessMatrixReader online_reader;
  kaldi::RandomAccessTokenReader utt2spk_reader;
  if (!f.ivectors.empty()) ivector_reader.Open(f.ivectors);
  if (!f.online_ivectors.empty()) online_reader.Open(f.online_ivectors);
  if (!f.utt2spk.empty()) utt2spk_reader.Open(f.utt2spk);
  kaldi::MatrixWriter writer(f.output);

  // --- H6: --compare-to=<fp32-model>: accuracy of this (int8) model against the fp32 one ---
  nnet::ExecutableNet compare_ref;
  std::unique_ptr<quant::Comparer> comparer;
  if (!f.compare_to.empty()) {
    compare_ref = quant::LoadComparisonReference(f.compare_to, f.model);
    comparer = std::make_unique<quant::Comparer>(compare_ref, model.net, f.opts);
  }
  // --- end H6 ---

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
      item.feats = feature_reader.Value();
      if (!f.ivectors.empty()) {
        std::string key = item.key;
        if (!f.utt2spk.empty()) {
          if (!utt2spk_reader.HasKey(key)) {
            item.error = "not in --utt2spk";
          } else {
            key = utt2spk_reader.Value(key);
          }
        }
        if (item.error.empty() && !ivector_reader.HasKey(key)) {
          item.error = "no i-vector available (key '" + key + "')";
        } else if (item.error.empty()) {
          item.ivector = ivector_reader.Value(key);
          item.has_ivector = true;
        }
      }
      if (!f.online_ivectors.empty()) {
        if (!online_reader.HasKey(item.key)) {
          item.error = "no online i-vector available";
        } else {
          item.online = online_reader.Value(item.key);
          item.has_online = true;
        }
      }
      batch.push_back(std::move(item));
    }
    ParallelFor(static_cast<int64_t>(batch.size()), f.num_threads, [&](int64_t i, int worker) {
      Item& item = batch[i];
      if (!item.error.empty()) return;
      try {
        item.result = executors[worker]->Compute(item.feats, item.has_ivector ? &item.ivector : nullptr,
                                                 item.has_online ? &item.online : nullptr);
      } catch (const Error& e) {
        item.error = e.what();
      }
    });
    for (Item& item : batch) {
      if (!item.error.empty()) {
        std::fprintf(stderr, "kaldiq forward: warning: utterance '%s': %s (skipped)\n",
                     item.key.c_str(), item.error.c_str());
        ++num_fail;
      } else {
        writer.Write(item.key, item.result);
        if (comparer)  // H6: recomputes both networks on this thread (a diagnostic)
          comparer->Add(item.feats, item.has_ivector ? &item.ivector : nullptr,
                        item.has_online ? &item.online : nullptr);
        ++num_success;
        frames += item.feats.rows();
      }
      progress.Add(1);
    }
  }
  progress.Finish();
  if (comparer) {  // H6
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
  app.add_option("--frames-per-chunk", f.opts.frames_per_chunk,
                 "Number of frames in each chunk that is separately evaluated by the network "
                 "(rounded up to a multiple of --frame-subsampling-factor)")
      ->capture_default_str();
  app.add_option("--extra-left-context", f.opts.extra_left_context,
                 "Number of frames of additional left-context to add on top of the network's "
                 "requirement")
      ->capture_default_str();
  app.add_option("--extra-right-context", f.opts.extra_right_context,
                 "Number of frames of additional right-context")
      ->capture_default_str();
  app.add_option("--extra-left-context-initial", f.opts.extra_left_context_initial,
                 "Extra left context for the first chunk of an utterance (-1: use "
                 "--extra-left-context)")
      ->capture_default_str();
  app.add_option("--extra-right-context-final", f.opts.extra_right_context_final,
                 "Extra right context for the last chunk of an utterance (-1: use "
                 "--extra-right-context)")
      ->capture_default_str();
  app.add_option("--frame-subsampling-factor", f.opts.frame_subsampling_factor,
                 "Output one frame in every this many input frames (3 for chain models)")
      ->capture_default_str();
  app.add_option("--ivectors", f.ivectors,
                 "Rspecifier for i-vectors as vectors (not estimated online); per utterance, or "
                 "per speaker with --utt2spk");
  app.add_option("--utt2spk", f.utt2spk, "Rspecifier for utt2spk, to look i-vectors up by speaker");
  app.add_option("--online-ivectors", f.online_ivectors,
                 "Rspecifier for i-vectors estimated online, as matrices (needs "
                 "--online-ivector-period)");
  app.add_option("--online-ivector-period", f.opts.online_ivector_period,
                 "Number of frames between i-vectors in the --online-ivectors matrices")
      ->capture_default_str();
  AddBool(app, "--apply-exp", &f.opts.apply_exp, "Apply exp() to the output");
  AddBool(app, "--use-priors", &f.opts.use_priors,
          "Subtract the log of the priors stored in the model (a final.mdl with priors)");
  app.add_option("--num-threads", f.num_threads,
                 "Utterances computed in parallel (output identical for any value)")
      ->capture_default_str();
  app.add_option("--compare-to", f.compare_to,
                 "fp32 model to compare against (prints per-layer SQNR, log-likelihood SQNR and "
                 "frame-level argmax agreement on stderr)");
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("model", f.model, "Model: final.mdl, .raw, or kaldiq int8 model")->required();
  app.add_option("features-rspecifier", f.features, "Features")->required();
  app.add_option("matrix-wspecifier", f.output, "Output matrices")->required();
  return RunGuarded("forward", app, argc, argv, [&]() { return Forward(f); });
}

}  // namespace kaldiq::cli
