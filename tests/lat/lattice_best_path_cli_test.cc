// `kaldiq lattice-best-path` end to end: its transcriptions of Kaldi's lattices are byte-identical
// to Kaldi's own words.int/ali.int lines; corrupt input fails cleanly.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"

namespace kaldiq::lat {
namespace {

const std::string kBinary = std::string(KQ_BINARY_DIR) + "/tools/kaldiq/kaldiq";
const std::string kData = std::string(KQ_TESTDATA_DIR) + "/tdnn-seed/dev60";

std::string FirstLines(const std::string& path, int n) {
  std::ifstream f(path);
  std::string line, out;
  for (int i = 0; i < n && std::getline(f, line); ++i) out += line + "\n";
  return out;
}

std::string TempPath(const std::string& name) {
  return (::testing::TempDir().empty() ? std::string("/tmp/") : ::testing::TempDir()) +
         "kq_lat_cli_" + name;
}

TEST(LatticeBestPathCli, TranscriptionsEqualKaldiWordsInt) {
  if (!testing::FileExists(kBinary)) GTEST_SKIP() << "kaldiq binary not built: " << kBinary;
  const std::string words = TempPath("words.txt"), ali = TempPath("ali.txt");
  const std::string cmd = kBinary + " lattice-best-path --quiet ark:" + kData + "/lat3.ark ark,t:" +
                          words + " ark,t:" + ali + " 2>" + TempPath("stderr.txt");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << testing::ReadFileBytes(TempPath("stderr.txt"));
  EXPECT_EQ(testing::ReadFileBytes(words), FirstLines(kData + "/words.int", 3));
  const std::string shared_ali =
      std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/dev60/ali.int";
  if (testing::FileExists(shared_ali)) {
    EXPECT_EQ(testing::ReadFileBytes(ali), FirstLines(shared_ali, 3));
  }
}

TEST(LatticeBestPathCli, CorruptArchiveIsAClearError) {
  if (!testing::FileExists(kBinary)) GTEST_SKIP() << "kaldiq binary not built: " << kBinary;
  const std::string bytes = testing::ReadFileBytes(kData + "/lat3.ark");
  const std::string bad = TempPath("bad.ark");
  {
    std::ofstream f(bad, std::ios::binary);
    f << bytes.substr(0, bytes.size() / 2);
  }
  const std::string err = TempPath("bad_stderr.txt");
  const std::string cmd = kBinary + " lattice-best-path --quiet ark:" + bad + " ark,t:" +
                          TempPath("bad_words.txt") + " 2>" + err;
  EXPECT_NE(std::system(cmd.c_str()), 0);
  const std::string msg = testing::ReadFileBytes(err);
  EXPECT_NE(msg.find("kaldiq lattice-best-path: error:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_FALSE(testing::FileExists(TempPath("bad_words.txt")));  // no half-written output
}

}  // namespace
}  // namespace kaldiq::lat
