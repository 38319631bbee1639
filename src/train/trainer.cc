#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "nnet/lower.h"
#include "nnet/minibatch.h"
#include "nnet/params.h"
#include "nnet/write_back.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace kaldiq::train {

using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

bool IsUnmerged(const kaldi::NnetChainExample& eg) {
  for (const kaldi::NnetChainSupervision& s : eg.outputs)
    if (s.supervision.num_sequences != 1) return false;
  for (const kaldi::NnetIo& io : eg.inputs)
    for (const kaldi::Index& i : io.indexes)
      if (i.n != 0) return false;
  return true;
}

}  // namespace

struct ChainTrainer::Worker {
  Worker(const nnet::Graph& graph, const nnet::KernelFactory& kernels) : computer(graph, kernels) {}
  nnet::MinibatchComputer computer;
  std::vector<MatrixF> feats;
  MatrixF deriv, xent_post;
};

struct ChainTrainer::Unit {
  nnet::Gradients grads;
  MinibatchResult result;
};

ChainTrainer::ChainTrainer(const kaldi::Nnet& nnet, const chain::DenGraph& den_graph,
                           const TrainerOptions& options, const std::string& model_name)
    : ChainTrainer(nnet,
                   TrainingNetwork{nnet::LowerNnet(nnet, model_name,
                                                   {nnet::LowerMode::kTraining, false}),
                                   nullptr, nullptr},
                   den_graph, options, model_name) {}

ChainTrainer::ChainTrainer(const kaldi::Nnet& nnet, TrainingNetwork network,
                           const chain::DenGraph& den_graph, const TrainerOptions& options,
                           const std::string& model_name)
    : options_(options),
      den_graph_(den_graph),
      graph_(std::move(network.graph)),
      optimizer_(graph_, nnet, options.sgd),
      use_xent_(options.chain.xent_regularize != 0.0f),
      before_forward_(std::move(network.before_forward)) {
  KQ_CHECK(options.num_threads >= 1, kInvalidArgument)
      << "--num-threads must be >= 1, got " << options.num_threads;
  KQ_CHECK(options.unit_sequences >= 1, kInvalidArgument) << "work unit of < 1 sequence";
  const int32_t out = graph_.Find("output");
  KQ_CHECK(out >= 0 && std::count(graph_.outputs.begin(), graph_.outputs.end(), out) == 1,
           kInvalidArgument)
      << model_name << ": the model has no output node 'output'";
  KQ_CHECK(graph_.ops[out].output_dim == den_graph.NumPdfs(), kInvalidArgument)
      << model_name << ": output 'output' has dim " << graph_.ops[out].output_dim
      << " but the den.fst was read for " << den_graph.NumPdfs() << " pdfs";
  if (use_xent_) {
    const int32_t x = graph_.Find("output-xent");
    KQ_CHECK(x >= 0 && std::count(graph_.outputs.begin(), graph_.outputs.end(), x) == 1 &&
                 graph_.ops[x].output_dim == den_graph.NumPdfs(),
             kInvalidArgument)
        << model_name << ": --xent-regularize=" << options.chain.xent_regularize
        << " needs an output node 'output-xent' of dim " << den_graph.NumPdfs();
  }
  KQ_CHECK(!optimizer_.params().empty(), kInvalidArgument)
      << model_name << ": the model has no trainable components";
  for (int t = 0; t < options.num_threads; ++t)
    workers_.push_back(std::make_unique<Worker>(graph_, network.kernels));
}

ChainTrainer::~ChainTrainer() = default;

