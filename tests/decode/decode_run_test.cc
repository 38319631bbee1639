// Whole decoding runs on real Kaldi data: the vendored tdnn-seed model, its 5 vendored
// utterances of Kaldi log-likelihoods and the vendored graph-tiny HCLG; parity with Kaldi's
// latgen-faster-mapped on ../shared (dev60, graph-pruned); thread-count invariance; bad input.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "decode/decode_run.h"
#include "decode/graph_io.h"
#include "kaldi/lattice_io.h"
#include "kaldi/nnet3/model_io.h"
#include "kaldi/table.h"
#include "lat/lattice_ops.h"

namespace kaldiq::decode {
namespace {

const std::string kData = KQ_TESTDATA_DIR "/tdnn-seed";
const std::string kShared = KQ_SHARED_DIR "/fixtures/models/tdnn-seed";

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string ReadAll(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
}

std::string Temp(const std::string& name) { return ::testing::TempDir() + "/kq_decode_" + name; }

std::map<std::string, std::vector<int32_t>> ReadIntArchive(const std::string& rspec) {
  std::map<std::string, std::vector<int32_t>> out;
  for (kaldi::SequentialInt32VectorReader r(rspec); !r.Done(); r.Next()) out[r.Key()] = r.Value();
  return out;
}

// The fixture README's options: --acoustic-scale=1.0 --beam=15 --lattice-beam=8
// --max-active=7000 --min-active=200 --allow-partial=true.
DecodeRunOptions KaldiFixtureOptions(int threads) {
  DecodeRunOptions o;
  o.utterance.acoustic_scale = 1.0f;
  o.decoder.beam = 15.0f;
  o.decoder.lattice_beam = 8.0f;
  o.decoder.max_active = 7000;
  o.decoder.min_active = 200;
  o.utterance.allow_partial = true;
  o.num_threads = threads;
  o.quiet = true;
  return o;
}

struct Model {
  std::vector<int32_t> tid_to_pdf;
  int32_t num_pdfs = 0;
};

Model LoadModel(const std::string& path) {
  kaldi::TransitionModel tm = kaldi::ReadTransitionModel(path);
  Model m;
  m.num_pdfs = tm.NumPdfs();
  m.tid_to_pdf.assign(tm.NumTransitionIds() + 1, 0);
  for (int32_t t = 1; t <= tm.NumTransitionIds(); ++t) m.tid_to_pdf[t] = tm.TransitionIdToPdf(t);
  return m;
}

// Decodes every utterance of `loglikes_rspec` with DecodeRun, as `kaldiq decode` does.
DecodeRun* RunAll(const DecodingGraph& graph, const Model& model, const DecodeRunOptions& opts,
                  const std::string& loglikes_rspec, const std::string& out_prefix,
                  int* exit_code) {
  auto* run = new DecodeRun(&graph, model.tid_to_pdf, model.num_pdfs, opts);
  run->OpenOutputs("ark:" + out_prefix + ".lat.ark", "ark,t:" + out_prefix + ".words",
                   "ark,t:" + out_prefix + ".ali");
  std::vector<DecodeRunItem> batch;
  for (kaldi::SequentialMatrixReader r(loglikes_rspec); !r.Done(); r.Next()) {
    DecodeRunItem item;
    item.key = r.Key();
    item.loglikes = r.Value();
    batch.push_back(std::move(item));
    if (batch.size() == 3) {  // several batches, to exercise batch boundaries
      run->ProcessBatch(&batch, nullptr);
      batch.clear();
    }
  }
  run->ProcessBatch(&batch, nullptr);
  *exit_code = run->Finish();
  return run;
}

TEST(DecodeRunTest, VendoredTinyGraphIsSensibleAndMatchesLatticeBestPath) {
  const Model model = LoadModel(kData + "/final.mdl");
  EXPECT_EQ(model.num_pdfs, 968);
  const DecodingGraph graph = ReadDecodingGraph(kData + "/graph-tiny/HCLG.fst");
  const std::string out = Temp("tiny");
  int code = -1;
  std::unique_ptr<DecodeRun> run(RunAll(graph, model, KaldiFixtureOptions(1),
                                        "ark:" + kData + "/dev60/loglikes5.ark", out, &code));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(run->num_done(), 5);
  EXPECT_EQ(run->num_failed(), 0);
  // Chain-model log-likelihoods per frame are small positive-or-negative numbers, not garbage.
  const double like_per_frame = run->total_like() / run->frame_count();
  EXPECT_GT(like_per_frame, -20.0);
  EXPECT_LT(like_per_frame, 20.0);

  auto words = ReadIntArchive("ark:" + out + ".words");
  auto ali = ReadIntArchive("ark:" + out + ".ali");
  auto kaldi_words = ReadIntArchive("ark:" + kData + "/dev60/words.int");  // graph-pruned
  ASSERT_EQ(words.size(), 5u);
  int agree = 0;
  std::map<std::string, int64_t> frames;
  for (kaldi::SequentialMatrixReader r("ark:" + kData + "/dev60/loglikes5.ark"); !r.Done();
       r.Next())
    frames[r.Key()] = r.Value().rows();
  for (const auto& [key, w] : words) {
    EXPECT_FALSE(w.empty()) << key;
    EXPECT_EQ(static_cast<int64_t>(ali[key].size()), frames[key]) << key;
    if (kaldi_words.count(key) && kaldi_words[key] == w) ++agree;
  }
  // graph-tiny has a more heavily pruned LM than graph-pruned (Kaldi's reference), so a few
  // words may differ; most utterances must still come out the same.
  EXPECT_GE(agree, 3) << "1-best agrees with Kaldi's graph-pruned words on " << agree << "/5";

  // The lattices: readable, and their best path (lattice-best-path) gives the same words and
  // alignment as the decoder's own traceback.
  int n = 0;
  for (kaldi::SequentialTableReader<kaldi::CompactLatticeHolder> r("ark:" + out + ".lat.ark");
       !r.Done(); r.Next(), ++n) {
    lat::BestPath bp = lat::LatticeBestPath(r.Value());
    ASSERT_TRUE(bp.ok) << r.Key();
    EXPECT_EQ(bp.words, words[r.Key()]) << r.Key();
    EXPECT_EQ(bp.alignment, ali[r.Key()]) << r.Key();
  }
  EXPECT_EQ(n, 5);
}

TEST(DecodeRunTest, OutputIdenticalForAnyThreadCount) {
  const Model model = LoadModel(kData + "/final.mdl");
  const DecodingGraph graph = ReadDecodingGraph(kData + "/graph-tiny/HCLG.fst");
  std::string files[2][3];
  for (int k = 0; k < 2; ++k) {
    const int threads = k == 0 ? 1 : 3;
    const std::string out = Temp("threads" + std::to_string(threads));
    DecodeRunOptions o = KaldiFixtureOptions(threads);
    o.decoder.beam = 11.0f;  // keep the test quick
    int code = -1;
    std::unique_ptr<DecodeRun> run(
        RunAll(graph, model, o, "ark:" + kData + "/dev60/loglikes5.ark", out, &code));
    EXPECT_EQ(code, 0);
    files[k][0] = ReadAll(out + ".lat.ark");
    files[k][1] = ReadAll(out + ".words");
    files[k][2] = ReadAll(out + ".ali");
  }
  EXPECT_GT(files[0][0].size(), 1000u);
  EXPECT_EQ(files[0][0], files[1][0]);
  EXPECT_EQ(files[0][1], files[1][1]);
  EXPECT_EQ(files[0][2], files[1][2]);
}

TEST(DecodeRunTest, BadUtterancesAreSkippedAndCounted) {
  const Model model = LoadModel(kData + "/final.mdl");
  const DecodingGraph graph = ReadDecodingGraph(kData + "/graph-tiny/HCLG.fst");
  // good, wrong number of columns, empty, good.
  std::vector<std::pair<std::string, MatrixF>> utts;
  {
    kaldi::SequentialMatrixReader r("ark:" + kData + "/dev60/loglikes5.ark");
    utts.emplace_back("a-good", r.Value());
    MatrixF wrong(20, 500);
    utts.emplace_back("b-wrong-cols", wrong);
    utts.emplace_back("c-empty", MatrixF());
    r.Next();
    utts.emplace_back("d-good", r.Value());
  }
  const std::string in = Temp("bad_in.ark");
  {
    kaldi::MatrixWriter w("ark:" + in);
    for (auto& [k, m] : utts) w.Write(k, m);
    w.Close();
  }
  const std::string out = Temp("bad");
  DecodeRunOptions o = KaldiFixtureOptions(2);
  o.decoder.beam = 10.0f;
  int code = -1;
  std::unique_ptr<DecodeRun> run(RunAll(graph, model, o, "ark:" + in, out, &code));
  EXPECT_EQ(code, 0);
  EXPECT_EQ(run->num_done(), 2);
  EXPECT_EQ(run->num_failed(), 2);
  auto words = ReadIntArchive("ark:" + out + ".words");
  ASSERT_EQ(words.size(), 2u);
  EXPECT_TRUE(words.count("a-good"));
  EXPECT_TRUE(words.count("d-good"));
}

TEST(DecodeRunTest, AllUtterancesFailingGivesExitCodeOne) {
  const Model model = LoadModel(kData + "/final.mdl");
  const DecodingGraph graph = ReadDecodingGraph(kData + "/graph-tiny/HCLG.fst");
  const std::string in = Temp("allbad_in.ark");
  {
    kaldi::MatrixWriter w("ark:" + in);
    w.Write("x", MatrixF(5, 3));
    w.Close();
  }
  int code = -1;
  std::unique_ptr<DecodeRun> run(
      RunAll(graph, model, KaldiFixtureOptions(1), "ark:" + in, Temp("allbad"), &code));
  EXPECT_EQ(code, 1);
  EXPECT_EQ(run->num_failed(), 1);
}

TEST(DecodeRunTest, StateLevelLatticeWhenNotDeterminizing) {
  const Model model = LoadModel(kData + "/final.mdl");
  const DecodingGraph graph = ReadDecodingGraph(kData + "/graph-tiny/HCLG.fst");
  DecodeRunOptions o = KaldiFixtureOptions(1);
  o.decoder.beam = 10.0f;
  o.decoder.lattice_beam = 4.0f;
  o.utterance.determinize_lattice = false;
  const std::string in = Temp("one.ark");
  {
    kaldi::SequentialMatrixReader r("ark:" + kData + "/dev60/loglikes5.ark");
    kaldi::MatrixWriter w("ark:" + in);
    w.Write(r.Key(), r.Value());
    w.Close();
  }
  const std::string out = Temp("nodet");
  int code = -1;
  std::unique_ptr<DecodeRun> run(RunAll(graph, model, o, "ark:" + in, out, &code));
  ASSERT_EQ(code, 0);
  auto words = ReadIntArchive("ark:" + out + ".words");
  kaldi::SequentialTableReader<kaldi::LatticeHolder> r("ark:" + out + ".lat.ark");
  ASSERT_FALSE(r.Done());
  const lat::Lattice& l = r.Value();
  EXPECT_GT(l.NumStates(), static_cast<int>(words.begin()->second.size()));
  // Its best path (via the compact form) is the decoder's 1-best.
  lat::CompactLattice clat;
  lat::ConvertLattice(l, &clat);
  lat::BestPath bp = lat::LatticeBestPath(clat);
  ASSERT_TRUE(bp.ok);
  EXPECT_EQ(bp.words, words.begin()->second);
}

TEST(DecodeRunTest, GraphAndModelMismatchIsAWholeRunError) {
  Model model = LoadModel(kData + "/final.mdl");
  model.tid_to_pdf.resize(10);  // pretend the model has only 9 transition ids
  const DecodingGraph graph = ReadDecodingGraph(kData + "/graph-tiny/HCLG.fst");
  EXPECT_THROW(DecodeRun(&graph, model.tid_to_pdf, model.num_pdfs, KaldiFixtureOptions(1)),
               Error);
}

// Parity with Kaldi's latgen-faster-mapped on the 60 dev utterances (../shared).
TEST(DecodeRunTest, KaldiParityDev60GraphPruned) {
  if (!Exists(kShared + "/dev60/loglikes.ark")) {
    GTEST_SKIP() << "../shared/fixtures absent: Kaldi parity on dev60 not checked";
  }
  const Model model = LoadModel(kShared + "/final.mdl");
  const DecodingGraph graph = ReadDecodingGraph(kShared + "/graph-pruned/HCLG.fst");
  const std::string out = Temp("dev60");
  int code = -1;
  std::unique_ptr<DecodeRun> run(RunAll(graph, model, KaldiFixtureOptions(2),
                                        "ark:" + kShared + "/dev60/loglikes.ark", out, &code));
  EXPECT_EQ(code, 0);
  auto ours = ReadIntArchive("ark:" + out + ".words");
  auto kaldi_words = ReadIntArchive("ark:" + kShared + "/dev60/words.int");
  auto kaldi_ali = ReadIntArchive("ark:" + kShared + "/dev60/ali.int");
  auto our_ali = ReadIntArchive("ark:" + out + ".ali");
  ASSERT_EQ(kaldi_words.size(), 60u);
  int same = 0, same_ali = 0;
  for (const auto& [key, w] : kaldi_words) {
    if (ours.count(key) && ours[key] == w) ++same;
    if (our_ali.count(key) && our_ali[key] == kaldi_ali[key]) ++same_ali;
  }
  // >= 99.5% of 60 utterances = all 60.
  EXPECT_EQ(same, 60) << "1-best equal to Kaldi's on " << same << "/60 utterances";
  std::printf("dev60 parity: words %d/60, alignments %d/60\n", same, same_ali);
}

}  // namespace
}  // namespace kaldiq::decode
