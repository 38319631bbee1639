#include "kaldi/fst_io.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>
#include <unordered_set>

#include "kaldi/basic_io.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/matrix_io.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

constexpr int32_t kFstMagic = 2125659606;
constexpr float kInf = std::numeric_limits<float>::infinity();
// States are int32 in OpenFst's standard arcs.
constexpr int64_t kMaxStates = std::numeric_limits<int32_t>::max() - 1;

template <typename T>
T ReadRaw(std::istream& is, const char* what) {
  T v;
  ReadExact(is, reinterpret_cast<char*>(&v), sizeof(T), what);
  return v;
}

template <typename T>
void WriteRaw(std::ostream& os, T v) {
  os.write(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Reads n raw elements, in chunks so that memory follows the bytes actually delivered (a lying
// count on a pipe fails at end of stream instead of allocating).
template <typename T>
void ReadRawArray(std::istream& is, int64_t n, const char* what, std::vector<T>* out) {
  CheckPayloadFits(is, n * static_cast<int64_t>(sizeof(T)), what);
  out->clear();
  const int64_t kChunk = int64_t(1) << 20;
  int64_t done = 0;
  while (done < n) {
    const int64_t k = std::min(kChunk, n - done);
    out->resize(static_cast<size_t>(done + k));
    ReadExact(is, reinterpret_cast<char*>(out->data() + done), k * static_cast<int64_t>(sizeof(T)),
              what);
    done += k;
  }
}

std::string ReadHeaderString(std::istream& is, const char* what) {
  const int32_t n = ReadRaw<int32_t>(is, what);
  KQ_CHECK(n >= 0 && n <= 256, kFormat)
      << "FST header: invalid " << what << " length " << n << " " << DescribePosition(is);
  std::string s(static_cast<size_t>(n), '\0');
  ReadExact(is, s.data(), n, what);
  return s;
}

void WriteHeaderString(std::ostream& os, const std::string& s) {
  WriteRaw<int32_t>(os, static_cast<int32_t>(s.size()));
  os.write(s.data(), static_cast<std::streamsize>(s.size()));
}

struct FstHeader {
  std::string fst_type, arc_type;
  int32_t version = 0, flags = 0;
  uint64_t properties = 0;
  int64_t start = -1, num_states = 0, num_arcs = 0;
};

FstHeader ReadFstHeader(std::istream& is, const char* expected_type) {
  FstHeader h;
  const int32_t magic = ReadRaw<int32_t>(is, "FST magic number");
  KQ_CHECK(magic == kFstMagic, kFormat)
      << "not an OpenFst binary FST (magic number " << magic << ", expected " << kFstMagic << ") "
      << DescribePosition(is);
  h.fst_type = ReadHeaderString(is, "FST type");
  h.arc_type = ReadHeaderString(is, "arc type");
  KQ_CHECK(h.fst_type == expected_type, kFormat)
      << "expected an FST of type '" << expected_type << "', got '" << h.fst_type << "' "
      << DescribePosition(is);
  KQ_CHECK(h.arc_type == "standard", kUnsupported)
      << "FST arc type '" << h.arc_type << "' is not supported (only 'standard', tropical) "
      << DescribePosition(is);
  h.version = ReadRaw<int32_t>(is, "FST version");
  h.flags = ReadRaw<int32_t>(is, "FST flags");
  h.properties = ReadRaw<uint64_t>(is, "FST properties");
  h.start = ReadRaw<int64_t>(is, "FST start state");
  h.num_states = ReadRaw<int64_t>(is, "FST state count");
  h.num_arcs = ReadRaw<int64_t>(is, "FST arc count");
  KQ_CHECK(h.flags == 0, kUnsupported)
      << "FST header flags " << h.flags
      << " (symbol tables or aligned data) are not supported " << DescribePosition(is);
  KQ_CHECK(h.num_states >= 0 && h.num_states <= kMaxStates, kFormat)
      << "FST header: invalid state count " << h.num_states << " " << DescribePosition(is);
  KQ_CHECK(h.start == -1 || (h.start >= 0 && h.start < h.num_states), kFormat)
      << "FST header: start state " << h.start << " out of range (" << h.num_states
      << " states) " << DescribePosition(is);
  return h;
}

void WriteFstHeader(std::ostream& os, const std::string& type, const StdFst& fst,
                    int64_t num_arcs) {
  WriteRaw<int32_t>(os, kFstMagic);
  WriteHeaderString(os, type);
  WriteHeaderString(os, "standard");
  WriteRaw<int32_t>(os, 2);  // version
  WriteRaw<int32_t>(os, 0);  // flags
  WriteRaw<uint64_t>(os, fst.properties);
  WriteRaw<int64_t>(os, fst.start);
  WriteRaw<int64_t>(os, fst.NumStates());
  WriteRaw<int64_t>(os, num_arcs);
}

void CheckWeight(float w, bool allow_inf, const char* what, int64_t state, std::istream& is) {
  KQ_CHECK(!std::isnan(w) && (std::isfinite(w) || (allow_inf && w > 0)), kFormat)
      << "FST state " << state << ": invalid " << what << " " << w << " " << DescribePosition(is);
}

void CheckNext(int32_t next, int64_t num_states, int64_t state, std::istream& is) {
  KQ_CHECK(next >= 0 && next < num_states, kFormat)
      << "FST state " << state << ": arc to state " << next << " out of range (" << num_states
      << " states) " << DescribePosition(is);
}

// Iterative Tarjan: scc[s] = SCC id (any numbering; equal ids = same SCC).
std::vector<int32_t> StronglyConnectedComponents(const StdFst& fst) {
  const int32_t n = fst.NumStates();
  std::vector<int32_t> index(n, -1), low(n, 0), scc(n, -1);
  std::vector<bool> on_stack(n, false);
  std::vector<int32_t> stack;
  std::vector<std::pair<int32_t, int64_t>> call;  // (state, next arc position)
  int32_t counter = 0, num_scc = 0;
  for (int32_t root = 0; root < n; ++root) {
    if (index[root] >= 0) continue;
    call.emplace_back(root, fst.arc_begin[root]);
    index[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!call.empty()) {
      auto& [s, pos] = call.back();
      if (pos < fst.arc_begin[s + 1]) {
        const int32_t t = fst.arcs[pos++].nextstate;
        if (index[t] < 0) {
          index[t] = low[t] = counter++;
          stack.push_back(t);
          on_stack[t] = true;
          call.emplace_back(t, fst.arc_begin[t]);
        } else if (on_stack[t]) {
          low[s] = std::min(low[s], index[t]);
        }
        continue;
      }
      const int32_t done = s;
      call.pop_back();
      if (!call.empty()) low[call.back().first] = std::min(low[call.back().first], low[done]);
      if (low[done] == index[done]) {
        int32_t t;
        do {
          t = stack.back();
          stack.pop_back();
          on_stack[t] = false;
          scc[t] = num_scc;
        } while (t != done);
        ++num_scc;
      }
    }
  }
  return scc;
}

}  // namespace

bool StdFst::IsFinal(int32_t s) const { return finals[s] != kInf; }

bool StdFst::IsAcceptor() const {
  for (const StdArc& a : arcs)
    if (a.ilabel != a.olabel) return false;
  return true;
}

int32_t StdFst::AddState(float final_weight) {
  finals.push_back(final_weight);
  arc_begin.push_back(static_cast<int64_t>(arcs.size()));
  return NumStates() - 1;
}

void StdFst::AddArc(const StdArc& arc) {
  arcs.push_back(arc);
  arc_begin.back() = static_cast<int64_t>(arcs.size());
}

uint64_t ComputeFstProperties(const StdFst& fst) {
  namespace p = fst_props;
  // Bit values not named in fst_props (fst/properties.h).
  constexpr uint64_t kNotAcceptor = 0x20000ULL, kIDeterministic = 0x40000ULL,
                     kNonIDeterministic = 0x80000ULL, kODeterministic = 0x100000ULL,
                     kNonODeterministic = 0x200000ULL, kEpsilons = 0x400000ULL,
                     kIEpsilons = 0x1000000ULL, kNoIEpsilons = 0x2000000ULL,
                     kOEpsilons = 0x4000000ULL, kNoOEpsilons = 0x8000000ULL,
                     kILabelSorted = 0x10000000ULL, kNotILabelSorted = 0x20000000ULL,
                     kOLabelSorted = 0x40000000ULL, kNotOLabelSorted = 0x80000000ULL,
                     kWeighted = 0x100000000ULL, kUnweighted = 0x200000000ULL,
                     kCyclic = 0x400000000ULL, kInitialCyclic = 0x1000000000ULL,
                     kInitialAcyclic = 0x2000000000ULL, kNotTopSorted = 0x8000000000ULL,
                     kAccessible = 0x10000000000ULL, kNotAccessible = 0x20000000000ULL,
                     kCoAccessible = 0x40000000000ULL, kNotCoAccessible = 0x80000000000ULL,
                     kString = 0x100000000000ULL, kNotString = 0x200000000000ULL,
                     kWeightedCycles = 0x400000000000ULL, kUnweightedCycles = 0x800000000000ULL;
  auto set = [](uint64_t* props, uint64_t on, uint64_t off) {
    *props |= on;
    *props &= ~off;
  };
  const int32_t n = fst.NumStates();
  uint64_t props = p::kExpanded | p::kAcyclic | kInitialAcyclic | kAccessible | kCoAccessible;
  std::vector<int32_t> scc;
  if (fst.start >= 0) {
    // What OpenFst's SccVisitor finds: cycles, a cycle through the start, states not reachable
    // from the start, states that reach no final state.
    scc = StronglyConnectedComponents(fst);
    std::vector<int32_t> scc_size(n, 0);
    for (int32_t s = 0; s < n; ++s) ++scc_size[scc[s]];
    bool cyclic = false;
    for (int32_t s = 0; s < n && !cyclic; ++s) {
      if (scc_size[scc[s]] > 1) cyclic = true;
      for (const StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a)
        if (a->nextstate == s) cyclic = true;
    }
    if (cyclic) set(&props, kCyclic, p::kAcyclic);
    bool initial_cyclic = scc_size[scc[fst.start]] > 1;
    for (const StdArc* a = fst.ArcsBegin(fst.start); a != fst.ArcsEnd(fst.start); ++a)
      if (a->nextstate == fst.start) initial_cyclic = true;
    if (initial_cyclic) set(&props, kInitialCyclic, kInitialAcyclic);
    std::vector<bool> seen(n, false);
    std::vector<int32_t> queue{fst.start};
    seen[fst.start] = true;
    while (!queue.empty()) {
      const int32_t s = queue.back();
      queue.pop_back();
      for (const StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
        if (!seen[a->nextstate]) {
          seen[a->nextstate] = true;
          queue.push_back(a->nextstate);
        }
      }
    }
    if (std::find(seen.begin(), seen.end(), false) != seen.end())
      set(&props, kNotAccessible, kAccessible);
    std::vector<std::vector<int32_t>> reverse(n);
    for (int32_t s = 0; s < n; ++s)
      for (const StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a)
        reverse[a->nextstate].push_back(s);
    std::fill(seen.begin(), seen.end(), false);
    for (int32_t s = 0; s < n; ++s) {
      if (fst.IsFinal(s)) {
        seen[s] = true;
        queue.push_back(s);
      }
    }
    while (!queue.empty()) {
      const int32_t s = queue.back();
      queue.pop_back();
      for (int32_t r : reverse[s]) {
        if (!seen[r]) {
          seen[r] = true;
          queue.push_back(r);
        }
      }
    }
    if (std::find(seen.begin(), seen.end(), false) != seen.end())
      set(&props, kNotCoAccessible, kCoAccessible);
  }
  props |= p::kAcceptor | p::kNoEpsilons | kNoIEpsilons | kNoOEpsilons | kILabelSorted |
           kOLabelSorted | kUnweighted | p::kTopSorted | kString | kIDeterministic |
           kODeterministic | kUnweightedCycles;
  int64_t num_final = 0;
  std::unordered_set<int32_t> ilabels, olabels;
  for (int32_t s = 0; s < n; ++s) {
    ilabels.clear();
    olabels.clear();
    const StdArc* prev = nullptr;
    for (const StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      if (!ilabels.insert(a->ilabel).second) set(&props, kNonIDeterministic, kIDeterministic);
      if (!olabels.insert(a->olabel).second) set(&props, kNonODeterministic, kODeterministic);
      if (a->ilabel != a->olabel) set(&props, kNotAcceptor, p::kAcceptor);
      if (a->ilabel == 0 && a->olabel == 0) set(&props, kEpsilons, p::kNoEpsilons);
      if (a->ilabel == 0) set(&props, kIEpsilons, kNoIEpsilons);
      if (a->olabel == 0) set(&props, kOEpsilons, kNoOEpsilons);
      if (prev != nullptr) {
        if (a->ilabel < prev->ilabel) set(&props, kNotILabelSorted, kILabelSorted);
        if (a->olabel < prev->olabel) set(&props, kNotOLabelSorted, kOLabelSorted);
      }
      if (a->weight != 0.0f && a->weight != kInf) {
        set(&props, kWeighted, kUnweighted);
        if ((props & kUnweightedCycles) && !scc.empty() && scc[s] == scc[a->nextstate])
          set(&props, kWeightedCycles, kUnweightedCycles);
      }
      if (a->nextstate <= s) set(&props, kNotTopSorted, p::kTopSorted);
      if (a->nextstate != s + 1) set(&props, kNotString, kString);
      prev = a;
    }
    if (num_final > 0) set(&props, kNotString, kString);
    if (fst.IsFinal(s)) {
      if (fst.finals[s] != 0.0f) set(&props, kWeighted, kUnweighted);
      ++num_final;
    } else if (fst.NumArcs(s) != 1) {
      set(&props, kNotString, kString);
    }
  }
  if (fst.start != -1 && fst.start != 0) set(&props, kNotString, kString);
  return props;
}

StdFst ReadVectorFst(std::istream& is) {
  const FstHeader h = ReadFstHeader(is, "vector");
  KQ_CHECK(h.version == 2, kUnsupported)
      << "vector FST version " << h.version << " is not supported (expected 2) "
      << DescribePosition(is);
  StdFst fst;
  fst.start = static_cast<int32_t>(h.start);
  fst.properties = h.properties;
  // Each state takes at least 12 bytes (final weight + arc count).
  CheckPayloadFits(is, h.num_states * 12, "vector FST states");
  fst.finals.reserve(static_cast<size_t>(std::min<int64_t>(h.num_states, 1 << 20)));
  std::vector<int32_t> raw;  // 4 int32-sized fields per arc
  for (int64_t s = 0; s < h.num_states; ++s) {
    const float final_weight = ReadRaw<float>(is, "vector FST final weight");
    CheckWeight(final_weight, /*allow_inf=*/true, "final weight", s, is);
    const int64_t num_arcs = ReadRaw<int64_t>(is, "vector FST arc count");
    KQ_CHECK(num_arcs >= 0 && num_arcs <= (int64_t(1) << 40), kFormat)
        << "FST state " << s << ": invalid arc count " << num_arcs << " " << DescribePosition(is);
    fst.AddState(final_weight);
    ReadRawArray(is, num_arcs * 4, "vector FST arcs", &raw);
    for (int64_t i = 0; i < num_arcs; ++i) {
      StdArc a;
      a.ilabel = raw[4 * i];
      a.olabel = raw[4 * i + 1];
      std::memcpy(&a.weight, &raw[4 * i + 2], sizeof(float));
      a.nextstate = raw[4 * i + 3];
      CheckWeight(a.weight, /*allow_inf=*/false, "arc weight", s, is);
      CheckNext(a.nextstate, h.num_states, s, is);
      fst.AddArc(a);
    }
  }
  return fst;
}

void WriteVectorFst(std::ostream& os, const StdFst& fst) {
  // OpenFst's VectorFst writer stores the arc count it knows, which is 0 after in-place edits
  // (as in Kaldi's den.fst); the count is not needed to read the file.
  WriteFstHeader(os, "vector", fst, 0);
  for (int32_t s = 0; s < fst.NumStates(); ++s) {
    WriteRaw<float>(os, fst.finals[s]);
    WriteRaw<int64_t>(os, fst.NumArcs(s));
    for (const StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      WriteRaw<int32_t>(os, a->ilabel);
      WriteRaw<int32_t>(os, a->olabel);
      WriteRaw<float>(os, a->weight);
      WriteRaw<int32_t>(os, a->nextstate);
    }
  }
}

StdFst ReadCompactAcceptorFst(std::istream& is) {
  const FstHeader h = ReadFstHeader(is, "compact_acceptor");
  KQ_CHECK(h.version == 2, kUnsupported)
      << "compact FST version " << h.version
      << " is not supported (expected 2, unaligned; Kaldi never writes aligned FSTs) "
      << DescribePosition(is);
  std::vector<uint32_t> offsets;
  ReadRawArray(is, h.num_states + 1, "compact FST state offsets", &offsets);
  KQ_CHECK(offsets[0] == 0, kFormat)
      << "compact FST: first state offset is " << offsets[0] << ", expected 0 "
      << DescribePosition(is);
  for (int64_t s = 0; s < h.num_states; ++s) {
    KQ_CHECK(offsets[s + 1] >= offsets[s], kFormat)
        << "compact FST: state offsets decrease at state " << s << " (" << offsets[s] << " > "
        << offsets[s + 1] << ") " << DescribePosition(is);
  }
  const int64_t num_elements = offsets[h.num_states];
  // Element = {int32 label, float weight, int32 nextstate}: 3 x 4 bytes.
  std::vector<int32_t> raw;
  ReadRawArray(is, num_elements * 3, "compact FST elements", &raw);
  StdFst fst;
  fst.start = static_cast<int32_t>(h.start);
  fst.properties = h.properties;
  fst.finals.reserve(static_cast<size_t>(h.num_states));
  fst.arcs.reserve(static_cast<size_t>(num_elements));
  for (int64_t s = 0; s < h.num_states; ++s) {
    int64_t e = offsets[s];
    float final_weight = kInf;
    if (e < offsets[s + 1] && raw[3 * e] == -1) {
      std::memcpy(&final_weight, &raw[3 * e + 1], sizeof(float));
      KQ_CHECK(raw[3 * e + 2] == -1, kFormat)
          << "compact FST state " << s << ": final-weight element with next state "
          << raw[3 * e + 2] << " " << DescribePosition(is);
      CheckWeight(final_weight, /*allow_inf=*/false, "final weight", s, is);
      ++e;
    }
    fst.AddState(final_weight);
    for (; e < offsets[s + 1]; ++e) {
      StdArc a;
      a.ilabel = a.olabel = raw[3 * e];
      std::memcpy(&a.weight, &raw[3 * e + 1], sizeof(float));
      a.nextstate = raw[3 * e + 2];
      KQ_CHECK(a.ilabel >= 0, kFormat)
          << "compact FST state " << s << ": invalid label " << a.ilabel
          << (a.ilabel == -1 ? " (a final weight must be the state's first element)" : "") << " "
          << DescribePosition(is);
      CheckWeight(a.weight, /*allow_inf=*/false, "arc weight", s, is);
      CheckNext(a.nextstate, h.num_states, s, is);
      fst.AddArc(a);
    }
  }
  KQ_CHECK(fst.NumArcs() == h.num_arcs, kFormat)
      << "compact FST: header declares " << h.num_arcs << " arcs, the data holds "
      << fst.NumArcs() << " " << DescribePosition(is);
  return fst;
}

void WriteCompactAcceptorFst(std::ostream& os, const StdFst& fst) {
  KQ_CHECK(fst.IsAcceptor(), kInvalidArgument)
      << "cannot write a transducer as a compact acceptor FST";
  KQ_CHECK(fst.NumArcs() + fst.NumStates() <= std::numeric_limits<uint32_t>::max(),
           kInvalidArgument)
      << "FST too large for the compact format";
  WriteFstHeader(os, "compact_acceptor", fst, fst.NumArcs());
  uint32_t compacts = 0;
  for (int32_t s = 0; s < fst.NumStates(); ++s) {
    WriteRaw<uint32_t>(os, compacts);
    compacts += static_cast<uint32_t>(fst.NumArcs(s) + (fst.IsFinal(s) ? 1 : 0));
  }
  WriteRaw<uint32_t>(os, compacts);
  for (int32_t s = 0; s < fst.NumStates(); ++s) {
    if (fst.IsFinal(s)) {
      WriteRaw<int32_t>(os, -1);
      WriteRaw<float>(os, fst.finals[s]);
      WriteRaw<int32_t>(os, -1);
    }
    for (const StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      WriteRaw<int32_t>(os, a->ilabel);
      WriteRaw<float>(os, a->weight);
      WriteRaw<int32_t>(os, a->nextstate);
    }
  }
}

namespace {

bool ParseInt32(const std::string& s, int32_t* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < std::numeric_limits<int32_t>::min() ||
      v > std::numeric_limits<int32_t>::max())
    return false;
  *out = static_cast<int32_t>(v);
  return true;
}

bool ParseWeight(const std::string& s, bool allow_inf, float* out) {
  if (s == "Infinity" || s == "inf" || s == "Inf") {
    *out = kInf;
    return allow_inf;
  }
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || std::isnan(v)) return false;
  *out = static_cast<float>(v);
  return std::isfinite(*out);
}

void WriteTextWeight(std::ostream& os, float w) {
  if (w == kInf) {
    os << "Infinity";
  } else {
    os << w;
  }
}

}  // namespace

