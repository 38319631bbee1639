// Every input under tests/fuzz_regressions/<target>/ goes through the fuzz target <target>
// (fuzz/targets/<target>.cc): the library must answer with success or a kaldiq::Error -- any
// other exception fails the test, and a crash, a sanitizer report (ASan build) or a hang (ctest
// timeout) fails the run. Each listed input crashed, hung or was wrongly accepted before its fix
// (see tests/fuzz_regressions/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_target.h"

namespace kaldiq::fuzz {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<fs::path> Inputs(const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(KQ_FUZZ_REGRESSIONS_DIR) / target;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FuzzRegressions, EveryTargetIsRegistered) {
  // One per kq_fuzz_target line of fuzz/targets.cmake.
  EXPECT_GE(Registry().size(), 7u);
  for (const auto& [name, fn] : Registry()) EXPECT_NE(fn, nullptr) << name;
}

TEST(FuzzRegressions, EveryCorpusDirectoryHasATarget) {
  for (const auto& e : fs::directory_iterator(KQ_FUZZ_REGRESSIONS_DIR)) {
    if (!e.is_directory()) continue;
    EXPECT_EQ(Registry().count(e.path().filename().string()), 1u)
        << "tests/fuzz_regressions/" << e.path().filename().string()
        << " has no fuzz target of that name";
  }
}

TEST(FuzzRegressions, InputsGiveSuccessOrAnError) {
  size_t total = 0;
  for (const auto& [name, fn] : Registry()) {
    for (const fs::path& p : Inputs(name)) {
      SCOPED_TRACE(name + "/" + p.filename().string());
      const std::string bytes = ReadAll(p);
      EXPECT_NO_THROW(fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
      ++total;
    }
  }
  EXPECT_GT(total, 0u) << "no regression inputs found under " << KQ_FUZZ_REGRESSIONS_DIR;
}

}  // namespace
}  // namespace kaldiq::fuzz
