// Decoder core on hand-made FSTs: known best paths, and exact agreement with a brute-force
// Viterbi over random graphs when the beams are wide.
#include <gtest/gtest.h>

#include <fst/vector-fst.h>

#include <limits>
#include <random>

#include "decode/decodable.h"
#include "decode/lattice_faster_decoder.h"
#include "decode/raw_lattice.h"

namespace kaldiq::decode {
namespace {

using fst::StdArc;
using fst::StdVectorFst;
constexpr float kInf = std::numeric_limits<float>::infinity();

// Exact Viterbi best total cost (graph - loglike) over all paths consuming all frames and
// ending in a final state; epsilon arcs relaxed to a fixed point after each frame.
float BruteForceBestCost(const StdVectorFst& g, const MatrixF& ll, const std::vector<int32_t>& map) {
  const int n = g.NumStates();
  std::vector<double> cost(n, kInf);
  cost[g.Start()] = 0;
  auto closure = [&]() {
    for (bool changed = true; changed;) {
      changed = false;
      for (int s = 0; s < n; ++s) {
        if (cost[s] == kInf) continue;
        for (fst::ArcIterator<StdVectorFst> it(g, s); !it.Done(); it.Next()) {
          const StdArc& a = it.Value();
          if (a.ilabel != 0) continue;
          if (cost[s] + a.weight.Value() < cost[a.nextstate] - 1e-9) {
            cost[a.nextstate] = cost[s] + a.weight.Value();
            changed = true;
          }
        }
      }
    }
  };
  closure();
  for (int t = 0; t < ll.rows(); ++t) {
    std::vector<double> next(n, kInf);
    for (int s = 0; s < n; ++s) {
      if (cost[s] == kInf) continue;
      for (fst::ArcIterator<StdVectorFst> it(g, s); !it.Done(); it.Next()) {
        const StdArc& a = it.Value();
        if (a.ilabel == 0) continue;
        double c = cost[s] + a.weight.Value() - ll(t, map[a.ilabel]);
        next[a.nextstate] = std::min(next[a.nextstate], c);
      }
    }
    cost.swap(next);
    closure();
  }
  double best = kInf;
  for (int s = 0; s < n; ++s) best = std::min(best, cost[s] + g.Final(s).Value());
  return static_cast<float>(best);
}

// Word A = tid 1 (pdf 0) repeated, word B = tid 2 (pdf 1) repeated, in sequence A B; or a
// competing word C = tid 3 (pdf 2) alone.
StdVectorFst TwoPathGraph() {
  StdVectorFst g;
  for (int i = 0; i < 4; ++i) g.AddState();
  g.SetStart(0);
  g.AddArc(0, StdArc(1, 101, 0.5f, 1));
  g.AddArc(1, StdArc(1, 0, 0.1f, 1));
  g.AddArc(1, StdArc(2, 102, 0.5f, 2));
  g.AddArc(2, StdArc(2, 0, 0.1f, 2));
  g.SetFinal(2, 0.0f);
  g.AddArc(0, StdArc(3, 103, 1.0f, 3));
  g.AddArc(3, StdArc(3, 0, 0.1f, 3));
  g.SetFinal(3, 0.5f);
  return g;
}

TEST(DecoderTest, KnownBestPath) {
  StdVectorFst g = TwoPathGraph();
  const std::vector<int32_t> map = {0, 0, 1, 2};  // tid -> pdf
  MatrixF ll(6, 3);
  // Frames 0-2 favour pdf 0, frames 3-5 pdf 1; pdf 2 is mediocre throughout.
  for (int t = 0; t < 6; ++t) {
    ll(t, 0) = t < 3 ? -0.1f : -5.0f;
    ll(t, 1) = t < 3 ? -5.0f : -0.1f;
    ll(t, 2) = -1.0f;
  }
  DecodableMatrixScaledMapped dec(ll, map, 3, 1.0f);
  DecoderOptions opts;
  LatticeFasterDecoderVector decoder(g, opts);
  ASSERT_TRUE(decoder.Decode(&dec));
  EXPECT_TRUE(decoder.ReachedFinal());
  RawLattice lat;
  ASSERT_TRUE(decoder.GetRawLattice(&lat));
  BestPath path;
  ASSERT_TRUE(RawLatticeBestPath(lat, &path));
  EXPECT_EQ(path.words, (std::vector<int32_t>{101, 102}));
  EXPECT_EQ(path.alignment, (std::vector<int32_t>{1, 1, 1, 2, 2, 2}));
  // graph: 0.5 + 2*0.1 + 0.5 + 2*0.1 = 1.4; acoustic: 6 * 0.1 = 0.6.
  EXPECT_NEAR(path.graph_cost, 1.4f, 1e-5);
  EXPECT_NEAR(path.acoustic_cost, 0.6f, 1e-5);
  EXPECT_NEAR(path.graph_cost + path.acoustic_cost, BruteForceBestCost(g, ll, map), 1e-4);

  // With acoustic scale 0.1 the acoustic cost shrinks tenfold; the path is unchanged here.
  DecodableMatrixScaledMapped dec2(ll, map, 3, 0.1f);
  ASSERT_TRUE(decoder.Decode(&dec2));
  ASSERT_TRUE(decoder.GetRawLattice(&lat));
  ASSERT_TRUE(RawLatticeBestPath(lat, &path));
  EXPECT_NEAR(path.acoustic_cost, 0.06f, 1e-5);
}

TEST(DecoderTest, NoFinalStateReachedGivesPartialLattice) {
  StdVectorFst g = TwoPathGraph();
  g.SetFinal(2, StdArc::Weight::Zero());
  g.SetFinal(3, StdArc::Weight::Zero());
  const std::vector<int32_t> map = {0, 0, 1, 2};
  MatrixF ll(4, 3);
  DecodableMatrixScaledMapped dec(ll, map, 3, 1.0f);
  LatticeFasterDecoderVector decoder(g, DecoderOptions());
  ASSERT_TRUE(decoder.Decode(&dec));
  EXPECT_FALSE(decoder.ReachedFinal());
  RawLattice lat;
  ASSERT_TRUE(decoder.GetRawLattice(&lat));
  BestPath path;
  ASSERT_TRUE(RawLatticeBestPath(lat, &path));  // every last-frame state is final (cost 0)
  EXPECT_EQ(path.alignment.size(), 4u);
}

TEST(DecoderTest, RejectsMismatchedGraphAndModel) {
  StdVectorFst g = TwoPathGraph();
  const std::vector<int32_t> map = {0, 0, 1};  // only 2 transition ids, graph uses 3
  MatrixF ll(3, 2);
  DecodableMatrixScaledMapped dec(ll, map, 2, 1.0f);
  LatticeFasterDecoderVector decoder(g, DecoderOptions());
  EXPECT_THROW(decoder.Decode(&dec), Error);
  MatrixF wrong_cols(3, 5);
  EXPECT_THROW(DecodableMatrixScaledMapped(wrong_cols, map, 2, 1.0f), Error);
}

TEST(DecoderTest, GraphWithoutStartStateIsAnError) {
  StdVectorFst g;
  g.AddState();
  EXPECT_THROW(LatticeFasterDecoderVector(g, DecoderOptions()), Error);
}

// Random graphs with epsilon arcs (acyclic among epsilons), compared with brute force.
StdVectorFst RandomGraph(std::mt19937* rng, int num_states, int num_tids) {
  StdVectorFst g;
  for (int i = 0; i < num_states; ++i) g.AddState();
  g.SetStart(0);
  std::uniform_real_distribution<float> w(0.0f, 2.0f);
  std::uniform_int_distribution<int> st(0, num_states - 1), tid(1, num_tids), word(0, 5);
  for (int s = 0; s < num_states; ++s) {
    for (int k = 0; k < 3; ++k) g.AddArc(s, StdArc(tid(*rng), word(*rng), w(*rng), st(*rng)));
    const int d = st(*rng);
    if (d > s) g.AddArc(s, StdArc(0, word(*rng), w(*rng), d));  // epsilons only go forward
    if (s % 3 == 2) g.SetFinal(s, w(*rng));
  }
  return g;
}

TEST(DecoderTest, MatchesBruteForceViterbiOnRandomGraphs) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const int num_tids = 6, num_pdfs = 4;
    StdVectorFst g = RandomGraph(&rng, 12, num_tids);
    std::vector<int32_t> map(num_tids + 1, 0);
    for (int t = 1; t <= num_tids; ++t) map[t] = t % num_pdfs;
    MatrixF ll(15, num_pdfs);
    std::normal_distribution<float> nd(-2.0f, 1.0f);
    for (int64_t i = 0; i < ll.size(); ++i) ll.data()[i] = nd(rng);
    const float exact = BruteForceBestCost(g, ll, map);
    DecoderOptions opts;
    opts.beam = 1000.0f;
    opts.lattice_beam = trial % 2 == 0 ? 5.0f : 0.5f;
    opts.prune_interval = 4;
    fst::ConstFst<StdArc> cg(g);
    LatticeFasterDecoder decoder(cg, opts);
    DecodableMatrixScaledMapped dec(ll, map, num_pdfs, 1.0f);
    ASSERT_TRUE(decoder.Decode(&dec));
    RawLattice lat;
    ASSERT_TRUE(decoder.GetRawLattice(&lat));
    BestPath path;
    const bool ok = RawLatticeBestPath(lat, &path);
    if (exact == kInf) {
      EXPECT_FALSE(decoder.ReachedFinal()) << "trial " << trial;
      continue;
    }
    ASSERT_TRUE(ok) << "trial " << trial;
    EXPECT_TRUE(decoder.ReachedFinal());
    EXPECT_NEAR(path.graph_cost + path.acoustic_cost, exact, 1e-3) << "trial " << trial;
    EXPECT_EQ(path.alignment.size(), 15u);
    // Re-score the best path's transition ids: acoustic cost must match.
    double ac = 0;
    for (size_t t = 0; t < path.alignment.size(); ++t) ac -= ll(t, map[path.alignment[t]]);
    EXPECT_NEAR(path.acoustic_cost, ac, 1e-3);

