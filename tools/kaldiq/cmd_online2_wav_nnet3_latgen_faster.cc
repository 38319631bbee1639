// kaldiq online2-wav-nnet3-latgen-faster = Kaldi's online2-wav-nnet3-latgen-faster
// (online2bin/online2-wav-nnet3-latgen-faster.cc): WAVs in, lattices out, simulating streaming.
// Per speaker (spk2utt order) and utterance: the audio (channel 0) is fed in pieces of
// --chunk-length seconds (the whole file with --online=false) to the streaming decodable
// (online/nnet_decodable.h: features → online CMVN and online i-vectors → looped network), the
// decoder advances after every piece (after InputFinished() for the last one), and with
// --do-endpointing decoding stops at the first endpoint (Kaldi's rules, decode/endpoint.h). The
// online CMVN state and the i-vector adaptation state carry over a speaker's utterances as in
// Kaldi; --online=false estimates one i-vector from the whole utterance (most recent + greedy). Lattices are determinized and written without the acoustic scale; with
// --word-symbol-table the 1-best words go to stderr. --num-threads decodes speakers in
// parallel; outputs are written in Kaldi's order and are identical for any thread count.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "decode/decode_run.h"
#include "decode/endpoint.h"
#include "decode/graph_io.h"
#include "decode_flags.h"
#include "kaldi/option_table.h"
#include "kaldi/table.h"
#include "kaldi/wave_io.h"
#include "nnet/load_model.h"
#include "nnet/looped.h"
#include "online/nnet_decodable.h"
#include "online/pipeline.h"
#include "util/error.h"
#include "util/thread_pool.h"

