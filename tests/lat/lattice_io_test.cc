// Kaldi lattice archives: byte-identical binary round trip of Kaldi's own lat.ark, text form,
// Lattice <-> CompactLattice conversion on read, and clear errors on corrupt bytes.
#include "kaldi/lattice_io.h"

#include <gtest/gtest.h>

#include <fst/equal.h>

#include <sstream>

#include "lat/lattice_ops.h"
#include "test_util.h"
#include "util/error.h"

namespace kaldiq::lat {
namespace {

using testing::ReadFileBytes;
using testing::ReadLatticeArchive;
using testing::WriteLatticeArchive;

const std::string kLat3 = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/dev60/lat3.ark";
const std::string kSharedLat = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/dev60/lat.ark";

int NumArcs(const CompactLattice& c) {
  int n = 0;
  for (int s = 0; s < c.NumStates(); ++s) n += c.NumArcs(s);
  return n;
}

TEST(LatticeIo, VendoredArchiveRoundTripsByteIdentical) {
  const std::string bytes = ReadFileBytes(kLat3);
  ASSERT_FALSE(bytes.empty()) << kLat3;
  const auto entries = ReadLatticeArchive(bytes);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].first, "en029-f1-de00020");
  EXPECT_EQ(entries[0].second.NumStates(), 34);
  EXPECT_EQ(NumArcs(entries[0].second), 76);
  EXPECT_EQ(WriteLatticeArchive(entries, true), bytes);
}

TEST(LatticeIo, FullKaldiArchiveRoundTripsByteIdentical) {
  if (!testing::FileExists(kSharedLat)) GTEST_SKIP() << "needs ../shared fixtures: " << kSharedLat;
  const std::string bytes = ReadFileBytes(kSharedLat);
  const auto entries = ReadLatticeArchive(bytes);
  ASSERT_EQ(entries.size(), 60u);
  EXPECT_EQ(WriteLatticeArchive(entries, true), bytes);
}

TEST(LatticeIo, TextFormMatchesKaldiPrinterAndReadsBack) {
  CompactLattice c;
  c.AddState();
  c.AddState();
  c.AddState();
  c.SetStart(0);
  c.AddArc(0, CompactLatticeArc(7, 7, CompactLatticeWeight(LatticeWeight(1.5F, -2), {3, 4}), 1));
  c.AddArc(0, CompactLatticeArc(0, 0, CompactLatticeWeight::One(), 2));
  c.AddArc(1, CompactLatticeArc(9, 9, CompactLatticeWeight(LatticeWeight(0, 1), {}), 2));
  c.SetFinal(2, CompactLatticeWeight(LatticeWeight(0.25F, 0), {5}));
  std::ostringstream os;
  kaldi::WriteCompactLattice(os, false, c);
  EXPECT_EQ(os.str(),
            "\n0\t1\t7\t1.5,-2,3_4\n0\t2\t0\n1\t2\t9\t0,1,\n2\t0.25,0,5\n\n");
  std::istringstream is(os.str() + "next-key ...");
  CompactLattice back;
  kaldi::ReadCompactLattice(is, &back);
  EXPECT_TRUE(fst::Equal(c, back));
  std::string rest;
  is >> rest;
  EXPECT_EQ(rest, "next-key");  // stopped at the empty line

  // The same lattice as a state-level Lattice, and read back into either type.
  Lattice l;
  ConvertLattice(c, &l, true);
  std::ostringstream los;
  kaldi::WriteLattice(los, false, l);
  std::istringstream lis(los.str());
  CompactLattice from_lattice_text;
  kaldi::ReadCompactLattice(lis, &from_lattice_text);  // converted, as Kaldi does
  EXPECT_EQ(LatticeBestPath(from_lattice_text).alignment, LatticeBestPath(c).alignment);
  EXPECT_EQ(LatticeBestPath(from_lattice_text).words, LatticeBestPath(c).words);
}

TEST(LatticeIo, BinaryLatticeReadAsCompactAndBack) {
  const auto entries = ReadLatticeArchive(ReadFileBytes(kLat3));
  for (const auto& [key, clat] : entries) {
    Lattice l;
    ConvertLattice(clat, &l, true);
    std::ostringstream os;
    kaldi::WriteLattice(os, true, l);
    EXPECT_EQ(os.str().substr(0, 4), std::string("\xD6\xFD\xB2\x7E", 4));
    std::istringstream is(os.str());
    CompactLattice back;
    kaldi::ReadCompactLattice(is, &back);
    const BestPath a = LatticeBestPath(clat), b = LatticeBestPath(back);
    EXPECT_TRUE(a.ok && b.ok);
    EXPECT_EQ(a.words, b.words) << key;
    EXPECT_EQ(a.alignment, b.alignment) << key;
    EXPECT_TRUE(ApproxEqual(a.weight, b.weight, 1e-3F)) << key;
    std::istringstream is2(os.str());
    Lattice l2;
    kaldi::ReadLattice(is2, &l2);
    EXPECT_TRUE(fst::Equal(l, l2));
  }
}

