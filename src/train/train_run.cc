#include "train/train_run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>

#include "kaldi/chain_example_merge.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/table.h"
#include "nnet/write_back.h"
#include "train/chain/compute_prob.h"
#include "train/chain/minibatch_network.h"
#include "train/qat.h"
#include "util/error.h"
#include "util/kaldi_rand.h"

namespace kaldiq::train {

namespace {

using Clock = std::chrono::steady_clock;
using Eg = std::pair<std::string, kaldi::NnetChainExample>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<Eg> ReadAllEgs(const std::string& rspecifier) {
  std::vector<Eg> egs;
  kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> reader(rspecifier);
  for (; !reader.Done(); reader.Next()) egs.emplace_back(reader.Key(), reader.Value());
  reader.Close();
  KQ_CHECK(!egs.empty(), kInvalidArgument) << "no egs in '" << rspecifier << "' (empty archive)";
  return egs;
}

bool IsMerged(const kaldi::NnetChainExample& eg) {
  for (const kaldi::NnetChainSupervision& s : eg.outputs)
    if (s.supervision.num_sequences != 1) return true;
  for (const kaldi::NnetIo& io : eg.inputs)
    for (const kaldi::Index& i : io.indexes)
      if (i.n != 0) return true;
  return false;
}

struct ProbResult {
  std::vector<std::string> lines;
  double objf = kNaN, l2 = kNaN;
};

// nnet3-chain-compute-prob on `rspecifier`. train.py merges its diagnostic egs by "1:64"; in test
// mode every sequence is independent, so "1:16" gives the same per-frame figures up to
// summation order (fixture: every printed digit on the valid egs, the total's 6th significant
// digit one unit off on the train diagnostic egs) at 40% of the memory.
ProbResult ComputeProb(chain::ChainNetwork* network, const chain::DenGraph& den_graph,
                       const TrainerOptions& opts, const std::string& rspecifier) {
  chain::ChainComputeProb prob(opts.chain, den_graph, network, opts.num_threads);
  int64_t minibatch = 0;
  auto compute = [&](const std::vector<const kaldi::NnetChainExample*>& egs,
                     const std::vector<std::string>& keys) {
    prob.Compute(egs, keys, "minibatch " + std::to_string(minibatch++));
  };
  kaldi::ChainExampleMerger merger(
      kaldi::MinibatchSizeRules("1:16"),
      [&](std::vector<kaldi::NnetChainExample>&& egs, std::vector<std::string>&& keys) {
        std::vector<const kaldi::NnetChainExample*> ptrs;
        for (const kaldi::NnetChainExample& eg : egs) ptrs.push_back(&eg);
        compute(ptrs, keys);
      });
  kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> reader(rspecifier);
  for (; !reader.Done(); reader.Next()) {
    if (IsMerged(reader.Value())) {
      compute({&reader.Value()}, {reader.Key()});
    } else {
      merger.Accept(reader.Value(), reader.Key());
    }
  }
  merger.Finish();
  reader.Close();
  KQ_CHECK(prob.NumMinibatches() > 0, kInvalidArgument) << "no egs in '" << rspecifier << "'";
  ProbResult r;
  for (const std::string& line : prob.TotalStatsLines()) {
    const bool with_l2 = line.find(" + ") != std::string::npos;
    r.lines.push_back(std::string("LOG (nnet3-chain-compute-prob[kaldiq]:PrintTotalStats():"
                                  "nnet-chain-diagnostics.cc:") +
                      (with_l2 ? "244" : "239") + ") " + line);
  }
  const chain::ChainObjectiveTotals& t = prob.output_totals();
  r.objf = t.tot_like / t.tot_weight;
  r.l2 = t.tot_l2_term / t.tot_weight;
  return r;
}

void WriteTextFile(const std::string& path, const std::vector<std::string>& lines) {
  kaldi::Output out(path, /*binary=*/false);
  for (const std::string& l : lines) out.Stream() << l << "\n";
  out.Commit();
}

std::string CheckpointPath(const std::string& dir, int32_t epoch, const char* ext) {
  return (std::filesystem::path(dir) / ("epoch." + std::to_string(epoch) + ext)).string();
}

// epoch.N.state: "KQTRAINSTATE" epoch, parameter count, then per parameter its size and the
// momentum buffer (raw little-endian).
void WriteState(const std::string& path, int32_t epoch, const SgdOptimizer& opt) {
  kaldi::Output out(path, /*binary=*/true, /*write_binary_header=*/false);
  std::ostream& os = out.Stream();
  os << "KQTRAINSTATE1 ";
  const int64_t n = static_cast<int64_t>(opt.delta().size());
  os.write(reinterpret_cast<const char*>(&epoch), sizeof(epoch));
  os.write(reinterpret_cast<const char*>(&n), sizeof(n));
  for (const std::vector<float>& d : opt.delta()) {
    const int64_t size = static_cast<int64_t>(d.size());
    os.write(reinterpret_cast<const char*>(&size), sizeof(size));
    os.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(size * 4));
  }
  out.Commit();
}

std::vector<std::vector<float>> ReadState(const std::string& path, int32_t expect_epoch) {
  kaldi::Input in(path, /*read_binary_header=*/false);
  std::istream& is = in.Stream();
  std::string magic(14, '\0');
  is.read(&magic[0], 14);
  KQ_CHECK(is && magic == "KQTRAINSTATE1 ", kFormat) << path << ": not a kaldiq train state";
  int32_t epoch = 0;
  int64_t n = 0;
  is.read(reinterpret_cast<char*>(&epoch), sizeof(epoch));
  is.read(reinterpret_cast<char*>(&n), sizeof(n));
  KQ_CHECK(is && epoch == expect_epoch && n >= 0 && n < (1 << 20), kFormat)
      << path << ": bad header (epoch " << epoch << ", " << n << " parameters)";
  std::vector<std::vector<float>> delta(static_cast<size_t>(n));
  for (std::vector<float>& d : delta) {
    int64_t size = 0;
    is.read(reinterpret_cast<char*>(&size), sizeof(size));
    KQ_CHECK(is && size >= 0 && size < (int64_t{1} << 31), kFormat) << path << ": bad size";
    d.resize(static_cast<size_t>(size));
    is.read(reinterpret_cast<char*>(d.data()), static_cast<std::streamsize>(size * 4));
    KQ_CHECK(is, kFormat) << path << ": truncated";
  }
  return delta;
}

std::string FormatSeconds(double s) {
  char buf[32];
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(t / 3600),
                  static_cast<long long>(t / 60 % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(t / 60),
                  static_cast<long long>(t % 60));
  }
  return buf;
}

}  // namespace

