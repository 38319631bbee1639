#include "nnet/load_model.h"

#include <vector>

#include "kaldi/nnet3/model_io.h"
#include "util/error.h"

namespace kaldiq::nnet {

namespace {
std::vector<ModelLoader>& Loaders() {
  static std::vector<ModelLoader> loaders;
  return loaders;
}
}  // namespace

void RegisterModelLoader(ModelLoader loader) { Loaders().push_back(std::move(loader)); }

InferenceModel LoadModelForInference(const std::string& path, const LoadOptions& options) {
  InferenceModel model;
  for (const ModelLoader& loader : Loaders())
    if (loader(path, options, &model)) return model;
  kaldi::KaldiModel km = kaldi::ReadKaldiModel(path);
  // The Kaldi model's weights move into the graph, and each moves on into its packed kernel:
  // one copy of the weights at any time (plus the layer being packed).
  Graph graph = LowerNnet(std::move(km.nnet), path, options.lower);  // errors name the file
  try {
    model.net = Prepare(std::move(graph), options.kernels, nullptr, /*release_weights=*/true);
  } catch (const Error& e) {
    throw e.WithContext(path);
  }
  model.net.priors = std::move(km.priors);
  model.has_transition_model = km.has_transition_model;
  model.trans_model = std::move(km.trans_model);
  model.format = "kaldi-nnet3";
  return model;
}

}  // namespace kaldiq::nnet
