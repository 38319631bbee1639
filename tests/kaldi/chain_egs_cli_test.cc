// nnet3-chain-copy-egs / nnet3-chain-merge-egs / nnet3-chain-shuffle-egs through their
// Run<Name>() entry points: byte-identical copies, frame shifts, round-robin and random outputs,
// --keep-proportion, merged egs that read back, Kaldi's buffer shuffle, and errors.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "kaldi/chain_example.h"
#include "kaldi/chain_example_merge.h"
#include "kaldi/table.h"
#include "test_util.h"
#include "util/kaldi_rand.h"

namespace kaldiq::cli {
namespace {

using kaldiq::testing::ReadFileBytes;
using kaldiq::testing::TempDir;

const std::string kEgs =
    std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/egs/valid_diagnostic.cegs";
#define REQUIRE_FIXTURE() \
  if (!std::ifstream(kEgs).good()) GTEST_SKIP() << "../shared fixtures not found (" << kEgs << ")"

int RunCmd(CommandFn fn, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return fn(static_cast<int>(args.size()), argv.data());
}

std::vector<std::pair<std::string, kaldi::NnetChainExample>> ReadAll(const std::string& rspec) {
  std::vector<std::pair<std::string, kaldi::NnetChainExample>> out;
  for (kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> r(rspec); !r.Done(); r.Next())
    out.emplace_back(r.Key(), r.Value());
  return out;
}

TEST(Nnet3ChainCopyEgs, CopiesShiftsAndSplits) {
  REQUIRE_FIXTURE();
  TempDir tmp;
  ASSERT_EQ(0, RunCmd(RunNnet3ChainCopyEgs,
                      {"nnet3-chain-copy-egs", "--quiet", "ark:" + kEgs, "ark:" + tmp.File("copy.ark")}));
  EXPECT_TRUE(ReadFileBytes(kEgs) == ReadFileBytes(tmp.File("copy.ark")));

  ASSERT_EQ(0, RunCmd(RunNnet3ChainCopyEgs, {"nnet3-chain-copy-egs", "--quiet", "--frame-shift=2",
                                             "ark:" + kEgs, "ark:" + tmp.File("shift.ark")}));
  const auto orig = ReadAll("ark:" + kEgs), shifted = ReadAll("ark:" + tmp.File("shift.ark"));
  ASSERT_EQ(orig.size(), shifted.size());
  for (size_t i = 0; i < orig.size(); i += 37) {
    EXPECT_EQ(shifted[i].first, orig[i].first);
    EXPECT_EQ(shifted[i].second.inputs[0].indexes[0].t, orig[i].second.inputs[0].indexes[0].t + 2);
    EXPECT_EQ(shifted[i].second.outputs[0].indexes[0].t,
              orig[i].second.outputs[0].indexes[0].t + 3);
  }

  // Round robin over two outputs.
  ASSERT_EQ(0, RunCmd(RunNnet3ChainCopyEgs, {"nnet3-chain-copy-egs", "--quiet", "ark:" + kEgs,
                                             "ark:" + tmp.File("a.ark"), "ark:" + tmp.File("b.ark")}));
  const auto a = ReadAll("ark:" + tmp.File("a.ark")), b = ReadAll("ark:" + tmp.File("b.ark"));
  ASSERT_EQ(a.size(), 200u);
  ASSERT_EQ(b.size(), 200u);
  EXPECT_EQ(a[1].first, orig[2].first);
  EXPECT_EQ(b[1].first, orig[3].first);

  // --random and --keep-proportion follow Kaldi's rand() with --srand.
  ASSERT_EQ(0, RunCmd(RunNnet3ChainCopyEgs,
                      {"nnet3-chain-copy-egs", "--quiet", "--random", "--srand=5", "--keep-proportion=0.5",
                       "ark:" + kEgs, "ark:" + tmp.File("r1.ark"), "ark:" + tmp.File("r2.ark")}));
  KaldiRand rng(5);
  std::vector<std::string> expect1, expect2;
  for (const auto& [key, eg] : orig) {
    if (!rng.WithProb(0.5f)) continue;
    (rng.Rand() % 2 == 0 ? expect1 : expect2).push_back(key);
  }
  std::vector<std::string> got1, got2;
  for (const auto& [key, eg] : ReadAll("ark:" + tmp.File("r1.ark"))) got1.push_back(key);
  for (const auto& [key, eg] : ReadAll("ark:" + tmp.File("r2.ark"))) got2.push_back(key);
  EXPECT_EQ(got1, expect1);
  EXPECT_EQ(got2, expect2);
  EXPECT_GT(got1.size() + got2.size(), 150u);
  EXPECT_LT(got1.size() + got2.size(), 250u);

  // --truncate-deriv-weights and --left-context.
  ASSERT_EQ(0, RunCmd(RunNnet3ChainCopyEgs,
                      {"nnet3-chain-copy-egs", "--quiet", "--truncate-deriv-weights=1", "--left-context=10",
                       "ark:" + kEgs, "ark:" + tmp.File("t.ark")}));
  const auto t = ReadAll("ark:" + tmp.File("t.ark"));
  EXPECT_EQ(t[0].second.outputs[0].deriv_weights.front(), 0.0f);
  EXPECT_EQ(t[0].second.outputs[0].deriv_weights.back(), 0.0f);
  EXPECT_EQ(t[0].second.inputs[0].indexes.front().t, -10);
  EXPECT_FALSE(t[0].second.inputs[0].features.IsCompressed());

  // Errors: a missing archive, an empty one.
  EXPECT_EQ(1, RunCmd(RunNnet3ChainCopyEgs, {"nnet3-chain-copy-egs", "--quiet",
                                             "ark:" + tmp.File("missing.ark"), "ark:" + tmp.File("x.ark")}));
  kaldiq::testing::WriteFileBytes(tmp.File("empty.ark"), "");
  EXPECT_EQ(1, RunCmd(RunNnet3ChainCopyEgs, {"nnet3-chain-copy-egs", "--quiet",
                                             "ark:" + tmp.File("empty.ark"), "ark:" + tmp.File("x.ark")}));
}

TEST(Nnet3ChainMergeEgs, WritesKaldisMergedEgs) {
  REQUIRE_FIXTURE();
  TempDir tmp;
  ASSERT_EQ(0, RunCmd(RunNnet3ChainMergeEgs, {"nnet3-chain-merge-egs", "--quiet", "--minibatch-size=128,64",
                                              "ark:" + kEgs, "ark:" + tmp.File("m.ark")}));
  const auto merged = ReadAll("ark:" + tmp.File("m.ark"));
  // 34-frame group: 128 (5 dropped); 47: 128 + 64; 54: 64 (11 dropped).
  ASSERT_EQ(merged.size(), 4u);
  std::multiset<int> sizes;
  for (size_t i = 0; i < merged.size(); ++i) {
    const int n = merged[i].second.outputs[0].supervision.num_sequences;
    sizes.insert(n);
    EXPECT_EQ(merged[i].first, "merged-" + std::to_string(i) + "-" + std::to_string(n));
  }
  EXPECT_EQ(sizes, (std::multiset<int>{128, 128, 64, 64}));
  // --compress gives compressed merged features.
  ASSERT_EQ(0, RunCmd(RunNnet3ChainMergeEgs, {"nnet3-chain-merge-egs", "--quiet", "--compress",
                                              "--minibatch-size=64", "ark:" + kEgs,
                                              "ark:" + tmp.File("c.ark")}));
  const auto compressed = ReadAll("ark:" + tmp.File("c.ark"));
  ASSERT_FALSE(compressed.empty());
  EXPECT_TRUE(compressed[0].second.inputs[0].features.IsCompressed());
  EXPECT_EQ(1, RunCmd(RunNnet3ChainMergeEgs, {"nnet3-chain-merge-egs", "--quiet", "--minibatch-size=64:32",
                                              "ark:" + kEgs, "ark:" + tmp.File("bad.ark")}));
}

TEST(Nnet3ChainShuffleEgs, BufferShuffleFollowsKaldisRandInt) {
  REQUIRE_FIXTURE();
  TempDir tmp;
  ASSERT_EQ(0, RunCmd(RunNnet3ChainShuffleEgs, {"nnet3-chain-shuffle-egs", "--quiet", "--srand=3",
                                                "--buffer-size=50", "ark:" + kEgs,
                                                "ark:" + tmp.File("s.ark")}));
  const auto orig = ReadAll("ark:" + kEgs);
  std::vector<std::string> expect, slots(50);
  KaldiRand rng(3);
  for (const auto& [key, eg] : orig) {
    std::string& slot = slots[rng.RandInt(0, 49)];
    if (!slot.empty()) expect.push_back(slot);
    slot = key;
  }
  for (const std::string& s : slots)
    if (!s.empty()) expect.push_back(s);
  std::vector<std::string> got;
  for (const auto& [key, eg] : ReadAll("ark:" + tmp.File("s.ark"))) got.push_back(key);
  EXPECT_EQ(got, expect);
  // Full shuffle: a permutation, fixed for a seed.
  ASSERT_EQ(0, RunCmd(RunNnet3ChainShuffleEgs, {"nnet3-chain-shuffle-egs", "--quiet", "--srand=3",
                                                "ark:" + kEgs, "ark:" + tmp.File("f1.ark")}));
  ASSERT_EQ(0, RunCmd(RunNnet3ChainShuffleEgs, {"nnet3-chain-shuffle-egs", "--quiet", "--srand=3",
                                                "ark:" + kEgs, "ark:" + tmp.File("f2.ark")}));
  EXPECT_TRUE(ReadFileBytes(tmp.File("f1.ark")) == ReadFileBytes(tmp.File("f2.ark")));
  std::multiset<std::string> a, b;
  for (const auto& [key, eg] : orig) a.insert(key);
  for (const auto& [key, eg] : ReadAll("ark:" + tmp.File("f1.ark"))) b.insert(key);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace kaldiq::cli