void ChainTrainer::Validate(const std::vector<const kaldi::NnetChainExample*>& egs,
                            const std::vector<std::string>& keys,
                            const std::string& what) const {
  KQ_CHECK(!egs.empty() && egs.size() == keys.size(), kInternal) << what << ": empty minibatch";
  for (size_t i = 0; i < egs.size(); ++i) {
    const kaldi::NnetChainExample& eg = *egs[i];
    try {
      KQ_CHECK(IsUnmerged(eg), kUnsupported)
          << "the eg is already merged; kaldiq train merges egs itself (--minibatch-size), "
             "give it unmerged egs (e.g. cegs.*.ark)";
      KQ_CHECK(eg.inputs.size() == egs[0]->inputs.size(), kInvalidArgument)
          << "egs of one minibatch differ in their inputs";
      for (size_t k = 0; k < eg.inputs.size(); ++k) {
        const kaldi::NnetIo& io = eg.inputs[k];
        const int32_t op = graph_.Find(io.name);
        KQ_CHECK(op >= 0 && std::count(graph_.inputs.begin(), graph_.inputs.end(), op) == 1,
                 kInvalidArgument)
            << "Nnet example has input named '" << io.name
            << "', but no such input node is in the network.";
        KQ_CHECK(graph_.ops[op].output_dim == io.features.NumCols(), kInvalidArgument)
            << "input '" << io.name << "' has dim " << io.features.NumCols()
            << ", the model's input node has dim " << graph_.ops[op].output_dim;
        KQ_CHECK(io.name == egs[0]->inputs[k].name &&
                     io.features.NumRows() == egs[0]->inputs[k].features.NumRows(),
                 kInvalidArgument) << "egs of one minibatch differ in input '" << io.name << "'";
        KQ_CHECK(static_cast<int64_t>(io.indexes.size()) == io.features.NumRows() &&
                     !io.indexes.empty(),
                 kInvalidArgument) << "input '" << io.name << "' has "
                                   << io.indexes.size() << " indexes for "
                                   << io.features.NumRows() << " rows";
        for (size_t r = 0; r < io.indexes.size(); ++r)
          KQ_CHECK(io.indexes[r].x == 0 &&
                       io.indexes[r].t == io.indexes[0].t + static_cast<int32_t>(r),
                   kUnsupported) << "input '" << io.name << "': row " << r << " has t = "
                                 << io.indexes[r].t << "; only consecutive times are supported";
      }
      KQ_CHECK(eg.outputs.size() == 1 && eg.outputs[0].name == "output", kUnsupported)
          << "only egs with one chain output named 'output' are supported";
      const kaldi::NnetChainSupervision& sup = eg.outputs[0];
      KQ_CHECK(sup.supervision.label_dim == den_graph_.NumPdfs(), kInvalidArgument)
          << "supervision label-dim is " << sup.supervision.label_dim << ", the model has "
          << den_graph_.NumPdfs() << " pdfs";
      KQ_CHECK(sup.indexes == egs[0]->outputs[0].indexes, kInvalidArgument)
          << "egs of one minibatch have different output times";
      KQ_CHECK(static_cast<int32_t>(sup.indexes.size()) == sup.supervision.frames_per_sequence,
               kInvalidArgument) << "output has " << sup.indexes.size() << " indexes for "
                                 << sup.supervision.frames_per_sequence << " frames";
      KQ_CHECK(sup.deriv_weights.empty() || sup.deriv_weights.size() == sup.indexes.size(),
               kInvalidArgument) << "deriv weights of size " << sup.deriv_weights.size()
                                 << " for " << sup.indexes.size() << " frames";
    } catch (const Error& e) {
      throw e.WithContext(what + ", eg '" + keys[i] + "'");
    }
  }
}

