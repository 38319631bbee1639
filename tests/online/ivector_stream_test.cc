// Online i-vectors inside the streaming pipeline (online/feature_pipeline.h,
// online/nnet_decodable.h), on the audio fixture's WAVs and Kaldi-trained extractor:
//  - the i-vectors the pipeline computes from the WAVs (fed in 0.18 s pieces, speaker
//    adaptation carried by SpeakerAdaptationState) equal Kaldi's ivector-extract-online2 output
//    kaldi/ivectors_online_{spk,utt}.ark, in that program's mode (use_most_recent_ivector =
//    false, row i = the estimate at frame i * period), within the tolerances of
//    tests/ivector/parity_test.cc (1e-3 relative; the chaotic first row of an adapted utterance
//    2e-2, see there);
//  - a network with an i-vector input (tdnn-seed + a 32-dim i-vector input, ivector_seed_model.h)
//    streamed as online2-wav-nnet3-latgen-faster drives it (pull every ready frame after each
//    piece, after InputFinished() for the last) gives bit for bit the log-likelihoods of an
//    independent offline computation: whole-utterance features and CMVN, the i-vector feature
//    fed the whole utterance, and a looped network run whose chunk k takes the i-vector of
//    frame min(T - 1, I - 1) with T and I the feature and i-vector frames that existed when the
//    decoder first needed chunk k (Kaldi's DecodableNnetLoopedOnlineBase::AdvanceChunk; most
//    recent i-vector, re-estimated at that frame); the speaker's second utterance starts from
//    the first one's adaptation state;
//  - splitting the audio between two pulls differently changes nothing; pulling at other points
//    changes the i-vectors (Kaldi's semantics: online i-vectors depend on the decoding schedule);
//  - `kaldiq online2-wav-nnet3-latgen-faster --ivector-extraction-config=...` runs end to end
//    and its 1-best equals online::Recognizer's for the same pieces of audio.
// Needs ../shared; skips without it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "testutil/relative_error.h"
#include "testutil/scoped_chdir.h"
#include "feat/feature_computer.h"
#include "feat/online_feature.h"
#include "ivector_seed_model.h"
#include "kaldi/option_table.h"
#include "kaldi/table.h"
#include "kaldi/wave_io.h"
#include "nnet/load_model.h"
#include "online/feature_pipeline.h"
#include "online/nnet_decodable.h"
#include "online/pipeline.h"
#include "online/recognizer.h"
#include "util/error.h"

