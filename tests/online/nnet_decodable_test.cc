// The streaming decodable (online/nnet_decodable.h) on a fixture WAV with the fixture's
// online.conf (hires MFCC + online CMVN) and the tdnn-seed chain model:
//  - how the audio is cut does not matter: any split gives bit-identical log-likelihoods
//    (features and CMVN are exact under any chunking, the network chunks are fixed by F);
//  - NumFramesReady() follows Kaldi's DecodableNnetLoopedOnlineBase::NumFramesReady() while the
//    input is open (whole chunks whose right context exists) and is ceil(T / sf) at the end;
//  - the CMVN state carried to the speaker's next utterance changes that utterance's output.
// Needs ../shared; skips without it.
#include "online/nnet_decodable.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <vector>

#include "kaldi/wave_io.h"
#include "nnet/load_model.h"
#include "online/pipeline.h"
#include "util/error.h"

namespace kaldiq::online {
namespace {

const std::string kAudio = KQ_SHARED_DIR "/fixtures/audio";
const std::string kSeed = KQ_SHARED_DIR "/fixtures/models/tdnn-seed";

bool Have() {
  struct stat st;
  return stat((kAudio + "/wav/en029-f1-de00020.wav").c_str(), &st) == 0 &&
         stat((kSeed + "/final.mdl").c_str(), &st) == 0;
}

struct Fixture {
  nnet::InferenceModel model;
  FeaturePipelineInfo info;
  std::vector<int32_t> tid_to_pdf;
  std::vector<float> no_priors;
  kaldi::WaveData wave;
};

Fixture& Get() {
  static Fixture* f = [] {
    auto* x = new Fixture;
    x->model = nnet::LoadModelForInference(kSeed + "/final.mdl");
    FeaturePipelineConfig c;
    c.mfcc_config = kAudio + "/conf/mfcc_hires.conf";
    c.cmvn_config = kAudio + "/conf/online_cmvn.conf";
    c.global_cmvn_stats = kAudio + "/extractor/global_cmvn.stats";
    x->info = FeaturePipelineInfo::Load(c);
    const auto& tm = x->model.trans_model;
    x->tid_to_pdf.assign(tm.NumTransitionIds() + 1, 0);
    for (int32_t t = 1; t <= tm.NumTransitionIds(); ++t) x->tid_to_pdf[t] = tm.TransitionIdToPdf(t);
    std::ifstream is(kAudio + "/wav/en029-f1-de00020.wav", std::ios::binary);
    kaldi::ReadWave(is, &x->wave);
    return x;
  }();
  return *f;
}

nnet::LoopedOptions Looped() {
  nnet::LoopedOptions o;
  o.frames_per_chunk = 20;  // rounded up to 21 (sf = 3)
  o.frame_subsampling_factor = 3;
  return o;
}

// Feeds the utterance in pieces of `piece` samples; returns all scaled log-likelihoods.
std::vector<float> Stream(int64_t piece, const SpeakerAdaptationState* state = nullptr,
                       std::vector<int32_t>* ready_after_each = nullptr) {
  Fixture& f = Get();
  nnet::LoopedComputer computer(f.model.net, Looped());
  NnetDecodableOptions opts;
  opts.acoustic_scale = 1.0f;
  OnlineNnetDecodable dec(f.info, state, &computer, f.tid_to_pdf, f.no_priors, opts);
  const float* x = f.wave.data.Row(0);
  const int64_t n = f.wave.NumSamples();
  const int32_t F = computer.FramesPerChunk(), rc = computer.RightContext();
  for (int64_t off = 0; off < n; off += piece) {
    dec.AcceptWaveform(f.wave.samp_freq, x + off, std::min(piece, n - off));
    // Kaldi: floor(max(0, T - Rc) / F) chunks of F / sf frames while the input is open.
    const int64_t T = dec.NumFeatureFrames();
    EXPECT_EQ(dec.NumFramesReady(), std::max<int64_t>(0, T - rc) / F * (F / 3)) << "T=" << T;
    if (ready_after_each) ready_after_each->push_back(dec.NumFramesReady());
  }
  dec.InputFinished();
  EXPECT_EQ(dec.NumFramesReady(), (dec.NumFeatureFrames() + 2) / 3);
  std::vector<float> out;
  for (int32_t t = 0; t < dec.NumFramesReady(); ++t)
    for (int32_t i = 1; i <= dec.NumIndices(); ++i) out.push_back(dec.LogLikelihood(t, i));
  return out;
}

TEST(OnlineNnetDecodable, AnySplitOfTheAudioGivesTheSameOutput) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  const std::vector<float> whole = Stream(1 << 30);
  ASSERT_FALSE(whole.empty());
  for (int64_t piece : {160, 401, 2880, 2999}) {
    EXPECT_EQ(Stream(piece), whole) << "pieces of " << piece << " samples";
  }
}

TEST(OnlineNnetDecodable, FramesBecomeReadyWhileStreaming) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  std::vector<int32_t> ready;
  Stream(2880, nullptr, &ready);
  ASSERT_GE(ready.size(), 3u);
  EXPECT_GT(ready[ready.size() - 2], 0) << "nothing decodable before the end of the input";
  for (size_t i = 1; i < ready.size(); ++i) EXPECT_GE(ready[i], ready[i - 1]);
}

TEST(OnlineNnetDecodable, SpeakerCmvnStateIsUsed) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  Fixture& f = Get();
  SpeakerAdaptationState state(f.info);
  state.cmvn.speaker_cmvn_stats = f.info.global_cmvn_stats;  // some other speaker history
  state.cmvn.speaker_cmvn_stats(0, 0) += 1000.0;  // shifts that history's C0 mean
  EXPECT_NE(Stream(1 << 30, &state), Stream(1 << 30));
}

TEST(OnlineNnetDecodable, RejectsAWrongSampleRateAndInputAfterTheEnd) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  Fixture& f = Get();
  nnet::LoopedComputer computer(f.model.net, Looped());
  OnlineNnetDecodable dec(f.info, nullptr, &computer, f.tid_to_pdf, f.no_priors,
                          NnetDecodableOptions());
  std::vector<float> x(800, 0.0f);
  EXPECT_THROW(dec.AcceptWaveform(8000.0f, x.data(), 800), Error);
  dec.AcceptWaveform(16000.0f, x.data(), 800);
  dec.InputFinished();
  EXPECT_THROW(dec.AcceptWaveform(16000.0f, x.data(), 800), Error);
  EXPECT_THROW(dec.LogLikelihood(dec.NumFramesReady(), 1), Error);
}

}  // namespace
}  // namespace kaldiq::online
