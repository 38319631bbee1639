#include "online/recognizer.h"

#include <fst/symbol-table.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "decode/graph_io.h"
#include "decode/lattice_faster_decoder.h"
#include "decode/raw_lattice.h"
#include "kaldi/option_table.h"
#include "nnet/load_model.h"
#include "online/nnet_decodable.h"
#include "online/pipeline.h"
#include "util/error.h"

namespace kaldiq::online {

namespace {
bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}
}  // namespace

RecognizerConfig RecognizerConfig::FromModelDir(const std::string& dir) {
  RecognizerConfig c;
  c.model = Exists(dir + "/final.int8") ? dir + "/final.int8" : dir + "/final.mdl";
  c.graph = dir + "/graph/HCLG.fst";
  c.words = dir + "/graph/words.txt";
  c.online_config = dir + "/conf/online.conf";
  for (const std::string& p : {c.model, c.graph, c.words, c.online_config})
    KQ_CHECK(Exists(p), kInvalidArgument) << "model directory " << dir << ": missing " << p;
  std::ifstream sf(dir + "/frame_subsampling_factor");
  int32_t factor = 1;
  if (sf >> factor) {
    KQ_CHECK(factor >= 1, kFormat) << dir << "/frame_subsampling_factor: " << factor;
    c.looped.frame_subsampling_factor = factor;
    if (factor == 3) c.acoustic_scale = 1.0f;  // chain models
  }
  std::ifstream sil(dir + "/graph/phones/silence.csl");
  std::string csl;
  if (sil >> csl) c.endpoint.silence_phones = csl;
  return c;
}

struct RecognizerModel::Impl {
  RecognizerConfig config;
  FeaturePipelineInfo info;
  nnet::InferenceModel model;
  decode::DecodingGraph graph;
  std::unique_ptr<fst::SymbolTable> words;
  std::vector<int32_t> tid_to_pdf, silence_phones;
  std::vector<float> log_priors;
};

RecognizerModel::RecognizerModel(const RecognizerConfig& config) : impl_(new Impl) {
  Impl& m = *impl_;
  m.config = config;
  FeaturePipelineConfig fc;
  kaldi::OptionTable table;
  fc.Register(&table);
  table.ReadConfigFile(config.online_config);
  m.info = FeaturePipelineInfo::Load(fc);
  m.model = nnet::LoadModelForInference(config.model);
  KQ_CHECK(m.model.has_transition_model, kInvalidArgument)
      << config.model << ": the model has no transition model";
  const kaldi::TransitionModel& tm = m.model.trans_model;
  m.tid_to_pdf.assign(static_cast<size_t>(tm.NumTransitionIds()) + 1, 0);
  for (int32_t t = 1; t <= tm.NumTransitionIds(); ++t) m.tid_to_pdf[t] = tm.TransitionIdToPdf(t);
  for (float p : m.model.net.priors) m.log_priors.push_back(std::log(p));
  m.graph = decode::ReadDecodingGraph(config.graph);
  m.words.reset(fst::SymbolTable::ReadText(config.words));
  KQ_CHECK(m.words != nullptr, kIo) << "could not read the word symbol table " << config.words;
  config.decoder.Check();
  if (config.do_endpointing) m.silence_phones = config.endpoint.SilencePhones();
}

RecognizerModel::~RecognizerModel() = default;

struct Recognizer::State {
  std::unique_ptr<nnet::LoopedComputer> computer;
  std::unique_ptr<decode::LatticeFasterDecoder> const_decoder;
  std::unique_ptr<decode::LatticeFasterDecoderVector> vector_decoder;
  std::unique_ptr<OnlineNnetDecodable> decodable;
  std::unique_ptr<SpeakerAdaptationState> speaker;  // null before the first Final()
};

Recognizer::Recognizer(const RecognizerModel& model) : model_(model), state_(new State) {
  const RecognizerModel::Impl& m = model.impl();
  state_->computer = std::make_unique<nnet::LoopedComputer>(m.model.net, m.config.looped);
  if (m.graph.const_fst) {
    state_->const_decoder =
        std::make_unique<decode::LatticeFasterDecoder>(*m.graph.const_fst, m.config.decoder);
  } else {
    state_->vector_decoder =
        std::make_unique<decode::LatticeFasterDecoderVector>(*m.graph.vector_fst, m.config.decoder);
  }
}

Recognizer::~Recognizer() = default;

