// Lattice operations against Kaldi's stored outputs: 1-best of Kaldi's lattices equals Kaldi's
// words.int; the LM-weight sweep (lattice-scale, lattice-best-path) reproduces wer_sweep.txt;
// pruning, penalties, conversions.
#include "lat/lattice_ops.h"

#include <gtest/gtest.h>

#include <fst/equal.h>

#include <fstream>
#include <map>
#include <sstream>

#include "test_util.h"

namespace kaldiq::lat {
namespace {

using testing::FileExists;
using testing::ReadFileBytes;
using testing::ReadLatticeArchive;

const std::string kTestData = KQ_TESTDATA_DIR;
const std::string kShared = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed";

// "key w1 w2 ..." lines -> map key -> tokens.
std::map<std::string, std::vector<std::string>> ReadTextTable(const std::string& path) {
  std::map<std::string, std::vector<std::string>> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::string key, tok;
    if (!(ls >> key)) continue;
    auto& v = out[key];
    while (ls >> tok) v.push_back(tok);
  }
  return out;
}

std::vector<std::string> ToStrings(const std::vector<int32_t>& v) {
  std::vector<std::string> s;
  for (int32_t x : v) s.push_back(std::to_string(x));
  return s;
}

TEST(LatticeOps, BestPathOfKaldiLatticesEqualsKaldiWordsInt) {
  const auto words = ReadTextTable(kTestData + "/tdnn-seed/dev60/words.int");
  const auto entries = ReadLatticeArchive(ReadFileBytes(kTestData + "/tdnn-seed/dev60/lat3.ark"));
  ASSERT_EQ(entries.size(), 3u);
  for (const auto& [key, clat] : entries) {
    const BestPath bp = LatticeBestPath(clat);
    ASSERT_TRUE(bp.ok) << key;
    ASSERT_TRUE(words.count(key)) << key;
    EXPECT_EQ(ToStrings(bp.words), words.at(key)) << key;
    EXPECT_FALSE(bp.alignment.empty());
  }
}

TEST(LatticeOps, BestPathAllSixtyAndAlignmentsEqualKaldi) {
  if (!FileExists(kShared + "/dev60/lat.ark")) GTEST_SKIP() << "needs ../shared fixtures";
  const auto words = ReadTextTable(kShared + "/dev60/words.int");
  const auto ali = ReadTextTable(kShared + "/dev60/ali.int");
  const auto entries = ReadLatticeArchive(ReadFileBytes(kShared + "/dev60/lat.ark"));
  ASSERT_EQ(entries.size(), 60u);
  int same_words = 0, same_ali = 0;
  for (const auto& [key, clat] : entries) {
    const BestPath bp = LatticeBestPath(clat);
    ASSERT_TRUE(bp.ok) << key;
    same_words += ToStrings(bp.words) == words.at(key);
    same_ali += ToStrings(bp.alignment) == ali.at(key);
  }
  EXPECT_EQ(same_words, 60);
  EXPECT_EQ(same_ali, 60);
}

// Word errors (substitutions + deletions + insertions) by Levenshtein distance.
int WordErrors(const std::vector<std::string>& ref, const std::vector<std::string>& hyp) {
  std::vector<int> prev(hyp.size() + 1), cur(hyp.size() + 1);
  for (size_t j = 0; j <= hyp.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= ref.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= hyp.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] != hyp[j - 1])});
    std::swap(prev, cur);
  }
  return prev[hyp.size()];
}

TEST(LatticeOps, LmWeightSweepReproducesKaldiWerSweep) {
  if (!FileExists(kShared + "/dev60/lat.ark")) GTEST_SKIP() << "needs ../shared fixtures";
  // words.txt: symbol id -> word.
  std::map<int, std::string> syms;
  {
    std::ifstream f(kShared + "/graph-pruned/words.txt");
    std::string w;
    int id;
    while (f >> w >> id) syms[id] = w;
  }
  const auto ref = ReadTextTable(kShared + "/dev60/text");
  const auto entries = ReadLatticeArchive(ReadFileBytes(kShared + "/dev60/lat.ark"));
  // wer_sweep.txt: "LMWT 7 %WER 5.64 [ 27 / 479, ..." -> errors per LMWT.
  std::map<int, int> kaldi_errors;
  {
    std::ifstream f(kShared + "/dev60/wer_sweep.txt");
    std::string lmwt_tok, pct, bracket, slash;
    int lmwt, errors, total;
    double wer;
    std::string line;
    while (std::getline(f, line)) {
      std::istringstream ls(line);
      if (ls >> lmwt_tok >> lmwt >> pct >> wer >> bracket >> errors >> slash >> total)
        kaldi_errors[lmwt] = errors;
    }
  }
  ASSERT_EQ(kaldi_errors.size(), 4u);
  for (const auto& [lmwt, expected] : kaldi_errors) {
    int errors = 0, ref_words = 0;
    for (const auto& [key, clat0] : entries) {
      CompactLattice clat(clat0);
      ScaleLattice(LatticeScaleFromOptions(10.0, 1.0, 1.0), &clat);
      ScaleLattice(LatticeScaleFromOptions(1.0, lmwt, 1.0), &clat);
      const BestPath bp = LatticeBestPath(clat);
      ASSERT_TRUE(bp.ok);
      std::vector<std::string> hyp;
      for (int32_t w : bp.words) hyp.push_back(syms.at(w));
      errors += WordErrors(ref.at(key), hyp);
      ref_words += static_cast<int>(ref.at(key).size());
    }
    EXPECT_EQ(ref_words, 479);
    EXPECT_EQ(errors, expected) << "LMWT " << lmwt;
  }
}

