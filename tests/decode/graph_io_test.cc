// Reading decoding graphs: Kaldi's const HCLG, vector FSTs, and corrupt files (clear errors,
// never a crash).
#include <gtest/gtest.h>

#include <fst/vector-fst.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
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

}  // namespace
}  // namespace kaldiq::decode
