// Reading decoding graphs: Kaldi's const HCLG, vector FSTs, and corrupt files (clear errors,
// never a crash).
#include <gtest/gtest.h>

#include <fst/const-fst.h>
#include <fst/equal.h>
#include <fst/vector-fst.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "decode/graph_io.h"
#include "util/error.h"

namespace kaldiq::decode {
namespace {

const std::string kTinyGraph = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/graph-tiny/HCLG.fst";

std::string ReadAll(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
}

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/kq_graph_io_" + name;
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream os(path, std::ios::binary);
  os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(GraphIoTest, ReadsKaldiConstHclg) {
  DecodingGraph g = ReadDecodingGraph(kTinyGraph);
  ASSERT_TRUE(g.const_fst != nullptr);
  EXPECT_EQ(g.Type(), "const");
  // Header of graph-tiny/HCLG.fst: 68303 states, 188391 arcs (0x10acf, 0x2dfe7).
  EXPECT_EQ(g.NumStates(), 68303);
  int64_t arcs = 0;
  for (int64_t s = 0; s < g.NumStates(); ++s) arcs += g.const_fst->NumArcs(s);
  EXPECT_EQ(arcs, 188391);
}

TEST(GraphIoTest, ReadsVectorFst) {
  fst::StdVectorFst v;
  v.AddState();
  v.AddState();
  v.SetStart(0);
  v.AddArc(0, fst::StdArc(3, 7, 0.5f, 1));
  v.SetFinal(1, 0.25f);
  const std::string path = TempPath("vector.fst");
  ASSERT_TRUE(v.Write(path));
  DecodingGraph g = ReadDecodingGraph(path);
  ASSERT_TRUE(g.vector_fst != nullptr);
  EXPECT_EQ(g.NumStates(), 2);
  EXPECT_FLOAT_EQ(g.vector_fst->Final(1).Value(), 0.25f);
  std::remove(path.c_str());
}

TEST(GraphIoTest, MissingFileIsAnError) {
  EXPECT_THROW(ReadDecodingGraph(TempPath("does-not-exist.fst")), Error);
}

TEST(GraphIoTest, NotAnFstIsAnError) {
  const std::string path = TempPath("garbage.fst");
  WriteAll(path, "this is not an fst at all, just some text\n");
  try {
    ReadDecodingGraph(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("decoding graph"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(GraphIoTest, TruncatedFstIsAnError) {
  const std::string bytes = ReadAll(kTinyGraph);
  ASSERT_GT(bytes.size(), 100000u);
  const std::string path = TempPath("truncated.fst");
  WriteAll(path, bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(ReadDecodingGraph(path), Error);
  std::remove(path.c_str());
}

TEST(GraphIoTest, CorruptArcTargetIsAnError) {
  // Overwrite the nextstate of arcs near the end of the arc array with a huge state id: the
  // reader must refuse the graph instead of letting the decoder read out of bounds.
  std::string bytes = ReadAll(kTinyGraph);
  const size_t arc_bytes = 188391 * 16;
  ASSERT_GT(bytes.size(), arc_bytes);
  for (size_t k = 1; k <= 4; ++k) {
    const size_t nextstate_pos = bytes.size() - k * 16 + 12;  // arcs are the file's tail
    const int32_t bad = 0x3fffffff;
    std::memcpy(&bytes[nextstate_pos], &bad, 4);
  }
  const std::string path = TempPath("corrupt.fst");
  WriteAll(path, bytes);
  try {
    ReadDecodingGraph(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(GraphIoTest, AbsurdHeaderSizesAreRefusedBeforeAllocating) {
  std::string bytes = ReadAll(kTinyGraph);
  // numstates is the int64 right after the header's fixed fields; find it by value.
  const int64_t real_states = 68303;
  const size_t pos = bytes.find(std::string(reinterpret_cast<const char*>(&real_states), 8));
  ASSERT_NE(pos, std::string::npos);
  const int64_t huge = int64_t{1} << 40;
  std::memcpy(&bytes[pos], &huge, 8);
  const std::string path = TempPath("huge.fst");
  WriteAll(path, bytes);
  EXPECT_THROW(ReadDecodingGraph(path), Error);
  std::remove(path.c_str());
}

std::string ErrorOf(const std::string& bytes) {
  std::istringstream is(bytes);
  try {
    ReadDecodingGraph(is, "test.fst");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string Header(const std::string& type, int32_t version, int64_t states, int64_t arcs,
                   int32_t name_len = -1) {
  std::string h;
  auto put = [&](const void* p, size_t n) { h.append(static_cast<const char*>(p), n); };
  const int32_t magic = 2125659606, flags = 0;
  const uint64_t props = 0;
  const int64_t start = 0;
  put(&magic, 4);
  const int32_t n = name_len >= 0 ? name_len : static_cast<int32_t>(type.size());
  put(&n, 4);
  h += type;
  const int32_t an = 8;
  put(&an, 4);
  h += "standard";
  put(&version, 4);
  put(&flags, 4);
  put(&props, 8);
  put(&start, 8);
  put(&states, 8);
  put(&arcs, 8);
  return h;
}

// NumStates()*20 + NumArcs()*16 overflowed int64 for declared counts near 2^62, so the size
// guard could be bypassed; counts are now checked by division.
TEST(GraphIoTest, SizeCheckCannotOverflow) {
  const std::string pad(64, '\0');
  EXPECT_NE(ErrorOf(Header("const", 2, 0x0666666666666667, 0) + pad).find("states"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Header("const", 2, 1, 0x1000000000000001) + pad).find("arcs"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Header("const", 2, 3, 1) + pad).find("only"), std::string::npos);
}

// Inputs that OpenFst's own readers spend unbounded time or memory on are refused up front.
TEST(GraphIoTest, HeaderStringsAndArcCountsAreBounded) {
  // A 2^31-byte type name (OpenFst's FstHeader::Read reads it one byte at a time).
  EXPECT_NE(ErrorOf(Header("const", 2, 0, 0, 0x7fffffff)).find("bad length"), std::string::npos);
  // A vector FST state declaring 2^40 arcs (OpenFst reserves them).
  std::string v = Header("vector", 2, 1, 1);
  const float w = 0;
  const int64_t narcs = int64_t{1} << 40;
  v.append(reinterpret_cast<const char*>(&w), 4);
  v.append(reinterpret_cast<const char*>(&narcs), 8);
  v += std::string(16, '\0');
  EXPECT_NE(ErrorOf(v).find("declares 1099511627776 arcs"), std::string::npos);
  // No state count (-1): OpenFst reads until the end; refused.
  EXPECT_NE(ErrorOf(Header("vector", 2, -1, 0) + std::string(48, '\0')).find("without a state count"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Header("compact", 2, 0, 0)).find("not supported"), std::string::npos);
}

// The vector reader (kaldiq's own) gives what OpenFst wrote, from a file and from a pipe.
TEST(GraphIoTest, VectorFstReadsBackExactly) {
  fst::StdVectorFst v;
  for (int s = 0; s < 5; ++s) v.AddState();
  v.SetStart(2);
  for (int s = 0; s < 5; ++s) {
    for (int a = 0; a < s; ++a) v.AddArc(s, fst::StdArc(s + a, 10 * a, 0.5f * a, (s + a) % 5));
  }
  v.SetFinal(4, 1.5f);
  v.SetFinal(0, 0.0f);
  std::ostringstream os;
  ASSERT_TRUE(v.Write(os, fst::FstWriteOptions()));
  const std::string path = TempPath("vector5.fst");
  WriteAll(path, os.str());
  for (const std::string& rx : {path, "cat " + path + " |"}) {
    SCOPED_TRACE(rx);
    DecodingGraph g = ReadDecodingGraph(rx);
    ASSERT_TRUE(g.vector_fst != nullptr);
    EXPECT_TRUE(fst::Equal(*g.vector_fst, v));
    EXPECT_EQ(g.vector_fst->Start(), 2);
  }
  // The const form, plain and aligned (padding before each array), through a pipe (read into
  // memory, then checked like a file).
  // Layout: header, [padding to 16], 5 states x 20 bytes, [padding], 10 arcs x 16 bytes.
  size_t header_bytes = 0;
  for (bool align : {false, true}) {
    SCOPED_TRACE(align);
    std::ostringstream cs;
    fst::FstWriteOptions opts;
    opts.align = align;
    ASSERT_TRUE(fst::StdConstFst(v).Write(cs, opts));
    WriteAll(path, cs.str());
    DecodingGraph c = ReadDecodingGraph("cat " + path + " |");
    ASSERT_TRUE(c.const_fst != nullptr);
    EXPECT_TRUE(fst::Equal(*c.const_fst, v));
    // A state whose arc offset points elsewhere (OpenFst would index the arc array with it):
    // state 1's arcs start at offset 0 (state 0 has none); make it 7.
    if (!align) header_bytes = cs.str().size() - 5 * 20 - 10 * 16;
    const size_t states_at = header_bytes + (align ? (16 - header_bytes % 16) % 16 : 0);
    std::string probe = cs.str();
    const uint32_t wrong = 7;
    std::memcpy(&probe[states_at + 20 + 4], &wrong, 4);
    EXPECT_NE(ErrorOf(probe).find("corrupt decoding graph: state 1"), std::string::npos)
        << ErrorOf(probe);
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace kaldiq::decode
