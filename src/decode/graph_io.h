// Reading a decoding graph (HCLG.fst) with OpenFst, as Kaldi's ReadFstKaldi does: the binary
// OpenFst format, "const" (what Kaldi's mkgraph.sh writes) or "vector" type, StdArc arcs.
// The graph is validated once after reading (state ids, arc layout, weights) so a corrupt file
// is a clear error, never an out-of-bounds read in the decoder.
#pragma once

#include <fst/const-fst.h>
#include <fst/vector-fst.h>

#include <istream>
#include <memory>
#include <string>

namespace kaldiq::decode {

struct DecodingGraph {
  // Exactly one is set.
  std::unique_ptr<fst::ConstFst<fst::StdArc>> const_fst;
  std::unique_ptr<fst::VectorFst<fst::StdArc>> vector_fst;

  int64_t NumStates() const;
  std::string Type() const { return const_fst ? "const" : "vector"; }
};

// rxfilename as kaldi::Input accepts ("-", "cmd |", "file:offset", file). Throws kaldiq::Error
// (kFormat / kIo / kUnsupported) naming the file: not an FST, unsupported arc or FST type,
// truncated, or structurally corrupt.
DecodingGraph ReadDecodingGraph(const std::string& rxfilename);
// The same from an open stream at the start of the FST; `name` names it in messages.
DecodingGraph ReadDecodingGraph(std::istream& is, const std::string& name);

// Checks an FST in memory: a start state, next states in range, weights that are not NaN or
// -inf, and (for ConstFst) that each state's arcs lie inside the arc array. Throws kFormat.
void ValidateGraph(const fst::ConstFst<fst::StdArc>& g, int64_t declared_arcs);
void ValidateGraph(const fst::VectorFst<fst::StdArc>& g);

}  // namespace kaldiq::decode
