// kaldiq calibrate: runs the fp32 network (folded for int8) over a calibration set with
// observers on every affine layer's input and writes the quantization plan (text).
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/nnet3/model_io.h"
#include "nnet/executor.h"
#include "quant/calibrate.h"
#include "quant/compare.h"
#include "quant/observer.h"
#include "quant/plan.h"
#include "quant/target.h"
#include "utterance_flags.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct CalibrateFlags {
  UtteranceFlags utt;
  std::string scheme = "best", observer, act_range, weight_quantizer, keep_float;
  float percentile = 0.0f;
  int weight_bits = 0;
  std::string bias_correction, fold_input_affine, fold_batchnorm, input_layer_float, equalize;
  float equalize_alpha = -1.0f;
  std::string target, kernels = "auto";
  int64_t num_utts = 0;
  bool quiet = false;
  std::string model, features, plan;
};

// Applies the command-line overrides to a preset.
quant::Scheme MakeScheme(const CalibrateFlags& f) {
  quant::Scheme s = quant::PresetScheme(f.scheme);
  if (!f.observer.empty()) s.observer = quant::ParseObserverKind(f.observer);
  if (f.percentile > 0.0f) s.percentile = f.percentile;
  if (!f.act_range.empty()) s.act_range = quant::ParseRangeMode(f.act_range);
  if (!f.weight_quantizer.empty()) s.weight_quantizer = quant::ParseWeightQuantizer(f.weight_quantizer);
  if (f.weight_bits != 0) {
    KQ_CHECK(f.weight_bits >= 2 && f.weight_bits <= 8, kInvalidArgument)
        << "--weight-bits must be in 2..8, got " << f.weight_bits;
    s.weight.bits = f.weight_bits;
  }
  if (!f.bias_correction.empty()) {
    KQ_CHECK(f.bias_correction == "true" || f.bias_correction == "false", kInvalidArgument)
        << "--bias-correction must be true or false";
    s.bias_correction = f.bias_correction == "true";
  }
  auto flag = [](const std::string& v, const char* name, bool* out) {
    if (v.empty()) return false;
    KQ_CHECK(v == "true" || v == "false", kInvalidArgument) << name << " must be true or false";
    *out = v == "true";
    return true;
  };
  if (!f.equalize.empty()) s.equalize = quant::ParseEqualizeMethod(f.equalize);
  if (f.equalize_alpha >= 0.0f) {
    KQ_CHECK(f.equalize_alpha <= 1.0f, kInvalidArgument)
        << "--equalize-alpha must be in [0, 1], got " << f.equalize_alpha;
    s.equalize_alpha = f.equalize_alpha;
  }
  bool rewrites = flag(f.fold_input_affine, "--fold-input-affine", &s.fold_input_affine);
  rewrites |= flag(f.input_layer_float, "--input-layer-float", &s.input_layer_float);
  rewrites |= flag(f.fold_batchnorm, "--fold-batchnorm", &s.fold_batchnorm);
  bool custom = rewrites || !f.observer.empty() || f.percentile > 0.0f || !f.act_range.empty() ||
                !f.weight_quantizer.empty() || f.weight_bits != 0 || !f.bias_correction.empty() ||
                !f.equalize.empty() || f.equalize_alpha >= 0.0f;
  if (custom) s.name += "+custom";
  return s;
}

// The weight bit width: --weight-bits, else --target's (native by default; the recipe presets
// keep their 8 bits unless --target is given, so that they stay the recipe).
std::string ApplyTarget(const CalibrateFlags& f, quant::Scheme* s) {
  if (f.weight_bits != 0) return "";
  if (f.target.empty() && f.scheme.rfind("recipe", 0) == 0) return "";
  const quant::Target t = quant::ParseTarget(f.target.empty() ? "native" : f.target);
  s->weight.bits = quant::WeightBitsFor(t);
  if (!f.quiet)
    std::fprintf(stderr, "kaldiq calibrate: target %s\n", quant::DescribeTarget(t).c_str());
  return quant::ToString(quant::Resolve(t));
}

// Weight SQNR of all int8 layers at `bits` (weights only; quantize --eval-features measures the
// output).
double WeightSqnrAt(const nnet::Graph& graph, const quant::Plan& plan, int bits) {
  quant::SqnrAccumulator acc;
  quant::TensorSpec spec = plan.scheme.weight;
  spec.bits = bits;
  for (const quant::LayerPlan& l : plan.layers) {
    if (l.keep_float) continue;
    for (const nnet::Op& op : graph.ops) {
      if (op.name != l.name || op.type != nnet::OpType::kAffine) continue;
      std::vector<quant::QParams> wq = quant::ChooseWeightQParams(
          op.weight.data(), op.output_dim, op.input_dim, op.input_dim, spec,
          plan.scheme.weight_per_channel, plan.scheme.weight_quantizer);
      std::vector<float> fq(op.weight.data(), op.weight.data() + op.weight.size());
      for (int32_t o = 0; o < op.output_dim; ++o)
        quant::FakeQuantizeInPlace(fq.data() + int64_t(o) * op.input_dim, op.input_dim, wq[o]);
      acc.Add(op.weight.data(), fq.data(), op.weight.size());
    }
  }
  return acc.Db();
}

