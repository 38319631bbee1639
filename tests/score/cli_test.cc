// Runs `kaldiq wer` / `kaldiq score` in-process (RunWer / RunScore with an argv as a Kaldi
// script would pass it) and checks stdout byte for byte.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"

namespace {

namespace fs = std::filesystem;

const std::string kDev = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/dev60";
const std::string kWords = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/graph-tiny/words.txt";

struct CmdResult {
  int status = -1;
  std::string out;
  std::string err;
};

CmdResult Call(kaldiq::cli::CommandFn fn, const std::string& name, std::vector<std::string> args) {
  args.insert(args.begin(), name);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  CmdResult r;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  r.status = fn(static_cast<int>(args.size()), argv.data());
  std::fflush(stdout);
  r.out = testing::internal::GetCapturedStdout();
  r.err = testing::internal::GetCapturedStderr();
  return r;
}
CmdResult Wer(std::vector<std::string> args) {
  return Call(kaldiq::cli::RunWer, "wer", std::move(args));
}
CmdResult Score(std::vector<std::string> args) {
  return Call(kaldiq::cli::RunScore, "score", std::move(args));
}
const std::string kSharedDev = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/dev60";

std::string Slurp(const std::string& path) {
  std::ifstream is(path);
  std::stringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("kq_wer_cli_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  std::string File(const std::string& name, const std::string& content) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p) << content;
    return p;
  }

 private:
  fs::path path_;
};

TEST(WerCli, ByteIdenticalToKaldiComputeWerOnDev60) {
  const CmdResult r =
      Wer({"--text", "--mode=present", "ark:" + kDev + "/text", "ark:" + kDev + "/hyp.txt"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, Slurp(kDev + "/wer_1best.txt"));
  // Integer ids (the default, as in compute-wer): the hypothesis against itself.
  const CmdResult self = Wer({"ark:" + kDev + "/words.int", "ark:" + kDev + "/words.int"});
  EXPECT_EQ(self.status, 0) << self.err;
  EXPECT_EQ(self.out,
            "%WER 0.00 [ 0 / 479, 0 ins, 0 del, 0 sub ]\n%SER 0.00 [ 0 / 60 ]\n"
            "Scored 60 sentences, 0 not present in hyp.\n");
}

TEST(WerCli, ModesAndMissingHypotheses) {
  TempDir t;
  const std::string ref = "ark:" + t.File("ref", "u1 a b c\nu2 d e\nu3 f\n");
  const std::string hyp = "ark:" + t.File("hyp", "u1 a x c\nu2 d e g\n");
  CmdResult r = Wer({"--text", "--mode=present", ref, hyp});
  EXPECT_EQ(r.out,
            "%WER 40.00 [ 2 / 5, 1 ins, 0 del, 1 sub ] [PARTIAL]\n%SER 100.00 [ 2 / 2 ]\n"
            "Scored 2 sentences, 1 not present in hyp.\n");
  r = Wer({"--text", "--mode=all", ref, hyp});
  EXPECT_EQ(r.out,
            "%WER 50.00 [ 3 / 6, 1 ins, 1 del, 1 sub ] [PARTIAL]\n%SER 100.00 [ 3 / 3 ]\n"
            "Scored 3 sentences, 1 not present in hyp.\n");
  r = Wer({"--text", ref, hyp});  // strict is compute-wer's default
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("No hypothesis for key u3 and strict mode specifier."), std::string::npos)
      << r.err;
  r = Wer({"--text", "--mode=loose", ref, hyp});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--mode option invalid"), std::string::npos) << r.err;
}

TEST(WerCli, DetailedStatsOutput) {
  TempDir t;
  const std::string ref = "ark:" + t.File("ref", "u1 a b c\n");
  const std::string hyp = "ark:" + t.File("hyp", "u1 a x\n");
  const std::string stats = t.Path("stats");
  const CmdResult r = Wer({"--text", ref, hyp, stats});
  EXPECT_EQ(r.status, 0) << r.err;
  // Kaldi's trace-back (from the end) takes the substitution (c,x) on the tie with deleting c,
  // then must delete b. A deletion prints the empty hypothesis side: "deletion " + "".
  EXPECT_EQ(Slurp(stats), "correct a\ndeletion \nsubstitution c x\n");
}

TEST(WerCli, UnknownWordIdWithSymbolTableIsAnError) {
  TempDir t;
  const std::string ref = "ark:" + t.File("ref", "u1 3 999999\n");
  const std::string hyp = "ark:" + t.File("hyp", "u1 3\n");
  const CmdResult r = Wer({"--word-symbol-table=" + kWords, ref, hyp});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("word id 999999 is not in the symbol table"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("utterance u1"), std::string::npos) << r.err;
  // Known ids are mapped to words for the alignment display.
  const std::string ref_ok = "ark:" + t.File("ref_ok", "u1 3 4\n");
  const CmdResult ok = Wer({"--print-utt-alignment", "--word-symbol-table=" + kWords, ref_ok, hyp});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_NE(ok.out.find("u1 #csid 1 0 0 1\n"), std::string::npos) << ok.out;
  EXPECT_EQ(ok.out.find(" 3 "), std::string::npos) << "ids were not mapped to words: " << ok.out;
}

TEST(WerCli, UnknownReferenceWordInTextModeWarnsAndCountsAsError) {
  TempDir t;
  const std::string ref = "ark:" + t.File("ref", "u1 ZZNOTAWORD\n");
  const std::string hyp = "ark:" + t.File("hyp", "u1 ZZNOTAWORD2\n");
  const CmdResult r = Wer({"--text", "--word-symbol-table=" + kWords, ref, hyp});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.err.find("1 reference words are not in"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.substr(0, 43), "%WER 100.00 [ 1 / 1, 0 ins, 0 del, 1 sub ]\n");
}

TEST(WerCli, EmptyUtterancesAndZeroWords) {
  TempDir t;
  const std::string ref = "ark:" + t.File("ref", "u1\nu2\n");
  const std::string hyp = "ark:" + t.File("hyp", "u1\nu2 extra\n");
  const CmdResult r = Wer({"--text", ref, hyp});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "%WER inf [ 1 / 0, 1 ins, 0 del, 0 sub ]\n%SER 50.00 [ 1 / 2 ]\n"
            "Scored 2 sentences, 0 not present in hyp.\n");
}

