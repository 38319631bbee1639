// nnet3 model files, binary and text: final.mdl (transition model + nnet + priors) and .raw
// (a bare <Nnet3>), as `kaldiq info` reads them: the model, its left/right context, and the
// model written back in both modes.
#include <sstream>

#include "fuzz/fuzz_target.h"
#include "kaldi/nnet3/context.h"
#include "kaldi/nnet3/model_io.h"

using namespace kaldiq;
using namespace kaldiq::kaldi;

KQ_FUZZ_TARGET(nnet3) {
  std::istringstream is(fuzz::AsString(data, size));
  const KaldiModel model = ReadKaldiModel(is);
  fuzz::Guarded([&] { ComputeContext(model.nnet); });
  for (bool binary : {true, false}) {
    std::ostringstream os;
    WriteNnet(os, binary, model.nnet);
  }
}