namespace kaldiq::online {
namespace {

const std::string kAudio = KQ_SHARED_DIR "/fixtures/audio";
const std::string kSeed = KQ_SHARED_DIR "/fixtures/models/tdnn-seed";
const std::string kKaldiq = KQ_BINARY_DIR "/tools/kaldiq/kaldiq";
constexpr int64_t kPiece = 2880;  // 0.18 s at 16 kHz: online2-wav-nnet3-latgen-faster's default

bool Have() {
  struct stat st;
  return stat((kAudio + "/kaldi/ivectors_online_spk.ark").c_str(), &st) == 0 &&
         stat((kSeed + "/graph-pruned/HCLG.fst").c_str(), &st) == 0;
}

using kaldiq::testing::ScopedChdir;  // relative paths in Kaldi configs (testutil/scoped_chdir.h)

FeaturePipelineInfo LoadInfo() {
  FeaturePipelineConfig c;
  kaldi::OptionTable table;
  c.Register(&table);
  table.ReadConfigFile("conf/online.conf");
  c.ivector_extraction_config = "extractor/ivector_extractor.conf";
  return FeaturePipelineInfo::Load(c);
}

kaldi::WaveData Wave(const std::string& utt) {
  kaldi::WaveData w;
  std::ifstream is(kAudio + "/wav/" + utt + ".wav", std::ios::binary);
  kaldi::ReadWave(is, &w);
  return w;
}

using Errors = kaldiq::testing::RelativeError;

void CheckIvectorParity(const std::string& spk2utt, const std::string& reference, bool adapted) {
  ScopedChdir cd(kAudio);
  ASSERT_TRUE(cd.ok());
  FeaturePipelineInfo info = LoadInfo();
  info.ivector->use_most_recent_ivector = false;  // ivector-extract-online2's mode
  const int64_t P = info.ivector->ivector_period;
  kaldi::SequentialTokenVectorReader spk(spk2utt);
  kaldi::RandomAccessMatrixReader ref(reference);
  Errors total;
  int64_t utts = 0;
  for (; !spk.Done(); spk.Next()) {
    SpeakerAdaptationState state(info);
    bool first = true;
    for (const std::string& utt : spk.Value()) {
      const kaldi::WaveData w = Wave(utt);
      FeaturePipeline p(info, &state);
      ivector::OnlineIvectorFeature* f = p.IvectorFeature();
      ASSERT_NE(f, nullptr);
      std::vector<float> got, row(f->Dim());
      auto pull = [&] {  // every row whose frame exists, as soon as it does
        while (static_cast<int64_t>(got.size() / row.size()) * P < f->NumFramesReady()) {
          f->GetFrame(static_cast<int64_t>(got.size() / row.size()) * P, row.data());
          got.insert(got.end(), row.begin(), row.end());
        }
      };
      const int64_t n = w.NumSamples();
      for (int64_t off = 0; off < n; off += kPiece) {
        p.AcceptWaveform(w.samp_freq, w.data.Row(0) + off, std::min(kPiece, n - off));
        pull();
      }
      p.InputFinished();
      pull();
      const MatrixF& want = ref.Value(utt);
      ASSERT_EQ(static_cast<int64_t>(got.size()), want.size()) << utt;
      Errors e, rest, row0;
      e.Add(got.data(), want.data(), want.size());
      row0.Add(got.data(), want.Row(0), want.cols());
      rest.Add(got.data() + want.cols(), want.Row(1), want.size() - want.cols());
      total.Add(got.data(), want.data(), want.size());
      const bool chaotic_row0 = adapted && !first;
      EXPECT_LE(e.Rel(), chaotic_row0 ? 5e-3 : 1e-3) << utt;
      EXPECT_LE(rest.Rel(), 1e-3) << utt;
      EXPECT_LE(row0.Rel(), chaotic_row0 ? 2e-2 : 1e-3) << utt;
      state = p.AdaptationState();
      first = false;
      ++utts;
    }
  }
  EXPECT_EQ(utts, 60);
  EXPECT_LE(total.Rel(), 1e-3);
  std::printf("%s from the WAVs through the streaming pipeline: relative error %.2e\n",
              reference.c_str(), total.Rel());
}

TEST(StreamingIvectors, PerUtteranceIvectorsFromWavsMatchKaldi) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  CheckIvectorParity("ark:kaldi/utt2utt", "ark:kaldi/ivectors_online_utt.ark", false);
}

TEST(StreamingIvectors, SpeakerAdaptedIvectorsFromWavsMatchKaldi) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  CheckIvectorParity("ark:spk2utt", "ark:kaldi/ivectors_online_spk.ark", true);
}

// --- the network side ---------------------------------------------------------------------

struct Net {
  nnet::InferenceModel model;
  std::vector<int32_t> identity;  // "transition id" i = pdf i - 1: rows come out whole
  std::vector<float> no_priors;
};

Net& GetNet() {
  static Net* n = [] {
    auto* x = new Net;
    const std::string path = ::testing::TempDir() + "/kq_ivector_seed_" +
                             std::to_string(getpid()) + ".mdl";
    testing::WriteIvectorSeedModel(path);
    x->model = nnet::LoadModelForInference(path);
    std::remove(path.c_str());
    const int32_t pdfs = x->model.net.graph.OutputDim();
    x->identity.resize(static_cast<size_t>(pdfs) + 1);
    for (int32_t i = 1; i <= pdfs; ++i) x->identity[i] = i - 1;
    return x;
  }();
  return *n;
}

nnet::LoopedOptions Looped() {
  nnet::LoopedOptions o;
  o.frames_per_chunk = 20;
  o.frame_subsampling_factor = 3;
  return o;
}

struct Streamed {
  std::vector<float> rows;               // every output frame, in order
  std::vector<int64_t> ivector_frames;   // per chunk
  std::vector<int64_t> samples_at_pull;  // per chunk: samples fed when it was computed
};

