#include "decode/graph_io.h"

#include <fst/fst.h>

#include <cmath>
#include <istream>

#include "kaldi/kaldi_stream.h"
#include "util/error.h"

namespace kaldiq::decode {

int64_t DecodingGraph::NumStates() const {
  return const_fst ? const_fst->NumStates() : vector_fst->NumStates();
}

namespace {

void CheckWeight(float w, int64_t state) {
  KQ_CHECK(!std::isnan(w) && w != -std::numeric_limits<float>::infinity(), kFormat)
      << "corrupt decoding graph: invalid weight " << w << " at state " << state;
}

template <class FST>
void CheckStatesAndArcs(const FST& g, int64_t num_states, int64_t declared_arcs,
                        bool check_const_layout) {
  KQ_CHECK(g.Start() != fst::kNoStateId, kFormat) << "decoding graph has no start state";
  KQ_CHECK(g.Start() >= 0 && g.Start() < num_states, kFormat)
      << "corrupt decoding graph: start state " << g.Start() << " out of range";
  int64_t total = 0;
  const fst::StdArc* base = nullptr;
  for (int64_t s = 0; s < num_states; ++s) {
    CheckWeight(g.Final(s).Value(), s);
    const int64_t n = g.NumArcs(s);
    if (check_const_layout) {
      // ConstFst keeps all arcs in one array in state order: state s's arcs must start right
      // after state s-1's and end inside the array (a corrupt offset would point anywhere).
      KQ_CHECK(total + n <= declared_arcs, kFormat)
          << "corrupt decoding graph: state " << s << " has arcs beyond the arc array";
      if (n > 0) {
        fst::ArcIterator<FST> aiter(g, s);
        const fst::StdArc* first = &aiter.Value();
        if (base == nullptr) base = first - total;
        KQ_CHECK(first == base + total, kFormat)
            << "corrupt decoding graph: arcs of state " << s << " are not where expected";
      }
    }
    for (fst::ArcIterator<FST> aiter(g, s); !aiter.Done(); aiter.Next()) {
      const fst::StdArc& arc = aiter.Value();
      KQ_CHECK(arc.nextstate >= 0 && arc.nextstate < num_states, kFormat)
          << "corrupt decoding graph: arc from state " << s << " to state " << arc.nextstate
          << " (graph has " << num_states << " states)";
      KQ_CHECK(arc.ilabel >= 0 && arc.olabel >= 0, kFormat)
          << "corrupt decoding graph: negative label at state " << s;
      CheckWeight(arc.weight.Value(), s);
    }
    total += n;
  }
  KQ_CHECK(!check_const_layout || total == declared_arcs, kFormat)
      << "corrupt decoding graph: header declares " << declared_arcs << " arcs, states hold "
      << total;
}

}  // namespace

void ValidateGraph(const fst::ConstFst<fst::StdArc>& g, int64_t declared_arcs) {
  CheckStatesAndArcs(g, g.NumStates(), declared_arcs, true);
}

void ValidateGraph(const fst::VectorFst<fst::StdArc>& g) {
  CheckStatesAndArcs(g, g.NumStates(), -1, false);
}

DecodingGraph ReadDecodingGraph(const std::string& rxfilename) {
  try {
    kaldi::Input input(rxfilename, /*read_binary_header=*/false);
    std::istream& is = input.Stream();
    fst::FstHeader hdr;
    KQ_CHECK(hdr.Read(is, rxfilename), kFormat) << "not an OpenFst binary FST (bad header)";
    KQ_CHECK(hdr.ArcType() == fst::StdArc::Type(), kUnsupported)
        << "FST arc type is '" << hdr.ArcType() << "', expected '" << fst::StdArc::Type() << "'";
    KQ_CHECK(hdr.NumStates() >= 0 && hdr.NumArcs() >= 0, kFormat)
        << "FST header has negative sizes";
    // Refuse absurd declared sizes before OpenFst allocates for them (a seekable file only).
    if (input.kind() == kaldi::InputKind::kFile) {
      const std::streampos here = is.tellg();
      is.seekg(0, std::ios::end);
      const std::streampos end = is.tellg();
      is.seekg(here);
      if (here >= 0 && end >= here) {
        const int64_t remaining = static_cast<int64_t>(end - here);
        const int64_t min_bytes = hdr.FstType() == "const"
                                      ? hdr.NumStates() * 20 + hdr.NumArcs() * 16
                                      : hdr.NumStates() * 4;
        KQ_CHECK(min_bytes <= remaining, kFormat)
            << "FST header declares " << hdr.NumStates() << " states and " << hdr.NumArcs()
            << " arcs but only " << remaining << " bytes follow (truncated or corrupt)";
      }
    }
    fst::FstReadOptions ropts(rxfilename, &hdr);
    DecodingGraph g;
    if (hdr.FstType() == "const") {
      g.const_fst.reset(fst::ConstFst<fst::StdArc>::Read(is, ropts));
      KQ_CHECK(g.const_fst != nullptr, kFormat) << "could not read the const FST (truncated?)";
      ValidateGraph(*g.const_fst, hdr.NumArcs());
    } else if (hdr.FstType() == "vector") {
      g.vector_fst.reset(fst::VectorFst<fst::StdArc>::Read(is, ropts));
      KQ_CHECK(g.vector_fst != nullptr, kFormat) << "could not read the vector FST (truncated?)";
      ValidateGraph(*g.vector_fst);
    } else {
      KQ_THROW(kUnsupported) << "FST type '" << hdr.FstType()
                             << "' is not supported (use const or vector; fstconvert)";
    }
    return g;
  } catch (const Error& e) {
    throw e.WithContext("decoding graph " + rxfilename);
  }
}

}  // namespace kaldiq::decode
