// Chain egs and FST files: byte-identical round trips on Kaldi's fixture egs and den.fst, the
// decoded values of the first eg, text mode, property bits, and corrupt input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>

#include "kaldi/chain_example.h"
#include "kaldi/fst_io.h"
#include "kaldi/table.h"
#include "kaldi/test_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

using kaldiq::testing::ReadFileBytes;
using kaldiq::testing::TempDir;

const std::string kEgsDir = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/egs";
const std::string kDenFst = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/den.fst";

bool HaveFixture() { return std::ifstream(kEgsDir + "/valid_diagnostic.cegs").good(); }

#define REQUIRE_FIXTURE()                                                          \
  if (!HaveFixture()) GTEST_SKIP() << "../shared fixtures not found (" << kEgsDir << ")"

using ChainEgsReader = SequentialTableReader<NnetChainExampleHolder>;
using ChainEgsWriter = TableWriter<NnetChainExampleHolder>;

// Copies an archive through our reader and writer; returns the number of egs.
int CopyArchive(const std::string& in, const std::string& out_wspec) {
  ChainEgsReader reader("ark:" + in);
  ChainEgsWriter writer(out_wspec);
  int n = 0;
  for (; !reader.Done(); reader.Next(), ++n) writer.Write(reader.Key(), reader.Value());
  writer.Close();
  return n;
}

TEST(ChainExample, ArchivesRoundTripByteIdentically) {
  REQUIRE_FIXTURE();
  TempDir dir;
  for (const char* name : {"valid_diagnostic.cegs", "train_diagnostic.cegs", "cegs.1.ark"}) {
    const std::string in = kEgsDir + "/" + name;
    const int n = CopyArchive(in, "ark:" + dir.File("out.ark"));
    EXPECT_GT(n, 0) << name;
    EXPECT_TRUE(ReadFileBytes(in) == ReadFileBytes(dir.File("out.ark"))) << name;
  }
}

TEST(ChainExample, FirstValidEgDecodesAsKaldiWroteIt) {
  REQUIRE_FIXTURE();
  ChainEgsReader reader("ark:" + kEgsDir + "/valid_diagnostic.cegs");
  ASSERT_FALSE(reader.Done());
  EXPECT_EQ(reader.Key(), "engb-m2-tr00178-0");
  const NnetChainExample& eg = reader.Value();
  ASSERT_EQ(eg.inputs.size(), 1u);
  const NnetIo& in = eg.inputs[0];
  EXPECT_EQ(in.name, "input");
  ASSERT_EQ(in.indexes.size(), 173u);
  for (size_t i = 0; i < in.indexes.size(); ++i) {
    EXPECT_EQ(in.indexes[i], (Index{0, static_cast<int32_t>(i) - 16, 0}));
  }
  EXPECT_TRUE(in.features.IsCompressed());
  EXPECT_EQ(in.features.NumCols(), 40);
  ASSERT_EQ(eg.outputs.size(), 1u);
  const NnetChainSupervision& out = eg.outputs[0];
  EXPECT_EQ(out.name, "output");
  ASSERT_EQ(out.indexes.size(), 47u);
  for (size_t i = 0; i < out.indexes.size(); ++i) {
    EXPECT_EQ(out.indexes[i], (Index{0, 3 * static_cast<int32_t>(i), 0}));
  }
  const ChainSupervision& sup = out.supervision;
  EXPECT_EQ(sup.weight, 1.0f);
  EXPECT_EQ(sup.num_sequences, 1);
  EXPECT_EQ(sup.frames_per_sequence, 47);
  EXPECT_EQ(sup.label_dim, 968);
  EXPECT_FALSE(sup.e2e());
  EXPECT_EQ(sup.fst.NumStates(), 117);
  EXPECT_EQ(sup.fst.NumArcs(), 188);
  EXPECT_EQ(sup.fst.start, 0);
  // The first arc as in the file: label 1, weight 69.49..., to state 1.
  EXPECT_EQ(sup.fst.arcs[0].ilabel, 1);
  EXPECT_EQ(sup.fst.arcs[0].nextstate, 1);
  EXPECT_NEAR(sup.fst.arcs[0].weight, 69.4924f, 1e-3);
  int num_final = 0;
  for (int32_t s = 0; s < sup.fst.NumStates(); ++s) num_final += sup.fst.IsFinal(s);
  EXPECT_EQ(num_final, 1);
  ASSERT_EQ(out.deriv_weights.size(), 47u);
  for (float w : out.deriv_weights) EXPECT_TRUE(w == 1.0f || w == 0.5f) << w;
  std::vector<int32_t> times;
  EXPECT_EQ(ComputeFstStateTimes(sup.fst, &times), 47);
}