// Feeds `pieces` (sample counts; a negative count = feed -n samples without pulling afterwards)
// and pulls every ready frame after each non-negative piece and after InputFinished().
Streamed Stream(const FeaturePipelineInfo& info, const kaldi::WaveData& w,
                const std::vector<int64_t>& pieces, SpeakerAdaptationState* state) {
  Net& net = GetNet();
  nnet::LoopedComputer computer(net.model.net, Looped());
  NnetDecodableOptions opts;
  opts.acoustic_scale = 1.0f;
  OnlineNnetDecodable dec(info, state, &computer, net.identity, net.no_priors, opts);
  Streamed s;
  std::vector<float> row(net.identity.size());
  int64_t fed = 0;
  auto pull = [&] {
    const int32_t dim = dec.NumIndices();
    for (int32_t t = static_cast<int32_t>(s.rows.size() / dim); t < dec.NumFramesReady(); ++t) {
      const int64_t chunks = dec.NumChunksComputed();
      dec.FillFrame(t, row.data());
      if (dec.NumChunksComputed() != chunks) {
        s.ivector_frames.push_back(dec.LastChunkIvectorFrame());
        s.samples_at_pull.push_back(dec.IsInputFinished() ? -1 : fed);
      }
      s.rows.insert(s.rows.end(), row.begin() + 1, row.begin() + 1 + dim);
    }
  };
  const int64_t n = w.NumSamples();
  for (size_t i = 0; i < pieces.size() && fed < n; ++i) {
    const int64_t m = std::min(std::abs(pieces[i]), n - fed);
    dec.AcceptWaveform(w.samp_freq, w.data.Row(0) + fed, m);
    fed += m;
    if (pieces[i] >= 0 && fed < n) pull();
  }
  EXPECT_EQ(fed, n) << "pieces do not cover the audio";
  dec.InputFinished();
  pull();
  *state = dec.AdaptationState();
  return s;
}

std::vector<int64_t> Pieces(const kaldi::WaveData& w, int64_t piece) {
  return std::vector<int64_t>(static_cast<size_t>(w.NumSamples() / piece + 1), piece);
}

// Kaldi's frame count for n samples with snip-edges (the fixture's mfcc_hires.conf).
int64_t NumFrames(const FeaturePipelineInfo& info, int64_t n) {
  const feat::FrameExtractionOptions& o = info.Frames();
  const int64_t len = static_cast<int64_t>(o.samp_freq * 0.001f * o.frame_length_ms);
  const int64_t shift = static_cast<int64_t>(o.samp_freq * 0.001f * o.frame_shift_ms);
  return n < len ? 0 : 1 + (n - len) / shift;
}

// The offline oracle: whole-utterance features and CMVN, the i-vector feature fed every frame,
// and chunk k of a looped run given the i-vector of Kaldi's frame for the moment the decoder
// first needed chunk k (computed here from the formula and the pieces).
std::vector<float> Offline(const FeaturePipelineInfo& info, const kaldi::WaveData& w,
                           int64_t piece, SpeakerAdaptationState* state,
                           std::vector<int64_t>* ivector_frames, bool zero_ivectors = false) {
  Net& net = GetNet();
  const MatrixF raw = feat::ComputeUtteranceFeatures(
      feat::MakeMfccComputer(info.mfcc), feat::OnlineBaseFeature::Options(), w.samp_freq,
      w.data.Row(0), w.NumSamples());
  feat::OnlineCmvn cmvn(info.cmvn, state->cmvn);
  MatrixF feats;
  cmvn.AcceptFeatures(raw, &feats);
  ivector::OnlineIvectorFeature ivf(*info.ivector);
  ivf.SetAdaptationState(*state->ivector);
  ivf.AcceptFeatures(raw);
  nnet::LoopedComputer lc(net.model.net, Looped());
  const int64_t T = raw.rows(), F = lc.FramesPerChunk(), Rc = lc.RightContext();
  const int64_t rows_per_chunk = lc.OutputRowsPerChunk(), total = (T + 2) / 3;
  const int64_t lag = info.ivector->splice_opts.right_context;
  std::vector<float> out, iv(ivf.Dim()), buf;
  for (int64_t k = 0; k * rows_per_chunk < total; ++k) {
    // The first pull (after a whole piece, before the end) at which chunk k was ready.
    int64_t Tj = -1;
    for (int64_t fed = piece; fed < w.NumSamples(); fed += piece) {
      if (NumFrames(info, fed) - Rc >= (k + 1) * F) {
        Tj = NumFrames(info, fed);
        break;
      }
    }
    int64_t ready;
    if (Tj < 0) {  // computed after InputFinished()
      Tj = T;
      ivf.InputFinished();
      ready = T;
    } else {
      ready = std::max<int64_t>(0, Tj - lag);
    }
    const int64_t frame = ready > 0 ? std::min(Tj - 1, ready - 1) : -1;
    ivector_frames->push_back(frame);
    if (frame >= 0) {
      ivf.GetFrame(frame, iv.data());
    } else {
      std::fill(iv.begin(), iv.end(), 0.0f);
    }
    if (zero_ivectors) std::fill(iv.begin(), iv.end(), 0.0f);
    int64_t begin, end;
    lc.NewInputRange(k, &begin, &end);
    buf.resize(static_cast<size_t>(std::max<int64_t>(end - begin, 1) * feats.cols()));
    for (int64_t t = begin; t < end; ++t) {
      const float* src = feats.Row(std::clamp<int64_t>(t, 0, T - 1));
      std::copy(src, src + feats.cols(), buf.data() + (t - begin) * feats.cols());
    }
    const nnet::ConstRows y = lc.ComputeChunk(buf.data(), feats.cols(), iv.data());
    for (int64_t r = 0; r < y.rows && k * rows_per_chunk + r < total; ++r)
      out.insert(out.end(), y.Row(r), y.Row(r) + y.cols);
  }
  state->cmvn = cmvn.GetState();
  ivf.GetAdaptationState(&*state->ivector);
  return out;
}