StdFst ReadTextFst(std::istream& is) {
  // Kaldi's text FST in a table starts with a newline (after optional spaces).
  while (is.peek() == ' ' || is.peek() == '\t' || is.peek() == '\r') is.get();
  KQ_CHECK(is.peek() == '\n', kFormat)
      << "text FST: expected a newline before the FST " << DescribePosition(is);
  is.get();
  std::vector<std::vector<StdArc>> arcs;
  std::vector<float> finals;
  int32_t start = -1;
  int64_t num_lines = 0;
  std::string line;
  auto ensure = [&](int32_t s) {
    KQ_CHECK(s >= 0 && static_cast<int64_t>(s) <= 2 * num_lines + 1, kFormat)
        << "text FST: state " << s << " out of range on line " << num_lines
        << " (more states than lines can define)";
    if (s >= static_cast<int32_t>(finals.size())) {
      finals.resize(static_cast<size_t>(s) + 1, kInf);
      arcs.resize(static_cast<size_t>(s) + 1);
    }
  };
  while (std::getline(is, line)) {
    ++num_lines;
    std::vector<std::string> col;
    std::string field;
    std::istringstream ls(line);
    while (ls >> field) col.push_back(field);
    if (col.empty()) break;  // an empty line ends the FST
    int32_t s = 0;
    KQ_CHECK(col.size() <= 5 && col.size() != 3 && ParseInt32(col[0], &s), kFormat)
        << "text FST: bad line " << num_lines << ": '" << line << "'";
    ensure(s);
    if (num_lines == 1) start = s;
    if (col.size() <= 2) {
      float w = 0.0f;
      KQ_CHECK(col.size() == 1 || ParseWeight(col[1], /*allow_inf=*/true, &w), kFormat)
          << "text FST: bad final weight on line " << num_lines << ": '" << line << "'";
      finals[s] = w;
      continue;
    }
    StdArc a;
    KQ_CHECK(ParseInt32(col[1], &a.nextstate) && ParseInt32(col[2], &a.ilabel) &&
                 ParseInt32(col[3], &a.olabel) &&
                 (col.size() == 4 || ParseWeight(col[4], /*allow_inf=*/false, &a.weight)),
             kFormat)
        << "text FST: bad arc on line " << num_lines << ": '" << line << "'";
    ensure(a.nextstate);
    arcs[s].push_back(a);
  }
  StdFst fst;
  fst.start = start;
  for (size_t s = 0; s < finals.size(); ++s) {
    fst.AddState(finals[s]);
    for (const StdArc& a : arcs[s]) fst.AddArc(a);
  }
  fst.properties = ComputeFstProperties(fst);
  return fst;
}

