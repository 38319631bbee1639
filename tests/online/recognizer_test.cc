// The streaming API (online/recognizer.h) on the audio fixture with its online.conf and the
// tdnn-seed chain model: the final words equal Kaldi's online2-wav-nnet3-latgen-faster
// hypotheses (kaldi/hyp_online.txt) for a speaker's utterances fed one after another through one
// Recognizer (the CMVN state carries over, as in Kaldi), for chunk sizes that differ from the
// command's 0.18 s; partial results appear before the end; word times are ordered and inside
// the utterance. Needs ../shared; skips without it.
#include "online/recognizer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>

#include "kaldi/wave_io.h"
#include "util/error.h"

namespace kaldiq::online {
namespace {

const std::string kAudio = KQ_SHARED_DIR "/fixtures/audio";
const std::string kSeed = KQ_SHARED_DIR "/fixtures/models/tdnn-seed";

bool Have() {
  struct stat st;
  return stat((kAudio + "/kaldi/hyp_online.txt").c_str(), &st) == 0 &&
         stat((kSeed + "/graph-pruned/HCLG.fst").c_str(), &st) == 0;
}

std::map<std::string, std::string> KaldiHyps() {
  std::map<std::string, std::string> hyps;
  std::ifstream is(kAudio + "/kaldi/hyp_online.txt");
  std::string line;
  while (std::getline(is, line)) {
    std::istringstream ls(line);
    std::string key, w, text;
    ls >> key;
    while (ls >> w) text += (text.empty() ? "" : " ") + w;
    hyps[key] = text;
  }
  return hyps;
}

RecognizerConfig Config() {
  RecognizerConfig c;
  c.model = kSeed + "/final.mdl";
  c.graph = kSeed + "/graph-pruned/HCLG.fst";
  c.words = kSeed + "/graph-pruned/words.txt";
  // online.conf with absolute paths (Kaldi opens them relative to the working directory).
  c.online_config = ::testing::TempDir() + "/kq_recognizer_online_" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".conf";
  std::ofstream(c.online_config) << "--feature-type=mfcc\n--mfcc-config=" << kAudio
                                 << "/conf/mfcc_hires.conf\n--cmvn-config=" << kAudio
                                 << "/conf/online_cmvn.conf\n--global-cmvn-stats=" << kAudio
                                 << "/extractor/global_cmvn.stats\n";
  c.looped.frame_subsampling_factor = 3;
  c.acoustic_scale = 1.0f;
  c.decoder.beam = 15.0f;
  c.decoder.lattice_beam = 8.0f;
  c.decoder.max_active = 7000;
  c.decoder.min_active = 200;
  c.endpoint.silence_phones = "1:2:3:4:5:6:7:8:9:10";  // for word end times only
  return c;
}

kaldi::WaveData Wave(const std::string& utt) {
  kaldi::WaveData w;
  std::ifstream is(kAudio + "/wav/" + utt + ".wav", std::ios::binary);
  kaldi::ReadWave(is, &w);
  return w;
}

TEST(Recognizer, FinalWordsEqualKaldisStreamingDecoderForASpeaker) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  const auto hyps = KaldiHyps();
  RecognizerModel model(Config());
  Recognizer rec(model);
  int64_t piece = 1000;
  for (const char* utt : {"en029-f1-de00020", "en029-f1-de00131", "en029-f1-de00156"}) {
    const kaldi::WaveData w = Wave(utt);
    const int64_t n = w.NumSamples();
    int partials = 0;
    for (int64_t off = 0; off < n; off += piece) {
      rec.AcceptWaveform(w.samp_freq, w.data.Row(0) + off, std::min(piece, n - off));
      if (!rec.Partial().text.empty()) ++partials;
    }
    const Result r = rec.Final();
    EXPECT_TRUE(r.final);
    EXPECT_EQ(r.text, hyps.at(utt)) << utt;
    EXPECT_GT(partials, 0) << utt << ": no partial result before the end";
    float last = 0.0f;
    for (const Word& word : r.words) {
      EXPECT_GE(word.start, last) << utt << " " << word.word;
      EXPECT_GT(word.end, word.start) << utt << " " << word.word;
      EXPECT_LE(word.end, w.Duration() + 0.05f) << utt << " " << word.word;
      last = word.start;
    }
    piece = piece * 3 + 7;  // another chunking for the next utterance
  }
}

TEST(Recognizer, EmptyStreamAndInt16Input) {
  if (!Have()) GTEST_SKIP() << "../shared/fixtures absent";
  RecognizerModel model(Config());
  Recognizer rec(model);
  EXPECT_EQ(rec.Partial().text, "");
  rec.AcceptWaveform(16000.0f, static_cast<const int16_t*>(nullptr), 0);
  const Result empty = rec.Final();
  EXPECT_TRUE(empty.final);
  EXPECT_EQ(empty.text, "");
  const kaldi::WaveData w = Wave("en029-f1-de00020");
  std::vector<int16_t> pcm(w.data.Row(0), w.data.Row(0) + w.NumSamples());
  rec.AcceptWaveform(16000.0f, pcm.data(), static_cast<int64_t>(pcm.size()));
  EXPECT_EQ(rec.Final().text, "UNTIL WE'VE ARRIVED THIS WAS A MAN'S WORLD");
  EXPECT_THROW(rec.AcceptWaveform(8000.0f, pcm.data(), 8000), Error);
}

TEST(Recognizer, ModelDirNeedsItsFiles) {
  EXPECT_THROW(RecognizerConfig::FromModelDir("/nonexistent-model-dir"), Error);
}

}  // namespace
}  // namespace kaldiq::online
