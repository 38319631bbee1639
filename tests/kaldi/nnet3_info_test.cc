// `kaldiq info` output fields (runs the built CLI).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "test_util.h"

namespace {

std::string RunInfo(const std::string& args, int* status) {
  std::string cmd = std::string(KQ_BINARY_DIR) + "/tools/kaldiq/kaldiq info " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

bool HasBinary() {
  return std::ifstream(std::string(KQ_BINARY_DIR) + "/tools/kaldiq/kaldiq").good();
}

TEST(KaldiqInfo, FinalMdlFields) {
  if (!HasBinary()) GTEST_SKIP() << "kaldiq binary not built";
  int status = 0;
  std::string out = RunInfo(kaldiq::testing::TestData("tdnn-seed/final.mdl"), &status);
  EXPECT_EQ(status, 0) << out;
  for (const char* field :
       {"input-dim: 40\n", "ivector-dim: -1\n", "num-pdfs: 968\n", "prior-dimension: 0\n",
        "left-context: 15\n", "right-context: 15\n", "modulus: 1\n",
        "component name=tdnn2.affine type=NaturalGradientAffineComponent, input-dim=768, "
        "output-dim=256, num-parameters=196864\n",
        "output-node name=output input=output.affine dim=968 objective=linear\n"}) {
    EXPECT_NE(out.find(field), std::string::npos) << "missing: " << field << "\n" << out;
  }
}

TEST(KaldiqInfo, RawFields) {
  if (!HasBinary()) GTEST_SKIP() << "kaldiq binary not built";
  int status = 0;
  std::string out = RunInfo(kaldiq::testing::TestData("tdnnf-small/final.raw"), &status);
  EXPECT_EQ(status, 0) << out;
  for (const char* field : {"left-context: 12\n", "right-context: 12\n", "input-dim: 40\n",
                            "ivector-dim: 30\n", "output-dim: 800\n", "num-parameters: 1053888\n",
                            "time-offsets=-3,0, bias=none"}) {
    EXPECT_NE(out.find(field), std::string::npos) << "missing: " << field << "\n" << out;
  }
}

TEST(KaldiqInfo, MissingFileFails) {
  if (!HasBinary()) GTEST_SKIP() << "kaldiq binary not built";
  int status = 0;
  std::string out = RunInfo("/nonexistent/final.mdl", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("kaldiq info: error:"), std::string::npos) << out;
  EXPECT_NE(out.find("/nonexistent/final.mdl"), std::string::npos) << out;
}

}  // namespace
