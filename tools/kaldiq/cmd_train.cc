// kaldiq train: LF-MMI fine-tuning of a Kaldi chain model on chain egs -- nnet3-chain-train's
// step (plain SGD with momentum, per-component and global max-change, l2, xent, leaky HMM,
// deriv weights) driven over epochs as train.py drives one job (frame shifts, shuffling, Kaldi's
// --minibatch-size merging, exponential learning-rate decay, compute_prob_{valid,train}.N.log).
// Writes a Kaldi final.mdl (transition model, priors, every component field kept; only the
// trained parameters and learning rates change) through the temp-file + rename writer, and
// only after the whole run succeeded. With --qat=<plan>: quantization-aware training of the
// plan's int8 graph (src/train/qat.h), writing the fp32 folded model, --write-plan and
// --write-int8. See src/train/train_run.h and docs/training.md.
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/fst_io.h"
#include "kaldi/nnet3/model_io.h"
#include "quant/int8_model.h"
#include "quant/plan.h"
#include "train/qat.h"
#include "train/chain/den_graph.h"
#include "train/train_run.h"
#include "util/error.h"

namespace kaldiq::cli {

namespace {

struct TrainFlags {
  train::TrainRunOptions run;
  std::string frame_shifts = "0";
  bool binary = true;
  std::string model_in, den_fst, egs, model_out;
  std::string qat_plan, write_int8, write_plan;
};

std::vector<int32_t> ParseShifts(const std::string& s) {
  std::vector<int32_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t pos = 0;
      const int v = std::stoi(item, &pos);
      KQ_CHECK(pos == item.size(), kInvalidArgument) << "bad --frame-shifts '" << s << "'";
      out.push_back(v);
    } catch (const std::logic_error&) {
      KQ_THROW(kInvalidArgument) << "bad --frame-shifts '" << s << "'";
    }
  }
  KQ_CHECK(!out.empty(), kInvalidArgument) << "bad --frame-shifts '" << s << "'";
  return out;
}

int Train(TrainFlags& f) {
  f.run.frame_shifts = ParseShifts(f.frame_shifts);
  kaldi::KaldiModel model = kaldi::ReadKaldiModel(f.model_in);
  const int32_t num_pdfs = model.nnet.OutputDim("output");
  KQ_CHECK(num_pdfs > 0, kInvalidArgument) << f.model_in << ": the model has no output 'output'";
  const train::chain::DenGraph den_graph = [&] {
    try {
      return train::chain::DenGraph(kaldi::ReadFstFile(f.den_fst), num_pdfs);
    } catch (const Error& e) {
      throw e.WithContext(f.den_fst);
    }
  }();
  KQ_CHECK(!f.qat_plan.empty() || (f.write_int8.empty() && f.write_plan.empty()),
           kInvalidArgument) << "--write-int8 and --write-plan need --qat=<plan>";
  const bool quiet = f.run.quiet;
  auto log = [quiet](const std::string& line) {
    if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
  };
  std::unique_ptr<train::Qat> qat;
  if (!f.qat_plan.empty()) {
    if (f.run.trainer.chain.xent_regularize != 0.0f) {
      log("WARNING (kaldiq train) --qat trains the int8 graph, which has no 'output-xent': "
          "--xent-regularize=" + std::to_string(f.run.trainer.chain.xent_regularize) +
          " is ignored");
      f.run.trainer.chain.xent_regularize = 0.0f;
    }
    f.run.trainer.sgd.orthonormal_constraints = false;
    qat = std::make_unique<train::Qat>(quant::ReadPlan(f.qat_plan), f.qat_plan);
  }
  const train::TrainRunResult r =
      train::RunChainTraining(f.run, den_graph, f.egs, f.model_in, &model, log, qat.get());
  if (!qat) {
    kaldi::WriteKaldiModel(f.model_out, model, f.binary);
    log("LOG (kaldiq train) wrote " + f.model_out);
    return 0;
  }
  // Everything is built before anything is written, so a failure leaves no partial outputs.
  const quant::Int8Model int8 = qat->ToInt8Model(r.qat_graph, model);
  const kaldi::KaldiModel fp32 = qat->ToKaldiModel(r.qat_graph, model);
  kaldi::WriteKaldiModel(f.model_out, fp32, f.binary);
  log("LOG (kaldiq train) wrote " + f.model_out +
      " (fp32, BatchNorm folded as the int8 model has it; quantize it with --write-plan's plan)");
  if (!f.write_plan.empty()) {
    quant::WritePlan(f.write_plan, qat->UpdatedPlan());
    log("LOG (kaldiq train) wrote " + f.write_plan);
  }
  if (!f.write_int8.empty()) {
    quant::WriteInt8Model(f.write_int8, int8);
    log("LOG (kaldiq train) wrote " + f.write_int8);
  }
  return 0;
}

}  // namespace

