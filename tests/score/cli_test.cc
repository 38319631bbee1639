// Runs the kaldiq binary the way a Kaldi script would and checks its stdout byte for byte.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

const std::string kBin = std::string(KQ_BINARY_DIR) + "/tools/kaldiq/kaldiq";
const std::string kDev = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/dev60";
const std::string kWords = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/graph-tiny/words.txt";

struct Run {
  int status = -1;
  std::string out;
};

// Runs `kaldiq <args>` through the shell; captures stdout (stderr goes to the test log).
Run Kaldiq(const std::string& args) {
  Run r;
  FILE* p = popen((kBin + " " + args).c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

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
  std::string File(const std::string& name, const std::string& content) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p) << content;
    return p;
  }

 private:
  fs::path path_;
};

TEST(WerCli, ByteIdenticalToKaldiComputeWerOnDev60) {
  const Run r = Kaldiq("wer --text --mode=present ark:" + kDev + "/text ark:" + kDev + "/hyp.txt");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, Slurp(kDev + "/wer_1best.txt"));
  // Integer ids give the same numbers (words.int is hyp.txt before int2sym).
  TempDir t;
  // Map the reference to ids with the symbol table is not needed: compare hyp with itself.
  const Run self = Kaldiq("wer ark:" + kDev + "/words.int ark:" + kDev + "/words.int");
  EXPECT_EQ(self.status, 0);
  EXPECT_EQ(self.out, "%WER 0.00 [ 0 / 479, 0 ins, 0 del, 0 sub ]\n%SER 0.00 [ 0 / 60 ]\n"
                      "Scored 60 sentences, 0 not present in hyp.\n");
}

TEST(WerCli, ModesAndMissingHypotheses) {
  TempDir t;
  const std::string ref = t.File("ref", "u1 a b c\nu2 d e\nu3 f\n");
  const std::string hyp = t.File("hyp", "u1 a x c\nu2 d e g\n");
  Run r = Kaldiq("wer --text --mode=present ark:" + ref + " ark:" + hyp);
  EXPECT_EQ(r.out, "%WER 40.00 [ 2 / 5, 1 ins, 0 del, 1 sub ] [PARTIAL]\n%SER 100.00 [ 2 / 2 ]\n"
                   "Scored 2 sentences, 1 not present in hyp.\n");
  r = Kaldiq("wer --text --mode=all ark:" + ref + " ark:" + hyp);
  EXPECT_EQ(r.out, "%WER 50.00 [ 3 / 6, 1 ins, 1 del, 1 sub ] [PARTIAL]\n%SER 100.00 [ 3 / 3 ]\n"
                   "Scored 3 sentences, 1 not present in hyp.\n");
  r = Kaldiq("wer --text ark:" + ref + " ark:" + hyp + " 2>/dev/null");  // strict is the default
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "");
  r = Kaldiq("wer --text --mode=loose ark:" + ref + " ark:" + hyp + " 2>/dev/null");
  EXPECT_EQ(r.status, 1);
}

TEST(WerCli, DetailedStatsOutput) {
  TempDir t;
  const std::string ref = t.File("ref", "u1 a b c\n");
  const std::string hyp = t.File("hyp", "u1 a x\n");
  const std::string stats = (fs::temp_directory_path() / ("kq_stats_" + std::to_string(::getpid()))).string();
  const Run r = Kaldiq("wer --text ark:" + ref + " ark:" + hyp + " " + stats);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(Slurp(stats), "correct a\nsubstitution b x\ndeletion \n");
  fs::remove(stats);
}

TEST(WerCli, UnknownWordIdWithSymbolTableIsAnError) {
  TempDir t;
  const std::string ref = t.File("ref", "u1 3 999999\n");
  const std::string hyp = t.File("hyp", "u1 3\n");
  const Run r = Kaldiq("wer --word-symbol-table=" + kWords + " ark:" + ref + " ark:" + hyp +
                       " 2>&1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("999999"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("u1"), std::string::npos) << r.out;
  // Known ids are mapped to words for the alignment display.
  const std::string ref_ok = t.File("ref_ok", "u1 3 4\n");
  const Run ok = Kaldiq("wer --print-utt-alignment --word-symbol-table=" + kWords + " ark:" +
                        ref_ok + " ark:" + hyp);
  EXPECT_EQ(ok.status, 0);
  EXPECT_NE(ok.out.find("u1 op "), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("u1 #csid 1 0 0 1"), std::string::npos) << ok.out;
}

TEST(WerCli, EmptyUtterancesAndZeroWords) {
  TempDir t;
  const std::string ref = t.File("ref", "u1\nu2\n");
  const std::string hyp = t.File("hyp", "u1\nu2 extra\n");
  const Run r = Kaldiq("wer --text ark:" + ref + " ark:" + hyp);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "%WER inf [ 1 / 0, 1 ins, 0 del, 0 sub ]\n%SER 50.00 [ 1 / 2 ]\n"
                   "Scored 2 sentences, 0 not present in hyp.\n");
}

TEST(WerCli, AlignmentSpeakersAndComparison) {
  const Run r = Kaldiq("wer --text --mode=present --print-utt-alignment --utt2spk=ark:" + kDev +
                       "/utt2spk --compare-hyp=ark:" + kDev + "/hyp.txt --seed=3 ark:" + kDev +
                       "/text ark:" + kDev + "/hyp.txt");
  EXPECT_EQ(r.status, 0);
  // compute-wer's lines stay first.
  EXPECT_EQ(r.out.substr(0, Slurp(kDev + "/wer_1best.txt").size()), Slurp(kDev + "/wer_1best.txt"));
  EXPECT_NE(r.out.find("en029-f1-de00020 ref  UNTIL   EVE   ARRIVED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("en029-f1-de00020 op     C      S       C"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SUM "), std::string::npos);
  // Identical systems: no difference, p = 1 in both tests.
  EXPECT_NE(r.out.find("B - A = +0.00"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Z = 0.00, p = 1.0000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed 3): p = 1.0000"), std::string::npos) << r.out;
}

}  // namespace
