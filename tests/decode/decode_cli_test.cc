// `kaldiq decode` and `kaldiq recognize` as a Kaldi script would call them: exit codes,
// outputs, recognize == decode on Kaldi's own log-likelihoods, and a corrupt graph.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace {

const std::string kKaldiq = KQ_BINARY_DIR "/tools/kaldiq/kaldiq";
const std::string kData = KQ_TESTDATA_DIR "/tdnn-seed";
const std::string kOpts =
    " --acoustic-scale=1.0 --beam=12 --lattice-beam=6 --max-active=7000 --min-active=200"
    " --allow-partial=true --quiet ";

std::string Temp(const std::string& name) { return ::testing::TempDir() + "/kq_cli_" + name; }

std::string ReadAll(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
}

int RunKaldiq(const std::string& args, const std::string& log) {
  const std::string cmd = kKaldiq + " " + args + " 2>" + log;
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(DecodeCliTest, RecognizeEqualsDecodeOfKaldiLoglikes) {
  const std::string d = Temp("dec"), r = Temp("rec");
  ASSERT_EQ(RunKaldiq("decode" + kOpts + kData + "/final.mdl " + kData + "/graph-tiny/HCLG.fst ark:" +
                    kData + "/dev60/loglikes5.ark ark:" + d + ".lat ark,t:" + d + ".words ark,t:" +
                    d + ".ali",
                d + ".log"),
            0)
      << ReadAll(d + ".log");
  ASSERT_EQ(RunKaldiq("recognize" + kOpts + "--frame-subsampling-factor=3 --frames-per-chunk=140 " +
                    "--num-threads=2 " + kData + "/final.mdl " + kData + "/graph-tiny/HCLG.fst ark:" +
                    kData + "/dev60/feats_cmvn5.ark ark:" + r + ".lat ark,t:" + r + ".words ark,t:" +
                    r + ".ali",
                r + ".log"),
            0)
      << ReadAll(r + ".log");
  const std::string words = ReadAll(d + ".words");
  EXPECT_EQ(std::count(words.begin(), words.end(), '\n'), 5);
  // Our forward matches Kaldi's nnet3-compute to ~1e-4, far below what changes a 1-best.
  EXPECT_EQ(words, ReadAll(r + ".words"));
  EXPECT_EQ(ReadAll(d + ".ali"), ReadAll(r + ".ali"));
  EXPECT_NE(ReadAll(d + ".log").find("Done 5 utterances, failed for 0"), std::string::npos);
}

TEST(DecodeCliTest, WordSymbolTablePrintsWords) {
  const std::string d = Temp("syms");
  ASSERT_EQ(RunKaldiq("decode" + kOpts + "--word-symbol-table=" + kData + "/graph-tiny/words.txt " +
                    kData + "/final.mdl " + kData + "/graph-tiny/HCLG.fst ark:" + kData +
                    "/dev60/loglikes5.ark ark:/dev/null",
                d + ".log"),
            0);
  // Utterance en029-f1-de00131 is "you have no real enemies" (dev60/text).
  EXPECT_NE(ReadAll(d + ".log").find("en029-f1-de00131 YOU HAVE NO REAL ENEMIES"),
            std::string::npos)
      << ReadAll(d + ".log");
}

TEST(DecodeCliTest, CorruptGraphIsAWholeRunErrorWithoutOutput) {
  const std::string bad = Temp("bad.fst"), d = Temp("badrun");
  {
    std::string bytes = ReadAll(kData + "/graph-tiny/HCLG.fst");
    std::ofstream(bad, std::ios::binary).write(bytes.data(), bytes.size() / 3);
  }
  std::remove((d + ".lat").c_str());
  EXPECT_EQ(RunKaldiq("decode" + kOpts + kData + "/final.mdl " + bad + " ark:" + kData +
                    "/dev60/loglikes5.ark ark:" + d + ".lat",
                d + ".log"),
            1);
  EXPECT_NE(ReadAll(d + ".log").find("decoding graph"), std::string::npos) << ReadAll(d + ".log");
  EXPECT_FALSE(std::ifstream(d + ".lat").good()) << "no half-written lattice archive";
}

TEST(DecodeCliTest, MissingArgumentsIsAUsageError) {
  EXPECT_EQ(RunKaldiq("decode " + kData + "/final.mdl", Temp("usage.log")), 1);
}

}  // namespace