    // States are numbered topologically: every arc goes forward (an arc to an earlier state
    // would mean a link to a pruned token).
    for (int32_t s = 0; s < lat.NumStates(); ++s)
      for (int32_t a = lat.arc_begin[s]; a < lat.arc_begin[s + 1]; ++a)
        ASSERT_GT(lat.arcs[a].nextstate, s) << "trial " << trial;

    // The vector-FST instantiation gives the identical lattice.
    LatticeFasterDecoderVector vdecoder(g, opts);
    ASSERT_TRUE(vdecoder.Decode(&dec));
    RawLattice vlat;
    ASSERT_TRUE(vdecoder.GetRawLattice(&vlat));
    EXPECT_EQ(vlat.NumStates(), lat.NumStates());
    EXPECT_EQ(vlat.arcs.size(), lat.arcs.size());
  }
}

TEST(DecoderTest, NarrowerLatticeBeamGivesSmallerLatticeSameBestPath) {
  std::mt19937 rng(11);
  StdVectorFst g = RandomGraph(&rng, 30, 8);
  std::vector<int32_t> map(9);
  for (int t = 1; t <= 8; ++t) map[t] = t % 5;
  MatrixF ll(40, 5);
  std::normal_distribution<float> nd(-2.0f, 1.0f);
  for (int64_t i = 0; i < ll.size(); ++i) ll.data()[i] = nd(rng);
  DecodableMatrixScaledMapped dec(ll, map, 5, 1.0f);
  DecoderOptions wide, narrow;
  wide.beam = narrow.beam = 50.0f;
  wide.lattice_beam = 8.0f;
  narrow.lattice_beam = 1.0f;
  LatticeFasterDecoderVector dw(g, wide), dn(g, narrow);
  ASSERT_TRUE(dw.Decode(&dec));
  ASSERT_TRUE(dn.Decode(&dec));
  RawLattice lw, ln;
  ASSERT_TRUE(dw.GetRawLattice(&lw));
  ASSERT_TRUE(dn.GetRawLattice(&ln));
  EXPECT_LT(ln.arcs.size(), lw.arcs.size());
  BestPath pw, pn;
  ASSERT_TRUE(RawLatticeBestPath(lw, &pw));
  ASSERT_TRUE(RawLatticeBestPath(ln, &pn));
  EXPECT_EQ(pw.alignment, pn.alignment);
  EXPECT_FLOAT_EQ(pw.graph_cost + pw.acoustic_cost, pn.graph_cost + pn.acoustic_cost);
}

TEST(DecoderTest, MaxActiveLimitsTokens) {
  std::mt19937 rng(3);
  StdVectorFst g = RandomGraph(&rng, 60, 8);
  std::vector<int32_t> map(9);
  for (int t = 1; t <= 8; ++t) map[t] = t % 5;
  MatrixF ll(30, 5);
  std::normal_distribution<float> nd(-2.0f, 1.0f);
  for (int64_t i = 0; i < ll.size(); ++i) ll.data()[i] = nd(rng);
  DecodableMatrixScaledMapped dec(ll, map, 5, 1.0f);
  DecoderOptions wide, tight;
  wide.beam = tight.beam = 100.0f;
  tight.max_active = 3;
  tight.min_active = 1;
  LatticeFasterDecoderVector dw(g, wide), dt(g, tight);
  ASSERT_TRUE(dw.Decode(&dec));
  ASSERT_TRUE(dt.Decode(&dec));
  EXPECT_LT(dt.NumTokensCreated(), dw.NumTokensCreated());
}

}  // namespace
}  // namespace kaldiq::decode
