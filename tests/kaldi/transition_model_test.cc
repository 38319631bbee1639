// TransitionModel: byte-identical round trips and the transition-id maps.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "kaldi/nnet3/model_io.h"
#include "test_util.h"
#include "util/error.h"

namespace kaldiq::kaldi {
namespace {

using kaldiq::testing::ReadFileBytes;
using kaldiq::testing::TempDir;
using kaldiq::testing::TestData;
using kaldiq::testing::WriteFileBytes;

TEST(TransitionModel, ReadsChainTopologyFromFinalMdl) {
  TransitionModel tm = ReadTransitionModel(TestData("tdnn-seed/final.mdl"));
  EXPECT_EQ(tm.NumPdfs(), 968);
  EXPECT_FALSE(tm.GetTopo().IsHmm());  // chain topology: separate self-loop pdf classes
  EXPECT_GT(tm.NumTransitionIds(), 0);
  // First tuple as stored: phone 1, HMM state 0, forward pdf 0, self-loop pdf 118; the
  // topology's state 0 has transitions (0, 0.5) then (1, 0.5).
  ASSERT_FALSE(tm.tuples().empty());
  EXPECT_EQ(tm.tuples()[0].phone, 1);
  EXPECT_EQ(tm.tuples()[0].self_loop_pdf, 118);
  EXPECT_TRUE(tm.IsSelfLoop(1));
  EXPECT_EQ(tm.TransitionIdToPdf(1), 118);
  EXPECT_FALSE(tm.IsSelfLoop(2));
  EXPECT_EQ(tm.TransitionIdToPdf(2), 0);
  EXPECT_TRUE(tm.IsFinal(2));
  EXPECT_EQ(tm.TransitionIdToPhone(2), 1);
  EXPECT_EQ(tm.PairToTransitionId(1, 1), 2);
  EXPECT_NEAR(tm.GetTransitionLogProb(1), std::log(0.5f), 1e-6);
  for (int32_t tid = 1; tid <= tm.NumTransitionIds(); ++tid) {
    ASSERT_GE(tm.TransitionIdToPdf(tid), 0);
    ASSERT_LT(tm.TransitionIdToPdf(tid), tm.NumPdfs());
    EXPECT_EQ(tm.TransitionIdToPdfFast(tid), tm.TransitionIdToPdf(tid));
  }
  EXPECT_THROW(tm.TransitionIdToPdf(0), Error);
  EXPECT_THROW(tm.TransitionIdToPdf(tm.NumTransitionIds() + 1), Error);
}

// 0.trans_mdl is Kaldi's text form (written by the chain recipe with --binary=false).
TEST(TransitionModel, TransMdlTextRoundTripIsByteIdentical) {
  const std::string path = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/0.trans_mdl";
  if (!std::ifstream(path).good()) GTEST_SKIP() << path << " not present (../shared absent)";
  TransitionModel tm = ReadTransitionModel(path);
  TempDir dir;
  WriteTransitionModel(dir.File("t"), tm, false);
  EXPECT_EQ(ReadFileBytes(dir.File("t")), ReadFileBytes(path));
  // Binary form equals the transition model that leads final.mdl, byte for byte.
  WriteTransitionModel(dir.File("b"), tm, true);
  const std::string mdl = ReadFileBytes(TestData("tdnn-seed/final.mdl"));
  const std::string b = ReadFileBytes(dir.File("b"));
  EXPECT_EQ(b, mdl.substr(0, b.size()));
  TransitionModel t = ReadTransitionModel(dir.File("b"));
  WriteTransitionModel(dir.File("t2"), t, false);
  EXPECT_EQ(ReadFileBytes(dir.File("t2")), ReadFileBytes(path));
  // Same transition model as the one leading final.mdl.
  TransitionModel f = ReadTransitionModel(TestData("tdnn-seed/final.mdl"));
  EXPECT_EQ(f.NumTransitionIds(), tm.NumTransitionIds());
}

TEST(TransitionModel, ClassicHmmTextRoundTrip) {
  const std::string text =
      "<TransitionModel> \n<Topology> \n<TopologyEntry> \n<ForPhones> \n1 2 \n</ForPhones> \n"
      "<State> 0 <PdfClass> 0 <Transition> 0 0.75 <Transition> 1 0.25 </State> \n"
      "<State> 1 </State> \n</TopologyEntry> \n</Topology> \n<Triples> 2 \n1 0 0 \n2 0 1 \n"
      "</Triples> \n<LogProbs> \n [ 0 -0.2876821 -1.386294 -0.2876821 -1.386294 ]\n"
      "</LogProbs> \n</TransitionModel> \n";
  TempDir dir;
  WriteFileBytes(dir.File("hmm.txt"), text);
  TransitionModel tm = ReadTransitionModel(dir.File("hmm.txt"));
  EXPECT_TRUE(tm.GetTopo().IsHmm());
  EXPECT_EQ(tm.NumPdfs(), 2);
  EXPECT_EQ(tm.NumTransitionIds(), 4);
  EXPECT_EQ(tm.TransitionIdToPdf(3), 1);
  EXPECT_EQ(tm.TransitionIdToPhone(4), 2);
  EXPECT_TRUE(tm.IsSelfLoop(3));
  EXPECT_TRUE(tm.IsFinal(4));
  WriteTransitionModel(dir.File("hmm2.txt"), tm, false);
  EXPECT_EQ(ReadFileBytes(dir.File("hmm2.txt")), text);
}

TEST(TransitionModel, CorruptedBytesGiveCleanErrors) {
  const std::string text =
      "<TransitionModel> \n<Topology> \n<TopologyEntry> \n<ForPhones> \n1 2 \n</ForPhones> \n"
      "<State> 0 <ForwardPdfClass> 0 <SelfLoopPdfClass> 1 <Transition> 0 0.5 <Transition> 1 0.5 "
      "</State> \n<State> 1 </State> \n</TopologyEntry> \n</Topology> \n<Tuples> 2 \n1 0 0 1 \n"
      "2 0 2 3 \n</Tuples> \n<LogProbs> \n [ 0 -0.6931472 -0.6931472 -0.6931472 -0.6931472 ]\n"
      "</LogProbs> \n</TransitionModel> \n";
  std::istringstream tis(text);
  TransitionModel tm;
  tm.Read(tis, false);
  EXPECT_EQ(tm.NumPdfs(), 4);
  std::ostringstream os;
  tm.Write(os, true);
  const std::string bytes = os.str();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string mutated = bytes;
    mutated[i] = static_cast<char>(mutated[i] ^ 0x41);
    std::istringstream is(mutated);
    TransitionModel t;
    try {
      t.Read(is, true);
      // If it parsed, the maps must be usable.
      for (int32_t tid = 1; tid <= t.NumTransitionIds(); ++tid) t.TransitionIdToPdf(tid);
    } catch (const Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "byte " << i << ": non-kaldiq exception " << e.what();
    }
  }
}

TEST(TransitionModel, BadInput) {
  TempDir dir;
  WriteFileBytes(dir.File("bad"), "<TransitionModel> <Topology> <Foo> ");
  EXPECT_THROW(ReadTransitionModel(dir.File("bad")), Error);
  EXPECT_THROW(ReadTransitionModel(dir.File("missing")), Error);
  const std::string mdl = ReadFileBytes(TestData("tdnn-seed/final.mdl"));
  WriteFileBytes(dir.File("trunc"), mdl.substr(0, 3000));
  EXPECT_THROW(ReadTransitionModel(dir.File("trunc")), Error);
}

}  // namespace
}  // namespace kaldiq::kaldi