TEST(WerCli, AlignmentSpeakersAndComparison) {
  const CmdResult r =
      Wer({"--text", "--mode=present", "--print-utt-alignment",
           "--utt2spk=ark:" + kDev + "/utt2spk", "--compare-hyp=ark:" + kDev + "/hyp.txt",
           "--seed=3", "ark:" + kDev + "/text", "ark:" + kDev + "/hyp.txt"});
  EXPECT_EQ(r.status, 0) << r.err;
  const std::string kaldi = Slurp(kDev + "/wer_1best.txt");
  EXPECT_EQ(r.out.substr(0, kaldi.size()), kaldi);  // compute-wer's lines stay first
  EXPECT_NE(r.out.find("en029-f1-de00020 ref  UNTIL   EVE   ARRIVED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("en029-f1-de00020 op     C      S       C"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nSUM "), std::string::npos) << r.out;
  // Identical systems: no difference, p = 1 in both tests.
  EXPECT_NE(r.out.find("B - A = +0.00"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Z = 0.00, p = 1.0000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed 3): p = 1.0000"), std::string::npos) << r.out;
}

TEST(WerCli, ComparisonOfDifferentSystems) {
  TempDir t;
  // B (the reference itself) is strictly better than A (Kaldi's 1-best with 18 erroneous
  // utterances).
  const CmdResult r = Wer({"--text", "--compare-hyp=ark:" + kDev + "/text", "ark:" + kDev + "/text",
                           "ark:" + kDev + "/hyp.txt"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("%WER A 5.22, B 0.00, B - A = -5.22"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("P(B better) = 100.00%"), std::string::npos) << r.out;
}

// score_kaldi.sh on Kaldi's dev60 lattices (gzipped into a decode dir as lat.1.gz / lat.2.gz
// would be; here one job), with the chain recipe's post-decode scaling.
TEST(ScoreCli, SweepsADecodeDirLikeScoreKaldi) {
  if (!fs::exists(kSharedDev + "/lat.ark")) GTEST_SKIP() << "needs ../shared fixtures";
  TempDir t;
  const std::string dir = t.Path("decode");
  fs::create_directories(dir);
  ASSERT_EQ(std::system(("gzip -c " + kSharedDev + "/lat.ark > " + dir + "/lat.1.gz").c_str()), 0);
  const CmdResult r = Score({"--quiet", "--post-decode-acwt=10", "--min-lmwt=9", "--max-lmwt=11",
                             "--word-ins-penalty=0.0,0.5", kSharedDev + "/text", kWords, dir});
  EXPECT_EQ(r.status, 0) << r.err;
  const std::string best = Slurp(dir + "/scoring_kaldi/best_wer");
  EXPECT_EQ(r.out, best);
  EXPECT_EQ(best.substr(0, 2), "%W");
  // LMWT 10 / WIP 0.0 is Kaldi's own 1-best scoring, with compute-wer's command line first.
  EXPECT_EQ(Slurp(dir + "/wer_10_0.0"), "compute-wer --text --mode=present ark:" + dir +
                                            "/scoring_kaldi/test_filt.txt ark,p:- \n" +
                                            Slurp(kDev + "/wer_1best.txt"));
  for (const char* f : {"/wer_9_0.5", "/wer_11_0.5", "/scoring_kaldi/penalty_0.5/11.txt",
                        "/scoring_kaldi/wer_details/per_utt", "/scoring_kaldi/wer_details/wip"}) {
    EXPECT_TRUE(fs::exists(dir + f)) << f;
  }
  // Thread count does not change any output; comparing a directory with itself gives p = 1.
  const std::string dir2 = t.Path("decode2");
  fs::create_directories(dir2);
  fs::copy_file(dir + "/lat.1.gz", dir2 + "/lat.1.gz");
  const CmdResult r2 =
      Score({"--quiet", "--num-threads=2", "--post-decode-acwt=10", "--min-lmwt=9", "--max-lmwt=11",
             "--word-ins-penalty=0.0,0.5", "--compare=" + dir, kSharedDev + "/text", kWords, dir2});
  EXPECT_EQ(r2.status, 0) << r2.err;
  const auto after_command_line = [](const std::string& s) { return s.substr(s.find('\n')); };
  EXPECT_EQ(after_command_line(Slurp(dir2 + "/wer_11_0.5")),
            after_command_line(Slurp(dir + "/wer_11_0.5")));
  EXPECT_EQ(Slurp(dir2 + "/scoring_kaldi/wer_details/per_utt"),
            Slurp(dir + "/scoring_kaldi/wer_details/per_utt"));
  EXPECT_NE(r2.out.find("Z = 0.00, p = 1.0000"), std::string::npos) << r2.out;
}

TEST(ScoreCli, BadInput) {
  TempDir t;
  const std::string dir = t.Path("empty_decode");
  fs::create_directories(dir);
  CmdResult r = Score({"--quiet", kDev + "/text", kWords, dir});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no lattices in"), std::string::npos) << r.err;
  r = Score({"--quiet", kDev + "/text", kWords, t.Path("missing")});
  EXPECT_EQ(r.status, 1);
  r = Score({"--quiet", "--word-ins-penalty=0.0,abc", kDev + "/text", kWords, dir});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("abc"), std::string::npos) << r.err;
  // A corrupt lattice archive is an error naming the archive, and leaves no wer files behind.
  std::ofstream(dir + "/lat.ark") << "utt1 garbage-not-a-lattice\n";
  r = Score({"--quiet", kDev + "/text", kWords, dir});
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(fs::exists(dir + "/wer_10_0.0"));
}

TEST(Cli, HelpDocumentsTheExtensions) {
  const CmdResult w = Wer({"--help"});
  EXPECT_EQ(w.status, 0);
  EXPECT_NE(w.out.find("Usage: kaldiq wer [options] <ref-rspecifier> <hyp-rspecifier>"),
            std::string::npos) << w.out;
  EXPECT_NE(w.out.find("--compare-hyp"), std::string::npos);
  const CmdResult s = Score({"--help"});
  EXPECT_EQ(s.status, 0);
  EXPECT_NE(s.out.find("--post-decode-acwt"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("--compare"), std::string::npos);
}

}  // namespace
