#include "score/sweep.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "score/transcripts.h"
#include "util/error.h"

namespace kaldiq::score {
namespace {

namespace fs = std::filesystem;

const std::string kShared = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed";
const std::string kTestdata = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed";

std::string Slurp(const std::string& path) {
  std::ifstream is(path);
  EXPECT_TRUE(is.good()) << path;
  std::stringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

TEST(Sweep, PointsInKaldiOrderAndPenaltyParsing) {
  SweepConfig c;
  c.lmwts = {7, 8};
  c.wips = ParsePenaltyList("0.0,0.5");
  const auto pts = SweepPoints(c);
  ASSERT_EQ(pts.size(), 4u);
  EXPECT_EQ(pts[1].lmwt, 8);
  EXPECT_EQ(pts[1].wip, "0.0");
  EXPECT_EQ(pts[2].lmwt, 7);
  EXPECT_EQ(pts[2].wip, "0.5");
  EXPECT_THROW(ParsePenaltyList("0.0,x"), Error);
  EXPECT_THROW(ParsePenaltyList(""), Error);
}

TEST(Sweep, BestPointIsFirstLowestPrintedWer) {
  std::vector<ScoredPoint> pts(3);
  for (int i = 0; i < 3; ++i) {
    pts[i].point = {7 + i, "0.0"};
    pts[i].stats.num_words = 1000;
  }
  pts[0].stats.word_errs = 52;
  pts[1].stats.word_errs = 50;
  pts[2].stats.word_errs = 50;
  EXPECT_EQ(BestPointIndex(pts), 1u);
  pts[1].stats.num_ins = 50;
  EXPECT_EQ(BestWerLine(pts[1], "exp/decode"),
            "%WER 5.00 [ 50 / 1000, 50 ins, 0 del, 0 sub ] exp/decode/wer_8_0.0");
}

// Kaldi's wer_sweep.txt: for LMWT in 7 10 13 17, lattice-scale --acoustic-scale=10 then
// --inv-acoustic-scale=LMWT, lattice-best-path, compute-wer. Our sweep must print the same lines.
TEST(Sweep, ParityWithKaldiSweepOnDev60Lattices) {
  const std::string lat = kShared + "/dev60/lat.ark";
  if (!fs::exists(lat)) GTEST_SKIP() << "needs ../shared fixtures (" << lat << ")";
  SweepConfig c;
  c.lmwts = {7, 10, 13, 17};
  c.wips = {"0"};
  c.post_decode_acwt = 10;
  c.quiet = true;
  const auto symbols = ReadSymbolTable(kTestdata + "/graph-tiny/words.txt");
  TranscriptOptions to;
  const Transcripts refs = ReadTranscripts("ark:" + kShared + "/dev60/text", to);
  std::vector<std::string> got;
  for (int threads : {1, 2}) {
    c.num_threads = threads;
    const SweepHyps hyps = SweepLattices({"ark:" + lat}, c);
    EXPECT_EQ(hyps.keys.size(), 60u);
    EXPECT_EQ(hyps.num_failed, 0);
    const auto points = ScoreSweep(hyps, refs, *symbols);
    std::string lines;
    for (const auto& p : points) {
      lines += "LMWT " + std::to_string(p.point.lmwt) + " " + FormatWerLine(p.stats) + "\n";
    }
    got.push_back(lines);
  }
  EXPECT_EQ(got[0], Slurp(kShared + "/dev60/wer_sweep.txt"));
  EXPECT_EQ(got[1], got[0]) << "output depends on --num-threads";
}

TEST(Sweep, WritesKaldiScoringFiles) {
  const std::string lat = kShared + "/dev60/lat.ark";
  if (!fs::exists(lat)) GTEST_SKIP() << "needs ../shared fixtures (" << lat << ")";
  const fs::path dir = fs::temp_directory_path() / ("kq_sweep_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  SweepConfig c;
  c.lmwts = {9, 10};
  c.wips = {"0.0", "0.5"};
  c.post_decode_acwt = 10;
  c.quiet = true;
  const auto symbols = ReadSymbolTable(kTestdata + "/graph-tiny/words.txt");
  const Transcripts refs = ReadTranscripts("ark:" + kShared + "/dev60/text", TranscriptOptions());
  const auto points = ScoreSweep(SweepLattices({"ark:" + lat}, c), refs, *symbols);
  const size_t best = BestPointIndex(points);
  WriteScoringDir(dir.string(), refs, points, best);
  for (const auto& p : points) {
    const std::string wer =
        Slurp(dir.string() + "/wer_" + std::to_string(p.point.lmwt) + "_" + p.point.wip);
    EXPECT_EQ(wer, "compute-wer --text --mode=present ark:" + dir.string() +
                       "/scoring_kaldi/test_filt.txt ark,p:- \n" + FormatWerReport(p.stats));
  }
  // At LMWT 10, WIP 0.0 this is exactly Kaldi's 1-best scoring (wer_1best.txt).
  EXPECT_EQ(Slurp(dir.string() + "/wer_10_0.0"),
            "compute-wer --text --mode=present ark:" + dir.string() +
                "/scoring_kaldi/test_filt.txt ark,p:- \n" +
                Slurp(kTestdata + "/dev60/wer_1best.txt"));
  EXPECT_EQ(Slurp(dir.string() + "/scoring_kaldi/best_wer"),
            BestWerLine(points[best], dir.string()) + "\n");
  EXPECT_EQ(Slurp(dir.string() + "/scoring_kaldi/test_filt.txt"), Slurp(kShared + "/dev60/text"));
  EXPECT_TRUE(fs::exists(dir / "scoring_kaldi/penalty_0.5/9.txt"));
  EXPECT_EQ(Slurp(dir.string() + "/scoring_kaldi/wer_details/lmwt"),
            std::to_string(points[best].point.lmwt) + "\n");
  fs::remove_all(dir);
}

TEST(Sweep, BadInput) {
  SweepConfig c;
  c.lmwts = {10};
  c.wips = {"0.0"};
  c.quiet = true;
  EXPECT_THROW(SweepLattices({"ark:/nonexistent/lat.ark"}, c), Error);
  c.lmwts = {0};
  EXPECT_THROW(SweepLattices({"ark:/dev/null"}, c), Error);
  // An empty archive is fine: nothing scored.
  c.lmwts = {10};
  const SweepHyps h = SweepLattices({"ark:/dev/null"}, c);
  EXPECT_TRUE(h.keys.empty());
}

}  // namespace
}  // namespace kaldiq::score
