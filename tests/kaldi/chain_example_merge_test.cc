// Merging chain egs: Kaldi's --minibatch-size rules, structure groups on the fixture egs,
// merged layout (t-major outputs, interleaved deriv weights, concatenated FSTs), frame shifts.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>

#include "kaldi/chain_example.h"
#include "kaldi/chain_example_merge.h"
#include "kaldi/table.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

const std::string kEgsDir = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/egs";
bool HaveFixture() { return std::ifstream(kEgsDir + "/valid_diagnostic.cegs").good(); }
#define REQUIRE_FIXTURE() \
  if (!HaveFixture()) GTEST_SKIP() << "../shared fixtures not found (" << kEgsDir << ")"

std::vector<NnetChainExample> ReadEgs(const std::string& file, int max = -1) {
  std::vector<NnetChainExample> egs;
  SequentialTableReader<NnetChainExampleHolder> reader("ark:" + kEgsDir + "/" + file);
  for (; !reader.Done() && (max < 0 || static_cast<int>(egs.size()) < max); reader.Next())
    egs.push_back(reader.Value());
  return egs;
}

TEST(MinibatchSizeRules, KaldisRules) {
  MinibatchSizeRules a("128,64");
  EXPECT_EQ(a.MinibatchSize(173, 127, false), 0);
  EXPECT_EQ(a.MinibatchSize(173, 128, false), 128);
  EXPECT_EQ(a.MinibatchSize(173, 100, true), 64);
  EXPECT_EQ(a.MinibatchSize(173, 63, true), 0);
  MinibatchSizeRules b("128");
  EXPECT_EQ(b.MinibatchSize(173, 127, true), 0);
  MinibatchSizeRules c("1:64");
  EXPECT_EQ(c.MinibatchSize(173, 64, false), 64);
  EXPECT_EQ(c.MinibatchSize(173, 5, false), 0);
  EXPECT_EQ(c.MinibatchSize(173, 5, true), 5);
  MinibatchSizeRules d("256=128/512=64,32");
  EXPECT_EQ(d.MinibatchSize(300, 128, false), 128);  // closest eg-size 256
  EXPECT_EQ(d.MinibatchSize(400, 64, false), 64);    // closest 512
  EXPECT_EQ(d.MinibatchSize(400, 40, true), 32);
  for (const char* bad : {"", "0", "64:32", "a", "128/64", "256=64/256=32", "1:2:3", "=64"}) {
    EXPECT_THROW(MinibatchSizeRules r(bad), Error) << bad;
  }
  EXPECT_EQ(HalveMinibatchSizeString("128,64"), "64,32");
  EXPECT_EQ(HalveMinibatchSizeString("256=1:64/512=3"), "256=1:32/512=1");
}

// Groups of the valid egs: 133 x 34, 192 x 47 and 75 x 54 output frames (design note §4.4).
std::map<int32_t, std::vector<int32_t>> MergeCounts(const std::vector<NnetChainExample>& egs,
                                                    const std::string& rule, int64_t* discarded) {
  std::map<int32_t, std::vector<int32_t>> batches;  // frames -> minibatch sizes
  ChainExampleMerger merger(MinibatchSizeRules(rule), [&](std::vector<NnetChainExample>&& b, std::vector<std::string>&&) {
    batches[b[0].outputs[0].supervision.frames_per_sequence].push_back(
        static_cast<int32_t>(b.size()));
  });
  for (const NnetChainExample& eg : egs) merger.Accept(eg);
  merger.Finish();
  *discarded = merger.NumDiscarded();
  return batches;
}

TEST(ChainExampleMerger, GroupsAndRulesOnValidEgs) {
  REQUIRE_FIXTURE();
  const std::vector<NnetChainExample> egs = ReadEgs("valid_diagnostic.cegs");
  ASSERT_EQ(egs.size(), 400u);
  int64_t discarded = 0;
  auto b = MergeCounts(egs, "1:64", &discarded);
  EXPECT_EQ(discarded, 0);
  EXPECT_EQ(b[34], (std::vector<int32_t>{64, 64, 5}));
  EXPECT_EQ(b[47], (std::vector<int32_t>{64, 64, 64}));
  EXPECT_EQ(b[54], (std::vector<int32_t>{64, 11}));
  b = MergeCounts(egs, "128,64", &discarded);
  EXPECT_EQ(b[34], (std::vector<int32_t>{128}));
  EXPECT_EQ(b[47], (std::vector<int32_t>{128, 64}));
  EXPECT_EQ(b[54], (std::vector<int32_t>{64}));
  EXPECT_EQ(discarded, 5 + 11);
  b = MergeCounts(egs, "128", &discarded);
  EXPECT_EQ(b[34], (std::vector<int32_t>{128}));
  EXPECT_EQ(b[47], (std::vector<int32_t>{128}));
  EXPECT_EQ(b.count(54), 0u);
  EXPECT_EQ(discarded, 5 + 64 + 75);
}