TEST(ChainExample, StoredPropertiesEqualComputedOnes) {
  REQUIRE_FIXTURE();
  ChainEgsReader reader("ark:" + kEgsDir + "/valid_diagnostic.cegs");
  int n = 0;
  for (; !reader.Done() && n < 50; reader.Next(), ++n) {
    const StdFst& fst = reader.Value().outputs[0].supervision.fst;
    EXPECT_EQ(ComputeFstProperties(fst), fst.properties) << reader.Key();
  }
  EXPECT_EQ(n, 50);
}

TEST(ChainExample, TextModeRoundTrip) {
  REQUIRE_FIXTURE();
  TempDir dir;
  ChainEgsReader reader("ark:" + kEgsDir + "/valid_diagnostic.cegs");
  const NnetChainExample original = reader.Value();
  std::ostringstream text;
  original.Write(text, false);
  std::istringstream in(text.str());
  NnetChainExample back;
  back.Read(in, false);
  // Text holds decompressed features; compare values and structure.
  MatrixF a, b;
  original.inputs[0].features.GetMatrix(&a);
  back.inputs[0].features.GetMatrix(&b);
  ASSERT_EQ(a.rows(), b.rows());
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a.data()[i], b.data()[i], 1e-5 * std::fabs(a.data()[i]) + 1e-6);
  EXPECT_EQ(back.inputs[0].indexes, original.inputs[0].indexes);
  EXPECT_EQ(back.outputs[0].indexes, original.outputs[0].indexes);
  const StdFst& f0 = original.outputs[0].supervision.fst;
  const StdFst& f1 = back.outputs[0].supervision.fst;
  ASSERT_EQ(f0.NumStates(), f1.NumStates());
  ASSERT_EQ(f0.NumArcs(), f1.NumArcs());
  for (int64_t i = 0; i < f0.NumArcs(); ++i) {
    EXPECT_EQ(f0.arcs[i].ilabel, f1.arcs[i].ilabel);
    EXPECT_EQ(f0.arcs[i].nextstate, f1.arcs[i].nextstate);
    EXPECT_NEAR(f0.arcs[i].weight, f1.arcs[i].weight, 1e-5 * std::fabs(f0.arcs[i].weight));
  }
  EXPECT_EQ(f1.properties, ComputeFstProperties(f0));
  EXPECT_EQ(back.outputs[0].deriv_weights, original.outputs[0].deriv_weights);
  // And text -> text is stable.
  std::ostringstream text2;
  back.Write(text2, false);
  EXPECT_EQ(text2.str(), text.str());
}

TEST(DenFst, ReadsAndWritesByteIdentically) {
  REQUIRE_FIXTURE();
  const StdFst fst = ReadFstFile(kDenFst);
  EXPECT_EQ(fst.NumStates(), 5796);
  EXPECT_EQ(fst.NumArcs(), 43430);
  EXPECT_EQ(fst.start, 5795);
  int num_final = 0;
  for (int32_t s = 0; s < fst.NumStates(); ++s) num_final += fst.IsFinal(s);
  EXPECT_EQ(num_final, 40);
  std::ostringstream os;
  WriteVectorFst(os, fst);
  EXPECT_TRUE(os.str() == ReadFileBytes(kDenFst));
}

// A tiny time-ordered acceptor: 0 -1-> 1 -2-> 2 (final), 0 -3-> 1.
StdFst TinyAcceptor() {
  StdFst f;
  f.start = 0;
  f.AddState(std::numeric_limits<float>::infinity());
  f.AddArc({1, 1, 0.5f, 1});
  f.AddArc({3, 3, 1.5f, 1});
  f.AddState(std::numeric_limits<float>::infinity());
  f.AddArc({2, 2, 0.25f, 2});
  f.AddState(0.0f);
  f.properties = ComputeFstProperties(f);
  return f;
}

