#include "decode/graph_io.h"

#include <fst/fst.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <istream>
#include <limits>
#include <memory>
#include <sstream>
#include <vector>

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
    return ReadDecodingGraph(input.Stream(), rxfilename);
  } catch (const Error& e) {
    throw e.WithContext("decoding graph " + rxfilename);
  }
}

namespace {

// OpenFst's binary layout (fst/fst.h FstHeader, const-fst.h, vector-fst.h), parsed here because
// OpenFst's own readers trust every count: a header string length of 2^31 makes FstHeader::Read
// loop and allocate for minutes, a ConstFst state count makes it allocate nstates * 20 bytes
// before reading any, a VectorFst arc count is reserved as declared.
constexpr int32_t kFstMagic = 2125659606;
constexpr int32_t kHasISymbols = 1, kHasOSymbols = 2, kIsAligned = 4;
constexpr int64_t kConstStateBytes = 20;  // ConstFst<StdArc, uint32>::ConstState
constexpr int64_t kArcBytes = 16;         // StdArc: ilabel, olabel, weight, nextstate
constexpr int64_t kAlign = 16;            // OpenFst's MappedFile::kArchAlignment

// Little-endian values from a stream whose remaining size is known, counting the position for
// messages.
class FstBytes {
 public:
  FstBytes(std::istream& is, int64_t remaining) : is_(is), left_(remaining) {
    const auto pos = is.tellg();
    start_ = pos == std::istream::pos_type(-1) ? 0 : static_cast<int64_t>(pos);
  }
  template <class T>
  T Read(const char* what) {
    T v{};
    Need(sizeof(T), what);
    is_.read(reinterpret_cast<char*>(&v), sizeof(T));
    KQ_CHECK(is_.good(), kFormat) << "truncated FST while reading " << what << Where();
    Take(sizeof(T));
    return v;
  }
  std::string String(const char* what) {
    const int32_t n = Read<int32_t>(what);
    KQ_CHECK(n >= 0 && n <= 256, kFormat) << "bad length " << n << " of the " << what << Where();
    Need(n, what);
    std::string out(static_cast<size_t>(n), '\0');
    is_.read(&out[0], n);
    KQ_CHECK(is_.good(), kFormat) << "truncated FST while reading " << what << Where();
    Take(n);
    return out;
  }
  void Need(int64_t n, const char* what) const {
    KQ_CHECK(n <= left_, kFormat) << "truncated FST: " << what << " needs " << n
                                  << " bytes, only " << left_ << " left" << Where();
  }
  int64_t Position() const { return start_ + used_; }
  int64_t Left() const { return left_; }
  std::string Where() const { return " at byte offset " + std::to_string(Position()); }

