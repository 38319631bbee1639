#include "score/wer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "util/error.h"

namespace kaldiq::score {
namespace {

std::vector<std::string> W(const std::string& s) {
  std::istringstream is(s);
  std::vector<std::string> out;
  std::string w;
  while (is >> w) out.push_back(w);
  return out;
}

void ExpectCounts(const std::string& ref, const std::string& hyp, int errors, int ins, int del,
                  int sub) {
  const EditCounts c = LevenshteinCounts(W(ref), W(hyp));
  EXPECT_EQ(c.errors, errors) << "ref='" << ref << "' hyp='" << hyp << "'";
  EXPECT_EQ(c.ins, ins) << "ref='" << ref << "' hyp='" << hyp << "'";
  EXPECT_EQ(c.del, del) << "ref='" << ref << "' hyp='" << hyp << "'";
  EXPECT_EQ(c.sub, sub) << "ref='" << ref << "' hyp='" << hyp << "'";
}

TEST(LevenshteinCounts, HandComputedCases) {
  ExpectCounts("a b c", "a b c", 0, 0, 0, 0);
  ExpectCounts("a b c", "a x c", 1, 0, 0, 1);
  ExpectCounts("a b c", "", 3, 0, 3, 0);
  ExpectCounts("", "a b", 2, 2, 0, 0);
  ExpectCounts("", "", 0, 0, 0, 0);
  ExpectCounts("a b c d", "a c d", 1, 0, 1, 0);
  ExpectCounts("a c d", "a b c d", 1, 1, 0, 0);
  ExpectCounts("a b c d", "x y", 4, 0, 2, 2);
  ExpectCounts("a", "x y z", 3, 2, 0, 1);
}

TEST(LevenshteinCounts, KaldiTieRulesPreferInsertionPlusDeletionOverTwoSubstitutions) {
  // ref "a b", hyp "b a": cost 2 either as two substitutions or as del(a) + match(b) + ins(a).
  // Worked by hand through Kaldi's recursion: at the last cell sub = del = ins = 2, a
  // substitution needs to be strictly cheaper, and a deletion strictly cheaper than an
  // insertion, so the insertion path (carrying one deletion) wins: 1 ins, 1 del, 0 sub.
  ExpectCounts("a b", "b a", 2, 1, 1, 0);
  // The alignment routine (align-text) breaks the same tie toward substitutions.
  int32_t cost = -1;
  const auto cols = LevenshteinAlign(W("a b"), W("b a"), &cost);
  EXPECT_EQ(cost, 2);
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_TRUE(cols[0].has_ref && cols[0].has_hyp);
  EXPECT_EQ(cols[0].ref, "a");
  EXPECT_EQ(cols[0].hyp, "b");
}

TEST(LevenshteinCounts, IntegerIdsBehaveLikeWords) {
  const EditCounts c = LevenshteinCounts(std::vector<int>{1, 2, 3}, std::vector<int>{1, 3});
  EXPECT_EQ(c.errors, 1);
  EXPECT_EQ(c.del, 1);
}

TEST(LevenshteinAlign, InsertionAndDeletionColumns) {
  // a=a, b deleted, c=c, d=d, e inserted (cost 2; any alignment with substitutions costs 3).
  const auto cols = LevenshteinAlign(W("a b c d"), W("a c d e"));
  ASSERT_EQ(cols.size(), 5u);
  EXPECT_TRUE(cols[1].has_ref && !cols[1].has_hyp);
  EXPECT_EQ(cols[1].ref, "b");
  EXPECT_TRUE(!cols[4].has_ref && cols[4].has_hyp);
  EXPECT_EQ(cols[4].hyp, "e");
  // "a b c" vs "a c d" costs 2 both as del+ins and as two substitutions; the trace-back prefers
  // substitutions: (a,a) (b,c) (c,d).
  const auto tie = LevenshteinAlign(W("a b c"), W("a c d"));
  ASSERT_EQ(tie.size(), 3u);
  EXPECT_EQ(tie[1].hyp, "c");
  EXPECT_EQ(tie[2].hyp, "d");
}

TEST(FormatUttAlignment, CentredColumnsLikeWerPerUttDetails) {
  const std::string got = FormatUttAlignment("u1", W("a bb c"), W("a xyz"));
  // Cost 2 either way; at the last cell sub (c,xyz) ties with del (c) and Kaldi's trace-back
  // takes the substitution, so: (a,a,C) width 1; (bb,***,D) width 3; (c,xyz,S) width 3, the odd
  // padding space going left.
  const std::string want =
      "u1 ref  a   bb   c \n"
      "u1 hyp  a  ***  xyz\n"
      "u1 op   C   D    S \n"
      "u1 #csid 1 1 0 1\n";
  EXPECT_EQ(got, want);
  EXPECT_THROW(FormatUttAlignment("u2", W("a *** b"), W("a")), Error);
}

TEST(FormatUttAlignment, EmptyUtterance) {
  EXPECT_EQ(FormatUttAlignment("u", {}, {}), "u ref  \nu hyp  \nu op   \nu #csid 0 0 0 0\n");
}

TEST(FormatWer, KaldiFormatting) {
  WerStats s;
  s.num_words = 479;
  s.word_errs = 25;
  s.num_ins = 2;
  s.num_del = 2;
  s.num_sub = 21;
  s.num_sent = 60;
  s.sent_errs = 18;
  EXPECT_EQ(FormatWerReport(s),
            "%WER 5.22 [ 25 / 479, 2 ins, 2 del, 21 sub ]\n"
            "%SER 30.00 [ 18 / 60 ]\n"
            "Scored 60 sentences, 0 not present in hyp.\n");
  s.num_absent = 2;
  EXPECT_EQ(FormatWerLine(s), "%WER 5.22 [ 25 / 479, 2 ins, 2 del, 21 sub ] [PARTIAL]");
}

TEST(FormatWer, ZeroReferenceWords) {
  // What compute-wer prints (float 0/0 on x86 is -nan, n/0 is inf).
  WerStats s;
  EXPECT_EQ(FormatWerLine(s), "%WER -nan [ 0 / 0, 0 ins, 0 del, 0 sub ]");
  s.word_errs = s.num_ins = 3;
  s.num_sent = 1;
  s.sent_errs = 1;
  EXPECT_EQ(FormatWerReport(s),
            "%WER inf [ 3 / 0, 3 ins, 0 del, 0 sub ]\n%SER 100.00 [ 1 / 1 ]\n"
            "Scored 1 sentences, 0 not present in hyp.\n");
}

TEST(FormatPercent, RoundsLikeKaldiFloat) {
  EXPECT_EQ(FormatPercent(1, 3), "33.33");
  EXPECT_EQ(FormatPercent(2, 3), "66.67");
  EXPECT_EQ(FormatPercent(1, 8), "12.50");
  EXPECT_EQ(FormatPercent(0, 5), "0.00");
}

Transcripts Refs() { return {{"u1", W("a b c")}, {"u2", W("d e")}, {"u3", W("f")}, {"u4", {}}}; }

TEST(ScoreTranscripts, Modes) {
  TranscriptMap hyps = {{"u1", W("a b c")}, {"u2", W("d x y")}, {"u4", {}}};
  {
    WerStats st;
    auto res = ScoreTranscripts(Refs(), hyps, ScoringMode::kPresent, &st);
    EXPECT_EQ(res.size(), 3u);
    EXPECT_EQ(FormatWerReport(st),
              "%WER 40.00 [ 2 / 5, 1 ins, 0 del, 1 sub ] [PARTIAL]\n%SER 33.33 [ 1 / 3 ]\n"
              "Scored 3 sentences, 1 not present in hyp.\n");
  }
  {
    WerStats st;
    auto res = ScoreTranscripts(Refs(), hyps, ScoringMode::kAll, &st);
    ASSERT_EQ(res.size(), 4u);
    EXPECT_FALSE(res[2].hyp_present);
    EXPECT_EQ(FormatWerReport(st),
              "%WER 50.00 [ 3 / 6, 1 ins, 1 del, 1 sub ] [PARTIAL]\n%SER 50.00 [ 2 / 4 ]\n"
              "Scored 4 sentences, 1 not present in hyp.\n");
  }
  {
    WerStats st;
    try {
      ScoreTranscripts(Refs(), hyps, ScoringMode::kStrict, &st);
      FAIL() << "strict mode accepted a missing hypothesis";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "No hypothesis for key u3 and strict mode specifier.");
    }
  }
  EXPECT_THROW(ParseScoringMode("loose"), Error);
  EXPECT_EQ(ParseScoringMode("all"), ScoringMode::kAll);
}

TEST(ScoreTranscripts, EmptyReferenceWithHypothesisIsAllInsertions) {
  WerStats st;
  auto res = ScoreTranscripts({{"u", {}}}, {{"u", W("x y")}}, ScoringMode::kStrict, &st);
  EXPECT_EQ(res[0].counts.ins, 2);
  EXPECT_TRUE(res[0].sentence_error);
  EXPECT_EQ(FormatWerLine(st), "%WER inf [ 2 / 0, 2 ins, 0 del, 0 sub ]");
}

TEST(FormatSpeakerTable, CountsPerSpeakerAndSum) {
  TranscriptMap hyps = {{"u1", W("a b c")}, {"u2", W("d x y")}, {"u3", W("f")}, {"u4", {}}};
  WerStats st;
  auto res = ScoreTranscripts(Refs(), hyps, ScoringMode::kStrict, &st);
  const std::string t =
      FormatSpeakerTable(res, {{"u1", "s1"}, {"u2", "s1"}, {"u3", "s2"}, {"u4", "s2"}});
  // s1: 2 sentences, 5 words, 4 correct, 1 sub, 1 ins, 0 del, 2 errors, 1 sentence error.
  EXPECT_NE(
      t.find("s1       raw        2       5       4       1       1       0       2       1\n"),
      std::string::npos)
      << t;
  EXPECT_NE(
      t.find("s1       sys        2       5   80.00   20.00   20.00    0.00   40.00   50.00\n"),
      std::string::npos)
      << t;
  EXPECT_NE(t.find("SUM      raw        4       6       5"), std::string::npos) << t;
  EXPECT_THROW(FormatSpeakerTable(res, {{"u1", "s1"}}), Error);
}

// Reads a Kaldi text transcript ("key w1 w2 ...") with plain whitespace splitting; the CLI test
// covers the real table readers.
Transcripts ReadText(const std::string& path) {
  std::ifstream is(path);
  EXPECT_TRUE(is.good()) << path;
  Transcripts out;
  std::string line;
  while (std::getline(is, line)) {
    auto words = W(line);
    if (words.empty()) continue;
    std::string key = words[0];
    words.erase(words.begin());
    out.emplace_back(key, words);
  }
  return out;
}

TEST(ScoreTranscripts, MatchesKaldiComputeWerOnDev60) {
  const std::string dir = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/dev60/";
  const Transcripts refs = ReadText(dir + "text");
  TranscriptMap hyps;
  for (auto& [k, v] : ReadText(dir + "hyp.txt")) hyps[k] = v;
  WerStats st;
  ScoreTranscripts(refs, hyps, ScoringMode::kPresent, &st);
  std::ifstream is(dir + "wer_1best.txt");
  std::stringstream want;
  want << is.rdbuf();
  EXPECT_EQ(FormatWerReport(st), want.str());
}

}  // namespace
}  // namespace kaldiq::score