void ChainTrainer::RunUnit(const std::vector<const kaldi::NnetChainExample*>& egs,
                           int32_t begin, int32_t end, bool out_of_range, Unit* unit,
                           int worker_index) {
  Worker& w = *workers_[static_cast<size_t>(worker_index)];
  const int32_t n = end - begin;
  const kaldi::NnetChainExample& first = *egs[static_cast<size_t>(begin)];
  MinibatchResult& res = unit->result;
  res = MinibatchResult();
  res.num_sequences = n;

  // Inputs, sequence-major.
  const Clock::time_point t0 = Clock::now();
  w.feats.resize(first.inputs.size());
  std::vector<nnet::MinibatchInput> inputs;
  MatrixF m;
  for (size_t k = 0; k < first.inputs.size(); ++k) {
    const int64_t T = first.inputs[k].features.NumRows(), cols = first.inputs[k].features.NumCols();
    MatrixF& dst = w.feats[k];
    if (dst.rows() != n * T || dst.cols() != cols) dst.Resize(n * T, cols);
    for (int32_t j = 0; j < n; ++j) {
      egs[static_cast<size_t>(begin + j)]->inputs[k].features.GetMatrix(&m);
      std::memcpy(dst.Row(j * T), m.data(), sizeof(float) * static_cast<size_t>(T * cols));
    }
    inputs.push_back({graph_.Find(first.inputs[k].name), &dst, first.inputs[k].indexes[0].t});
  }
  std::vector<int32_t> times;
  for (const kaldi::Index& i : first.outputs[0].indexes) times.push_back(i.t);
  std::vector<nnet::MinibatchOutput> outputs{{graph_.Find("output"), times}};
  if (use_xent_) outputs.push_back({graph_.Find("output-xent"), times});
  w.computer.Forward(n, inputs, outputs, nnet::ForwardOptions());  // test mode: frozen BN
  const MatrixF& y = w.computer.Output(0);
  for (int64_t i = 0; i < y.size(); ++i)
    KQ_CHECK(std::isfinite(y.data()[i]), kInvalidArgument)
        << "the network output 'output' is " << y.data()[i] << " at row " << i / y.cols()
        << " (sequence " << begin + (i / y.cols()) % n << "), column " << i % y.cols();
  res.seconds_network += Seconds(t0);

  // Objective and derivatives.
  std::vector<const kaldi::ChainSupervision*> sups;
  for (int32_t j = begin; j < end; ++j) sups.push_back(&egs[static_cast<size_t>(j)]->outputs[0].supervision);
  const chain::ChainSupervisionRef sup = chain::SupervisionRefOf(sups);
  chain::ChainTrainingOptions copts = options_.chain;
  if (!out_of_range) copts.out_of_range_regularize = 0.0f;
  const chain::ChainObjective obj = chain::ComputeChainObjective(
      copts, den_graph_, sup, y, &w.deriv, use_xent_ ? &w.xent_post : nullptr, nullptr, 1);
  res.seconds_denominator += obj.den_seconds;
  res.seconds_numerator += obj.num_seconds;
  if (!obj.ok || !std::isfinite(obj.l2_term)) {
    std::string why = obj.warnings.empty() ? "" : obj.warnings.back();
    // Kaldi would zero this minibatch's derivative and go on; a NaN/Inf objective or a failed
    // denominator check means the model or the egs are broken, so stop before any update.
    KQ_THROW(kInvalidArgument) << "the objective failed (objf " << obj.objf << ", l2 term "
                               << obj.l2_term << "): " << why
                               << "; stopping without writing a model";
  }
  res.objf = obj.objf;
  res.l2_term = obj.l2_term;
  res.weight = obj.weight;
  res.output_frames = static_cast<int64_t>(n) * static_cast<int64_t>(times.size());
  if (use_xent_) {
    const MatrixF& yx = w.computer.Output(1);
    double x = 0.0;
    for (int64_t i = 0; i < yx.size(); ++i)
      if (w.xent_post.data()[i] != 0.0f) x += static_cast<double>(yx.data()[i]) * w.xent_post.data()[i];
    res.xent = x;
  }
  // Deriv weights (row f·n + j of sequence j at frame f), then the xent scale.
  const int64_t P = y.cols();
  if (options_.apply_deriv_weights) {
    for (int32_t j = 0; j < n; ++j) {
      const std::vector<float>& dw = egs[static_cast<size_t>(begin + j)]->outputs[0].deriv_weights;
      if (dw.empty()) continue;
      for (size_t f = 0; f < times.size(); ++f) {
        const int64_t r = static_cast<int64_t>(f) * n + j;
        float* d = w.deriv.Row(r);
        for (int64_t q = 0; q < P; ++q) d[q] *= dw[f];
        if (use_xent_) {
          float* x = w.xent_post.Row(r);
          for (int64_t q = 0; q < P; ++q) x[q] *= dw[f];
        }
      }
    }
  }
  if (use_xent_) {
    const float s = options_.chain.xent_regularize;
    for (int64_t i = 0; i < w.xent_post.size(); ++i) w.xent_post.data()[i] *= s;
  }

  // Backward into this unit's gradients.
  const Clock::time_point t1 = Clock::now();
  if (unit->grads.ops.empty()) {
    unit->grads = nnet::Gradients::For(graph_);
  } else {
    unit->grads.SetZero();
  }
  std::vector<const MatrixF*> derivs{&w.deriv};
  if (use_xent_) derivs.push_back(&w.xent_post);
  w.computer.Backward(derivs, &unit->grads);
  res.seconds_network += Seconds(t1);
}