 private:
  void Take(int64_t n) {
    used_ += n;
    left_ -= n;
  }
  std::istream& is_;
  int64_t start_ = 0, used_ = 0, left_ = 0;
};

struct Header {
  std::string fst_type, arc_type;
  int32_t version = 0, flags = 0;
  uint64_t properties = 0;
  int64_t start = -1, num_states = 0, num_arcs = 0;
};

Header ReadHeader(FstBytes& in) {
  Header h;
  KQ_CHECK(in.Read<int32_t>("FST magic number") == kFstMagic, kFormat)
      << "not an OpenFst binary FST (bad magic number)";
  h.fst_type = in.String("FST type");
  h.arc_type = in.String("arc type");
  h.version = in.Read<int32_t>("FST version");
  h.flags = in.Read<int32_t>("FST flags");
  h.properties = in.Read<uint64_t>("FST properties");
  h.start = in.Read<int64_t>("start state");
  h.num_states = in.Read<int64_t>("number of states");
  h.num_arcs = in.Read<int64_t>("number of arcs");
  KQ_CHECK(h.arc_type == fst::StdArc::Type(), kUnsupported)
      << "FST arc type is '" << QuoteBytes(h.arc_type) << "', expected '" << fst::StdArc::Type()
      << "'";
  KQ_CHECK(h.fst_type == "const" || h.fst_type == "vector", kUnsupported)
      << "FST type '" << QuoteBytes(h.fst_type)
      << "' is not supported (use const or vector; fstconvert)";
  KQ_CHECK(!(h.flags & (kHasISymbols | kHasOSymbols)), kUnsupported)
      << "decoding graphs with attached symbol tables are not supported (remove them with "
         "fstsymbols --clear_isymbols --clear_osymbols)";
  return h;
}

void CheckStart(const Header& h, FstBytes& in) {
  KQ_CHECK(h.start >= -1 && h.start < h.num_states, kFormat)
      << "FST header has start state " << h.start << " of " << h.num_states << in.Where();
}

// The const FST's state array, read in chunks from `states_pos` before OpenFst maps it: each
// state's arcs must follow the previous state's (OpenFst's ArcIterator indexes the arc array
// with the stored offset unchecked, so a corrupt offset reads anywhere), the epsilon counts must
// fit the arc count, and the offsets must add up to the header's arc count.
void CheckConstStates(std::istream& is, int64_t states_pos, const Header& h) {
  is.clear();
  is.seekg(states_pos);
  KQ_CHECK(is.good(), kIo) << "cannot seek to the FST state array";
  constexpr int64_t kChunk = 1 << 14;
  std::vector<char> buf(static_cast<size_t>(kChunk * kConstStateBytes));
  uint64_t total = 0;
  for (int64_t s0 = 0; s0 < h.num_states; s0 += kChunk) {
    const int64_t n = std::min(kChunk, h.num_states - s0);
    is.read(buf.data(), n * kConstStateBytes);
    KQ_CHECK(is.gcount() == n * kConstStateBytes, kFormat)
        << "truncated FST state array (state " << s0 << ")";
    for (int64_t i = 0; i < n; ++i) {
      const char* p = buf.data() + i * kConstStateBytes;
      uint32_t pos, narcs, nieps, noeps;
      std::memcpy(&pos, p + 4, 4);
      std::memcpy(&narcs, p + 8, 4);
      std::memcpy(&nieps, p + 12, 4);
      std::memcpy(&noeps, p + 16, 4);
      KQ_CHECK(pos == total && nieps <= narcs && noeps <= narcs &&
                   total + narcs <= static_cast<uint64_t>(h.num_arcs),
               kFormat)
          << "corrupt decoding graph: state " << s0 + i << " has arcs [" << pos << ", +" << narcs
          << ") (expected offset " << total << " of " << h.num_arcs << " arcs)";
      total += narcs;
    }
  }
  KQ_CHECK(total == static_cast<uint64_t>(h.num_arcs), kFormat)
      << "corrupt decoding graph: header declares " << h.num_arcs << " arcs, states hold "
      << total;
}

// The const FST's header, with the sizes checked against the bytes that follow (overflow-free:
// by division), then the whole FST from its first byte read by OpenFst.
void ReadConst(std::istream& is, int64_t header_pos, const Header& h, FstBytes& in,
               DecodingGraph* g) {
  KQ_CHECK(h.version >= 1 && h.version <= 2, kFormat)
      << "unsupported const FST version " << h.version;
  KQ_CHECK(h.num_states >= 0 && h.num_states <= std::numeric_limits<int32_t>::max() &&
               h.num_arcs >= 0 && h.num_arcs <= std::numeric_limits<uint32_t>::max(),
           kFormat)
      << "FST header declares " << h.num_states << " states and " << h.num_arcs << " arcs"
      << in.Where();
  CheckStart(h, in);
  // OpenFst pads to 16 bytes of stream position before each array of an aligned file.
  const bool aligned = h.version == 1 || (h.flags & kIsAligned);
  auto pad = [&](int64_t pos) { return aligned ? (kAlign - pos % kAlign) % kAlign : 0; };
  int64_t pos = in.Position(), left = in.Left();
  left -= pad(pos);
  KQ_CHECK(left >= 0 && h.num_states <= left / kConstStateBytes, kFormat)
      << "FST header declares " << h.num_states << " states but only " << in.Left()
      << " bytes follow (truncated or corrupt)" << in.Where();
  pos += pad(pos) + h.num_states * kConstStateBytes;
  left -= h.num_states * kConstStateBytes + pad(pos);
  KQ_CHECK(left >= 0 && h.num_arcs <= left / kArcBytes, kFormat)
      << "FST header declares " << h.num_states << " states and " << h.num_arcs
      << " arcs but only " << in.Left() << " bytes follow (truncated or corrupt)" << in.Where();
  CheckConstStates(is, in.Position() + pad(in.Position()), h);
  is.clear();
  is.seekg(header_pos);
  KQ_CHECK(is.good(), kIo) << "cannot seek back to the FST header";
  fst::FstReadOptions ropts("decoding graph");
  g->const_fst.reset(fst::ConstFst<fst::StdArc>::Read(is, ropts));
  KQ_CHECK(g->const_fst != nullptr, kFormat) << "could not read the const FST (truncated?)";
  ValidateGraph(*g->const_fst, h.num_arcs);
}

// The vector FST body, read here into a VectorFst: states are added as they are read, nothing is
// reserved from a count that the bytes do not back.
void ReadVector(const Header& h, FstBytes& in, DecodingGraph* g) {
  KQ_CHECK(h.version >= 2, kFormat) << "unsupported vector FST version " << h.version;
  constexpr int64_t kStateMin = 4 + 8;  // final weight, arc count
  KQ_CHECK(h.num_states >= 0 && h.num_states <= std::numeric_limits<int32_t>::max() &&
               h.num_states <= in.Left() / kStateMin,
           kFormat)
      << "FST header declares " << h.num_states << " states but only " << in.Left()
      << " bytes follow (truncated or corrupt; a vector FST without a state count is not "
         "supported)"
      << in.Where();
  CheckStart(h, in);
  auto f = std::make_unique<fst::VectorFst<fst::StdArc>>();
  for (int64_t s = 0; s < h.num_states; ++s) f->AddState();
  for (int64_t s = 0; s < h.num_states; ++s) {
    f->SetFinal(static_cast<int>(s), fst::TropicalWeight(in.Read<float>("final weight")));
    const int64_t narcs = in.Read<int64_t>("number of arcs");
    KQ_CHECK(narcs >= 0 && narcs <= in.Left() / kArcBytes, kFormat)
        << "state " << s << " declares " << narcs << " arcs but only " << in.Left()
        << " bytes follow" << in.Where();
    f->ReserveArcs(static_cast<int>(s), static_cast<size_t>(narcs));
    for (int64_t a = 0; a < narcs; ++a) {
      fst::StdArc arc;
      arc.ilabel = in.Read<int32_t>("arc label");
      arc.olabel = in.Read<int32_t>("arc label");
      arc.weight = fst::TropicalWeight(in.Read<float>("arc weight"));
      arc.nextstate = in.Read<int32_t>("arc destination");
      KQ_CHECK(arc.nextstate >= 0 && arc.nextstate < h.num_states, kFormat)
          << "corrupt decoding graph: arc from state " << s << " to state " << arc.nextstate
          << " (graph has " << h.num_states << " states)" << in.Where();
      f->AddArc(static_cast<int>(s), arc);
    }
  }
  if (h.start >= 0) f->SetStart(static_cast<int>(h.start));
  f->SetProperties(h.properties, fst::kFstProperties);
  ValidateGraph(*f);
  g->vector_fst = std::move(f);
}

DecodingGraph ReadKnownSize(std::istream& is, int64_t remaining) {
  const int64_t header_pos = static_cast<int64_t>(is.tellg());
  FstBytes in(is, remaining);
  const Header h = ReadHeader(in);
  DecodingGraph g;
  if (h.fst_type == "const") {
    ReadConst(is, header_pos, h, in, &g);
  } else {
    ReadVector(h, in, &g);
  }
  return g;
}

}  // namespace

DecodingGraph ReadDecodingGraph(std::istream& is, const std::string& rxfilename) {
  (void)rxfilename;  // the caller names the file in its context
  // The bytes left: known for files (and file:offset); a pipe is read into memory first, in
  // chunks, so that every size is checked against what really arrived.
  int64_t remaining = -1;
  const auto here = is.tellg();
  if (here != std::istream::pos_type(-1)) {
    is.seekg(0, std::ios::end);
    const auto end = is.tellg();
    is.clear();
    is.seekg(here);
    if (end != std::istream::pos_type(-1) && end >= here)
      remaining = static_cast<int64_t>(end - here);
  }
  if (remaining >= 0) return ReadKnownSize(is, remaining);
  std::string bytes;
  char buf[1 << 16];
  while (is.read(buf, sizeof(buf)) || is.gcount() > 0)
    bytes.append(buf, static_cast<size_t>(is.gcount()));
  const int64_t size = static_cast<int64_t>(bytes.size());
  std::istringstream mem(std::move(bytes));
  return ReadKnownSize(mem, size);
}

}  // namespace kaldiq::decode