void WriteTextFst(std::ostream& os, const StdFst& fst) {
  EnsureKaldiPrecision(os);
  os << '\n';
  auto print_state = [&](int32_t s) {
    for (const StdArc* a = fst.ArcsBegin(s); a != fst.ArcsEnd(s); ++a) {
      os << s << '\t' << a->nextstate << '\t' << a->ilabel << '\t' << a->olabel;
      if (a->weight != 0.0f) {
        os << '\t';
        WriteTextWeight(os, a->weight);
      }
      os << '\n';
    }
    if (fst.IsFinal(s) || fst.NumArcs(s) == 0) {
      os << s;
      if (fst.finals[s] != 0.0f) {
        os << '\t';
        WriteTextWeight(os, fst.finals[s]);
      }
      os << '\n';
    }
  };
  if (fst.start >= 0) {
    print_state(fst.start);
    for (int32_t s = 0; s < fst.NumStates(); ++s)
      if (s != fst.start) print_state(s);
  }
  os << '\n';
}

StdFst ReadFstFile(const std::string& rxfilename) {
  try {
    Input in(rxfilename, /*read_binary_header=*/false);
    StdFst fst = ReadVectorFst(in.Stream());
    in.Close();
    return fst;
  } catch (const Error& e) {
    throw e.WithContext("FST '" + rxfilename + "'");
  }
}

}  // namespace kaldiq::kaldi