TEST(LatticeIo, EmptyLatticeRoundTrips) {
  CompactLattice empty;
  for (bool binary : {true, false}) {
    std::ostringstream os;
    kaldi::WriteCompactLattice(os, binary, empty);
    std::istringstream is(os.str());
    CompactLattice back;
    back.AddState();
    kaldi::ReadCompactLattice(is, &back);
    EXPECT_EQ(back.NumStates(), 0) << binary;
    EXPECT_EQ(back.Start(), fst::kNoStateId);
  }
}

void ExpectFormatError(const std::string& bytes, const std::string& needle) {
  std::istringstream is(bytes);
  CompactLattice c;
  try {
    kaldi::ReadCompactLattice(is, &c);
    ADD_FAILURE() << "no error for corrupt input (expected '" << needle << "')";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Error::Code::kFormat);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(LatticeIo, CorruptBytesGiveClearErrors) {
  const std::string bytes = ReadFileBytes(kLat3);
  const size_t start = bytes.find(' ') + 1;
  const size_t second = bytes.find("en029-f1-de00131");
  ASSERT_NE(second, std::string::npos);
  const std::string one = bytes.substr(start, second - start);
  // Truncations at many points: always an error naming truncation/corruption, never a crash.
  for (size_t cut : {size_t{2}, size_t{10}, size_t{40}, size_t{70}, one.size() / 2, one.size() - 1})
    ExpectFormatError(one.substr(0, cut), "at byte");
  ExpectFormatError("garbage", "does not look like an FST");
  std::string bad_magic = one;
  bad_magic[1] = 'x';
  ExpectFormatError(bad_magic, "bad magic");
  // Huge declared state count (offset: magic 4 + "vector" 4+6 + "compactlattice44" 4+16 +
  // version 4 + flags 4 + properties 8 + start 8 = 58).
  std::string huge = one;
  huge[58 + 6] = 0x7f;
  ExpectFormatError(huge, "exceeds the size");
  // An arc pointing outside the lattice. Two states, one arc 0->1 with weight One: the
  // destination sits after header (74) + final weight (12) + narcs (8) + labels (8) + weight (12).
  {
    CompactLattice tiny;
    tiny.AddState();
    tiny.AddState();
    tiny.SetStart(0);
    tiny.SetFinal(1, CompactLatticeWeight::One());
    tiny.AddArc(0, CompactLatticeArc(3, 3, CompactLatticeWeight::One(), 1));
    std::ostringstream os;
    kaldi::WriteCompactLattice(os, true, tiny);
    std::string b = os.str();
    ASSERT_EQ(b[114], 1);
    b[114] = 5;
    ExpectFormatError(b, "nonexistent state");
  }
  std::string wrong_type = one;
  wrong_type.replace(wrong_type.find("compactlattice44"), 16, "compactlattice99");
  ExpectFormatError(wrong_type, "cannot be read as a lattice");
  ExpectFormatError("\n0\t1\tx\n\n", "bad arc");
  ExpectFormatError("\n0\t1\t2\t3\t4\t5\t6\n\n", "wrong number of columns");
  ExpectFormatError("\n0\t1\t2\t1,2,3_y\n\n", "bad arc weight");
}

// A 19-byte text lattice naming state 10^9 used to create 10^9 states (10 GB, minutes); ids are
// now bounded by what the text can describe (2 x its lines), and sparse ids inside that bound
// still read as OpenFst's text reader would (the states in between exist, unconnected).
TEST(LatticeIo, TextStateIdsAreBoundedByTheInput) {
  ExpectFormatError("\n0\t1000000000\t1\n\n", "out of range for a lattice of 1 lines");
  ExpectFormatError("\n0\t-1\t1\n\n", "bad state id");
  std::istringstream is("\n0\t3\t7\n3\n\n");
  CompactLattice c;
  kaldi::ReadCompactLattice(is, &c);
  EXPECT_EQ(c.NumStates(), 4);
  EXPECT_EQ(c.Start(), 0);
  EXPECT_EQ(c.NumArcs(0), 1u);
  EXPECT_EQ(c.Final(3), CompactLatticeWeight::One());
}

TEST(LatticeIo, HoldersFollowTheTableConcept) {
  EXPECT_FALSE(kaldi::CompactLatticeHolder::kUsesBinaryMarker);
  EXPECT_FALSE(kaldi::CompactLatticeHolder::IsTextOnly());
  const auto entries = ReadLatticeArchive(ReadFileBytes(kLat3));
  std::ostringstream os;
  kaldi::CompactLatticeHolder::Write(os, true, entries[1].second);
  std::istringstream is(os.str());
  CompactLattice back;
  kaldi::CompactLatticeHolder::Read(is, /*binary=*/false, &back);  // sniffs: flag ignored
  EXPECT_TRUE(fst::Equal(back, entries[1].second));
}

}  // namespace
}  // namespace kaldiq::lat
