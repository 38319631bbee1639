// kaldiq decode = Kaldi's latgen-faster-mapped: log-likelihoods + HCLG -> lattices, 1-best
// words and alignments. Argument order and options are Kaldi's.
#include <string>
#include <utility>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "decode/decode_run.h"
#include "decode/graph_io.h"
#include "decode_flags.h"
#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "nnet/load_model.h"
#include "util/error.h"

namespace kaldiq::cli {

namespace {

// The transition-id -> pdf map of a model: a Kaldi final.mdl or bare transition model
// (0.trans_mdl), or any format a registered model loader recognises (the kaldiq int8 model
// file holds the transition model too).
std::vector<int32_t> LoadTransitionIdToPdf(const std::string& path, int32_t* num_pdfs) {
  kaldi::TransitionModel tm;
  try {
    tm = kaldi::ReadTransitionModel(path);
  } catch (const Error& kaldi_error) {
    nnet::InferenceModel model;
    try {
      model = nnet::LoadModelForInference(path);
    } catch (const Error&) {
      throw kaldi_error;  // the Kaldi reader's message is the informative one
    }
    KQ_CHECK(model.has_transition_model, kInvalidArgument)
        << path << ": the model has no transition model (a .raw nnet cannot be decoded with)";
    tm = std::move(model.trans_model);
  }
  std::vector<int32_t> map(static_cast<size_t>(tm.NumTransitionIds()) + 1, 0);
  for (int32_t t = 1; t <= tm.NumTransitionIds(); ++t) map[t] = tm.TransitionIdToPdf(t);
  *num_pdfs = tm.NumPdfs();
  return map;
}

}  // namespace

int RunDecode(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Generate lattices, reading log-likelihoods as matrices (like Kaldi's "
               "latgen-faster-mapped).\n"
               "Usage: kaldiq decode [options] <model> <HCLG.fst> <loglikes-rspecifier> "
               "<lattice-wspecifier> [<words-wspecifier> [<alignments-wspecifier>]]\n"
               "<model>: final.mdl, a transition model (0.trans_mdl) or a kaldiq int8 model.");
  decode::DecodeRunOptions opts;
  AddDecoderFlags(app, &opts);
  std::string model, graph_rx, loglikes_rspec, lattice_wspec, words_wspec, ali_wspec;
  app.add_option("model", model, "Model (transition-id -> pdf map)")->required();
  app.add_option("fst", graph_rx, "Decoding graph HCLG.fst (OpenFst const or vector)")
      ->required();
  app.add_option("loglikes-rspecifier", loglikes_rspec, "Log-likelihoods")->required();
  app.add_option("lattice-wspecifier", lattice_wspec, "Output lattices")->required();
  app.add_option("words-wspecifier", words_wspec, "Output 1-best word ids");
  app.add_option("alignments-wspecifier", ali_wspec, "Output 1-best transition ids");
  return RunGuarded("decode", app, argc, argv, [&]() -> int {
    opts.program = "kaldiq decode";
    int32_t num_pdfs = 0;
    std::vector<int32_t> tid_to_pdf = LoadTransitionIdToPdf(model, &num_pdfs);
    decode::DecodingGraph graph = decode::ReadDecodingGraph(graph_rx);
    decode::DecodeRun run(&graph, std::move(tid_to_pdf), num_pdfs, opts);
    kaldi::SequentialMatrixReader reader(loglikes_rspec);
    run.OpenOutputs(lattice_wspec, words_wspec, ali_wspec);
    const size_t batch_size = static_cast<size_t>(opts.num_threads) * 8;
    std::vector<decode::DecodeRunItem> batch;
    for (; !reader.Done(); reader.Next()) {
      decode::DecodeRunItem item;
      item.key = reader.Key();
      item.loglikes = std::move(reader.Value());
      batch.push_back(std::move(item));
      if (batch.size() >= batch_size) {
        run.ProcessBatch(&batch, nullptr);
        batch.clear();
      }
    }
    run.ProcessBatch(&batch, nullptr);
    reader.Close();
    return run.Finish();
  });
}

}  // namespace kaldiq::cli
