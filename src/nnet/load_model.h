// One entry point for every command that runs a network (forward, decode, recognize,
// calibrate): a Kaldi final.mdl / .raw (binary or text), or any format a registered loader
// recognises (e.g. the kaldiq int8 model file).
#pragma once

#include <functional>
#include <string>

#include "kaldi/transition_model.h"
#include "nnet/executor.h"
#include "nnet/lower.h"

namespace kaldiq::nnet {

struct InferenceModel {
  ExecutableNet net;                   // graph, kernels, context, priors (net.priors)
  bool has_transition_model = false;   // false for .raw nnets
  kaldi::TransitionModel trans_model;
  std::string format;                  // "kaldi-nnet3" or what a registered loader sets
};

struct LoadOptions {
  KernelChoice kernels = KernelChoice::kFast;
  LowerOptions lower;
};

// A loader for another model format: returns false (without throwing) when `path` is not in
// its format, fills *model and returns true when it is; throws kaldiq::Error on a corrupt file.
using ModelLoader = std::function<bool(const std::string& path, const LoadOptions& options,
                                       InferenceModel* model)>;
// Registered loaders are tried in order before the Kaldi reader. Call at start-up (e.g. from
// the CLI's main or a command), not concurrently with LoadModelForInference.
void RegisterModelLoader(ModelLoader loader);

// Reads, lowers, optimises and prepares a model. Errors name the file.
InferenceModel LoadModelForInference(const std::string& path,
                                     const LoadOptions& options = LoadOptions());

}  // namespace kaldiq::nnet
