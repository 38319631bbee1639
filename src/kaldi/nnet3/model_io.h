// Reading and writing Kaldi nnet3 model files, byte-identical to Kaldi in binary and text:
//   final.mdl  = TransitionModel + AmNnetSimple (Nnet + <LeftContext> + <RightContext> + <Priors>)
//   *.raw      = a bare <Nnet3> object (nnet3-copy / nnet3-init output)
// Files are opened with kaldi/kaldi_stream.h (so "-", "cmd |" and "file:offset" work).
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "kaldi/nnet3/nnet.h"
#include "kaldi/transition_model.h"

namespace kaldiq::kaldi {

struct KaldiModel {
  bool has_transition_model = false;  // false for a .raw nnet
  TransitionModel trans_model;
  Nnet nnet;
  // AmNnetSimple fields (meaningful only when has_transition_model):
  std::vector<float> priors;  // empty if the model has no priors (chain models)
  int32_t left_context = 0;   // as stored in the file (Kaldi's nnet3-am-info "left-context")
  int32_t right_context = 0;
};

// Reads a final.mdl or a .raw nnet (decided by the first token), binary or text.
// Errors are kaldiq::Error prefixed with the file name, e.g.
// "final.mdl: component 'tdnn3.affine' (NaturalGradientAffineComponent): expected <BiasParams>, got ..."
// or "model.raw: unsupported component type <LstmNonlinearityComponent> (component 'lstm1.c')".
KaldiModel ReadKaldiModel(const std::string& rxfilename);
// The same from an open stream positioned at the start of the file (binary marker included);
// errors carry no file name.
KaldiModel ReadKaldiModel(std::istream& is);
// Writes atomically (temp file + rename through kaldi::Output). Text mode uses Kaldi's
// precision (7 significant digits), so text round trips are byte-identical too.
void WriteKaldiModel(const std::string& wxfilename, const KaldiModel& model, bool binary);

// Accepts a bare transition model (0.trans_mdl) or a final.mdl (reads only its leading
// transition model).
TransitionModel ReadTransitionModel(const std::string& rxfilename);
void WriteTransitionModel(const std::string& wxfilename, const TransitionModel& tm, bool binary);

// Stream-level pieces (binary marker already consumed / not written):
// "<Nnet3> ... </Nnet3>". `what` names the source for error messages.
void ReadNnet(std::istream& is, bool binary, Nnet* nnet);
void WriteNnet(std::ostream& os, bool binary, const Nnet& nnet);
// One component's serialisation starting at its type token "<XComponent>" through the closing
// "</XComponent>". ReadComponent throws kUnsupported naming the type for unknown types.
Component ReadComponent(std::istream& is, bool binary, const std::string& name);
void WriteComponent(std::ostream& os, bool binary, const Component& c);

}  // namespace kaldiq::kaldi
