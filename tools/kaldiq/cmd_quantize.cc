// kaldiq quantize: model + plan -> int8 model file; prints per-layer weight SQNR, the size
// against the fp32 model and, with --eval-features, per-layer / output SQNR and argmax
// agreement of the int8 network against the fp32 one.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/nnet3/model_io.h"
#include "nnet/executor.h"
#include "quant/calibrate.h"
#include "quant/compare.h"
#include "quant/int8_model.h"
#include "quant/plan.h"
#include "quant/scheme.h"
#include "quant/target.h"
#include "utterance_flags.h"
#include "util/error.h"

namespace kaldiq::cli {

namespace {

struct QuantizeFlags {
  UtteranceFlags utt;
  std::string keep_float, eval_features, target, kernels = "auto";
  int64_t num_utts = 0;
  bool quiet = false;
  std::string model, plan, output;
};

// Total weight SQNR of the int8 layers of `model` against the fp32 weights of `graph`.
double WeightSqnrDb(const quant::Int8Model& model, const nnet::Graph& graph) {
  quant::SqnrAccumulator acc;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    MatrixF w = quant::DequantizedWeights(model.layers[i]);
    acc.Add(graph.ops[model.layer_ops[i]].weight.data(), w.data(), w.size());
  }
  return acc.Db();
}

int Quantize(const QuantizeFlags& f) {
  const kernels::KernelSelection kernels = ParseKernels(f.kernels);
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(f.model);
  quant::Plan plan = quant::ReadPlan(f.plan);
  nnet::Graph graph;
  try {
    graph = quant::LowerForInt8(km.nnet, f.model, quant::Int8Lowering::For(plan.scheme),
                                nullptr);
  } catch (const Error& e) {
    throw e.WithContext(f.model);
  }
  std::vector<std::string> keep = quant::SplitCommaList(f.keep_float);
  quant::CheckKeepFloat(graph, keep);
  for (const std::string& name : keep) {
    for (quant::LayerPlan& l : plan.layers)
      if (l.name == name) l.keep_float = true;
  }
  // The fp32 graph the int8 layers approximate (equalisation included): the reference for the
  // weight SQNR and for --eval-features.
  nnet::Graph reference = quant::EqualizedGraph(graph, plan, f.plan);
  // --target re-derives the weights at its bit width (from the plan's calibration means).
  const int plan_bits = plan.scheme.weight.bits;
  std::string target = plan.target.empty() ? "plan" : plan.target;
  if (!f.target.empty()) {
    const quant::Target t = quant::ParseTarget(f.target);
    target = quant::DescribeTarget(t);
    try {
      plan = quant::WithWeightBits(plan, reference, quant::WeightBitsFor(t));
    } catch (const Error& e) {
      throw e.WithContext("plan '" + f.plan + "'");
    }
  }
  const int bits = plan.scheme.weight.bits;
  quant::Int8Model model = quant::BuildInt8Model(graph, plan, f.plan);
  model.has_transition_model = km.has_transition_model;
  model.trans_model = km.trans_model;
  model.priors = km.priors;
  // The kernels each layer runs on this CPU (and a check that a forced --kernels can run them).
  nnet::ExecutableNet test = quant::MakeInt8Executable(model, kernels);
  quant::WriteInt8Model(f.output, model);

  // The same model at the other weight width, for the SQNR cost of the choice (needs the
  // calibration means when the scheme corrects biases; a plan from an older calibrate has none).
  const int other_bits = bits == 8 ? 7 : 8;
  std::unique_ptr<quant::Int8Model> other;
  std::string other_note;
  if (bits == 7 || bits == 8) {
    try {
      quant::Plan p = quant::WithWeightBits(plan, reference, other_bits);
      other = std::make_unique<quant::Int8Model>(quant::BuildInt8Model(graph, p, f.plan));
    } catch (const Error& e) {
      other_note = e.what();
    }
  }

  // Report: weight SQNR per layer, then the file sizes.
  std::printf("kaldiq quantize: scheme %s, %d-bit weights (target %s%s) -> %s\n",
              plan.scheme.name.c_str(), bits, target.c_str(),
              (bits != plan_bits ? ", re-derived from the plan's " + std::to_string(plan_bits) +
                                       "-bit weights"
                                 : std::string())
                  .c_str(),
              f.output.c_str());
  for (const std::string& fold : model.folds) std::printf("  fold %s\n", fold.c_str());
  for (const quant::Equalization& e : model.equalize)
    std::printf("  equalize %s (%zu channels)\n", e.producer.c_str(), e.scale.size());
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const quant::QuantizedAffine& q = model.layers[i];
    const nnet::Op& op = reference.ops[model.layer_ops[i]];
    MatrixF w = quant::DequantizedWeights(q);
    std::printf("  layer %-28s int8 %5d -> %5d  input scale %.6g zp %d  weight SQNR %6.2f dB  "
                "kernel %s\n",
                q.name.c_str(), q.input_dim, q.output_dim, q.act.scale, q.act.zero_point,
                quant::SqnrDb(op.weight.data(), w.data(), w.size()),
                test.kernels[model.layer_ops[i]]->Describe().c_str());
  }
  for (const quant::LayerPlan& l : plan.layers)
    if (l.keep_float) std::printf("  layer %-28s kept in fp32\n", l.name.c_str());
  std::printf("  weight SQNR of all int8 layers: %.2f dB", WeightSqnrDb(model, reference));
  if (other)
    std::printf(" (%d-bit weights: %.2f dB)", other_bits, WeightSqnrDb(*other, reference));
  std::printf("\n");
  int64_t in_size = quant::FileSize(f.model), out_size = quant::FileSize(f.output);
  if (in_size > 0 && out_size > 0)
    std::printf("  size: %lld bytes (fp32 model %lld bytes): %.1f%%\n",
                static_cast<long long>(out_size), static_cast<long long>(in_size),
                100.0 * double(out_size) / double(in_size));

