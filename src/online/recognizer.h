// A streaming recognizer for programs (issue 10 §5): load a model once, then per stream feed
// audio in chunks of any size and read partial and final results.
//
//   online::RecognizerModel model(online::RecognizerConfig::FromModelDir("exp/chain/tdnn"));
//   online::Recognizer rec(model);
//   while (...) { rec.AcceptWaveform(16000, samples, n); show(rec.Partial()); }
//   online::Result r = rec.Final();  // the utterance; the next AcceptWaveform starts another
//
// What runs is exactly `kaldiq online2-wav-nnet3-latgen-faster` (online/nnet_decodable.h, the
// lattice-faster decoder advancing after every chunk, Kaldi's endpoint rules): the final words
// equal that command's 1-best for the same audio and options (fed in the same pieces: the
// decoder advances after every AcceptWaveform, and with i-vectors each network chunk takes the
// newest i-vector at that moment, as in Kaldi). Partial() is the best path over the frames
// decoded so far without final costs. With endpointing, EndpointDetected() tells the caller to
// call Final() (audio after an endpoint belongs to the next utterance). The online CMVN state
// and the i-vector adaptation state (when online.conf has --ivector-extraction-config) carry
// from one utterance of a Recognizer to the next (one speaker per stream), as
// online2-wav-nnet3-latgen-faster carries them over a speaker's utterances.
//
// Samples: int16 values (as int16_t, or as floats in [-32768, 32767]: Kaldi's scale, not [-1, 1]).
// Word times: seconds from the start of the utterance; a word spans from the frame where the
// decoder's best path emitted its label to the next word's label, minus trailing silence-phone
// frames (an approximation: kaldiq has no lattice word alignment yet).
//
// RecognizerModel is immutable after loading and may be shared by Recognizers on many threads;
// a Recognizer is one stream (not thread-safe). Errors are kaldiq::Error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "decode/decoder_options.h"
#include "decode/endpoint.h"
#include "nnet/looped.h"

namespace kaldiq::online {

struct RecognizerConfig {
  std::string model;          // final.mdl or a kaldiq int8 model
  std::string graph;          // HCLG.fst
  std::string words;          // words.txt
  std::string online_config;  // online.conf (--feature-type, --mfcc-config, --cmvn-config, ...)
  nnet::LoopedOptions looped;  // frames_per_chunk 20 (Kaldi's online default)
  decode::DecoderOptions decoder;
  float acoustic_scale = 0.1f;
  bool do_endpointing = false;
  decode::EndpointConfig endpoint;

  RecognizerConfig() { looped.frames_per_chunk = 20; }
  // A Kaldi model directory: final.mdl (or final.int8 when present), graph/HCLG.fst,
  // graph/words.txt, conf/online.conf, frame_subsampling_factor (chain models: 3, acoustic
  // scale 1.0), graph/phones/silence.csl (endpointing silence phones) when present. Paths inside
  // online.conf are relative to the working directory, as in Kaldi.
  static RecognizerConfig FromModelDir(const std::string& dir);
};

struct Word {
  std::string word;
  float start = 0.0f, end = 0.0f;  // seconds from the start of the utterance
};

struct Result {
  std::string text;  // words joined by single spaces
  std::vector<Word> words;
  bool final = false;
};

class RecognizerModel {
 public:
  explicit RecognizerModel(const RecognizerConfig& config);
  ~RecognizerModel();
  RecognizerModel(const RecognizerModel&) = delete;
  RecognizerModel& operator=(const RecognizerModel&) = delete;
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class Recognizer {
 public:
  explicit Recognizer(const RecognizerModel& model);
  ~Recognizer();
  Recognizer(const Recognizer&) = delete;
  Recognizer& operator=(const Recognizer&) = delete;

  void AcceptWaveform(float sample_rate, const float* samples, int64_t n);
  void AcceptWaveform(float sample_rate, const int16_t* samples, int64_t n);
  bool EndpointDetected() const { return endpoint_; }
  // The best path so far (empty before any frame is decoded).
  Result Partial() const;
  // Ends the utterance (flushing the last frames) and returns its result; the recognizer is
  // then ready for the next utterance of the same speaker. Nothing fed: an empty result.
  Result Final();

 private:
  struct State;
  void Start();
  Result MakeResult(bool use_final_probs) const;
  const RecognizerModel& model_;
  std::unique_ptr<State> state_;
  bool endpoint_ = false;
};

}  // namespace kaldiq::online
