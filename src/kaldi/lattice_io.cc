#include "kaldi/lattice_io.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "kaldi/basic_io.h"
#include "lat/lattice_ops.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

using lat::CompactLattice;
using lat::CompactLatticeArc;
using lat::CompactLatticeWeight;
using lat::Lattice;
using lat::LatticeArc;
using lat::LatticeWeight;

constexpr int32_t kFstMagic = 2125659606;
constexpr int32_t kHasISymbols = 1, kHasOSymbols = 2;
// Limits used when the stream length is unknown (pipes).
constexpr int64_t kMaxStates = int64_t{1} << 31;
constexpr int64_t kMaxArcsPerState = int64_t{1} << 28;

using LatticeWeightD = lat::LatticeWeightTpl<double>;
using CompactLatticeWeightD = lat::CompactLatticeWeightTpl<LatticeWeightD, int32_t>;

// Reads raw little-endian values while counting bytes, so errors can name the offset.
class BinReader {
 public:
  explicit BinReader(std::istream& is) : is_(is) {
    const auto pos = is.tellg();
    start_ = pos == std::istream::pos_type(-1) ? -1 : static_cast<int64_t>(pos);
    if (start_ >= 0) {
      is.seekg(0, std::ios::end);
      const auto end = is.tellg();
      is.seekg(pos);
      if (end != std::istream::pos_type(-1) && is) remaining_ = static_cast<int64_t>(end) - start_;
      is.clear();
      is.seekg(pos);
    }
  }
  template <class T>
  T Read(const char* what) {
    T v{};
    is_.read(reinterpret_cast<char*>(&v), sizeof(T));
    if (!is_) Fail(std::string("truncated lattice while reading ") + what);
    consumed_ += sizeof(T);
    return v;
  }
  template <class W>
  W ReadWeight(const char* what) {
    W w;
    w.Read(is_);
    if (!is_) Fail(std::string("truncated or corrupt lattice weight (") + what + ")");
    consumed_ += WeightBytes(w);
    return w;
  }
  std::string ReadString(const char* what) {
    const int32_t n = Read<int32_t>(what);
    if (n < 0 || n > 256) Fail(std::string("bad length ") + std::to_string(n) + " of " + what);
    std::string s(n, '\0');
    is_.read(&s[0], n);
    if (!is_) Fail(std::string("truncated lattice while reading ") + what);
    consumed_ += n;
    return s;
  }
  // Bytes left in the stream, or -1 when unknown.
  int64_t Remaining() const { return remaining_ < 0 ? -1 : remaining_ - consumed_; }
  [[noreturn]] void Fail(const std::string& msg) const {
    if (start_ >= 0)
      KQ_THROW(kFormat) << msg << " at byte offset " << (start_ + consumed_);
    KQ_THROW(kFormat) << msg << " at byte " << consumed_ << " of the lattice";
  }

 private:
  static size_t WeightBytes(const LatticeWeight&) { return 2 * sizeof(float); }
  static size_t WeightBytes(const LatticeWeightD&) { return 2 * sizeof(double); }
  template <class W>
  static size_t WeightBytes(const lat::CompactLatticeWeightTpl<W, int32_t>& w) {
    return WeightBytes(w.Weight()) + 4 + 4 * w.String().size();
  }
  std::istream& is_;
  int64_t start_ = -1;
  int64_t remaining_ = -1;
  int64_t consumed_ = 0;
};

struct Header {
  std::string fst_type, arc_type;
  int32_t version = 0, flags = 0;
  uint64_t properties = 0;
  int64_t start = -1, num_states = 0, num_arcs = 0;
};

Header ReadHeader(BinReader& r) {
  Header h;
  if (r.Read<int32_t>("FST magic number") != kFstMagic)
    r.Fail("not an OpenFst binary FST (bad magic number)");
  h.fst_type = r.ReadString("FST type");
  h.arc_type = r.ReadString("arc type");
  h.version = r.Read<int32_t>("FST version");
  h.flags = r.Read<int32_t>("FST flags");
  h.properties = r.Read<uint64_t>("FST properties");
  h.start = r.Read<int64_t>("start state");
  h.num_states = r.Read<int64_t>("number of states");
  h.num_arcs = r.Read<int64_t>("number of arcs");
  if (h.fst_type != "vector") r.Fail("unsupported FST type '" + h.fst_type + "' for a lattice");
  if (h.version < 2) r.Fail("unsupported vector FST version " + std::to_string(h.version));
  if (h.flags & (kHasISymbols | kHasOSymbols))
    r.Fail("lattices with attached symbol tables are not supported");
  return h;
}