TEST(StreamingIvectors, LoglikesEqualALoopedRunFedKaldisPerChunkIvectors) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  ScopedChdir cd(kAudio);
  ASSERT_TRUE(cd.ok());
  const FeaturePipelineInfo info = LoadInfo();
  SpeakerAdaptationState streamed_state(info), offline_state(info);
  for (const char* utt : {"en029-f1-de00020", "en029-f1-de00131"}) {
    const kaldi::WaveData w = Wave(utt);
    const Streamed s = Stream(info, w, Pieces(w, kPiece), &streamed_state);
    std::vector<int64_t> frames;
    SpeakerAdaptationState zero_state = offline_state;
    const std::vector<float> want = Offline(info, w, kPiece, &offline_state, &frames);
    EXPECT_EQ(s.ivector_frames, frames) << utt;
    // Chunk 0 waits for F + Rc frames, the i-vector lags by the splice context; the last chunks
    // run after InputFinished() and take the last frame's.
    ASSERT_GE(frames.size(), 3u);
    EXPECT_GE(frames.front(), 0);
    EXPECT_LT(frames.front(), frames[1]);
    EXPECT_EQ(frames.back() + 1, static_cast<int64_t>(NumFrames(info, w.NumSamples()))) << utt;
    ASSERT_EQ(s.rows.size(), want.size()) << utt;
    EXPECT_TRUE(s.rows == want) << utt << ": streamed log-likelihoods differ from the oracle";
    // The i-vectors matter (the test could not fail otherwise).
    std::vector<int64_t> unused;
    EXPECT_NE(Offline(info, w, kPiece, &zero_state, &unused, true), want) << utt;
    // Both sides carry the same speaker state to the next utterance.
    EXPECT_EQ(streamed_state.ivector->ivector_stats.Count(),
              offline_state.ivector->ivector_stats.Count());
  }
}

TEST(StreamingIvectors, OnlyThePullPointsMatterNotHowTheAudioIsSplit) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  ScopedChdir cd(kAudio);
  ASSERT_TRUE(cd.ok());
  const FeaturePipelineInfo info = LoadInfo();
  const kaldi::WaveData w = Wave("en029-f1-de00020");
  SpeakerAdaptationState a(info), b(info), c(info);
  const Streamed whole = Stream(info, w, Pieces(w, kPiece), &a);
  // Each 0.18 s piece as 1000 + 1880 samples, pulling only after the second.
  std::vector<int64_t> split;
  for (int64_t p : Pieces(w, kPiece)) {
    split.push_back(-1000);
    split.push_back(p - 1000);
  }
  const Streamed same = Stream(info, w, split, &b);
  EXPECT_TRUE(same.rows == whole.rows);
  EXPECT_EQ(same.ivector_frames, whole.ivector_frames);
  // Pulling after every 1000 samples computes chunks at other moments: other i-vectors.
  const Streamed other = Stream(info, w, Pieces(w, 1000), &c);
  EXPECT_NE(other.ivector_frames, whole.ivector_frames);
  EXPECT_FALSE(other.rows == whole.rows);
}

