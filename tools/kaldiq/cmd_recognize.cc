// kaldiq recognize = Kaldi's nnet3-latgen-faster: features (+ i-vectors) -> network forward
// (fp32 Kaldi model or kaldiq int8 model) -> lattice decoding, in one process with no
// intermediate archive. Utterances run in parallel (--num-threads), each worker with its own
// executor and decoder; outputs are written in input order, identical for any thread count.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "decode/decode_run.h"
#include "decode/graph_io.h"
#include "decode_flags.h"
#include "kaldi/table.h"
#include "nnet/executor.h"
#include "nnet/load_model.h"
#include "utterance_flags.h"
#include "util/error.h"

namespace kaldiq::cli {

int RunRecognize(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Generate lattices from features with a neural network (like Kaldi's "
               "nnet3-latgen-faster).\n"
               "Usage: kaldiq recognize [options] <model> <HCLG.fst> <features-rspecifier> "
               "<lattice-wspecifier> [<words-wspecifier> [<alignments-wspecifier>]]\n"
               "<model>: final.mdl or a kaldiq int8 model (with its transition model).");
  decode::DecodeRunOptions opts;
  AddDecoderFlags(app, &opts);
  UtteranceFlags uf;
  AddUtteranceOptions(app, &uf);
  std::string model_rx, graph_rx, feats_rspec, lattice_wspec, words_wspec, ali_wspec;
  std::string kernels = "auto";
  AddKernelsOption(app, &kernels);
  app.add_option("model", model_rx, "Acoustic model")->required();
  app.add_option("fst", graph_rx, "Decoding graph HCLG.fst (OpenFst const or vector)")
      ->required();
  app.add_option("features-rspecifier", feats_rspec, "Features")->required();
  app.add_option("lattice-wspecifier", lattice_wspec, "Output lattices")->required();
  app.add_option("words-wspecifier", words_wspec, "Output 1-best word ids");
  app.add_option("alignments-wspecifier", ali_wspec, "Output 1-best transition ids");
  return RunGuarded("recognize", app, argc, argv, [&]() -> int {
    opts.program = "kaldiq recognize";
    KQ_CHECK(uf.ivectors.empty() || uf.online_ivectors.empty(), kInvalidArgument)
        << "give either --ivectors or --online-ivectors, not both";
    KQ_CHECK(uf.online_ivectors.empty() || uf.opts.online_ivector_period > 0, kInvalidArgument)
        << "--online-ivectors needs --online-ivector-period";
    KQ_CHECK(uf.utt2spk.empty() || !uf.ivectors.empty() || !uf.ivector_extraction_config.empty(),
             kInvalidArgument)
        << "--utt2spk only makes sense with --ivectors or --ivector-extraction-config";
    PrepareIvectorExtraction(&uf);
    KQ_CHECK(opts.num_threads >= 1, kInvalidArgument) << "--num-threads must be >= 1";

    nnet::LoadOptions load;
    load.kernels = ParseKernels(kernels);
    nnet::InferenceModel model = nnet::LoadModelForInference(model_rx, load);
    KQ_CHECK(model.has_transition_model, kInvalidArgument)
        << model_rx << ": the model has no transition model (a .raw nnet cannot decode)";
    // nnet3-latgen-faster (DecodableAmNnetSimple) subtracts the log-priors when the model has
    // them (chain models have none).
    uf.opts.use_priors = !model.net.priors.empty();
    uf.opts.apply_exp = false;
    const kaldi::TransitionModel& tm = model.trans_model;
    std::vector<int32_t> tid_to_pdf(static_cast<size_t>(tm.NumTransitionIds()) + 1, 0);
    for (int32_t t = 1; t <= tm.NumTransitionIds(); ++t) tid_to_pdf[t] = tm.TransitionIdToPdf(t);

    decode::DecodingGraph graph = decode::ReadDecodingGraph(graph_rx);
    decode::DecodeRun run(&graph, std::move(tid_to_pdf), tm.NumPdfs(), opts);
    std::vector<std::unique_ptr<nnet::Executor>> executors;
    for (int t = 0; t < opts.num_threads; ++t)
      executors.emplace_back(new nnet::Executor(model.net, uf.opts));

    kaldi::SequentialMatrixReader feats_reader(feats_rspec);
    IvectorLookup ivectors(uf);
    run.OpenOutputs(lattice_wspec, words_wspec, ali_wspec);

    const decode::PrepareFn forward = [&](decode::DecodeRunItem* item, int worker) {
      item->loglikes = executors[worker]->Compute(item->features);
      item->features = UtteranceInput();
    };
    const size_t batch_size = static_cast<size_t>(opts.num_threads) * 8;
    std::vector<decode::DecodeRunItem> batch;
    for (; !feats_reader.Done(); feats_reader.Next()) {
      decode::DecodeRunItem item;
      item.key = feats_reader.Key();
      item.features.feats = std::move(feats_reader.Value());
      // I-vector look-ups stay on this thread (the readers are not thread-safe).
      try {
        ivectors.Get(item.key, &item.features);
      } catch (const Error& e) {
        item.error = e.what();
      }
      batch.push_back(std::move(item));
      if (batch.size() >= batch_size) {
        run.ProcessBatch(&batch, forward);
        batch.clear();
      }
    }
    run.ProcessBatch(&batch, forward);
    feats_reader.Close();
    return run.Finish();
  });
}

}  // namespace kaldiq::cli