TEST(MergeChainExamples, LayoutOfAMergedMinibatch) {
  REQUIRE_FIXTURE();
  std::vector<NnetChainExample> all = ReadEgs("valid_diagnostic.cegs", 40), egs;
  for (const NnetChainExample& eg : all)
    if (eg.outputs[0].supervision.frames_per_sequence == 47 && egs.size() < 5) egs.push_back(eg);
  ASSERT_EQ(egs.size(), 5u);
  const NnetChainExample m = MergeChainExamples(egs, /*compress=*/false);
  const int N = 5, F = 47, T = 173;
  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_FALSE(m.inputs[0].features.IsCompressed());
  ASSERT_EQ(m.inputs[0].indexes.size(), static_cast<size_t>(N * T));
  MatrixF merged, one;
  m.inputs[0].features.GetMatrix(&merged);
  for (int n = 0; n < N; ++n) {
    egs[n].inputs[0].features.GetMatrix(&one);
    for (int r = 0; r < T; ++r) {
      EXPECT_EQ(m.inputs[0].indexes[n * T + r], (Index{n, r - 16, 0}));
      for (int c = 0; c < 40; ++c) ASSERT_EQ(merged(n * T + r, c), one(r, c));
    }
  }
  const NnetChainSupervision& out = m.outputs[0];
  ASSERT_EQ(out.indexes.size(), static_cast<size_t>(N * F));
  for (int f = 0; f < F; ++f)
    for (int n = 0; n < N; ++n) {
      EXPECT_EQ(out.indexes[f * N + n], (Index{n, 3 * f, 0}));
      EXPECT_EQ(out.deriv_weights[f * N + n], egs[n].outputs[0].deriv_weights[f]);
    }
  EXPECT_EQ(out.supervision.num_sequences, N);
  EXPECT_EQ(out.supervision.frames_per_sequence, F);
  int64_t states = 0, arcs = 0;
  for (const NnetChainExample& eg : egs) {
    states += eg.outputs[0].supervision.fst.NumStates();
    arcs += eg.outputs[0].supervision.fst.NumArcs();
  }
  // Concatenation drops the N-1 inner start states and keeps every arc.
  EXPECT_EQ(out.supervision.fst.NumStates(), states - (N - 1));
  EXPECT_EQ(out.supervision.fst.NumArcs(), arcs);
  std::vector<int32_t> times;
  EXPECT_EQ(ComputeFstStateTimes(out.supervision.fst, &times), N * F);
  // Merged egs round-trip through the binary format, compressed too.
  for (bool compress : {false, true}) {
    const NnetChainExample mc = MergeChainExamples(egs, compress);
    std::ostringstream os;
    mc.Write(os, true);
    std::istringstream is(os.str());
    NnetChainExample back;
    back.Read(is, true);
    std::ostringstream os2;
    back.Write(os2, true);
    EXPECT_TRUE(os.str() == os2.str());
    EXPECT_EQ(back.inputs[0].features.IsCompressed(), compress);
  }
  // Already-merged egs cannot be merged again.
  EXPECT_THROW(MergeChainExamples({m, m}, false), Error);
}

TEST(ShiftChainExampleTimes, OutputsMoveByTheNearestMultipleOfThree) {
  REQUIRE_FIXTURE();
  const NnetChainExample eg = ReadEgs("valid_diagnostic.cegs", 1)[0];
  for (const auto& [shift, out_shift] :
       std::vector<std::pair<int, int>>{{1, 0}, {2, 3}, {-1, 0}, {-2, -3}, {3, 3}, {0, 0}}) {
    NnetChainExample e = eg;
    ShiftChainExampleTimes(shift, &e);
    for (size_t i = 0; i < e.inputs[0].indexes.size(); ++i)
      EXPECT_EQ(e.inputs[0].indexes[i].t, eg.inputs[0].indexes[i].t + shift);
    for (size_t i = 0; i < e.outputs[0].indexes.size(); ++i)
      EXPECT_EQ(e.outputs[0].indexes[i].t, eg.outputs[0].indexes[i].t + out_shift) << shift;
  }
  NnetChainExample e = eg;
  TruncateDerivWeights(2, &e);
  const std::vector<float>& dw = e.outputs[0].deriv_weights;
  EXPECT_EQ(dw[0], 0.0f);
  EXPECT_EQ(dw[1], 0.0f);
  EXPECT_EQ(dw[2], eg.outputs[0].deriv_weights[2]);
  EXPECT_EQ(dw[46], 0.0f);
  EXPECT_THROW(TruncateDerivWeights(24, &e), Error);
}

}  // namespace
}  // namespace kaldiq::kaldi