template <class W>
size_t MinWeightBytes();
template <>
size_t MinWeightBytes<LatticeWeight>() { return 8; }
template <>
size_t MinWeightBytes<LatticeWeightD>() { return 16; }
template <>
size_t MinWeightBytes<CompactLatticeWeight>() { return 12; }
template <>
size_t MinWeightBytes<CompactLatticeWeightD>() { return 20; }

// Reads the VectorFst body after the header into *out (states added as read, nothing reserved
// from unchecked sizes).
template <class W>
void ReadBody(BinReader& r, const Header& h, fst::VectorFst<fst::ArcTpl<W>>* out) {
  using Arc = fst::ArcTpl<W>;
  out->DeleteStates();
  const int64_t wmin = MinWeightBytes<W>();
  const int64_t state_min = wmin + 8, arc_min = 12 + wmin;
  if (h.num_states < 0) r.Fail("lattice header without a state count is not supported");
  const int64_t rem = r.Remaining();
  if ((rem >= 0 && h.num_states > rem / state_min) || h.num_states > kMaxStates)
    r.Fail("declared number of states " + std::to_string(h.num_states) +
           " exceeds the size of the data");
  if (h.start < -1 || h.start >= h.num_states || (h.start == -1 && h.num_states != 0))
    r.Fail("bad start state " + std::to_string(h.start));
  for (int64_t s = 0; s < h.num_states; ++s) out->AddState();
  for (int64_t s = 0; s < h.num_states; ++s) {
    out->SetFinal(s, r.template ReadWeight<W>("final weight"));
    const int64_t narcs = r.template Read<int64_t>("number of arcs");
    const int64_t left = r.Remaining();
    if (narcs < 0 || narcs > kMaxArcsPerState || (left >= 0 && narcs > left / arc_min))
      r.Fail("bad number of arcs " + std::to_string(narcs) + " of state " + std::to_string(s));
    out->ReserveArcs(s, static_cast<size_t>(std::min<int64_t>(narcs, 4096)));
    for (int64_t a = 0; a < narcs; ++a) {
      Arc arc;
      arc.ilabel = r.template Read<int32_t>("arc label");
      arc.olabel = r.template Read<int32_t>("arc label");
      arc.weight = r.template ReadWeight<W>("arc weight");
      arc.nextstate = r.template Read<int32_t>("arc destination");
      if (arc.nextstate < 0 || arc.nextstate >= h.num_states)
        r.Fail("arc to nonexistent state " + std::to_string(arc.nextstate));
      out->AddArc(s, arc);
    }
  }
  if (h.start >= 0) out->SetStart(h.start);
  // Keep the stored properties, as OpenFst's own reader does, so a round trip is byte-exact.
  out->SetProperties(h.properties, fst::kFstProperties);
}

LatticeWeight ToFloat(const LatticeWeightD& w) {
  return LatticeWeight(static_cast<float>(w.Value1()), static_cast<float>(w.Value2()));
}
CompactLatticeWeight ToFloat(const CompactLatticeWeightD& w) {
  return CompactLatticeWeight(ToFloat(w.Weight()), w.String());
}
template <class WD, class WF>
void ConvertToFloat(const fst::VectorFst<fst::ArcTpl<WD>>& in, fst::VectorFst<fst::ArcTpl<WF>>* out) {
  out->DeleteStates();
  for (int s = 0; s < in.NumStates(); ++s) out->AddState();
  if (in.Start() >= 0) out->SetStart(in.Start());
  for (int s = 0; s < in.NumStates(); ++s) {
    out->SetFinal(s, ToFloat(in.Final(s)));
    for (fst::ArcIterator<fst::VectorFst<fst::ArcTpl<WD>>> it(in, s); !it.Done(); it.Next()) {
      const auto& a = it.Value();
      out->AddArc(s, fst::ArcTpl<WF>(a.ilabel, a.olabel, ToFloat(a.weight), a.nextstate));
    }
  }
}