int RunTrain(int argc, char** argv) {
  CLI::App app;
  TrainFlags f;
  train::TrainRunOptions& o = f.run;
  ConfigureApp(
      app,
      "LF-MMI fine-tuning of a Kaldi chain model (nnet3-chain-train's update, driven over\n"
      "epochs as steps/nnet3/chain/train.py drives one job). Plain SGD with momentum,\n"
      "per-component and global max-change; BatchNorm frozen in test mode; LDA fixed.\n\n"
      "Usage:  kaldiq train [options] <model-in> <denominator-fst> <training-examples-in> "
      "<model-out>\n"
      "e.g.:   kaldiq train --learning-rate=2e-5 --final-learning-rate=2e-6 --num-epochs=2 \\\n"
      "          --l2-regularize=5e-05 --leaky-hmm-coefficient=0.1 --xent-regularize=0.1 \\\n"
      "          --frame-shifts=0,1,2 --valid-egs=ark:valid_diagnostic.cegs --log-dir=log \\\n"
      "          final.mdl den.fst ark:cegs.1.ark new.mdl\n"
      "QAT:    kaldiq train --qat=plan.txt --write-int8=qat.int8 --write-plan=qat.plan \\\n"
      "          --learning-rate=2e-5 final.mdl den.fst ark:cegs.1.ark qat.mdl");
  app.add_option("--l2-regularize", o.trainer.chain.l2_regularize,
                 "l2 regularization constant for 'chain' training, applied to the output of the "
                 "neural net.")
      ->default_val(0.0);
  app.add_option("--out-of-range-regularize", o.trainer.chain.out_of_range_regularize,
                 "Constant that controls how much we penalize the nnet output being outside the "
                 "range [-30,30].")
      ->default_val(0.01);
  app.add_option("--leaky-hmm-coefficient", o.trainer.chain.leaky_hmm_coefficient,
                 "Coefficient that allows transitions from each HMM state to each other HMM "
                 "state (must be in (0, 1)).")
      ->default_val(1e-05);
  app.add_option("--xent-regularize", o.trainer.chain.xent_regularize,
                 "Cross-entropy regularization constant for 'chain' training (needs an output "
                 "'output-xent').")
      ->default_val(0.0);
  AddBool(app, "--apply-deriv-weights", &o.trainer.apply_deriv_weights,
          "If true, apply the per-frame derivative weights stored with the example");
  app.add_option("--momentum", o.trainer.sgd.momentum,
                 "Momentum constant (Kaldi's: the update is scaled by 1 - momentum).")
      ->default_val(0.0);
  app.add_option("--max-param-change", o.trainer.sgd.max_param_change,
                 "The maximum change in parameters allowed per minibatch, measured in Euclidean "
                 "norm over the entire model (0 = no limit); per-component max-change comes from "
                 "the model.")
      ->default_val(2.0);
  app.add_option("--l2-regularize-factor", o.trainer.sgd.l2_regularize_factor,
                 "Factor on the components' l2-regularize (train.py: 1/num-jobs).")
      ->default_val(1.0);
  app.add_option("--learning-rate", o.learning_rate,
                 "Initial learning rate; sets every component's rate to this times its "
                 "learning-rate-factor (0 = keep the model's rates).")
      ->default_val(0.0);
  app.add_option("--final-learning-rate", o.final_learning_rate,
                 "Final learning rate, reached by exponential decay over the run (0 = constant).")
      ->default_val(0.0);
  app.add_option("--num-epochs", o.num_epochs, "Passes over the egs.")->default_val(1);
  app.add_option("--minibatch-size", o.minibatch_size,
                 "Kaldi's nnet3-chain-merge-egs --minibatch-size rules, e.g. 128 or 128,64.")
      ->default_val("128");
  app.add_option("--frame-shifts", f.frame_shifts,
                 "Comma list of frame shifts; epoch e uses entry e mod count "
                 "(nnet3-chain-copy-egs --frame-shift), e.g. 0,1,2.")
      ->default_val("0");
  app.add_option("--srand", o.srand, "Seed: epoch e shuffles and draws with srand + e.")
      ->default_val(0);
  app.add_option("--num-threads", o.trainer.num_threads,
                 "Threads (results do not depend on it).")
      ->default_val(1);
  app.add_option("--max-minibatches-per-epoch", o.max_minibatches_per_epoch,
                 "Stop each epoch after this many minibatches (-1 = all; short runs).")
      ->default_val(-1);
  app.add_option("--valid-egs", o.valid_egs,
                 "Held-out egs: compute_prob_valid.N.log before training and after each epoch.");
  app.add_option("--train-diagnostic-egs", o.train_diagnostic_egs,
                 "Training diagnostic egs: compute_prob_train.N.log.");
  app.add_option("--log-dir", o.log_dir, "Directory for the compute_prob_*.N.log files.");
  app.add_option("--checkpoint-dir", o.checkpoint_dir,
                 "Directory for epoch.N.mdl / epoch.N.state after each epoch.");
  AddBool(app, "--resume", &o.resume,
          "Continue from the newest checkpoint in --checkpoint-dir (same options)");
  app.add_option("--qat", f.qat_plan,
                 "Quantization-aware training against this plan (kaldiq calibrate): trains the "
                 "int8 model's own folded graph with fake quantization and the straight-through "
                 "estimator, frozen ranges; <model-out> is then that graph in fp32.");
  app.add_option("--write-int8", f.write_int8, "With --qat: write the int8 model here.");
  app.add_option("--write-plan", f.write_plan,
                 "With --qat: write the plan of <model-out> here (kaldiq quantize <model-out> "
                 "<plan> rebuilds the --write-int8 model).");
  AddBool(app, "--binary", &f.binary, "Write the output model in binary mode");
  AddBool(app, "--quiet", &o.quiet, "No progress lines on stderr");
  app.add_option("model-in", f.model_in, "model to fine-tune (final.mdl)")->required();
  app.add_option("den-fst", f.den_fst, "denominator FST (den.fst)")->required();
  app.add_option("egs", f.egs, "unmerged chain egs rspecifier (e.g. ark:cegs.1.ark)")
      ->required();
  app.add_option("model-out", f.model_out, "trained model (final.mdl)")->required();
  return RunGuarded("train", app, argc, argv, [&]() { return Train(f); });
}

}  // namespace kaldiq::cli