namespace kaldiq::cli {
namespace {

struct Setup {
  online::FeaturePipelineInfo info;
  const kaldi::TransitionModel* tm = nullptr;
  std::vector<int32_t> tid_to_pdf;
  std::vector<float> log_priors;
  online::NnetDecodableOptions decodable;
  decode::UtteranceDecodeOptions utterance;
  float lattice_beam = 0.0f;
  bool online = true;
  float chunk_length = 0.18f;
  bool do_endpointing = false;
  decode::EndpointConfig endpoint;
  std::vector<int32_t> silence_phones;
};

struct Utterance {
  std::string key;
  kaldi::WaveData wave;
  std::string error;
  decode::UtteranceResult result;
  int64_t frames = 0;
};

template <class FST>
void DecodeStream(decode::LatticeFasterDecoderTpl<FST>* decoder, const Setup& s,
                  nnet::LoopedComputer* computer, online::SpeakerAdaptationState* state,
                  Utterance* u) {
  online::OnlineNnetDecodable dec(s.info, state, computer, s.tid_to_pdf, s.log_priors,
                                  s.decodable);
  const float* data = u->wave.data.Row(0);  // Kaldi: channel 0, silently
  const int64_t n = u->wave.NumSamples();
  const int64_t chunk =
      s.online ? static_cast<int64_t>(u->wave.samp_freq * s.chunk_length) : n;
  KQ_CHECK(chunk > 0, kInvalidArgument) << "--chunk-length=" << s.chunk_length
                                        << " gives no samples at " << u->wave.samp_freq << " Hz";
  decoder->InitDecoding();
  for (int64_t off = 0; off < n;) {
    const int64_t m = std::min(chunk, n - off);
    dec.AcceptWaveform(u->wave.samp_freq, data + off, m);
    off += m;
    if (off == n) dec.InputFinished();
    decoder->AdvanceDecoding(&dec);
    dec.Trim(decoder->NumFramesDecoded());
    if (s.do_endpointing && decoder->NumFramesDecoded() > 0) {
      decode::BestPath best;
      if (decoder->GetBestPath(false, &best)) {
        const int32_t trailing =
            decode::TrailingSilenceFrames(*s.tm, s.silence_phones, best.alignment);
        if (decode::EndpointDetected(s.endpoint, decoder->NumFramesDecoded(), trailing,
                                     dec.FrameShiftInSeconds(), decoder->FinalRelativeCost()))
          break;
      }
    }
  }
  *state = dec.AdaptationState();
  u->frames = decoder->NumFramesDecoded();
  KQ_CHECK(u->frames > 0, kInvalidArgument)
      << "no frames to decode (" << n << " samples: shorter than one frame)";
  decoder->FinalizeDecoding();
  decode::CollectUtteranceResult(decoder, u->key, s.lattice_beam, s.utterance, &u->result);
}

}  // namespace

int RunOnline2WavNnet3LatgenFaster(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Reads in wav file(s) and simulates online decoding with neural nets (nnet3 "
               "setup), with optional iVector-based speaker adaptation and optional "
               "endpointing.  Note: some configuration values and inputs are set via config "
               "files whose filenames are passed as options.\n"
               "Usage: kaldiq online2-wav-nnet3-latgen-faster [options] <nnet3-in> <fst-in> "
               "<spk2utt-rspecifier> <wav-rspecifier> <lattice-wspecifier>\n"
               "The spk2utt-rspecifier can just be spk2utt if each utterance is its own "
               "speaker (e.g. ark:data/test/utt2utt).");
  decode::DecodeRunOptions opts;
  opts.program = "kaldiq online2-wav-nnet3-latgen-faster";
  opts.utterance.allow_partial = true;  // Kaldi's online decoder always outputs a lattice
  AddDecoderFlags(app, &opts);
  online::FeaturePipelineConfig feature_config;
  Setup s;
  kaldi::OptionTable table;
  feature_config.Register(&table);
  s.endpoint.Register(&table);
  // Kaldi's OnlineSilenceWeightingConfig: accepted so that Kaldi's scripts run, but only its
  // default (every frame weight 1) is implemented; anything else is a clear error.
  float silence_weight = 1.0f, max_state_duration = -1.0f;
  std::string silence_phones;
  table.Register("ivector-silence-weighting.silence-weight", &silence_weight,
                 "weight on silence in iVector estimation (1.0 = off; kaldiq implements only 1.0)");
  table.Register("ivector-silence-weighting.silence-phones", &silence_phones,
                 "(RE weighting in iVector estimation for online decoding) List of integer ids "
                 "of silence phones, separated by colons (or commas).");
  table.Register("ivector-silence-weighting.max-state-duration", &max_state_duration,
                 "(RE weighting in iVector estimation for online decoding) Maximum allowed "
                 "duration of a single transition-id; runs with durations longer than this will "
                 "be weighted down to the silence-weight (-1 = off; kaldiq implements only -1).");
  AddOptionTable(app, table);
  nnet::LoopedOptions looped;
  looped.frames_per_chunk = 20;
  app.add_option("--frames-per-chunk", looped.frames_per_chunk,
                 "Number of frames in each chunk that is separately evaluated by the neural net.")
      ->capture_default_str();
  app.add_option("--extra-left-context-initial", looped.extra_left_context_initial,
                 "Extra left context to use at the first frame of an utterance (note: this "
                 "will just consist of repeats of the first frame, and should not usually be "
                 "necessary.")
      ->capture_default_str();
  app.add_option("--frame-subsampling-factor", looped.frame_subsampling_factor,
                 "Required if the frame-rate of the output (e.g. in 'chain' models) is less "
                 "than the frame-rate of the original alignment.")
      ->capture_default_str();
  app.add_option("--chunk-length", s.chunk_length,
                 "Length of chunk size in seconds, that we process.  Set to <= 0 to use all "
                 "input in one chunk.")
      ->capture_default_str();
  AddBool(app, "--online", &s.online,
          "You can set this to false to disable online iVector estimation and have all the "
          "data for each utterance used, even at utterance start.  This is useful where you "
          "just want the best results and don't care about online operation.  Setting this "
          "to false has the same effect as setting --use-most-recent-ivector=true and "
          "--greedy-ivector-extractor=true in the file given to --ivector-extraction-config, "
          "and --chunk-length=-1. (default: true)");
  AddBool(app, "--do-endpointing", &s.do_endpointing,
          "If true, apply endpoint detection (default: false)");
  int32_t num_threads_startup = 1;
  app.add_option("--num-threads-startup", num_threads_startup,
                 "Accepted for Kaldi compatibility (Kaldi's startup compilation threads)");
  std::string kernels = "auto";
  AddKernelsOption(app, &kernels);
  std::string model_rx, graph_rx, spk2utt_rspec, wav_rspec, lattice_wspec;
  app.add_option("nnet3-in", model_rx, "Acoustic model (final.mdl or a kaldiq int8 model)")
      ->required();
  app.add_option("fst-in", graph_rx, "Decoding graph HCLG.fst")->required();
  app.add_option("spk2utt-rspecifier", spk2utt_rspec, "Speaker to utterances")->required();
  app.add_option("wav-rspecifier", wav_rspec, "Audio (wav.scp or a wave archive)")->required();
  app.add_option("lattice-wspecifier", lattice_wspec, "Output lattices")->required();
  return RunGuarded("online2-wav-nnet3-latgen-faster", app, argc, argv, [&]() -> int {
    KQ_CHECK(opts.num_threads >= 1, kInvalidArgument) << "--num-threads must be >= 1";
    KQ_CHECK(silence_weight == 1.0f && max_state_duration <= 0.0f, kUnsupported)
        << "--ivector-silence-weighting.silence-weight / .max-state-duration (down-weighting "
           "silence in the online i-vector statistics) is not implemented in kaldiq; use the "
           "defaults (1.0 / -1)";
    if (s.chunk_length <= 0.0f) s.online = false;  // Kaldi: all input in one chunk
    s.info = online::FeaturePipelineInfo::Load(feature_config);
    if (!s.online && s.info.ivector) {
      // Kaldi: "the same effect as --use-most-recent-ivector=true and
      // --greedy-ivector-extractor=true": one i-vector from all of the (whole) file.
      s.info.ivector->use_most_recent_ivector = true;
      s.info.ivector->greedy_ivector_extractor = true;
    }
    if (s.do_endpointing) s.silence_phones = s.endpoint.SilencePhones();

    nnet::LoadOptions load;
    load.kernels = ParseKernels(kernels);
    nnet::InferenceModel model = nnet::LoadModelForInference(model_rx, load);
    KQ_CHECK(model.has_transition_model, kInvalidArgument)
        << model_rx << ": the model has no transition model (a .raw nnet cannot decode)";
    const kaldi::TransitionModel& tm = model.trans_model;
    s.tm = &tm;
    s.tid_to_pdf.assign(static_cast<size_t>(tm.NumTransitionIds()) + 1, 0);
    for (int32_t t = 1; t <= tm.NumTransitionIds(); ++t) s.tid_to_pdf[t] = tm.TransitionIdToPdf(t);
    // DecodableAmNnetLoopedOnline divides by the priors when the model has them.
    for (float p : model.net.priors) s.log_priors.push_back(std::log(p));
    s.decodable.acoustic_scale = opts.utterance.acoustic_scale;
    s.utterance = opts.utterance;
    s.lattice_beam = opts.decoder.lattice_beam;

    decode::DecodingGraph graph = decode::ReadDecodingGraph(graph_rx);
    decode::DecodeRun run(&graph, s.tid_to_pdf, tm.NumPdfs(), opts);
    run.OpenOutputs(lattice_wspec, "", "");
    std::vector<std::unique_ptr<nnet::LoopedComputer>> computers;
    std::vector<std::unique_ptr<decode::LatticeFasterDecoder>> const_decoders;
    std::vector<std::unique_ptr<decode::LatticeFasterDecoderVector>> vector_decoders;
    for (int t = 0; t < opts.num_threads; ++t) {
      computers.emplace_back(new nnet::LoopedComputer(model.net, looped));
      if (graph.const_fst) {
        const_decoders.emplace_back(new decode::LatticeFasterDecoder(*graph.const_fst, opts.decoder));
      } else {
        vector_decoders.emplace_back(
            new decode::LatticeFasterDecoderVector(*graph.vector_fst, opts.decoder));
      }
    }

    kaldi::SequentialTokenVectorReader spk2utt(spk2utt_rspec);
    kaldi::RandomAccessTableReader<kaldi::WaveHolder> wav_reader(wav_rspec);
    // A batch of speakers: each speaker's utterances run in order on one worker (the CMVN
    // and i-vector adaptation state chains them); speakers run in parallel; results are written in spk2utt order.
    std::vector<std::vector<Utterance>> batch;
    auto process = [&]() {
      ParallelFor(static_cast<int64_t>(batch.size()), opts.num_threads, [&](int64_t i, int w) {
        online::SpeakerAdaptationState state(s.info);
        for (Utterance& u : batch[i]) {
          if (!u.error.empty()) continue;
          try {
            if (graph.const_fst) {
              DecodeStream(const_decoders[w].get(), s, computers[w].get(), &state, &u);
            } else {
              DecodeStream(vector_decoders[w].get(), s, computers[w].get(), &state, &u);
            }
          } catch (const Error& e) {
            u.error = "utterance " + u.key + ": " + e.what();
            u.result = decode::UtteranceResult();
          }
          u.wave = kaldi::WaveData();
        }
      });
      for (auto& speaker : batch)
        for (Utterance& u : speaker) run.WriteResult(u.key, &u.result, u.error, u.frames);
      batch.clear();
    };
    for (; !spk2utt.Done(); spk2utt.Next()) {
      std::vector<Utterance> speaker;
      for (const std::string& key : spk2utt.Value()) {
        Utterance u;
        u.key = key;
        if (!wav_reader.HasKey(key)) {
          u.error = "Did not find audio for utterance " + key;
        } else {
          try {
            u.wave = wav_reader.Value(key);
            for (const std::string& w : u.wave.warnings)
              std::fprintf(stderr, "WARNING (%s) %s: %s\n", opts.program.c_str(), key.c_str(),
                           w.c_str());
            KQ_CHECK(u.wave.NumSamples() > 0, kInvalidArgument) << "no audio samples";
          } catch (const Error& e) {
            u.error = "utterance " + key + ": " + e.what();
          }
        }
        speaker.push_back(std::move(u));
      }
      batch.push_back(std::move(speaker));
      if (static_cast<int>(batch.size()) >= 2 * opts.num_threads) process();
    }
    process();
    spk2utt.Close();
    return run.Finish();
  });
}

}  // namespace kaldiq::cli
