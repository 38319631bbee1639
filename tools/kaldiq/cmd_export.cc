// kaldiq export --dequantized: int8 model -> Kaldi final.mdl (transition model + nnet3 with the
// weights snapped to the int8 grid) that Kaldi's own tools read.
#include <cstdio>
#include <string>

#include "cli.h"
#include "commands.h"
#include "kaldi/nnet3/model_io.h"
#include "quant/export.h"
#include "quant/int8_model.h"
#include "util/error.h"

namespace kaldiq::cli {

int RunExport(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Write a Kaldi model from a kaldiq int8 model: the transition model, priors and an "
               "nnet3 whose weights are the dequantized int8 weights (activation quantization "
               "cannot be expressed in nnet3). A .raw nnet is written when the int8 model has no "
               "transition model.\n"
               "Usage: kaldiq export --dequantized <int8-model> <model-out>\n"
               " e.g.: kaldiq export --dequantized final.int8 dequantized.mdl");
  bool dequantized = false, binary = true;
  std::string in, out;
  AddBool(app, "--dequantized", &dequantized, "Write the weights dequantized (required)");
  AddBool(app, "--binary", &binary, "Write in binary mode");
  app.add_option("int8-model", in, "kaldiq int8 model")->required();
  app.add_option("model-out", out, "Kaldi model to write")->required();
  return RunGuarded("export", app, argc, argv, [&]() -> int {
    KQ_CHECK(dequantized, kInvalidArgument)
        << "only --dequantized export exists (nnet3 has no int8 components)";
    KQ_CHECK(quant::IsInt8ModelFile(in), kInvalidArgument)
        << "'" << in << "' is not a kaldiq int8 model";
    quant::Int8Model m = quant::ReadInt8Model(in);
    kaldi::KaldiModel km = quant::ExportDequantized(m);
    kaldi::WriteKaldiModel(out, km, binary);
    std::fprintf(stderr, "kaldiq export: wrote %s (%zu components, %zu int8 layers dequantized)\n",
                 out.c_str(), km.nnet.components.size(), m.layers.size());
    return 0;
  });
}

}  // namespace kaldiq::cli