int Calibrate(const CalibrateFlags& f) {
  quant::Scheme scheme = MakeScheme(f);
  const std::string target = ApplyTarget(f, &scheme);
  const kernels::KernelSelection kernels = ParseKernels(f.kernels);
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(f.model);
  std::vector<std::string> keep = quant::SplitCommaList(f.keep_float);
  std::vector<std::string> folds;
  nnet::Graph graph;
  try {
    graph = quant::LowerForInt8(km.nnet, f.model, quant::Int8Lowering::For(scheme), &folds);
  } catch (const Error& e) {
    throw e.WithContext(f.model);
  }
  // Equalisation calibrates twice (quant::CalibrateGraph); the second pass reads the
  // utterances kept in memory by the first, so any rspecifier (pipes, stdin) works.
  std::vector<UtteranceInput> cache;
  const bool two_pass = scheme.equalize != quant::EqualizeMethod::kNone;
  int64_t frames = 0, n = 0, pass = 0;
  quant::Plan plan = quant::CalibrateGraph(
      graph, scheme, keep, folds, f.utt.opts, [&](nnet::Executor& executor) {
        if (pass++ == 0) {
          n = ForEachUtterance(
              "calibrate", f.features, f.utt, f.num_utts, f.quiet,
              [&](const std::string&, const UtteranceInput& input) {
                executor.Compute(input);
                frames += input.feats.rows();
                if (two_pass) cache.push_back(input);
              });
          return;
        }
        Progress progress("calibrate (equalised, pass 2)", static_cast<int64_t>(cache.size()),
                          f.quiet);
        for (const UtteranceInput& u : cache) {
          executor.Compute(u);
          progress.Add();
        }
        progress.Finish();
      },
      kernels);
  plan.target = target;
  quant::WritePlan(f.plan, plan);
  if (!f.quiet) {
    std::fprintf(stderr,
                 "kaldiq calibrate: scheme %s, observer %s, %lld utterances (%lld frames); "
                 "%zu layers (%zu folds, %zu equalised) -> %s\n",
                 scheme.name.c_str(), quant::ToString(scheme.observer).c_str(),
                 static_cast<long long>(n), static_cast<long long>(frames), plan.layers.size(),
                 folds.size(), plan.equalize.size(), f.plan.c_str());
    const nnet::Graph eq = quant::EqualizedGraph(graph, plan, f.plan);
    const int bits = plan.scheme.weight.bits;
    std::fprintf(stderr, "kaldiq calibrate: %d-bit weights, weight SQNR %.2f dB", bits,
                 WeightSqnrAt(eq, plan, bits));
    if (bits == 7 || bits == 8)
      std::fprintf(stderr, " (%d-bit: %.2f dB); quantize --eval-features reports the output cost",
                   15 - bits, WeightSqnrAt(eq, plan, 15 - bits));
    std::fprintf(stderr, "\n");
  }
  return 0;
}

}  // namespace

int RunCalibrate(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Collect activation statistics of a model over a calibration set and write a "
               "quantization plan (text, one block per affine layer).\n"
               "Usage: kaldiq calibrate [options] <model> <features-rspecifier> <plan-out>\n"
               " e.g.: kaldiq calibrate --scheme=best --num-utts=30 --frame-subsampling-factor=3 "
               "final.mdl ark:feats.ark plan.txt");
  CalibrateFlags f;
  app.add_option("--scheme", f.scheme,
                 "Preset: recipe, recipe-fixed, torch-default, torch-default-pc, best")
      ->capture_default_str();
  app.add_option("--observer", f.observer,
                 "Override the activation observer: minmax, moving-average-minmax, percentile, "
                 "kl, mse");
  app.add_option("--percentile", f.percentile, "Percentile for --observer=percentile (e.g. 99.99)");
  app.add_option("--act-range", f.act_range, "Override activation ranges: static, utterance, chunk");
  app.add_option("--weight-bits", f.weight_bits, "Override the weight bit width (2..8; overrides --target)");
  app.add_option("--target", f.target,
                 "Where the model will run, choosing the weight bits whose kernels are fastest "
                 "there: native (this CPU; the default), portable (7-bit, fast on every x86 "
                 "CPU), avx2 (7-bit: AVX2 without VNNI), vnni (8-bit: AVX-512 VNNI / AVX-VNNI). "
                 "The recipe presets keep 8 bits unless given");
  AddKernelsOption(app, &f.kernels);
  app.add_option("--weight-quantizer", f.weight_quantizer, "Override weight ranges: minmax, mse");
  app.add_option("--bias-correction", f.bias_correction, "Override bias correction: true, false");
  app.add_option("--fold-input-affine", f.fold_input_affine,
                 "Override: fold the input affine layer (LDA) into the next layer (true, false)");
  app.add_option("--fold-batchnorm", f.fold_batchnorm,
                 "Override: fold BatchNorm into the neighbouring affine layers (true, false; the "
                 "recipe presets keep it as a float op, as the recipe did)");
  app.add_option("--input-layer-float", f.input_layer_float,
                 "Override: keep the layers reading the network input in fp32 (true, false)");
  app.add_option("--equalize", f.equalize,
                 "Override per-channel activation equalisation: none, smooth (SmoothQuant), dfq "
                 "(calibrates twice; keeps the calibration features in memory)");
  app.add_option("--equalize-alpha", f.equalize_alpha,
                 "Override the SmoothQuant migration strength alpha in [0, 1]");
  app.add_option("--keep-float", f.keep_float,
                 "Comma-separated affine layers to keep in fp32 (e.g. output.affine)");
  app.add_option("--num-utts", f.num_utts, "Use at most this many utterances (0 = all)")
      ->capture_default_str();
  AddUtteranceOptions(app, &f.utt);
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("model", f.model, "Kaldi final.mdl or .raw")->required();
  app.add_option("features-rspecifier", f.features, "Calibration features")->required();
  app.add_option("plan-out", f.plan, "Output plan (text)")->required();
  return RunGuarded("calibrate", app, argc, argv, [&]() { return Calibrate(f); });
}

}  // namespace kaldiq::cli