CompactLattice SmallLattice() {
  // 0 -a-> 1 -b-> 3 (final), 0 -c-> 2 -d-> 3, plus a dead branch 0 -e-> 4 (non-final).
  CompactLattice c;
  for (int i = 0; i < 5; ++i) c.AddState();
  c.SetStart(0);
  c.AddArc(0, CompactLatticeArc(1, 1, CompactLatticeWeight(LatticeWeight(1, 1), {11, 12}), 1));
  c.AddArc(0, CompactLatticeArc(3, 3, CompactLatticeWeight(LatticeWeight(1.5F, 3), {13}), 2));
  c.AddArc(0, CompactLatticeArc(5, 5, CompactLatticeWeight(LatticeWeight(0, 0), {}), 4));
  c.AddArc(1, CompactLatticeArc(2, 2, CompactLatticeWeight(LatticeWeight(1, 0), {14}), 3));
  c.AddArc(2, CompactLatticeArc(0, 0, CompactLatticeWeight(LatticeWeight(0, 1), {15}), 3));
  c.SetFinal(3, CompactLatticeWeight(LatticeWeight(0.5F, 0), {16}));
  return c;
}

TEST(LatticeOps, BestPathWordsAlignmentWeight) {
  const BestPath bp = LatticeBestPath(SmallLattice());
  ASSERT_TRUE(bp.ok);
  EXPECT_EQ(bp.words, std::vector<int32_t>({1, 2}));
  EXPECT_EQ(bp.alignment, std::vector<int32_t>({11, 12, 14, 16}));
  EXPECT_EQ(bp.weight, LatticeWeight(2.5F, 1));
  // Empty lattice and a lattice without a final state: no path, as Kaldi reports it.
  EXPECT_FALSE(LatticeBestPath(CompactLattice()).ok);
  CompactLattice nofinal = SmallLattice();
  nofinal.SetFinal(3, CompactLatticeWeight::Zero());
  EXPECT_FALSE(LatticeBestPath(nofinal).ok);
}

TEST(LatticeOps, ScalingAndPenaltyChangeTheBestPath) {
  // Paths: a-b = (2.5, 1), c-d = (2, 4). Acoustic scale 0 makes c-d win.
  CompactLattice c = SmallLattice();
  ScaleLattice(LatticeScaleFromOptions(0.0, 1.0, 1.0), &c);
  BestPath bp = LatticeBestPath(c);
  EXPECT_EQ(bp.words, std::vector<int32_t>({3}));
  EXPECT_EQ(bp.weight, LatticeWeight(2.0F, 0));
  // A word insertion penalty favours the path with fewer words: c-d has one word.
  CompactLattice p = SmallLattice();
  AddWordInsPenalty(3.0F, &p);
  bp = LatticeBestPath(p);
  EXPECT_EQ(bp.words, std::vector<int32_t>({3}));
  EXPECT_EQ(bp.weight, LatticeWeight(5.0F, 4));
  // --inv-acoustic-scale=4 equals --acoustic-scale=0.25; both at once is refused.
  const auto s = LatticeScaleFromOptions(1.0, 4.0, 1.0);
  EXPECT_DOUBLE_EQ(s[1][1], 0.25);
  EXPECT_THROW(LatticeScaleFromOptions(0.5, 4.0, 1.0), Error);
  CompactLattice z = SmallLattice();
  ScaleLattice(LatticeScaleFromOptions(1.0, 1.0, 1.0), &z);
  EXPECT_TRUE(fst::Equal(z, SmallLattice()));
}

TEST(LatticeOps, PruneKeepsExactlyTheArcsWithinBeam) {
  CompactLattice c = SmallLattice();
  // Paths: a-b total 3.5, c-d total 6; the dead branch goes too.
  ASSERT_TRUE(PruneLattice(1.0F, &c));
  EXPECT_EQ(LatticeBestPath(c).words, std::vector<int32_t>({1, 2}));
  int arcs = 0;
  for (int s = 0; s < c.NumStates(); ++s) arcs += c.NumArcs(s);
  EXPECT_EQ(arcs, 2);
  CompactLattice d = SmallLattice();
  ASSERT_TRUE(PruneLattice(2.5F, &d));
  arcs = 0;
  for (int s = 0; s < d.NumStates(); ++s) arcs += d.NumArcs(s);
  EXPECT_EQ(arcs, 4);
  EXPECT_FALSE(PruneLattice(0.0F, &d));
}

TEST(LatticeOps, ConvertRoundTripKeepsPathsOfKaldiLattices) {
  const auto entries = ReadLatticeArchive(ReadFileBytes(kTestData + "/tdnn-seed/dev60/lat3.ark"));
  for (const auto& [key, clat] : entries) {
    Lattice l;
    ConvertLattice(clat, &l, true);
    CompactLattice back;
    ConvertLattice(l, &back, true);
    const BestPath a = LatticeBestPath(clat), b = LatticeBestPath(back);
    EXPECT_EQ(a.words, b.words) << key;
    EXPECT_EQ(a.alignment, b.alignment) << key;
    EXPECT_TRUE(ApproxEqual(a.weight, b.weight, 1e-3F)) << key;
    // Local epsilon removal compacts the chains back: no more arcs than the original.
    int na = 0, nb = 0;
    for (int s = 0; s < clat.NumStates(); ++s) na += clat.NumArcs(s);
    for (int s = 0; s < back.NumStates(); ++s) nb += back.NumArcs(s);
    EXPECT_LE(nb, na + clat.NumStates()) << key;
  }
}

}  // namespace
}  // namespace kaldiq::lat
