// `kaldiq online2-wav-nnet3-latgen-faster` on bad or unusual audio, as Kaldi's tool behaves:
// an utterance that cannot be decoded is reported with a WARNING and skipped; the exit status is
// 1 when no utterance succeeded. 8 kHz audio for a 16 kHz model names the option; a file
// shorter than one frame has nothing to decode; a text file is not a WAV; a truncated WAV is
// decoded with Kaldi's "Truncated file?" warning; stereo audio is decoded from channel 0;
// i-vector silence weighting other than Kaldi's default (off) is a kUnsupported error.
// Needs ../shared (the tdnn-seed model, graph and the audio fixture's edge/ files).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace {

const std::string kKaldiq = KQ_BINARY_DIR "/tools/kaldiq/kaldiq";
const std::string kAudio = KQ_SHARED_DIR "/fixtures/audio";
const std::string kSeed = KQ_SHARED_DIR "/fixtures/models/tdnn-seed";

std::string ReadAll(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
}

bool Have() {
  struct stat st;
  return stat((kAudio + "/edge").c_str(), &st) == 0 &&
         stat((kSeed + "/graph-pruned/HCLG.fst").c_str(), &st) == 0;
}

// Decodes one file as utterance "u"; returns the exit status, *log = stderr. Each test has its
// own directory: ctest runs the tests of this file in parallel processes.
int Decode(const std::string& wav, std::string* log, const std::string& extra = "") {
  const std::string dir = ::testing::TempDir() + "/kq_online2_cli_" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::system(("mkdir -p " + dir).c_str());
  std::ofstream(dir + "/wav.scp") << "u " << wav << "\n";
  std::ofstream(dir + "/spk2utt") << "s u\n";
  const std::string cmd =
      "cd " + kAudio + " && " + kKaldiq +
      " online2-wav-nnet3-latgen-faster --quiet --frames-per-chunk=20 " + extra + " "
      "--frame-subsampling-factor=3 --config=conf/online.conf --acoustic-scale=1.0 "
      "--word-symbol-table=" + kSeed + "/graph-pruned/words.txt " + kSeed + "/final.mdl " +
      kSeed + "/graph-pruned/HCLG.fst ark:" + dir + "/spk2utt scp:" + dir + "/wav.scp ark:" +
      dir + "/lat.ark 2>" + dir + "/log";
  const int status = std::system(cmd.c_str());
  *log = ReadAll(dir + "/log");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The "u WORD WORD " line of the log.
std::string Words(const std::string& log) {
  const size_t p = log.find("\nu ");
  if (p == std::string::npos) return log.rfind("u ", 0) == 0 ? log.substr(0, log.find('\n')) : "";
  return log.substr(p + 1, log.find('\n', p + 1) - p - 1);
}

TEST(Online2Cli, EightKhzForASixteenKhzModelIsAnErrorNamingTheOption) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  std::string log;
  EXPECT_EQ(Decode("edge/en029-f1-de00020-8k.wav", &log), 1);
  EXPECT_NE(log.find("8000 vs. 16000"), std::string::npos) << log;
  EXPECT_NE(log.find("--allow-upsample"), std::string::npos) << log;
}

TEST(Online2Cli, ShorterThanOneFrameHasNothingToDecode) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  std::string log;
  EXPECT_EQ(Decode("edge/en029-f1-de00020-short.wav", &log), 1);
  EXPECT_NE(log.find("shorter than one frame"), std::string::npos) << log;
}

TEST(Online2Cli, NotAWavAndEmptyFile) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  std::string log;
  EXPECT_EQ(Decode("conf/online.conf", &log), 1);
  EXPECT_NE(log.find("expected RIFF or RIFX"), std::string::npos) << log;
  const std::string empty = ::testing::TempDir() + "/kq_online2_empty.wav";
  std::ofstream(empty).close();
  EXPECT_EQ(Decode(empty, &log), 1);
  EXPECT_NE(log.find("WARNING"), std::string::npos) << log;
}

TEST(Online2Cli, TruncatedWavWarnsAndDecodes) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  const std::string full = ReadAll(kAudio + "/wav/en029-f1-de00020.wav");
  const std::string cut = ::testing::TempDir() + "/kq_online2_trunc.wav";
  std::ofstream(cut, std::ios::binary) << full.substr(0, full.size() / 2);
  std::string log;
  EXPECT_EQ(Decode(cut, &log), 0) << log;
  EXPECT_NE(log.find("Truncated file?"), std::string::npos) << log;
}

TEST(Online2Cli, StereoIsDecodedFromChannelZero) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  std::string mono, stereo;
  ASSERT_EQ(Decode("wav/en029-f1-de00020.wav", &mono), 0) << mono;
  ASSERT_EQ(Decode("edge/en029-f1-de00020-stereo.wav", &stereo), 0) << stereo;
  EXPECT_EQ(Words(stereo), Words(mono));
  EXPECT_EQ(Words(mono), "u UNTIL WE'VE ARRIVED THIS WAS A MAN'S WORLD ");
}

// Kaldi's silence weighting of the i-vector statistics is not implemented: its options are
// accepted at their defaults, and any other value is an error rather than silently ignored.
TEST(Online2Cli, SilenceWeightingOtherThanTheDefaultIsAnError) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  std::string log;
  EXPECT_EQ(Decode("wav/en029-f1-de00020.wav", &log,
                   "--ivector-silence-weighting.silence-weight=0.001 "
                   "--ivector-silence-weighting.silence-phones=1:2:3"),
            1);
  EXPECT_NE(log.find("is not implemented in kaldiq"), std::string::npos) << log;
  EXPECT_EQ(Decode("wav/en029-f1-de00020.wav", &log,
                   "--ivector-silence-weighting.silence-weight=1.0"),
            0)
      << log;
}

}  // namespace
