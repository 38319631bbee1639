// Kaldi option files and --config expansion (util/parse-options.cc semantics).
#include "kaldi/config_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigFile, ReadsOptionsSkipsCommentsAndBlankLines) {
  std::string p = WriteTemp("mfcc.conf",
                            "# a comment line\n"
                            "--use-energy=false   # trailing comment\n"
                            "\n"
                            "   --num-mel-bins=40\t\n"
                            "--snip-edges\n");
  EXPECT_EQ(ReadConfigFile(p),
            (std::vector<std::string>{"--use-energy=false", "--num-mel-bins=40", "--snip-edges"}));
}

TEST(ConfigFile, RejectsLinesThatAreNotOptions) {
  std::string p = WriteTemp("bad.conf", "--a=1\nnum-mel-bins=40\n");
  try {
    ReadConfigFile(p);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ReadConfigFile(::testing::TempDir() + "/no-such.conf"), Error);
}

TEST(ConfigFile, CommandLineOverridesConfigAndLastWins) {
  std::string p = WriteTemp("c.conf", "--num-mel-bins=40\n--dither=1\n");
  std::vector<std::string> args = {"--num-mel-bins=80", "--config=" + p, "scp:wav.scp",
                                   "--dither=0", "--dither=0.5", "ark:-"};
  EXPECT_EQ(ExpandConfigArgs(args), (std::vector<std::string>{"--num-mel-bins=80", "scp:wav.scp",
                                                              "--dither=0.5", "ark:-"}));
}

TEST(ConfigFile, OptionNamesAreNormalisedAsKaldi) {
  std::string p = WriteTemp("u.conf", "--num_mel_bins=40\n--Use_Energy=false_x\n");
  EXPECT_EQ(ExpandConfigArgs({"--config=" + p, "--High_Freq=-400", "ark:a_b", "--", "--x_y"}),
            (std::vector<std::string>{"--num-mel-bins=40", "--use-energy=false_x",
                                      "--high-freq=-400", "ark:a_b", "--", "--x_y"}));
  EXPECT_EQ(NormalizeOptionArg("--a_b"), "--a-b");
  EXPECT_EQ(NormalizeOptionArg("scp:x_y"), "scp:x_y");
}

TEST(ConfigFile, OptionName) {
  EXPECT_EQ(OptionName("--a-b=3"), "a-b");
  EXPECT_EQ(OptionName("--flag"), "flag");
  EXPECT_EQ(OptionName("ark:-"), "");
  EXPECT_EQ(OptionName("--"), "");
}

}  // namespace
}  // namespace kaldiq::kaldi
