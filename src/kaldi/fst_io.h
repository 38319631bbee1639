// OpenFst's binary FST files as Kaldi writes them, read and written without OpenFst (kq_kaldi
// does not link it): the "vector" type (den.fst, normalization.fst) and the "compact_acceptor"
// type inside chain supervision (StdCompactAcceptorFst, default write options).
//
// Layout (OpenFst 1.7 fst.h FstHeader, vector-fst.h, compact-fst.h; little-endian, no size bytes):
//   int32 magic 2125659606 | int32 n + type | int32 n + "standard" | int32 version |
//   int32 flags | uint64 properties | int64 start | int64 num_states | int64 num_arcs
//   vector (version 2):   per state: float final (+inf = not final), int64 num_arcs,
//                         num_arcs x {int32 ilabel, int32 olabel, float weight, int32 nextstate}
//   compact_acceptor (version 2 = unaligned): uint32 offsets[num_states + 1], then
//                         offsets[num_states] x {int32 label, float weight, int32 nextstate};
//                         state s owns elements offsets[s] .. offsets[s+1]-1; an element with
//                         label -1 (stored first) is the state's final weight, the others are
//                         arcs with ilabel = olabel = label.
// Only the tropical semiring ("standard" arcs) is supported; symbol tables (flags != 0) and the
// aligned version 1 are rejected. Readers validate every count and index against the bytes that
// remain and throw kaldiq::Error (kFormat) naming the field and the byte offset; they never
// allocate more than the input can hold.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace kaldiq::kaldi {

struct StdArc {
  int32_t ilabel = 0;
  int32_t olabel = 0;
  float weight = 0.0f;  // tropical: -log probability
  int32_t nextstate = -1;
};

// A tropical-weight FST as plain data: states 0..NumStates()-1, the arcs of state s are
// arcs[arc_begin[s] .. arc_begin[s+1]).
struct StdFst {
  int32_t start = -1;                 // -1: empty FST
  std::vector<float> finals;          // one per state; +inf = not final
  std::vector<int64_t> arc_begin{0};  // NumStates() + 1 entries
  std::vector<StdArc> arcs;
  // OpenFst property bits as stored in the file header (read) or as ComputeFstProperties gives
  // (built). Written back unchanged, so a read FST is written byte-identically.
  uint64_t properties = 0;

  int32_t NumStates() const { return static_cast<int32_t>(finals.size()); }
  int64_t NumArcs() const { return static_cast<int64_t>(arcs.size()); }
  int64_t NumArcs(int32_t s) const { return arc_begin[s + 1] - arc_begin[s]; }
  const StdArc* ArcsBegin(int32_t s) const { return arcs.data() + arc_begin[s]; }
  const StdArc* ArcsEnd(int32_t s) const { return arcs.data() + arc_begin[s + 1]; }
  bool IsFinal(int32_t s) const;
  bool IsAcceptor() const;

  // Building: AddState() then the state's arcs with AddArc (states in order).
  int32_t AddState(float final_weight);
  void AddArc(const StdArc& arc);  // to the last state added
};

// OpenFst's property bits used here (fst/properties.h).
namespace fst_props {
constexpr uint64_t kExpanded = 0x1ULL;
constexpr uint64_t kAcceptor = 0x10000ULL;
constexpr uint64_t kNoEpsilons = 0x800000ULL;
constexpr uint64_t kAcyclic = 0x800000000ULL;
constexpr uint64_t kTopSorted = 0x4000000000ULL;
}  // namespace fst_props

// All trinary properties of `fst` as OpenFst's ComputeProperties computes them (acceptor,
// determinism, epsilons, label sorting, weights, cycles, top-sorting, accessibility, string),
// plus kExpanded: what OpenFst writes into the header of a freshly built FST.
uint64_t ComputeFstProperties(const StdFst& fst);

// Binary "vector" FST (OpenFst VectorFst::Write). The header's arc count is not trusted (Kaldi's
// den.fst stores 0); arcs are counted while reading.
StdFst ReadVectorFst(std::istream& is);
void WriteVectorFst(std::ostream& os, const StdFst& fst);

// Binary "compact_acceptor" FST (StdCompactAcceptorFst). Writing requires an acceptor.
StdFst ReadCompactAcceptorFst(std::istream& is);
void WriteCompactAcceptorFst(std::ostream& os, const StdFst& fst);

// Kaldi's text FST (WriteFstKaldi/ReadFstKaldi in text mode, OpenFst's printer format with
// tabs): a newline, then "src dst ilabel olabel [weight]" and "state [weight]" lines, the start
// state's lines first, then an empty line. Reading accepts the 3-column acceptor form too.
StdFst ReadTextFst(std::istream& is);
void WriteTextFst(std::ostream& os, const StdFst& fst);

// Kaldi's ReadFstKaldi(rxfilename) for a binary vector FST: "den.fst", "-", "cmd |", ...
// Errors name the file.
StdFst ReadFstFile(const std::string& rxfilename);

}  // namespace kaldiq::kaldi
