// ConcatSupervisionFsts against what Kaldi's MergeSupervision does with the real OpenFst:
// fst::Concat (each earlier FST in front), fst::RmEpsilon, then Kaldi's SortBreadthFirstSearch
// (BFS numbering + fst::StateSort). States, finals, arcs in order and the property bits OpenFst
// computes must all be equal. (Only the test links OpenFst; kq_kaldi does not.)
#include <gtest/gtest.h>

#include <fst/fstlib.h>

#include <deque>
#include <fstream>
#include <string>

#include "kaldi/chain_example.h"
#include "kaldi/chain_example_merge.h"
#include "kaldi/table.h"

namespace kaldiq::kaldi {
namespace {

const std::string kEgsDir = std::string(KQ_SHARED_DIR) + "/fixtures/models/tdnn-seed/egs";

fst::StdVectorFst ToOpenFst(const StdFst& f) {
  fst::StdVectorFst out;
  for (int32_t s = 0; s < f.NumStates(); ++s) out.AddState();
  out.SetStart(f.start);
  for (int32_t s = 0; s < f.NumStates(); ++s) {
    out.SetFinal(s, fst::TropicalWeight(f.finals[s]));
    for (const StdArc* a = f.ArcsBegin(s); a != f.ArcsEnd(s); ++a)
      out.AddArc(s, fst::StdArc(a->ilabel, a->olabel, fst::TropicalWeight(a->weight), a->nextstate));
  }
  return out;
}

// Kaldi's chain-supervision.cc SortBreadthFirstSearch.
void SortBreadthFirstSearch(fst::StdVectorFst* f) {
  std::vector<int32_t> order(f->NumStates(), -1);
  std::vector<bool> seen(f->NumStates(), false);
  std::deque<int32_t> queue{f->Start()};
  seen[f->Start()] = true;
  int32_t num = 0;
  while (!queue.empty()) {
    const int32_t s = queue.front();
    queue.pop_front();
    order[s] = num++;
    for (fst::ArcIterator<fst::StdVectorFst> it(*f, s); !it.Done(); it.Next()) {
      const int32_t t = it.Value().nextstate;
      if (!seen[t]) {
        seen[t] = true;
        queue.push_back(t);
      }
    }
  }
  ASSERT_EQ(num, f->NumStates());
  fst::StateSort(f, order);
}

TEST(ConcatSupervisionFsts, EqualsOpenFstConcatRmEpsilonAndKaldisSort) {
  if (!std::ifstream(kEgsDir + "/valid_diagnostic.cegs").good())
    GTEST_SKIP() << "../shared fixtures not found";
  std::vector<NnetChainExample> egs;
  SequentialTableReader<NnetChainExampleHolder> reader("ark:" + kEgsDir + "/valid_diagnostic.cegs");
  for (; !reader.Done() && egs.size() < 12; reader.Next())
    if (reader.Value().outputs[0].supervision.frames_per_sequence == 34) egs.push_back(reader.Value());
  ASSERT_EQ(egs.size(), 12u);
  for (size_t n : {2u, 3u, 12u}) {
    std::vector<const StdFst*> fsts;
    for (size_t i = 0; i < n; ++i) fsts.push_back(&egs[i].outputs[0].supervision.fst);
    const StdFst ours = ConcatSupervisionFsts(fsts);
    fst::StdVectorFst kaldi = ToOpenFst(*fsts.back());
    for (int i = static_cast<int>(n) - 2; i >= 0; --i) fst::Concat(ToOpenFst(*fsts[i]), &kaldi);
    fst::RmEpsilon(&kaldi);
    SortBreadthFirstSearch(&kaldi);
    ASSERT_EQ(ours.NumStates(), kaldi.NumStates()) << n;
    EXPECT_EQ(ours.start, kaldi.Start());
    for (int32_t s = 0; s < ours.NumStates(); ++s) {
      EXPECT_EQ(ours.finals[s], kaldi.Final(s).Value()) << s;
      ASSERT_EQ(ours.NumArcs(s), static_cast<int64_t>(kaldi.NumArcs(s))) << s;
      const StdArc* a = ours.ArcsBegin(s);
      for (fst::ArcIterator<fst::StdVectorFst> it(kaldi, s); !it.Done(); it.Next(), ++a) {
        EXPECT_EQ(a->ilabel, it.Value().ilabel);
        EXPECT_EQ(a->nextstate, it.Value().nextstate);
        EXPECT_EQ(a->weight, it.Value().weight.Value());
      }
    }
    // The bits OpenFst computes when writing (kCopyProperties with test = true).
    const uint64_t kaldi_props =
        kaldi.Properties(fst::kCopyProperties, true) | fst::kExpanded;
    EXPECT_EQ(ours.properties, kaldi_props & ~static_cast<uint64_t>(fst::kMutable)) << n;
  }
}

}  // namespace
}  // namespace kaldiq::kaldi