TEST(StreamingIvectors, NetworkAndExtractorMustAgree) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  ScopedChdir cd(kAudio);
  ASSERT_TRUE(cd.ok());
  const FeaturePipelineInfo with = LoadInfo();
  FeaturePipelineInfo without = with;
  without.ivector.reset();
  Net& net = GetNet();
  nnet::LoopedComputer computer(net.model.net, Looped());
  EXPECT_THROW(OnlineNnetDecodable(without, nullptr, &computer, net.identity, net.no_priors,
                                   NnetDecodableOptions()),
               Error);
  nnet::InferenceModel seed = nnet::LoadModelForInference(KQ_TESTDATA_DIR "/tdnn-seed/final.mdl");
  nnet::LoopedComputer plain(seed.net, Looped());
  std::vector<int32_t> tid(seed.trans_model.NumTransitionIds() + 1, 0);
  for (int32_t t = 1; t < static_cast<int32_t>(tid.size()); ++t)
    tid[t] = seed.trans_model.TransitionIdToPdf(t);
  try {
    OnlineNnetDecodable d(with, nullptr, &plain, tid, net.no_priors, NnetDecodableOptions());
    ADD_FAILURE() << "an extractor with a network without i-vector input was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no i-vector input"), std::string::npos) << e.what();
  }
}

// --- the command, end to end --------------------------------------------------------------

std::string ReadAll(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>());
}

TEST(StreamingIvectors, CommandRunsEndToEndAndEqualsTheRecognizer) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  const std::string dir = ::testing::TempDir() + "/kq_ivector_stream_cli";
  std::system(("mkdir -p " + dir).c_str());
  const std::string model = dir + "/final.mdl";
  testing::WriteIvectorSeedModel(model);
  const std::vector<std::string> utts = {"en029-f1-de00020", "en029-f1-de00131",
                                         "en029-f1-de00156"};
  {
    std::ofstream spk(dir + "/spk2utt"), scp(dir + "/wav.scp");
    spk << "en029-f1";
    for (const std::string& u : utts) {
      spk << " " << u;
      scp << u << " " << kAudio << "/wav/" << u << ".wav\n";
    }
    spk << "\n";
  }
  const std::string cmd =
      "cd " + kAudio + " && " + kKaldiq +
      " online2-wav-nnet3-latgen-faster --quiet --frames-per-chunk=20 "
      "--frame-subsampling-factor=3 --config=conf/online.conf "
      "--ivector-extraction-config=extractor/ivector_extractor.conf --acoustic-scale=1.0 "
      "--beam=15 --lattice-beam=8 --max-active=7000 --min-active=200 --word-symbol-table=" +
      kSeed + "/graph-pruned/words.txt " + model + " " + kSeed + "/graph-pruned/HCLG.fst ark:" +
      dir + "/spk2utt scp:" + dir + "/wav.scp ark:" + dir + "/lat.ark 2>" + dir + "/log";
  const int status = std::system(cmd.c_str());
  const std::string log = ReadAll(dir + "/log");
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  std::map<std::string, std::string> cli;
  std::istringstream ls(log);
  for (std::string line; std::getline(ls, line);) {
    std::istringstream words(line);
    std::string key, w, text;
    words >> key;
    if (std::find(utts.begin(), utts.end(), key) == utts.end()) continue;
    while (words >> w) text += (text.empty() ? "" : " ") + w;
    cli[key] = text;
  }
  ASSERT_EQ(cli.size(), utts.size()) << log;

  ScopedChdir cd(kAudio);
  ASSERT_TRUE(cd.ok());
  RecognizerConfig c;
  c.model = model;
  c.graph = kSeed + "/graph-pruned/HCLG.fst";
  c.words = kSeed + "/graph-pruned/words.txt";
  c.online_config = dir + "/online.conf";
  std::ofstream(c.online_config) << ReadAll("conf/online.conf")
                                 << "--ivector-extraction-config=extractor/ivector_extractor.conf\n";
  c.looped.frame_subsampling_factor = 3;
  c.acoustic_scale = 1.0f;
  c.decoder.beam = 15.0f;
  c.decoder.lattice_beam = 8.0f;
  c.decoder.max_active = 7000;
  c.decoder.min_active = 200;
  RecognizerModel rm(c);
  Recognizer rec(rm);
  for (const std::string& u : utts) {
    const kaldi::WaveData w = Wave(u);
    for (int64_t off = 0; off < w.NumSamples(); off += kPiece)
      rec.AcceptWaveform(w.samp_freq, w.data.Row(0) + off, std::min(kPiece, w.NumSamples() - off));
    const Result r = rec.Final();
    EXPECT_EQ(r.text, cli[u]) << u;
    std::printf("%s: %s\n", u.c_str(), r.text.c_str());
    EXPECT_FALSE(r.text.empty()) << u;
  }
  std::remove(model.c_str());
}

}  // namespace
}  // namespace kaldiq::online
