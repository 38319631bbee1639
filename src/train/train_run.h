// The epoch loop of `kaldiq train`: fine-tuning a Kaldi chain model on chain egs as one Kaldi
// job per epoch would (train.py's schedule collapsed to one job):
//   epoch e (0-based) = all egs, frame-shifted by frame_shifts[e mod size] (Kaldi's
//   nnet3-chain-copy-egs --frame-shift), shuffled by KaldiRand(srand + e) (nnet3-chain-shuffle-
//   egs with a buffer holding everything), merged by --minibatch-size (nnet3-chain-merge-egs),
//   one ChainTrainer step per minibatch, with the random choices of that epoch drawn from the
//   same per-epoch generator -- so an epoch is a function of (model, momentum, e) only, which is
//   what makes a resumed run equal an uninterrupted one.
//   Learning rate: with --learning-rate=lr_i every trained component's stored rate is set to
//   lr_i · learning-rate-factor (nnet3-am-copy --learning-rate); step k multiplies them by
//   exp(frac · ln(lr_f / lr_i)), frac = egs processed before the step / (epochs · egs), train.py's
//   exponential decay. Without --learning-rate the model's stored rates are used unchanged.
//   Before training and after each epoch N: compute_prob_{valid,train}.N.log (Kaldi's
//   nnet3-chain-compute-prob lines; "1:16" merging, the same figures as train.py's "1:64") on
//   the diagnostic egs, into log_dir.
//   After each epoch: checkpoint_dir/epoch.N.mdl and epoch.N.state (momentum), written through
//   the temp-file + rename writers; resume continues from the newest complete checkpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kaldi/nnet3/model_io.h"
#include "train/chain/den_graph.h"
#include "train/trainer.h"

namespace kaldiq::train {

struct TrainRunOptions {
  TrainerOptions trainer;
  float learning_rate = 0.0f;        // 0 = the model's stored rates
  float final_learning_rate = 0.0f;  // 0 = learning_rate (no decay)
  int32_t num_epochs = 1;
  std::string minibatch_size = "128";
  std::vector<int32_t> frame_shifts{0};
  int32_t srand = 0;
  int64_t max_minibatches_per_epoch = -1;  // -1 = all (short runs: demo, tests)
  std::string valid_egs, train_diagnostic_egs;  // rspecifiers, "" = none
  std::string log_dir;         // "" = compute_prob lines on stderr only
  std::string checkpoint_dir;  // "" = no checkpoints
  bool resume = false;         // continue from checkpoint_dir's newest checkpoint
  bool quiet = false;          // no progress lines
};

struct EpochSummary {
  int32_t epoch = 0;  // 1-based
  double objf_per_frame = 0.0, l2_per_frame = 0.0, xent_per_frame = 0.0, frames = 0.0;
  int64_t minibatches = 0, output_frames = 0;
  double seconds = 0.0;  // wall time of the epoch's training
  double seconds_network = 0.0, seconds_numerator = 0.0, seconds_denominator = 0.0,
         seconds_update = 0.0;  // thread-time
  // The valid / train diagnostic 'output' objective (A + B) after this epoch; NaN = not run.
  double valid_objf = 0.0, valid_l2 = 0.0, train_objf = 0.0, train_l2 = 0.0;
};

struct TrainRunResult {
  // The diagnostic objective of the initial model (epoch 0 logs; NaN = not run).
  double initial_valid_objf = 0.0, initial_valid_l2 = 0.0;
  std::vector<EpochSummary> epochs;  // the epochs run by this call
  nnet::Graph qat_graph;              // with a Qat: the trained graph (Qat::ToInt8Model, ...)
};

class Qat;

// Trains *model (its nnet is updated in place; the transition model and priors are not
// touched). With `qat` (train/qat.h): trains qat's int8 graph of the model instead, leaving
// *model's nnet unchanged except for the learning rates; the result holds the trained graph, and
// the diagnostics are those of the fake-quant (= int8) forward. QAT needs xent_regularize 0 and
// no checkpoints. Log lines (Kaldi LOG/WARNING format) go to `log`. Throws kaldiq::Error naming the
// epoch and minibatch on any failure; *model then holds the last good parameters only if a
// checkpoint was written -- callers write the model only after a successful return.
TrainRunResult RunChainTraining(const TrainRunOptions& options, const chain::DenGraph& den_graph,
                                const std::string& egs_rspecifier, const std::string& model_name,
                                kaldi::KaldiModel* model,
                                const std::function<void(const std::string&)>& log,
                                Qat* qat = nullptr);

// The "<N>" of the newest checkpoint in `dir` that has both files (-1: none).
int32_t NewestCheckpoint(const std::string& dir);

}  // namespace kaldiq::train
