// End to end as a Kaldi user runs it: our decoder's lattices on Kaldi's dev60 log-likelihoods,
// scored by our score_kaldi.sh sweep, must give Kaldi's own sweep (wer_sweep.txt: lattices from
// latgen-faster-mapped, lattice-scale --acoustic-scale=10, LMWT 7/10/13/17, compute-wer) line for
// line. Needs ../shared (the 10.8 MB graph-pruned HCLG and all 60 utterances); skips without it.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace {

const std::string kKaldiq = KQ_BINARY_DIR "/tools/kaldiq/kaldiq";
const std::string kSeed = KQ_SHARED_DIR "/fixtures/models/tdnn-seed";

std::string ReadAll(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
}

int RunShell(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The "%WER ..." line of a Kaldi wer_LMWT_WIP file (its first line echoes the command).
std::string WerLine(const std::string& path) {
  std::istringstream is(ReadAll(path));
  std::string line;
  while (std::getline(is, line))
    if (line.rfind("%WER", 0) == 0) return line;
  return "";
}

TEST(KaldiPipeline, OurLatticesGiveKaldisWerSweep) {
  struct stat st;
  if (stat((kSeed + "/graph-pruned/HCLG.fst").c_str(), &st) != 0)
    GTEST_SKIP() << "../shared/fixtures absent: skipping the dev60 decode + sweep parity test";
  const std::string dir = ::testing::TempDir() + "/kq_e2e_decode";
  ASSERT_EQ(RunShell("mkdir -p " + dir), 0);
  ASSERT_EQ(RunShell(kKaldiq + " decode --quiet --acoustic-scale=1.0 --beam=15 --lattice-beam=8 "
                "--max-active=7000 --min-active=200 --allow-partial=true " + kSeed + "/final.mdl " +
                kSeed + "/graph-pruned/HCLG.fst ark:" + kSeed + "/dev60/loglikes.ark \"ark:| gzip -c > " +
                dir + "/lat.1.gz\" 2>" + dir + "/decode.log"),
            0)
      << ReadAll(dir + "/decode.log");
  ASSERT_EQ(RunShell(kKaldiq + " score --quiet --post-decode-acwt=10 --word-ins-penalty=0.0 " + kSeed +
                "/dev60/text " + kSeed + "/graph-pruned/words.txt " + dir + " >" + dir +
                "/score.log 2>&1"),
            0)
      << ReadAll(dir + "/score.log");
  std::string expected = ReadAll(kSeed + "/dev60/wer_sweep.txt"), got;
  for (int lmwt : {7, 10, 13, 17})
    got += "LMWT " + std::to_string(lmwt) + " " +
           WerLine(dir + "/wer_" + std::to_string(lmwt) + "_0.0") + "\n";
  EXPECT_EQ(got, expected);
}

}  // namespace
