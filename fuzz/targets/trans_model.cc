// Transition models (0.trans_mdl, the head of every final.mdl), binary and text, read and
// written back; then every transition-id is looked up as the decoder and lattice tools do.
#include <sstream>

#include "fuzz/fuzz_target.h"
#include "kaldi/basic_io.h"
#include "kaldi/transition_model.h"

using namespace kaldiq;
using namespace kaldiq::kaldi;

KQ_FUZZ_TARGET(trans_model) {
  std::istringstream is(fuzz::AsString(data, size));
  TransitionModel tm;
  const bool binary = ReadBinaryMarker(is);
  tm.Read(is, binary);
  for (bool b : {true, false}) {
    std::ostringstream os;
    tm.Write(os, b);
  }
  for (int32_t tid = 1; tid <= tm.NumTransitionIds(); ++tid) {
    tm.TransitionIdToPdf(tid);
    tm.TransitionIdToPhone(tid);
    tm.IsSelfLoop(tid);
    tm.IsFinal(tid);
    tm.GetTransitionLogProb(tid);
  }
}
