#include "quant/int8_model_io.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "util/error.h"

namespace kaldiq::quant {

using nnet::DescExpr;
using nnet::Descriptor;
using nnet::Graph;
using nnet::Op;
using nnet::OpType;

namespace {

constexpr size_t kHeaderSize = 64;
constexpr size_t kAlign = 64;
constexpr size_t kSectionEntry = 24;  // tag[8], u64 offset, u64 size
const char* const kSections[] = {"META", "TRANS", "PRIORS", "GRAPH", "LAYERS"};
constexpr uint32_t kNumSections = 5;
// Bounds on what a graph section may declare, far above any real network (Kaldi layers have
// at most a few thousand columns and Append()s of a few parts) and small enough that every
// dimension sum of nnet::ValidateGraph stays inside int32.
constexpr int32_t kMaxDim = 1 << 20;
constexpr uint32_t kMaxParts = 1024;

bool HostIsLittleEndian() {
  const uint32_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

class Writer {
 public:
  std::string& buf() { return buf_; }
  size_t pos() const { return buf_.size(); }
  void Raw(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }
  template <typename T>
  void Pod(T v) {
    Raw(&v, sizeof(v));
  }
  void U32(uint32_t v) { Pod(v); }
  void I32(int32_t v) { Pod(v); }
  void U64(uint64_t v) { Pod(v); }
  void F32(float v) { Pod(v); }
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    Raw(s.data(), s.size());
  }
  void Align() { buf_.append((kAlign - buf_.size() % kAlign) % kAlign, '\0'); }
  // count, then the elements at a 64-byte aligned file offset.
  template <typename T>
  void Array(const T* data, size_t n) {
    U64(n);
    Align();
    Raw(data, n * sizeof(T));
  }
  template <typename T>
  void Vec(const std::vector<T>& v) {
    Array(v.data(), v.size());
  }
  void PatchU64(size_t at, uint64_t v) { std::memcpy(&buf_[at], &v, sizeof(v)); }

 private:
  std::string buf_;
};

class Reader {
 public:
  Reader(const std::string& b, size_t begin, size_t end) : b_(b), pos_(begin), end_(end) {}
  size_t pos() const { return pos_; }
  void Need(size_t n) const {
    KQ_CHECK(n <= end_ - pos_, kFormat)
        << "corrupt int8 model: need " << n << " bytes at byte offset " << pos_ << ", only "
        << end_ - pos_ << " left in the section";
  }
  template <typename T>
  T Pod() {
    Need(sizeof(T));
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  uint32_t U32() { return Pod<uint32_t>(); }
  int32_t I32() { return Pod<int32_t>(); }
  uint64_t U64() { return Pod<uint64_t>(); }
  float F32() { return Pod<float>(); }
  bool Bool() {
    uint8_t v = Pod<uint8_t>();
    KQ_CHECK(v <= 1, kFormat) << "corrupt int8 model: bad boolean at byte offset " << pos_ - 1;
    return v == 1;
  }
  std::string Str() {
    uint32_t n = U32();
    Need(n);
    std::string s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void Align() {
    size_t pad = (kAlign - pos_ % kAlign) % kAlign;
    Need(pad);
    pos_ += pad;
  }
  template <typename T>
  std::vector<T> Vec() {
    uint64_t n = U64();
    Align();
    KQ_CHECK(n <= (end_ - pos_) / sizeof(T), kFormat)
        << "corrupt int8 model: array of " << n << " elements at byte offset " << pos_
        << " exceeds the section";
    std::vector<T> v(static_cast<size_t>(n));
    if (n) std::memcpy(v.data(), b_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  uint32_t Count(uint32_t max, const char* what) {
    uint32_t n = U32();
    KQ_CHECK(n <= max, kFormat) << "corrupt int8 model: " << n << " " << what
                                << " at byte offset " << pos_ - 4;
    return n;
  }

 private:
  const std::string& b_;
  size_t pos_, end_;
};

void WriteSpec(Writer* w, const TensorSpec& s) {
  w->I32(s.bits);
  w->Pod<uint8_t>(s.is_signed);
  w->Pod<uint8_t>(s.symmetric);
  w->Pod<uint8_t>(s.narrow);
  w->Pod<uint8_t>(s.rule == ZeroPointRule::kRecipe);
}

TensorSpec ReadSpec(Reader* r) {
  TensorSpec s;
  s.bits = r->I32();
  KQ_CHECK(s.bits >= 2 && s.bits <= 8, kFormat) << "corrupt int8 model: bit width " << s.bits;
  s.is_signed = r->Bool();
  s.symmetric = r->Bool();
  s.narrow = r->Bool();
  s.rule = r->Bool() ? ZeroPointRule::kRecipe : ZeroPointRule::kRoundClamp;
  return s;
}

void WriteQParams(Writer* w, const QParams& p, uint32_t version) {
  w->F32(p.scale);
  if (version >= 2) w->F32(p.inv_scale);
  w->I32(p.zero_point);
  w->I32(p.qmin);
  w->I32(p.qmax);
  w->Pod<uint8_t>(p.wrap);
}

// Version 1 did not store inv_scale; it is 1.0f / scale, as every version-2 writer computes it.
QParams ReadQParams(Reader* r, uint32_t version) {
  QParams p;
  p.SetScale(r->F32());
  if (version >= 2) p.inv_scale = r->F32();
  p.zero_point = r->I32();
  p.qmin = r->I32();
  p.qmax = r->I32();
  p.wrap = r->Bool();
  return p;
}

void WriteExpr(Writer* w, const DescExpr& e) {
  w->U32(static_cast<uint32_t>(e.kind));
  w->I32(e.node);
  w->I32(e.value);
  w->F32(e.scale);
  w->I32(e.dim);
  w->U32(static_cast<uint32_t>(e.children.size()));
  for (const DescExpr& c : e.children) WriteExpr(w, c);
}

DescExpr ReadExpr(Reader* r, int depth) {
  KQ_CHECK(depth < 64, kFormat) << "corrupt int8 model: descriptor nested too deeply";
  DescExpr e;
  uint32_t kind = r->U32();
  KQ_CHECK(kind <= static_cast<uint32_t>(DescExpr::Kind::kFailover), kFormat)
      << "corrupt int8 model: descriptor kind " << kind;
  e.kind = static_cast<DescExpr::Kind>(kind);
  e.node = r->I32();
  e.value = r->I32();
  e.scale = r->F32();
  e.dim = r->I32();
  KQ_CHECK(e.dim >= 0 && e.dim <= kMaxDim, kFormat)
      << "corrupt int8 model: descriptor dimension " << e.dim << " at byte offset " << r->pos() - 8;
  uint32_t n = r->Count(1 << 16, "descriptor children");
  for (uint32_t i = 0; i < n; ++i) e.children.push_back(ReadExpr(r, depth + 1));
  return e;
}

void WriteGraph(Writer* w, const Graph& g) {
  w->U32(static_cast<uint32_t>(g.ops.size()));
  w->I32(g.output);
  for (const Op& op : g.ops) {
    w->Str(op.name);
    w->Str(op.component);
    w->U32(static_cast<uint32_t>(op.type));
    w->U32(static_cast<uint32_t>(op.input.parts.size()));
    for (const DescExpr& p : op.input.parts) WriteExpr(w, p);
    w->I32(op.input_dim);
    w->I32(op.output_dim);
    w->Pod<uint8_t>(op.relu_after);
    w->U64(static_cast<uint64_t>(op.weight.rows()));
    w->U64(static_cast<uint64_t>(op.weight.cols()));
    w->Array(op.weight.data(), static_cast<size_t>(op.weight.size()));
    w->Vec(op.bias);
    w->Vec(op.scale);
    w->Vec(op.offset);
    w->Vec(op.ints);
    w->F32(op.target_rms);
    w->Pod<uint8_t>(op.add_log_stddev);
  }
}

Graph ReadGraph(Reader* r) {
  Graph g;
  uint32_t n = r->Count(1 << 20, "ops");
  g.output = r->I32();
  for (uint32_t i = 0; i < n; ++i) {
    Op op;
    op.name = r->Str();
    op.component = r->Str();
    uint32_t type = r->U32();
    KQ_CHECK(type <= static_cast<uint32_t>(OpType::kPermute), kFormat)
        << "corrupt int8 model: op type " << type << " of '" << op.name << "'";
    op.type = static_cast<OpType>(type);
    uint32_t parts = r->Count(kMaxParts, "descriptor parts");
    for (uint32_t p = 0; p < parts; ++p) op.input.parts.push_back(ReadExpr(r, 0));
    op.input_dim = r->I32();
    op.output_dim = r->I32();
    KQ_CHECK(op.input_dim >= 0 && op.input_dim <= kMaxDim && op.output_dim >= 0 &&
                 op.output_dim <= kMaxDim,
             kFormat)
        << "corrupt int8 model: op '" << QuoteBytes(op.name) << "' has dimensions "
        << op.input_dim << " -> " << op.output_dim << " (byte offset " << r->pos() - 8 << ")";
    op.relu_after = r->Bool();
    uint64_t rows = r->U64(), cols = r->U64();
    std::vector<float> w = r->Vec<float>();
    KQ_CHECK(rows * cols == w.size() && rows < (1u << 31) && cols < (1u << 31), kFormat)
        << "corrupt int8 model: weight of '" << op.name << "' is " << rows << "x" << cols
        << " with " << w.size() << " values";
    if (!w.empty()) {
      op.weight.Resize(static_cast<int64_t>(rows), static_cast<int64_t>(cols));
      std::memcpy(op.weight.data(), w.data(), w.size() * sizeof(float));
    }
    op.bias = r->Vec<float>();
    op.scale = r->Vec<float>();
    op.offset = r->Vec<float>();
    op.ints = r->Vec<int32_t>();
    for (int32_t v : op.ints)
      KQ_CHECK(v >= 0 && v <= kMaxDim, kFormat)
          << "corrupt int8 model: op '" << QuoteBytes(op.name) << "' has index/size " << v;
    op.target_rms = r->F32();
    op.add_log_stddev = r->Bool();
    g.ops.push_back(std::move(op));
  }
  KQ_CHECK(g.output >= -1 && g.output < static_cast<int32_t>(g.ops.size()), kFormat)
      << "corrupt int8 model: output op index " << g.output;
  // Everything that walks the graph (OutputGrids, the planner, the executor) relies on its
  // invariants -- descriptors name only earlier ops, dimensions and shapes agree -- so a graph
  // section that breaks them is refused here, whether the checksum matches or not.
  g.UpdateIndex();
  try {
    nnet::ValidateGraph(g, /*weights_optional=*/true);
  } catch (const Error& e) {
    throw Error(Error::Code::kFormat, std::string("corrupt int8 model: graph section: ") + e.what());
  }
  return g;
}

void WriteLayers(Writer* w, const Int8Model& m, uint32_t version) {
  w->U32(static_cast<uint32_t>(m.layers.size()));
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const QuantizedAffine& q = m.layers[i];
    w->I32(m.layer_ops[i]);
    w->Str(q.name);
    w->I32(q.input_dim);
    w->I32(q.output_dim);
    w->Pod<uint8_t>(q.relu);
    WriteSpec(w, q.act_spec);
    w->U32(static_cast<uint32_t>(q.act_range));
    WriteQParams(w, q.act, version);
    WriteSpec(w, q.weight_spec);
    w->I32(q.weight_zero_point);
    w->Vec(q.weight_scale);
    w->Vec(q.bias);
    w->Vec(q.weight);  // last: the big aligned block
  }
}

void ReadLayers(Reader* r, uint32_t version, Int8Model* m) {
  uint32_t n = r->Count(1 << 20, "int8 layers");
  for (uint32_t i = 0; i < n; ++i) {
    QuantizedAffine q;
    int32_t op = r->I32();
    q.name = r->Str();
    q.input_dim = r->I32();
    q.output_dim = r->I32();
    q.relu = r->Bool();
    q.act_spec = ReadSpec(r);
    uint32_t range = r->U32();
    KQ_CHECK(range <= static_cast<uint32_t>(RangeMode::kChunk), kFormat)
        << "corrupt int8 model: range mode " << range;
    q.act_range = static_cast<RangeMode>(range);
    q.act = ReadQParams(r, version);
    q.weight_spec = ReadSpec(r);
    q.weight_zero_point = r->I32();
    q.weight_scale = r->Vec<float>();
    q.bias = r->Vec<float>();
    q.weight = r->Vec<int8_t>();
    KQ_CHECK(op >= 0 && op < static_cast<int32_t>(m->graph.ops.size()), kFormat)
        << "corrupt int8 model: layer '" << q.name << "' refers to op " << op;
    const Op& g = m->graph.ops[op];
    KQ_CHECK(g.type == OpType::kAffine && g.name == q.name && g.input_dim == q.input_dim &&
                 g.output_dim == q.output_dim && q.input_dim > 0 && q.output_dim > 0,
             kFormat)
        << "corrupt int8 model: layer '" << q.name << "' does not match op '" << g.name << "'";
    KQ_CHECK(q.weight.size() == static_cast<size_t>(q.input_dim) * q.output_dim &&
                 q.weight_scale.size() == static_cast<size_t>(q.output_dim) &&
                 (q.bias.empty() || q.bias.size() == static_cast<size_t>(q.output_dim)),
             kFormat)
        << "corrupt int8 model: sizes of layer '" << q.name << "'";
    KQ_CHECK(q.act.scale > 0.0f && std::isfinite(q.act.scale) && q.act.inv_scale > 0.0f &&
                 std::isfinite(q.act.inv_scale),
             kFormat)
        << "corrupt int8 model: scale of '" << q.name << "'";
    KQ_CHECK(q.act.qmin <= q.act.zero_point && q.act.zero_point <= q.act.qmax &&
                 q.act.qmin >= -128 && q.act.qmax <= 255,
             kFormat)
        << "corrupt int8 model: activation grid of '" << q.name << "'";
    for (float s : q.weight_scale)
      KQ_CHECK(s > 0.0f, kFormat) << "corrupt int8 model: weight scale of '" << q.name << "'";
    KQ_CHECK(std::find(m->layer_ops.begin(), m->layer_ops.end(), op) == m->layer_ops.end(), kFormat)
        << "corrupt int8 model: two int8 layers for op '" << QuoteBytes(g.name) << "'";
    m->layer_ops.push_back(op);
    m->layers.push_back(std::move(q));
  }
}

}  // namespace

uint64_t Fnv1a64(const char* data, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 0x100000001b3ull;
  }
  return h;
}

// "<producer> <count> <scales...>" of a META equalize line.
static Equalization ParseEqualizeLine(const std::string& line) {
  std::istringstream is(line);
  Equalization e;
  size_t n = 0;
  KQ_CHECK(static_cast<bool>(is >> e.producer >> n) && n <= (1u << 24), kFormat)
      << "corrupt int8 model: bad equalize line in META";
  e.scale.resize(n);
  for (float& x : e.scale) {
    std::string tok;
    KQ_CHECK(static_cast<bool>(is >> tok), kFormat)
        << "corrupt int8 model: equalize " << e.producer << " has fewer than " << n << " scales";
    char* end = nullptr;
    x = std::strtof(tok.c_str(), &end);
    KQ_CHECK(end && *end == '\0' && std::isfinite(x) && x > 0.0f, kFormat)
        << "corrupt int8 model: equalize " << e.producer << ": bad scale '" << tok << "'";
  }
  std::string extra;
  KQ_CHECK(!(is >> extra), kFormat)
      << "corrupt int8 model: equalize " << e.producer << " has more than " << n << " scales";
  return e;
}

std::string SerializeInt8Model(const Int8Model& m, uint32_t version) {
  KQ_CHECK(HostIsLittleEndian(), kUnsupported) << "the int8 model format needs a little-endian host";
  KQ_CHECK(version >= 1 && version <= kInt8FormatVersion, kInternal)
      << "cannot write int8 format version " << version;
  Writer w;
  w.buf().assign(kHeaderSize + kNumSections * kSectionEntry, '\0');
  w.Align();
  uint64_t offsets[kNumSections], sizes[kNumSections];
  for (uint32_t s = 0; s < kNumSections; ++s) {
    w.Align();
    offsets[s] = w.pos();
    switch (s) {
      case 0: {
        std::ostringstream meta;
        meta << "format kaldiq-int8\nversion " << version << "\nscheme " << m.scheme_name
             << "\nfold-input-affine " << m.lowering.fold_input_affine << "\nfold-scales-backward "
             << m.lowering.fold_scales_backward << "\nfold-batchnorm " << m.lowering.fold_batchnorm
             << "\n";
        for (const auto& f : m.folds) meta << "fold " << f << "\n";
        // Optional lines (readers before equalisation ignore unknown keys): the scales exactly
        // as in the plan (9 significant digits round-trip a float).
        for (const Equalization& e : m.equalize) {
          meta << "equalize " << e.producer << ' ' << e.scale.size();
          char buf[32];
          for (float x : e.scale) {
            std::snprintf(buf, sizeof(buf), " %.9g", static_cast<double>(x));
            meta << buf;
          }
          meta << "\n";
        }
        std::string t = meta.str();
        w.Raw(t.data(), t.size());
        break;
      }
      case 1:
        if (m.has_transition_model) {
          std::ostringstream tm;
          m.trans_model.Write(tm, true);
          std::string t = tm.str();
          w.Raw(t.data(), t.size());
        }
        break;
      case 2: w.Vec(m.priors); break;
      case 3: WriteGraph(&w, m.graph); break;
      case 4: WriteLayers(&w, m, version); break;
    }
    sizes[s] = w.pos() - offsets[s];
  }
  std::string& b = w.buf();
  std::memcpy(&b[0], kInt8Magic, sizeof(kInt8Magic));
  uint32_t header = kHeaderSize, nsec = kNumSections;
  std::memcpy(&b[8], &version, 4);
  std::memcpy(&b[12], &header, 4);
  w.PatchU64(16, b.size());
  std::memcpy(&b[32], &nsec, 4);
  for (uint32_t s = 0; s < kNumSections; ++s) {
    size_t e = kHeaderSize + s * kSectionEntry;
    std::strncpy(&b[e], kSections[s], 8);
    w.PatchU64(e + 8, offsets[s]);
    w.PatchU64(e + 16, sizes[s]);
  }
  w.PatchU64(24, Fnv1a64(b.data() + kHeaderSize, b.size() - kHeaderSize));
  return b;
}

Int8Model DeserializeInt8Model(const std::string& b) {
  KQ_CHECK(HostIsLittleEndian(), kUnsupported) << "the int8 model format needs a little-endian host";
  KQ_CHECK(b.size() >= kHeaderSize && std::memcmp(b.data(), kInt8Magic, sizeof(kInt8Magic)) == 0,
           kFormat)
      << "not a kaldiq int8 model (bad magic)";
  Reader h(b, 8, kHeaderSize);
  uint32_t version = h.U32(), header = h.U32();
  uint64_t file_size = h.U64(), checksum = h.U64();
  uint32_t nsec = h.U32();
  KQ_CHECK(version >= 1 && version <= kInt8FormatVersion, kFormat)
      << "int8 model format version " << version << " is not supported (this kaldiq reads "
      << "versions 1 to " << kInt8FormatVersion << ")";
  KQ_CHECK(header == kHeaderSize && nsec == kNumSections, kFormat)
      << "corrupt int8 model header";
  KQ_CHECK(file_size == b.size(), kFormat)
      << "int8 model is truncated or has trailing bytes: header says " << file_size
      << " bytes, file has " << b.size();
  uint64_t actual = Fnv1a64(b.data() + kHeaderSize, b.size() - kHeaderSize);
  KQ_CHECK(actual == checksum, kFormat)
      << "int8 model checksum mismatch (stored " << std::hex << checksum << ", computed "
      << actual << "): the file is corrupt";
  Int8Model m;
  Reader t(b, kHeaderSize, b.size());
  size_t off[kNumSections], size[kNumSections];
  for (uint32_t s = 0; s < kNumSections; ++s) {
    char tag[9] = {};
    for (int i = 0; i < 8; ++i) tag[i] = static_cast<char>(t.Pod<uint8_t>());
    KQ_CHECK(std::strncmp(tag, kSections[s], 8) == 0, kFormat)
        << "corrupt int8 model: section " << s << " is '" << tag << "', expected '"
        << kSections[s] << "'";
    off[s] = t.U64();
    size[s] = t.U64();
    KQ_CHECK(off[s] <= b.size() && size[s] <= b.size() - off[s], kFormat)
        << "corrupt int8 model: section " << kSections[s] << " outside the file";
  }
  {
    std::istringstream meta(b.substr(off[0], size[0]));
    std::string key, value;
    while (meta >> key && std::getline(meta >> std::ws, value)) {
      if (key == "scheme") m.scheme_name = value;
      if (key == "fold") m.folds.push_back(value);
      if (key == "fold-input-affine") m.lowering.fold_input_affine = value == "1";
      if (key == "fold-scales-backward") m.lowering.fold_scales_backward = value == "1";
      if (key == "fold-batchnorm") m.lowering.fold_batchnorm = value == "1";  // absent: 1
      if (key == "equalize") m.equalize.push_back(ParseEqualizeLine(value));
    }
  }
  if (size[1] > 0) {
    std::istringstream tm(b.substr(off[1], size[1]));
    m.trans_model.Read(tm, true);
    m.has_transition_model = true;
  }
  {
    Reader r(b, off[2], off[2] + size[2]);
    m.priors = r.Vec<float>();
  }
  {
    Reader r(b, off[3], off[3] + size[3]);
    m.graph = ReadGraph(&r);
  }
  {
    Reader r(b, off[4], off[4] + size[4]);
    ReadLayers(&r, version, &m);
  }
  return m;
}

}  // namespace kaldiq::quant