int32_t NewestCheckpoint(const std::string& dir) {
  int32_t best = -1;
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return -1;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("epoch.", 0) != 0 || name.size() < 13 ||
        name.compare(name.size() - 6, 6, ".state") != 0)
      continue;
    const std::string num = name.substr(6, name.size() - 12);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    const int32_t n = std::stoi(num);
    if (n > best && std::filesystem::exists(CheckpointPath(dir, n, ".mdl"), ec)) best = n;
  }
  return best;
}

TrainRunResult RunChainTraining(const TrainRunOptions& options, const chain::DenGraph& den_graph,
                                const std::string& egs_rspecifier, const std::string& model_name,
                                kaldi::KaldiModel* model,
                                const std::function<void(const std::string&)>& log, Qat* qat) {
  KQ_CHECK(options.num_epochs >= 1, kInvalidArgument) << "--num-epochs must be >= 1";
  KQ_CHECK(!options.frame_shifts.empty(), kInvalidArgument) << "--frame-shifts is empty";
  KQ_CHECK(options.learning_rate >= 0.0f && options.final_learning_rate >= 0.0f,
           kInvalidArgument) << "learning rates must be >= 0";
  KQ_CHECK(options.final_learning_rate == 0.0f || options.learning_rate > 0.0f,
           kInvalidArgument) << "--final-learning-rate needs --learning-rate";
  KQ_CHECK(qat == nullptr || (options.checkpoint_dir.empty() && !options.resume), kUnsupported)
      << "--qat does not write checkpoints (--checkpoint-dir, --resume): its model is the int8 "
         "lowering of the input model, which a Kaldi checkpoint cannot hold";
  KQ_CHECK(qat == nullptr || options.trainer.chain.xent_regularize == 0.0f, kInternal)
      << "QAT has no xent branch";
  const kaldi::MinibatchSizeRules rules(options.minibatch_size);
  TrainRunResult result;
  result.initial_valid_objf = result.initial_valid_l2 = kNaN;

  int32_t start_epoch = 0;
  std::vector<std::vector<float>> resume_delta;
  if (options.resume) {
    KQ_CHECK(!options.checkpoint_dir.empty(), kInvalidArgument) << "--resume needs --checkpoint-dir";
    start_epoch = std::max(0, NewestCheckpoint(options.checkpoint_dir));
    if (start_epoch > 0) {
      const std::string mdl = CheckpointPath(options.checkpoint_dir, start_epoch, ".mdl");
      *model = kaldi::ReadKaldiModel(mdl);
      resume_delta =
          ReadState(CheckpointPath(options.checkpoint_dir, start_epoch, ".state"), start_epoch);
      log("LOG (kaldiq train) resuming after epoch " + std::to_string(start_epoch) + " from " + mdl);
    }
  }
  if (start_epoch >= options.num_epochs) {
    log("LOG (kaldiq train) all " + std::to_string(options.num_epochs) + " epochs were done");
    return result;
  }
  // nnet3-am-copy --learning-rate: stored rate = lr · factor.
  if (options.learning_rate > 0.0f) {
    for (kaldi::Component& c : model->nnet.components) {
      kaldi::UpdatableCommon* u = nullptr;
      if (auto* a = c.As<kaldi::AffineComponent>()) u = &a->common;
      if (auto* l = c.As<kaldi::LinearComponent>()) u = &l->common;
      if (auto* t = c.As<kaldi::TdnnComponent>()) u = &t->common;
      if (u != nullptr) u->learning_rate = options.learning_rate * u->learning_rate_factor;
    }
  }
  const float lr_i = options.learning_rate;
  const float lr_f = options.final_learning_rate > 0.0f ? options.final_learning_rate : lr_i;

  std::vector<Eg> egs = ReadAllEgs(egs_rspecifier);
  log("LOG (kaldiq train) read " + std::to_string(egs.size()) + " egs from " + egs_rspecifier);
  if (!options.log_dir.empty()) std::filesystem::create_directories(options.log_dir);
  if (!options.checkpoint_dir.empty()) std::filesystem::create_directories(options.checkpoint_dir);

  std::unique_ptr<ChainTrainer> trainer_ptr;
  if (qat) {
    trainer_ptr = std::make_unique<ChainTrainer>(
        model->nnet,
        TrainingNetwork{qat->MakeGraph(model->nnet, model_name), qat->Kernels(),
                        [qat] { qat->Refresh(); }},
        den_graph, options.trainer, model_name);
  } else {
    trainer_ptr = std::make_unique<ChainTrainer>(model->nnet, den_graph, options.trainer, model_name);
  }
  ChainTrainer& trainer = *trainer_ptr;
  auto diagnostics = [&](int32_t n, double* valid_objf, double* valid_l2, double* train_objf,
                         double* train_l2) {
    const std::pair<const char*, const std::string*> sets[] = {
        {"valid", &options.valid_egs}, {"train", &options.train_diagnostic_egs}};
    for (const auto& [name, spec] : sets) {
      if (spec->empty()) continue;
      ProbResult r;
      try {
        if (qat) {
          qat->Refresh();
          chain::MinibatchChainNetwork network(trainer.graph(), qat->Kernels());
          r = ComputeProb(&network, den_graph, options.trainer, *spec);
        } else {
          chain::MinibatchChainNetwork network(model->nnet, model_name);
          r = ComputeProb(&network, den_graph, options.trainer, *spec);
        }
      } catch (const Error& e) {
        throw e.WithContext(std::string("compute_prob_") + name + "." + std::to_string(n));
      }
      for (const std::string& l : r.lines) log(l);
      if (!options.log_dir.empty())
        WriteTextFile((std::filesystem::path(options.log_dir) /
                       ("compute_prob_" + std::string(name) + "." + std::to_string(n) + ".log"))
                          .string(),
                      r.lines);
      if (std::string(name) == "valid") {
        *valid_objf = r.objf;
        *valid_l2 = r.l2;
      } else {
        *train_objf = r.objf;
        *train_l2 = r.l2;
      }
    }
  };
  {
    double to = kNaN, tl = kNaN;
    result.initial_valid_objf = result.initial_valid_l2 = kNaN;
    diagnostics(start_epoch, &result.initial_valid_objf, &result.initial_valid_l2, &to, &tl);
  }

  if (!resume_delta.empty()) trainer.optimizer().SetDelta(std::move(resume_delta));
  const double total_egs = static_cast<double>(egs.size()) * options.num_epochs;

  for (int32_t e = start_epoch; e < options.num_epochs; ++e) {
    EpochSummary sum;
    sum.epoch = e + 1;
    sum.valid_objf = sum.valid_l2 = sum.train_objf = sum.train_l2 = kNaN;
    const int32_t shift = options.frame_shifts[static_cast<size_t>(e) % options.frame_shifts.size()];
    KaldiRand rng(static_cast<uint32_t>(options.srand + e));
    // nnet3-chain-shuffle-egs with the whole archive in the buffer (std::random_shuffle's loop).
    std::vector<size_t> order(egs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = 1; i < order.size(); ++i) {
      const size_t j = static_cast<size_t>(rng.Rand()) % (i + 1);
      if (i != j) std::swap(order[i], order[j]);
    }
    const Clock::time_point start = Clock::now();
    Clock::time_point last_print = start;
    double processed = static_cast<double>(e) * static_cast<double>(egs.size());
    double tot_objf = 0, tot_l2 = 0, tot_weight = 0, tot_xent = 0;
    bool stop = false;
    kaldi::ChainExampleMerger merger(
        rules, [&](std::vector<kaldi::NnetChainExample>&& mb, std::vector<std::string>&& keys) {
          if (stop) return;
          std::vector<const kaldi::NnetChainExample*> ptrs;
          for (const kaldi::NnetChainExample& eg : mb) ptrs.push_back(&eg);
          const double frac = processed / total_egs;
          const float lr_scale =
              lr_i > 0.0f ? static_cast<float>(std::exp(frac * std::log(lr_f / lr_i))) : 1.0f;
          const std::string what = "epoch " + std::to_string(e + 1) + ", minibatch " +
                                   std::to_string(sum.minibatches);
          const MinibatchResult r = trainer.Train(ptrs, keys, what, lr_scale, &rng);
          processed += static_cast<double>(mb.size());
          ++sum.minibatches;
          sum.output_frames += r.output_frames;
          sum.seconds_network += r.seconds_network;
          sum.seconds_numerator += r.seconds_numerator;
          sum.seconds_denominator += r.seconds_denominator;
          sum.seconds_update += r.seconds_update;
          tot_objf += r.objf;
          tot_l2 += r.l2_term;
          tot_weight += r.weight;
          tot_xent += r.xent;
          const Clock::time_point now = Clock::now();
          const double elapsed = std::chrono::duration<double>(now - start).count();
          if (!options.quiet && std::chrono::duration<double>(now - last_print).count() >= 10.0) {
            last_print = now;
            const double done_here = processed - static_cast<double>(e) * egs.size();
            double left = total_egs - processed;
            double eta = elapsed / done_here * left;
            if (options.max_minibatches_per_epoch >= 0) {  // the run stops early: count minibatches
              left = static_cast<double>(options.max_minibatches_per_epoch - sum.minibatches) +
                     static_cast<double>(options.num_epochs - e - 1) *
                         static_cast<double>(options.max_minibatches_per_epoch);
              eta = elapsed / static_cast<double>(sum.minibatches) * left;
            }
            char buf[320];
            std::snprintf(buf, sizeof(buf),
                          "LOG (kaldiq train) epoch %d/%d, minibatch %lld: objf %.5f + %.5f per "
                          "frame, %.0f output frames/s, ETA %s",
                          e + 1, options.num_epochs, static_cast<long long>(sum.minibatches),
                          r.objf / r.weight, r.l2_term / r.weight, sum.output_frames / elapsed,
                          FormatSeconds(eta).c_str());
            std::fprintf(stderr, "%s\n", buf);
          }
          if (options.max_minibatches_per_epoch >= 0 &&
              sum.minibatches >= options.max_minibatches_per_epoch)
            stop = true;
        });
    for (size_t i : order) {
      if (stop) break;
      kaldi::NnetChainExample eg = egs[i].second;
      if (shift != 0) kaldi::ShiftChainExampleTimes(shift, &eg);
      merger.Accept(std::move(eg), egs[i].first);
    }
    merger.Finish();
    KQ_CHECK(sum.minibatches > 0, kInvalidArgument)
        << "epoch " << e + 1 << ": --minibatch-size=" << options.minibatch_size
        << " discarded all " << egs.size() << " egs";
    sum.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    sum.objf_per_frame = tot_objf / tot_weight;
    sum.l2_per_frame = tot_l2 / tot_weight;
    sum.xent_per_frame = tot_xent / tot_weight;
    sum.frames = tot_weight;
    {
      std::ostringstream os;
      os << "LOG (kaldiq train) epoch " << e + 1 << " (frame shift " << shift << "): "
         << sum.minibatches << " minibatches, " << sum.output_frames << " output frames in "
         << sum.seconds << " s (" << sum.output_frames / sum.seconds << " frames/s)";
      const double busy = sum.seconds_network + sum.seconds_denominator +
                          sum.seconds_numerator + sum.seconds_update;
      if (busy > 0) {
        char buf[200];
        std::snprintf(buf, sizeof(buf),
                      "; thread time: network %.0f%%, denominator %.0f%%, numerator %.0f%%, "
                      "update %.0f%%",
                      100 * sum.seconds_network / busy, 100 * sum.seconds_denominator / busy,
                      100 * sum.seconds_numerator / busy, 100 * sum.seconds_update / busy);
        os << buf;
      }
      log(os.str());
      std::ostringstream o2;
      o2 << "LOG (nnet3-chain-train[kaldiq]:PrintTotalStats():nnet-training.cc:0) Overall "
            "average objective function for 'output' is "
         << static_cast<float>(sum.objf_per_frame) << " + " << static_cast<float>(sum.l2_per_frame)
         << " = " << static_cast<float>(sum.objf_per_frame + sum.l2_per_frame) << " over "
         << tot_weight << " frames.";
      log(o2.str());
      if (options.trainer.chain.xent_regularize != 0.0f) {
        std::ostringstream o3;
        o3 << "LOG (nnet3-chain-train[kaldiq]:PrintTotalStats():nnet-training.cc:0) Overall "
              "average objective function for 'output-xent' is "
           << static_cast<float>(sum.xent_per_frame) << " over " << tot_weight << " frames.";
        log(o3.str());
      }
    }
    if (!qat) trainer.WriteBack(&model->nnet);
    if (e + 1 == options.num_epochs && lr_i > 0.0f) {
      // The last iteration's model carries the final learning rate, as train.py's does.
      for (kaldi::Component& c : model->nnet.components) {
        kaldi::UpdatableCommon* u = nullptr;
        if (auto* a = c.As<kaldi::AffineComponent>()) u = &a->common;
        if (auto* l = c.As<kaldi::LinearComponent>()) u = &l->common;
        if (auto* t = c.As<kaldi::TdnnComponent>()) u = &t->common;
        if (u != nullptr) u->learning_rate = lr_f * u->learning_rate_factor;
      }
    }
    if (!options.checkpoint_dir.empty()) {
      // The model first, the state last: a checkpoint counts only once its state exists.
      kaldi::WriteKaldiModel(CheckpointPath(options.checkpoint_dir, e + 1, ".mdl"), *model, true);
      WriteState(CheckpointPath(options.checkpoint_dir, e + 1, ".state"), e + 1,
                 trainer.optimizer());
    }
    diagnostics(e + 1, &sum.valid_objf, &sum.valid_l2, &sum.train_objf, &sum.train_l2);
    result.epochs.push_back(sum);
  }
  if (qat) result.qat_graph = trainer.graph();
  return result;
}

}  // namespace kaldiq::train
