// The online i-vector extractor's model files: final.dubm (DiagGmm), final.ie
// (IvectorExtractor) and Kaldi matrix files (final.mat, global_cmvn.stats), binary and text.
// A model that reads is also built into the objects extraction uses (which validate its
// dimensions) and written back in both modes.
#include <sstream>

#include "fuzz/fuzz_target.h"
#include "ivector/diag_gmm.h"
#include "ivector/ivector_extractor.h"
#include "kaldi/basic_io.h"
#include "kaldi/ivector_model_io.h"
#include "kaldi/matrix_io.h"

using namespace kaldiq;
using namespace kaldiq::kaldi;

KQ_FUZZ_TARGET(ivector) {
  const std::string bytes = fuzz::AsString(data, size);
  fuzz::Guarded([&] {
    std::istringstream is(bytes);
    const bool binary = ReadBinaryMarker(is);
    DiagGmmFile gmm;
    ReadDiagGmm(is, binary, &gmm);
    ivector::DiagGmm built(gmm);
    for (bool b : {true, false}) {
      std::ostringstream os;
      WriteDiagGmm(os, b, gmm);
    }
  });
  fuzz::Guarded([&] {
    std::istringstream is(bytes);
    const bool binary = ReadBinaryMarker(is);
    IvectorExtractorFile ie;
    ReadIvectorExtractor(is, binary, &ie);
    ivector::IvectorExtractor built(ie);
    for (bool b : {true, false}) {
      std::ostringstream os;
      WriteIvectorExtractor(os, b, ie);
    }
  });
  fuzz::Guarded([&] {
    std::istringstream is(bytes);
    const bool binary = ReadBinaryMarker(is);
    MatrixD m;
    ReadMatrix(is, binary, &m);
  });
}