void Recognizer::Start() {
  const RecognizerModel::Impl& m = model_.impl();
  NnetDecodableOptions o;
  o.acoustic_scale = m.config.acoustic_scale;
  state_->decodable = std::make_unique<OnlineNnetDecodable>(
      m.info, state_->speaker.get(), state_->computer.get(), m.tid_to_pdf, m.log_priors, o);
  if (state_->const_decoder) state_->const_decoder->InitDecoding();
  if (state_->vector_decoder) state_->vector_decoder->InitDecoding();
  endpoint_ = false;
}

void Recognizer::AcceptWaveform(float sample_rate, const int16_t* samples, int64_t n) {
  std::vector<float> f(samples, samples + n);
  AcceptWaveform(sample_rate, f.data(), n);
}

void Recognizer::AcceptWaveform(float sample_rate, const float* samples, int64_t n) {
  if (n == 0) return;
  if (!state_->decodable) Start();
  const RecognizerModel::Impl& m = model_.impl();
  OnlineNnetDecodable* dec = state_->decodable.get();
  dec->AcceptWaveform(sample_rate, samples, n);
  int32_t decoded = 0;
  float relative_cost = 0.0f;
  decode::BestPath best;
  bool have_best = false;
  if (state_->const_decoder) {
    state_->const_decoder->AdvanceDecoding(dec);
    decoded = state_->const_decoder->NumFramesDecoded();
    if (m.config.do_endpointing) {
      relative_cost = state_->const_decoder->FinalRelativeCost();
      have_best = state_->const_decoder->GetBestPath(false, &best);
    }
  } else {
    state_->vector_decoder->AdvanceDecoding(dec);
    decoded = state_->vector_decoder->NumFramesDecoded();
    if (m.config.do_endpointing) {
      relative_cost = state_->vector_decoder->FinalRelativeCost();
      have_best = state_->vector_decoder->GetBestPath(false, &best);
    }
  }
  dec->Trim(decoded);
  if (m.config.do_endpointing && have_best && decoded > 0) {
    const int32_t trailing =
        decode::TrailingSilenceFrames(m.model.trans_model, m.silence_phones, best.alignment);
    endpoint_ = decode::EndpointDetected(m.config.endpoint, decoded, trailing,
                                         dec->FrameShiftInSeconds(), relative_cost);
  }
}

Result Recognizer::MakeResult(bool use_final_probs) const {
  Result r;
  if (!state_->decodable) return r;
  const RecognizerModel::Impl& m = model_.impl();
  decode::BestPath best;
  const bool ok = state_->const_decoder
                      ? state_->const_decoder->GetBestPath(use_final_probs, &best)
                      : state_->vector_decoder->GetBestPath(use_final_probs, &best);
  if (!ok) return r;
  const float shift = state_->decodable->FrameShiftInSeconds();
  const int32_t frames = static_cast<int32_t>(best.alignment.size());
  std::vector<int32_t> sil = m.silence_phones;
  if (sil.empty() && !m.config.endpoint.silence_phones.empty())
    sil = m.config.endpoint.SilencePhones();
  for (size_t i = 0; i < best.words.size(); ++i) {
    Word w;
    w.word = m.words->Find(best.words[i]);
    KQ_CHECK(!w.word.empty(), kInvalidArgument)
        << "word id " << best.words[i] << " is not in " << m.config.words;
    const int32_t begin = best.word_frames[i];
    int32_t end = i + 1 < best.words.size() ? best.word_frames[i + 1] : frames;
    while (end > begin + 1 && !sil.empty() &&
           std::binary_search(sil.begin(), sil.end(),
                              m.model.trans_model.TransitionIdToPhone(best.alignment[end - 1])))
      --end;
    w.start = begin * shift;
    w.end = end * shift;
    if (!r.text.empty()) r.text += ' ';
    r.text += w.word;
    r.words.push_back(std::move(w));
  }
  return r;
}

Result Recognizer::Partial() const { return MakeResult(false); }

Result Recognizer::Final() {
  if (!state_->decodable) {
    Result r;
    r.final = true;
    return r;
  }
  OnlineNnetDecodable* dec = state_->decodable.get();
  dec->InputFinished();
  if (state_->const_decoder) {
    state_->const_decoder->AdvanceDecoding(dec);
    state_->const_decoder->FinalizeDecoding();
  } else {
    state_->vector_decoder->AdvanceDecoding(dec);
    state_->vector_decoder->FinalizeDecoding();
  }
  Result r = MakeResult(true);
  r.final = true;
  state_->speaker = std::make_unique<SpeakerAdaptationState>(dec->AdaptationState());
  state_->decodable.reset();
  endpoint_ = false;
  return r;
}

}  // namespace kaldiq::online
