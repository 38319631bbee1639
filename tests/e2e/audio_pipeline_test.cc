// Recognition from WAVs with kaldiq alone, as the audio fixture's Kaldi commands
// (../shared/fixtures/audio/README.md): compute-mfcc-feats (hires, dither 0) → compute-cmvn-stats
// per speaker → apply-cmvn (means) → recognize (nnet3 forward + lattice decoding in one
// process) → 1-best words → wer. Kaldi's own result from the same WAVs is %WER 5.22 (25 / 479);
// kaldiq must give it within 0.1 absolute, and the streaming decoder (online2-wav-nnet3-latgen-
// faster, conf/online.conf, 20-frame chunks; Kaldi: 5.43 %) within 0.2. Needs ../shared; skips
// without it.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

namespace {

const std::string kKaldiq = KQ_BINARY_DIR "/tools/kaldiq/kaldiq";
const std::string kAudio = KQ_SHARED_DIR "/fixtures/audio";
const std::string kSeed = KQ_SHARED_DIR "/fixtures/models/tdnn-seed";

std::string ReadAll(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
}

int RunShell(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// "%WER 5.22 [ 25 / 479, ... ]" → 5.22 (or -1 when absent).
double WerOf(const std::string& report, std::string* line_out) {
  std::istringstream is(report);
  std::string line;
  while (std::getline(is, line)) {
    if (line.rfind("%WER ", 0) == 0) {
      *line_out = line;
      return std::stod(line.substr(5));
    }
  }
  return -1.0;
}

bool HaveFixtures() {
  struct stat st;
  return stat((kAudio + "/wav.scp").c_str(), &st) == 0 &&
         stat((kSeed + "/graph-pruned/HCLG.fst").c_str(), &st) == 0;
}

// Runs `cmd` in the audio fixture directory (wav.scp paths are relative to it).
void RunIn(const std::string& cmd, const std::string& log) {
  ASSERT_EQ(RunShell("cd " + kAudio + " && " + cmd + " 2>" + log), 0) << cmd << "\n"
                                                                        << ReadAll(log);
}

// Scores ark,t word ids against the fixture's text; returns the WER.
double Score(const std::string& dir, const std::string& words, std::string* line) {
  const std::string out = dir + "/wer.txt";
  EXPECT_EQ(RunShell(kKaldiq + " wer --mode=present --word-symbol-table=" + kSeed +
                     "/graph-pruned/words.txt ark:" + dir + "/text.int ark,t:" + words + " >" +
                     out + " 2>&1"),
            0)
      << ReadAll(out);
  return WerOf(ReadAll(out), line);
}

// The reference transcripts as word ids (wer maps both sides with the same table).
void WriteTextInt(const std::string& dir) {
  std::map<std::string, std::string> ids;
  std::istringstream syms(ReadAll(kSeed + "/graph-pruned/words.txt"));
  std::string w, id;
  while (syms >> w >> id) ids[w] = id;
  std::istringstream text(ReadAll(kAudio + "/text"));
  std::ofstream os(dir + "/text.int");
  std::string line;
  while (std::getline(text, line)) {
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    os << key;
    while (ls >> w) os << ' ' << (ids.count(w) ? ids[w] : ids["<unk>"]);
    os << '\n';
  }
}

TEST(AudioPipeline, OfflineWerFromWavsMatchesKaldi) {
  if (!HaveFixtures()) GTEST_SKIP() << "../shared/fixtures/audio absent: skipping the WAV → WER test";
  const std::string dir = ::testing::TempDir() + "/kq_e2e_audio_offline";
  ASSERT_EQ(RunShell("mkdir -p " + dir), 0);
  WriteTextInt(dir);
  RunIn(kKaldiq + " compute-mfcc-feats --config=conf/mfcc_hires.conf scp:wav.scp ark:" + dir +
          "/mfcc.ark",
      dir + "/mfcc.log");
  RunIn(kKaldiq + " compute-cmvn-stats --spk2utt=ark:spk2utt ark:" + dir + "/mfcc.ark ark:" + dir +
          "/cmvn.ark",
      dir + "/cmvn.log");
  RunIn(kKaldiq + " apply-cmvn --norm-means=true --norm-vars=false --utt2spk=ark:utt2spk ark:" +
          dir + "/cmvn.ark ark:" + dir + "/mfcc.ark ark:" + dir + "/feats.ark",
      dir + "/apply.log");
  RunIn(kKaldiq + " recognize --quiet --frame-subsampling-factor=3 --frames-per-chunk=140 "
                "--acoustic-scale=1.0 --beam=15 --lattice-beam=8 --max-active=7000 "
                "--min-active=200 --allow-partial=true " +
          kSeed + "/final.mdl " + kSeed + "/graph-pruned/HCLG.fst ark:" + dir +
          "/feats.ark ark:/dev/null ark,t:" + dir + "/words.int",
      dir + "/recognize.log");
  std::string line;
  const double wer = Score(dir, dir + "/words.int", &line);
  std::printf("kaldiq offline from WAVs: %s (Kaldi: %%WER 5.22)\n", line.c_str());
  EXPECT_NEAR(wer, 5.22, 0.1) << line;
  // The 1-best word ids themselves: Kaldi's words_offline.int, utterance by utterance.
  EXPECT_EQ(ReadAll(dir + "/words.int"), ReadAll(kAudio + "/kaldi/words_offline.int"));
}

// The streaming decoder exactly as the fixture README ran Kaldi's: Kaldi got %WER 5.43 and
// an overall likelihood of 1.90941 per frame over 6105 frames (kaldi/online.log).
TEST(AudioPipeline, StreamingWerFromWavsMatchesKaldi) {
  if (!HaveFixtures()) GTEST_SKIP() << "../shared/fixtures/audio absent: skipping the streaming test";
  const std::string dir = ::testing::TempDir() + "/kq_e2e_audio_online";
  ASSERT_EQ(RunShell("mkdir -p " + dir), 0);
  const std::string log = dir + "/online.log";
  RunIn(kKaldiq + " online2-wav-nnet3-latgen-faster --online=true --do-endpointing=false "
                  "--frames-per-chunk=20 --extra-left-context-initial=0 "
                  "--frame-subsampling-factor=3 --config=conf/online.conf --min-active=200 "
                  "--max-active=7000 --beam=15.0 --lattice-beam=8.0 --acoustic-scale=1.0 "
                  "--word-symbol-table=" +
            kSeed + "/graph-pruned/words.txt " + kSeed + "/final.mdl " + kSeed +
            "/graph-pruned/HCLG.fst ark:spk2utt scp:wav.scp ark:" + dir + "/lat.ark",
        log);
  // The 1-best lines on stderr ("<utt> WORD WORD ") are the hypotheses, as Kaldi's scripts take
  // them from its log.
  ASSERT_EQ(RunShell("grep -v -e '^LOG' -e '^WARNING' -e '^kaldiq' " + log + " > " + dir +
                     "/hyp.txt"),
            0);
  const std::string out = dir + "/wer.txt";
  ASSERT_EQ(RunShell(kKaldiq + " wer --text --mode=present ark:" + kAudio + "/text ark:" + dir +
                     "/hyp.txt >" + out + " 2>&1"),
            0);
  std::string line;
  const double wer = WerOf(ReadAll(out), &line);
  std::printf("kaldiq streaming from WAVs: %s (Kaldi: %%WER 5.43; offline 5.22)\n", line.c_str());
  EXPECT_NEAR(wer, 5.43, 0.2) << line;
  // Same hypotheses as Kaldi's streaming decoder, utterance by utterance.
  ASSERT_EQ(RunShell(kKaldiq + " wer --text --mode=strict ark:" + kAudio +
                     "/kaldi/hyp_online.txt ark:" + dir + "/hyp.txt >" + out + " 2>&1"),
            0);
  EXPECT_EQ(WerOf(ReadAll(out), &line), 0.0) << line;
  EXPECT_NE(ReadAll(log).find("Overall log-likelihood per frame is 1.90941 over 6105 frames."),
            std::string::npos)
      << ReadAll(log).substr(0, 2000);
  struct stat st;
  ASSERT_EQ(stat((dir + "/lat.ark").c_str(), &st), 0);
  EXPECT_GT(st.st_size, 1000);
}

}  // namespace