  if (!f.eval_features.empty()) {
    nnet::ExecutableNet ref = nnet::Prepare(reference, kernels);
    nnet::ComputeOptions opts = f.utt.opts;
    if (plan.scheme.act_range == quant::RangeMode::kUtterance)
      opts.frames_per_chunk = 1 << 20;  // one chunk = the whole utterance
    quant::Comparer cmp(ref, test, opts);
    nnet::ExecutableNet other_net;
    std::unique_ptr<quant::Comparer> other_cmp;
    if (other) {
      other_net = quant::MakeInt8Executable(*other);  // auto kernels: exact for either width
      other_cmp = std::make_unique<quant::Comparer>(ref, other_net, opts);
    }
    ForEachUtterance("quantize", f.eval_features, f.utt, f.num_utts, f.quiet,
                     [&](const std::string&, const UtteranceInput& in) {
                       cmp.Add(in.feats, in.Ivector(), in.OnlineIvectors());
                       if (other_cmp) other_cmp->Add(in.feats, in.Ivector(), in.OnlineIvectors());
                     });
    std::printf("  accuracy vs fp32 on %s:\n", f.eval_features.c_str());
    cmp.Print(stdout, "  ");
    if (other_cmp) {
      const double db8 = bits == 8 ? cmp.OutputSqnrDb() : other_cmp->OutputSqnrDb();
      const double db7 = bits == 7 ? cmp.OutputSqnrDb() : other_cmp->OutputSqnrDb();
      std::printf("  the same plan with %d-bit weights (not written): output SQNR %.2f dB, "
                  "argmax agreement %.2f%%; 7-bit weights cost %.2f dB of output SQNR\n",
                  other_bits, other_cmp->OutputSqnrDb(), 100.0 * other_cmp->ArgmaxAgreement(),
                  db8 - db7);
    } else if (!other_note.empty()) {
      std::printf("  (no %d-bit comparison: %s)\n", other_bits, other_note.c_str());
    }
  }
  return 0;
}

}  // namespace

int RunQuantize(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Write a kaldiq int8 model (int8 weights, scales, transition model, priors) from "
               "a Kaldi model and a plan made by `kaldiq calibrate`.\n"
               "Usage: kaldiq quantize [options] <model> <plan> <int8-model-out>\n"
               " e.g.: kaldiq quantize --eval-features=ark:dev.ark --frame-subsampling-factor=3 "
               "final.mdl plan.txt final.int8");
  QuantizeFlags f;
  app.add_option("--keep-float", f.keep_float,
                 "Comma-separated affine layers to keep in fp32 (overrides the plan)");
  app.add_option("--eval-features", f.eval_features,
                 "Features to measure int8 vs fp32 accuracy on (per-layer SQNR, output SQNR, "
                 "argmax agreement)");
  app.add_option("--num-utts", f.num_utts, "At most this many --eval-features utterances (0 = all)")
      ->capture_default_str();
  app.add_option("--target", f.target,
                 "Where the model will run, choosing the weight bit width: native (this CPU), "
                 "portable, avx2 (7-bit), vnni (8-bit); default: the plan's (calibrate --target). "
                 "A different width is re-derived from the plan's calibration statistics");
  AddKernelsOption(app, &f.kernels);
  AddUtteranceOptions(app, &f.utt);
  AddBool(app, "--quiet", &f.quiet, "No progress on stderr");
  app.add_option("model", f.model, "Kaldi final.mdl or .raw (the one the plan was made for)")
      ->required();
  app.add_option("plan", f.plan, "Plan from kaldiq calibrate")->required();
  app.add_option("int8-model-out", f.output, "Output int8 model")->required();
  return RunGuarded("quantize", app, argc, argv, [&]() { return Quantize(f); });
}

}  // namespace kaldiq::cli