TEST(CompactFst, RoundTripAndCorruption) {
  const StdFst f = TinyAcceptor();
  std::ostringstream os;
  WriteCompactAcceptorFst(os, f);
  const std::string bytes = os.str();
  {
    std::istringstream is(bytes);
    const StdFst g = ReadCompactAcceptorFst(is);
    EXPECT_EQ(g.NumStates(), 3);
    EXPECT_EQ(g.NumArcs(), 3);
    std::ostringstream os2;
    WriteCompactAcceptorFst(os2, g);
    EXPECT_EQ(os2.str(), bytes);
  }
  // Every truncation is an error, never a crash.
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::istringstream is(bytes.substr(0, len));
    EXPECT_THROW(ReadCompactAcceptorFst(is), Error) << len;
  }
  // A next state out of range (last element's next state is at the end of the data).
  std::string bad = bytes;
  const int32_t big = 1000;
  bad.replace(bad.size() - 4, 4, reinterpret_cast<const char*>(&big), 4);
  std::istringstream is(bad);
  EXPECT_THROW(ReadCompactAcceptorFst(is), Error);
}

TEST(StateTimes, RejectsFstsThatAreNotTimeOrdered) {
  std::vector<int32_t> times;
  StdFst f = TinyAcceptor();
  EXPECT_EQ(ComputeFstStateTimes(f, &times), 2);
  EXPECT_EQ(times, (std::vector<int32_t>{0, 1, 2}));
  StdFst g = f;
  g.arcs[2].nextstate = 1;  // self-loop: state 1 at times 1 and 2
  EXPECT_THROW(ComputeFstStateTimes(g, &times), Error);
  StdFst h = f;
  h.finals[1] = 0.0f;  // finals at times 1 and 2
  EXPECT_THROW(ComputeFstStateTimes(h, &times), Error);
}

TEST(ChainExample, CorruptEgsGiveErrorsNamingTheKey) {
  REQUIRE_FIXTURE();
  const std::string bytes = ReadFileBytes(kEgsDir + "/valid_diagnostic.cegs").substr(0, 60000);
  TempDir dir;
  // Flip a label inside the first FST to an out-of-range value.
  std::string bad = bytes;
  const size_t fst_pos = bad.find("compact_acceptor");
  ASSERT_NE(fst_pos, std::string::npos);
  // header after the type string: "standard" + version, flags, props, start, states, arcs,
  // then 118 offsets; the first element's label follows.
  const size_t first_label = fst_pos + 16 + 4 + 8 + 4 + 4 + 8 + 8 + 8 + 8 + 118 * 4;
  const int32_t label = 5000;
  bad.replace(first_label, 4, reinterpret_cast<const char*>(&label), 4);
  kaldiq::testing::WriteFileBytes(dir.File("bad.ark"), bad);
  try {
    ChainEgsReader reader("ark:" + dir.File("bad.ark"));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("engb-m2-tr00178-0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("label 5000"), std::string::npos) << msg;
  }
  // Truncated archive: an error naming the key of the cut entry.
  kaldiq::testing::WriteFileBytes(dir.File("cut.ark"), bytes);
  try {
    ChainEgsReader reader("ark:" + dir.File("cut.ark"));
    for (; !reader.Done(); reader.Next()) {
    }
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("key '"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kaldiq::kaldi

namespace kaldiq::kaldi {
namespace {

// A small fuzz pass over the readers: random byte flips, insertions and truncations of a real
// eg (and of a vector FST) must either parse or throw kaldiq::Error -- never crash, hang or
// allocate without bound (run under ASan/UBSan in the sanitizer build).
TEST(ChainExampleFuzz, CorruptedBytesNeverCrash) {
  REQUIRE_FIXTURE();
  std::string eg_bytes;
  {
    ChainEgsReader reader("ark:" + kEgsDir + "/valid_diagnostic.cegs");
    std::ostringstream os;
    reader.Value().Write(os, true);
    eg_bytes = os.str();
  }
  std::string fst_bytes;
  {
    std::ostringstream os;
    StdFst f = TinyAcceptor();
    WriteVectorFst(os, f);
    fst_bytes = os.str();
  }
  std::mt19937 gen(42);
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    const bool fst = iter % 3 == 2;
    std::string b = fst ? fst_bytes : eg_bytes;
    const int edits = 1 + static_cast<int>(gen() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = gen() % b.size();
      switch (gen() % 4) {
        case 0: b[pos] = static_cast<char>(gen()); break;
        case 1: b[pos] ^= static_cast<char>(1 << (gen() % 8)); break;
        case 2: b.insert(pos, 1, static_cast<char>(gen())); break;
        default: b.resize(pos); break;
      }
      if (b.empty()) b = "x";
    }
    std::istringstream is(b);
    try {
      if (fst) {
        ReadVectorFst(is);
      } else {
        NnetChainExample eg;
        eg.Read(is, true);
      }
      ++parsed;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_EQ(parsed + rejected, 3000);
}

}  // namespace
}  // namespace kaldiq::kaldi