MinibatchResult ChainTrainer::Train(const std::vector<const kaldi::NnetChainExample*>& egs,
                                    const std::vector<std::string>& keys,
                                    const std::string& what, float lr_scale, KaldiRand* rng) {
  Validate(egs, keys, what);
  if (before_forward_) before_forward_();
  const std::string context = what + " (" + std::to_string(egs.size()) + " egs, '" +
                              keys.front() + "'" +
                              (egs.size() > 1 ? " .. '" + keys.back() + "'" : "") + ")";
  const int32_t N = static_cast<int32_t>(egs.size());
  const int32_t U = options_.unit_sequences;
  const int32_t num_units = (N + U - 1) / U;
  // Kaldi's out-of-range coin: one RandInt(0, 1) per minibatch.
  const bool out_of_range = rng == nullptr || rng->RandInt(0, 1) == 0;
  while (units_.size() < static_cast<size_t>(num_units)) units_.push_back(std::make_unique<Unit>());
  std::vector<Unit*> units;
  for (int32_t u = 0; u < num_units; ++u) units.push_back(units_[static_cast<size_t>(u)].get());
  try {
    ParallelFor(num_units, std::min(options_.num_threads, num_units), [&](int64_t u, int worker) {
      const int32_t begin = static_cast<int32_t>(u) * U;
      RunUnit(egs, begin, std::min(N, begin + U), out_of_range, units[static_cast<size_t>(u)],
              worker);
    });
  } catch (const Error& e) {
    throw e.WithContext(context);
  }
  // Sum in unit order (thread-count independent).
  MinibatchResult total;
  const Clock::time_point t0 = Clock::now();
  nnet::Gradients& grads = units[0]->grads;
  for (size_t u = 0; u < units.size(); ++u) {
    const MinibatchResult& r = units[u]->result;
    total.num_sequences += r.num_sequences;
    total.objf += r.objf;
    total.l2_term += r.l2_term;
    total.weight += r.weight;
    total.xent += r.xent;
    total.output_frames += r.output_frames;
    total.seconds_network += r.seconds_network;
    total.seconds_numerator += r.seconds_numerator;
    total.seconds_denominator += r.seconds_denominator;
    if (u == 0) continue;
    for (const nnet::ParamRef& p : optimizer_.params()) {
      float* dst = grads.Data(p);
      const float* src = units[u]->grads.Data(p);
      const int64_t size = nnet::ParamSize(graph_, p);
      for (int64_t i = 0; i < size; ++i) dst[i] += src[i];
    }
  }
  for (const nnet::ParamRef& p : optimizer_.params()) {
    const float* g = grads.Data(p);
    const int64_t size = nnet::ParamSize(graph_, p);
    for (int64_t i = 0; i < size; ++i)
      KQ_CHECK(std::isfinite(g[i]), kInvalidArgument)
          << context << ": the gradient of '" << graph_.ops[p.op].name << "' is " << g[i]
          << "; stopping without writing a model";
  }
  total.update = optimizer_.Step(grads, lr_scale, N, rng, &graph_);
  KQ_CHECK(!total.update.skipped, kInvalidArgument)
      << context << ": the parameter change is not finite; stopping without writing a model";
  total.seconds_update = Seconds(t0);
  return total;
}

void ChainTrainer::WriteBack(kaldi::Nnet* nnet) const { nnet::WriteBackParameters(graph_, nnet); }

}  // namespace kaldiq::train