// One binary lattice of whichever stored type, as a CompactLattice or Lattice.
template <class Want>
void ReadBinary(std::istream& is, Want* out) {
  BinReader r(is);
  const Header h = ReadHeader(r);
  if (h.arc_type == CompactLatticeArc::Type()) {
    CompactLattice c;
    ReadBody(r, h, &c);
    if constexpr (std::is_same_v<Want, CompactLattice>) *out = std::move(c);
    else lat::ConvertLattice(c, out, true);
  } else if (h.arc_type == LatticeArc::Type()) {
    Lattice l;
    ReadBody(r, h, &l);
    if constexpr (std::is_same_v<Want, Lattice>) *out = std::move(l);
    else lat::ConvertLattice(l, out, true);
  } else if (h.arc_type == fst::ArcTpl<CompactLatticeWeightD>::Type()) {
    fst::VectorFst<fst::ArcTpl<CompactLatticeWeightD>> d;
    ReadBody(r, h, &d);
    CompactLattice c;
    ConvertToFloat(d, &c);
    if constexpr (std::is_same_v<Want, CompactLattice>) *out = std::move(c);
    else lat::ConvertLattice(c, out, true);
  } else if (h.arc_type == fst::ArcTpl<LatticeWeightD>::Type()) {
    fst::VectorFst<fst::ArcTpl<LatticeWeightD>> d;
    ReadBody(r, h, &d);
    Lattice l;
    ConvertToFloat(d, &l);
    if constexpr (std::is_same_v<Want, Lattice>) *out = std::move(l);
    else lat::ConvertLattice(l, out, true);
  } else {
    r.Fail("FST with arc type '" + h.arc_type + "' cannot be read as a lattice");
  }
}

// ---- text ----

template <class Fst>
void PrintText(std::ostream& os, const Fst& f, bool acceptor) {
  using Arc = typename Fst::Arc;
  using W = typename Arc::Weight;
  os << '\n';
  auto print_state = [&](int s) {
    bool output = false;
    for (fst::ArcIterator<Fst> it(f, s); !it.Done(); it.Next()) {
      const Arc& a = it.Value();
      os << s << '\t' << a.nextstate << '\t' << a.ilabel;
      if (!acceptor) os << '\t' << a.olabel;
      if (a.weight != W::One()) os << '\t' << a.weight;
      os << '\n';
      output = true;
    }
    const W fw = f.Final(s);
    if (fw != W::Zero() || !output) {
      os << s;
      if (fw != W::One()) os << '\t' << fw;
      os << '\n';
    }
  };
  const int start = f.Start();
  if (start != fst::kNoStateId) {
    print_state(start);
    for (int s = 0; s < f.NumStates(); ++s)
      if (s != start) print_state(s);
  }
  os << '\n';
}

[[noreturn]] void TextFail(const std::string& msg, size_t line_no, const std::string& line) {
  KQ_THROW(kFormat) << "reading text lattice: " << msg << " on line " << line_no << " of the "
                    << "lattice: '" << QuoteBytes(line, 200) << "'";
}

bool ParseInt(const std::string& s, int32_t* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  const long x = std::strtol(s.c_str(), &end, 10);
  if (end != s.c_str() + s.size() || x < std::numeric_limits<int32_t>::min() ||
      x > std::numeric_limits<int32_t>::max())
    return false;
  *v = static_cast<int32_t>(x);
  return true;
}

template <class W>
bool ParseWeight(const std::string& s, W* w) {
  std::istringstream is(s);
  is >> *w;
  return !is.fail();
}

struct TextLines {
  std::vector<std::vector<std::string>> cols;
  std::vector<std::string> raw;
};

TextLines ReadTextLines(std::istream& is) {
  // Kaldi: consume spaces up to and including the newline that starts the text form.
  while (std::isspace(is.peek()) && is.peek() != '\n') is.get();
  KQ_CHECK(is.peek() == '\n', kFormat)
      << "reading text lattice: expected a newline before the lattice " << DescribePosition(is);
  is.get();
  TextLines t;
  std::string line;
  while (std::getline(is, line)) {
    std::vector<std::string> c;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      size_t j = i;
      while (j < line.size() && !(line[j] == ' ' || line[j] == '\t' || line[j] == '\r')) ++j;
      if (j > i) c.push_back(line.substr(i, j - i));
      i = j;
    }
    if (c.empty()) break;  // an empty line ends the lattice
    t.cols.push_back(std::move(c));
    t.raw.push_back(line);
  }
  return t;
}

// Is this the text of a CompactLattice (3/4-column arcs, weights "g,a,str")? 5 columns or
// 4-column arcs without a comma in the last column mean a Lattice.
bool LooksCompact(const TextLines& t) {
  for (const auto& c : t.cols) {
    if (c.size() == 3) return true;
    if (c.size() == 5) return false;
    if (c.size() == 4) return c[3].find(',') != std::string::npos;
    if (c.size() == 2) {
      return std::count(c[1].begin(), c[1].end(), ',') == 2;
    }
  }
  return true;
}

