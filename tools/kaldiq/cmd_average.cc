// kaldiq average (also nnet3-average) = Kaldi's nnet3-average: the weighted average of the
// parameters (and BatchNorm / nonlinearity statistics) of several models with the same
// structure, as train.py averages its jobs' models (src/train/average.h). Inputs may be raw
// nnets or final.mdl files; the output has the first input's form (a final.mdl keeps its
// transition model and priors), written through the temp-file + rename writer.
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/nnet3/model_io.h"
#include "train/average.h"
#include "util/error.h"

namespace kaldiq::cli {

namespace {

std::vector<float> ParseWeights(const std::string& s) {
  std::vector<float> w;
  if (s.empty()) return w;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ':')) {
    try {
      size_t pos = 0;
      w.push_back(std::stof(item, &pos));
      KQ_CHECK(pos == item.size(), kInvalidArgument) << "bad --weights '" << s << "'";
    } catch (const std::logic_error&) {
      KQ_THROW(kInvalidArgument) << "bad --weights '" << s << "'";
    }
  }
  return w;
}

}  // namespace

int RunAverage(int argc, char** argv) {
  CLI::App app;
  bool binary = true;
  std::string weights;
  std::vector<std::string> files;
  ConfigureApp(app,
               "This program averages the parameters over a number of 'raw' nnet3 neural nets\n"
               "(or final.mdl models: the output keeps the first one's transition model).\n\n"
               "Usage:  kaldiq average [options] <model1> <model2> ... <modelN> <model-out>\n"
               "e.g.:   kaldiq average 1.1.raw 1.2.raw 1.3.raw 2.raw");
  AddBool(app, "--binary", &binary, "Write output in binary mode");
  app.add_option("--weights", weights,
                 "Colon-separated list of weights, one for each input model.  These will be "
                 "normalized to sum to one.");
  app.add_option("models", files, "input models, then the output model")->required();
  return RunGuarded("average", app, argc, argv, [&]() {
    KQ_CHECK(files.size() >= 2, kInvalidArgument)
        << "expected at least one input model and the output model";
    const std::string out_name = files.back();
    files.pop_back();
    std::vector<kaldi::KaldiModel> models;
    for (const std::string& f : files) models.push_back(kaldi::ReadKaldiModel(f));
    std::vector<const kaldi::Nnet*> nnets;
    for (const kaldi::KaldiModel& m : models) nnets.push_back(&m.nnet);
    std::string warning;
    kaldi::KaldiModel out = models[0];
    out.nnet = train::AverageNnets(nnets, ParseWeights(weights), &warning);
    if (!warning.empty()) std::fprintf(stderr, "WARNING (kaldiq average) %s\n", warning.c_str());
    kaldi::WriteKaldiModel(out_name, out, binary);
    std::fprintf(stderr, "LOG (kaldiq average) Averaged parameters of %zu neural nets, and wrote to %s\n",
                 files.size(), out_name.c_str());
    return 0;
  });
}

}  // namespace kaldiq::cli
