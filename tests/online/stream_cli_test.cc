// `kaldiq stream` on a fixture WAV (file and stdin): the final line is the Kaldi streaming
// hypothesis of that utterance, partial lines come first, --json gives one JSON object per line
// with word times. Needs ../shared; skips without it.
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
  return stat((kAudio + "/conf/online.conf").c_str(), &st) == 0 &&
         stat((kSeed + "/graph-pruned/HCLG.fst").c_str(), &st) == 0;
}

int Stream(const std::string& args, std::string* out) {
  const std::string path = ::testing::TempDir() + "/kq_stream_out_" +
                           ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt";
  const std::string cmd = "cd " + kAudio + " && " + kKaldiq + " stream --model=" + kSeed +
                          "/final.mdl --graph=" + kSeed + "/graph-pruned/HCLG.fst --words=" +
                          kSeed + "/graph-pruned/words.txt --online-config=conf/online.conf " +
                          "--frame-subsampling-factor=3 --acoustic-scale=1.0 --beam=15 " +
                          "--max-active=7000 --lattice-beam=8 " + args + " >" + path + " 2>&1";
  const int status = std::system(cmd.c_str());
  *out = ReadAll(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(StreamCli, TextFromAFileAndFromStdin) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  std::string out;
  ASSERT_EQ(Stream("wav/en029-f1-de00020.wav", &out), 0) << out;
  EXPECT_EQ(out.rfind("partial: ", 0), 0u) << out;
  EXPECT_NE(out.find("\nfinal: UNTIL WE'VE ARRIVED THIS WAS A MAN'S WORLD\n"), std::string::npos)
      << out;
  std::string from_stdin;
  ASSERT_EQ(Stream("- < wav/en029-f1-de00020.wav", &from_stdin), 0) << from_stdin;
  EXPECT_EQ(from_stdin, out);
}

TEST(StreamCli, JsonLines) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  std::string out;
  ASSERT_EQ(Stream("--json wav/en029-f1-de00131.wav", &out), 0) << out;
  EXPECT_EQ(out.rfind("{\"partial\": \"", 0), 0u) << out;
  EXPECT_NE(out.find("{\"text\": \"YOU HAVE NO REAL ENEMIES\", \"result\": [{\"word\": \"YOU\", "
                     "\"start\": "),
            std::string::npos)
      << out;
}

TEST(StreamCli, BadInput) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  std::string out;
  EXPECT_EQ(Stream("conf/online.conf", &out), 1);
  EXPECT_NE(out.find("kaldiq stream: error:"), std::string::npos) << out;
  EXPECT_EQ(Stream("edge/en029-f1-de00020-8k.wav", &out), 1);
  EXPECT_NE(out.find("--allow-upsample"), std::string::npos) << out;
  EXPECT_EQ(Stream("/nonexistent.wav", &out), 1);
}

}  // namespace