template <class Arc>
void ParseText(const TextLines& t, bool acceptor, fst::VectorFst<Arc>* out) {
  using W = typename Arc::Weight;
  out->DeleteStates();
  const size_t arc_cols = acceptor ? 3 : 4;
  // States are created up to the largest id named (as OpenFst's and Kaldi's text readers do), so
  // the ids are bounded by what the text can describe: each line names at most two states, and
  // a densely numbered lattice of L lines has ids below 2L (Kaldi's writer prints every state,
  // so its ids are below L). A larger id would make a few bytes of text allocate gigabytes.
  const int64_t max_state = 2 * static_cast<int64_t>(t.cols.size());
  auto ensure = [&](int32_t s, size_t n, const std::string& line) {
    if (s < 0) TextFail("bad state id", n, line);
    if (s >= max_state)
      TextFail("state id " + std::to_string(s) + " is out of range for a lattice of " +
                   std::to_string(t.cols.size()) + " lines",
               n, line);
    while (s >= out->NumStates()) out->AddState();
  };
  for (size_t n = 0; n < t.cols.size(); ++n) {
    const auto& c = t.cols[n];
    const std::string& line = t.raw[n];
    int32_t s = 0;
    if (!ParseInt(c[0], &s)) TextFail("bad state id", n + 1, line);
    ensure(s, n + 1, line);
    if (n == 0) out->SetStart(s);
    if (c.size() == 1 || c.size() == 2) {
      W w = W::One();
      if (c.size() == 2 && !ParseWeight(c[1], &w)) TextFail("bad final weight", n + 1, line);
      out->SetFinal(s, w);
    } else if (c.size() == arc_cols || c.size() == arc_cols + 1) {
      Arc a;
      a.weight = W::One();
      if (!ParseInt(c[1], &a.nextstate) || !ParseInt(c[2], &a.ilabel))
        TextFail("bad arc", n + 1, line);
      a.olabel = a.ilabel;
      if (!acceptor && !ParseInt(c[3], &a.olabel)) TextFail("bad arc label", n + 1, line);
      if (c.size() == arc_cols + 1 && !ParseWeight(c[arc_cols], &a.weight))
        TextFail("bad arc weight", n + 1, line);
      ensure(a.nextstate, n + 1, line);
      out->AddArc(s, a);
    } else {
      TextFail("wrong number of columns", n + 1, line);
    }
  }
}

template <class Want>
void ReadAny(std::istream& is, Want* out) {
  const int c = is.peek();
  KQ_CHECK(c != EOF, kFormat) << "reading lattice: unexpected end of stream";
  if (std::isspace(c)) {
    const TextLines t = ReadTextLines(is);
    if (LooksCompact(t)) {
      CompactLattice clat;
      ParseText(t, true, &clat);
      if constexpr (std::is_same_v<Want, CompactLattice>) *out = std::move(clat);
      else lat::ConvertLattice(clat, out, true);
    } else {
      Lattice l;
      ParseText(t, false, &l);
      if constexpr (std::is_same_v<Want, Lattice>) *out = std::move(l);
      else lat::ConvertLattice(l, out, true);
    }
    return;
  }
  KQ_CHECK(c == 0xD6, kFormat) << "reading lattice: does not look like an FST (first byte "
                               << c << ", expected whitespace or the FST magic number) "
                               << DescribePosition(is);
  ReadBinary(is, out);
}

template <class Fst>
void WriteAny(std::ostream& os, bool binary, const Fst& f, bool acceptor) {
  if (binary) {
    fst::FstWriteOptions opts;
    opts.align = false;
    KQ_CHECK(f.Write(os, opts), kIo) << "failed writing binary lattice";
  } else {
    PrintText(os, f, acceptor);
  }
  KQ_CHECK(os.good(), kIo) << "failed writing lattice";
}

}  // namespace

void WriteCompactLattice(std::ostream& os, bool binary, const lat::CompactLattice& clat) {
  WriteAny(os, binary, clat, true);
}
void WriteLattice(std::ostream& os, bool binary, const lat::Lattice& l) {
  WriteAny(os, binary, l, false);
}
void ReadCompactLattice(std::istream& is, lat::CompactLattice* clat) { ReadAny(is, clat); }
void ReadLattice(std::istream& is, lat::Lattice* l) { ReadAny(is, l); }

}  // namespace kaldiq::kaldi
