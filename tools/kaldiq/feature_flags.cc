#include "feature_flags.h"

#include <cstdio>

#include "feat/online_feature.h"
#include "kaldi/htk_matrix.h"
#include "kaldi/table.h"
#include "kaldi/wave_io.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

void AddFrameExtractionOptions(CLI::App& app, feat::FrameExtractionOptions* o) {
  app.add_option("--sample-frequency", o->samp_freq,
                 "Waveform data sample frequency (must match the waveform file, if specified "
                 "there)")
      ->capture_default_str();
  app.add_option("--frame-length", o->frame_length_ms, "Frame length in milliseconds")
      ->capture_default_str();
  app.add_option("--frame-shift", o->frame_shift_ms, "Frame shift in milliseconds")
      ->capture_default_str();
  app.add_option("--preemphasis-coefficient", o->preemph_coeff,
                 "Coefficient for use in signal preemphasis")
      ->capture_default_str();
  AddBool(app, "--remove-dc-offset", &o->remove_dc_offset,
          "Subtract mean from waveform on each frame");
  app.add_option("--dither", o->dither,
                 "Dithering constant (0.0 means no dither). If you turn this off, you should set "
                 "the --energy-floor option, e.g. to 1.0 or 0.1. (kaldiq: the noise is seeded by "
                 "the utterance id, so results are reproducible; Kaldi's are not)")
      ->capture_default_str();
  app.add_option("--window-type", o->window_type,
                 "Type of window (\"hamming\"|\"hanning\"|\"povey\"|\"rectangular\"|\"sine\"|"
                 "\"blackman\")")
      ->capture_default_str();
  app.add_option("--blackman-coeff", o->blackman_coeff,
                 "Constant coefficient for generalized Blackman window.")
      ->capture_default_str();
  AddBool(app, "--round-to-power-of-two", &o->round_to_power_of_two,
          "If true, round window size to power of two by zero-padding input to FFT.");
  AddBool(app, "--snip-edges", &o->snip_edges,
          "If true, end effects will be handled by outputting only frames that completely fit "
          "in the file, and the number of frames depends on the frame-length.  If false, the "
          "number of frames depends only on the frame-shift, and we reflect the data at the "
          "ends.");
  AddBool(app, "--allow-downsample", &o->allow_downsample,
          "If true, allow the input waveform to have a higher frequency than the specified "
          "--sample-frequency (and we'll downsample).");
  app.add_option("--max-feature-vectors", o->max_feature_vectors,
                 "Memory optimization. If larger than 0, periodically remove feature vectors so "
                 "that only this number of the latest feature vectors is retained. (Streaming "
                 "only; the offline programs keep every frame, as Kaldi's.)")
      ->capture_default_str();
  AddBool(app, "--allow-upsample", &o->allow_upsample,
          "If true, allow the input waveform to have a lower frequency than the specified "
          "--sample-frequency (and we'll upsample).");
}

void AddMelBanksOptions(CLI::App& app, feat::MelBanksOptions* o) {
  app.add_option("--num-mel-bins", o->num_bins, "Number of triangular mel-frequency bins")
      ->capture_default_str();
  app.add_option("--low-freq", o->low_freq, "Low cutoff frequency for mel bins")
      ->capture_default_str();
  app.add_option("--high-freq", o->high_freq,
                 "High cutoff frequency for mel bins (if <= 0, offset from Nyquist)")
      ->capture_default_str();
  app.add_option("--vtln-low", o->vtln_low,
                 "Low inflection point in piecewise linear VTLN warping function")
      ->capture_default_str();
  app.add_option("--vtln-high", o->vtln_high,
                 "High inflection point in piecewise linear VTLN warping function (if negative, "
                 "offset from high-mel-freq")
      ->capture_default_str();
  AddBool(app, "--debug-mel", &o->debug_mel,
          "Print out debugging information for mel bin computation");
}

void AddMfccOptions(CLI::App& app, feat::MfccOptions* o) {
  AddFrameExtractionOptions(app, &o->frame_opts);
  AddMelBanksOptions(app, &o->mel_opts);
  app.add_option("--num-ceps", o->num_ceps,
                 "Number of cepstra in MFCC computation (including C0)")
      ->capture_default_str();
  AddBool(app, "--use-energy", &o->use_energy, "Use energy (not C0) in MFCC computation");
  app.add_option("--energy-floor", o->energy_floor,
                 "Floor on energy (absolute, not relative) in MFCC computation. Only makes a "
                 "difference if --use-energy=true; only necessary if --dither=0.0.  Suggested "
                 "values: 0.1 or 1.0")
      ->capture_default_str();
  AddBool(app, "--raw-energy", &o->raw_energy,
          "If true, compute energy before preemphasis and windowing");
  app.add_option("--cepstral-lifter", o->cepstral_lifter, "Constant that controls scaling of MFCCs")
      ->capture_default_str();
  AddBool(app, "--htk-compat", &o->htk_compat,
          "If true, put energy or C0 last and use a factor of sqrt(2) on C0.  Warning: not "
          "sufficient to get HTK compatible features (need to change other parameters).");
}

void AddFbankOptions(CLI::App& app, feat::FbankOptions* o) {
  AddFrameExtractionOptions(app, &o->frame_opts);
  AddMelBanksOptions(app, &o->mel_opts);
  AddBool(app, "--use-energy", &o->use_energy,
          "Add an extra dimension with energy to the FBANK output.");
  app.add_option("--energy-floor", o->energy_floor,
                 "Floor on energy (absolute, not relative) in FBANK computation. Only makes a "
                 "difference if --use-energy=true; only necessary if --dither=0.0.  Suggested "
                 "values: 0.1 or 1.0")
      ->capture_default_str();
  AddBool(app, "--raw-energy", &o->raw_energy,
          "If true, compute energy before preemphasis and windowing");
  AddBool(app, "--htk-compat", &o->htk_compat,
          "If true, put energy last.  Warning: not sufficient to get HTK compatible features "
          "(need to change other parameters).");
  AddBool(app, "--use-log-fbank", &o->use_log_fbank,
          "If true, produce log-filterbank, else produce linear.");
  AddBool(app, "--use-power", &o->use_power, "If true, use power, else use magnitude.");
}

void AddComputeFeatsFlags(CLI::App& app, ComputeFeatsFlags* f) {
  app.add_option("--output-format", f->output_format, "Format of the output files [kaldi, htk]")
      ->capture_default_str();
  AddBool(app, "--subtract-mean", &f->subtract_mean,
          "Subtract mean of each feature file [CMS]; not recommended to do it this way. ");
  app.add_option("--vtln-warp", f->vtln_warp,
                 "Vtln warp factor (only applicable if vtln-map not specified)")
      ->capture_default_str();
  app.add_option("--vtln-map", f->vtln_map,
                 "Map from utterance or speaker-id to vtln warp factor (rspecifier)");
  app.add_option("--utt2spk", f->utt2spk,
                 "Utterance to speaker-id map rspecifier (if doing VTLN and you have warps per "
                 "speaker)");
  app.add_option("--channel", f->channel,
                 "Channel to extract (-1 -> expect mono, 0 -> left, 1 -> right)")
      ->capture_default_str();
  app.add_option("--min-duration", f->min_duration,
                 "Minimum duration of segments to process (in seconds).")
      ->capture_default_str();
  app.add_option("--write-utt2dur", f->write_utt2dur,
                 "Wspecifier to write duration of each utterance in seconds, e.g. "
                 "'ark,t:utt2dur'.");
  app.add_option("--verbose", f->verbose,
                 "Verbose level (higher->more logging); >= 2 logs every utterance")
      ->capture_default_str();
  AddBool(app, "--print-args", &f->print_args,
          "Print the command line arguments (to stderr) [accepted for Kaldi scripts; ignored]");
  AddBool(app, "--quiet", &f->quiet, "No progress or summary on stderr");
  app.add_option("wav-rspecifier", f->wav_rspecifier, "Wave files (scp:wav.scp, ark:wav.ark)")
      ->required();
  app.add_option("feats-wspecifier", f->feats_wspecifier, "Output features")->required();
}

uint64_t UtteranceSeed(const std::string& key) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

namespace {

// Kaldi's RandomAccessBaseFloatReaderMapped: warp of the utterance, or of its speaker.
class VtlnMap {
 public:
  VtlnMap(const std::string& map, const std::string& utt2spk) {
    if (map.empty()) return;
    map_.Open(map);
    if (!utt2spk.empty()) utt2spk_.Open(utt2spk);
  }
  bool IsOpen() const { return map_.IsOpen(); }
  // False when the utterance (or its speaker) has no entry.
  bool Lookup(const std::string& utt, float* warp) {
    std::string key = utt;
    if (utt2spk_.IsOpen()) {
      if (!utt2spk_.HasKey(utt)) return false;
      key = utt2spk_.Value(utt);
    }
    if (!map_.HasKey(key)) return false;
    *warp = map_.Value(key);
    return true;
  }

 private:
  kaldi::RandomAccessBaseFloatReader map_;
  kaldi::RandomAccessTokenReader utt2spk_;
};

}  // namespace

int ComputeFeats(const std::string& cmd, const ComputeFeatsFlags& f,
                 const std::function<std::unique_ptr<feat::FeatureComputer>()>& make_computer,
                 uint16_t htk_kind) {
  KQ_CHECK(f.output_format == "kaldi" || f.output_format == "htk", kInvalidArgument)
      << "Invalid output_format string " << f.output_format << " (kaldi or htk)";
  KQ_CHECK(f.utt2spk.empty() || !f.vtln_map.empty(), kInvalidArgument)
      << "the --utt2spk option is only needed if the --vtln-map option is used";
  make_computer();  // reports bad options once, before any audio is read

  kaldi::SequentialTableReader<kaldi::WaveHolder> reader(f.wav_rspecifier);
  kaldi::MatrixWriter kaldi_writer;
  kaldi::TableWriter<kaldi::HtkMatrixHolder> htk_writer;
  if (f.output_format == "kaldi") {
    kaldi_writer.Open(f.feats_wspecifier);
  } else {
    htk_writer.Open(f.feats_wspecifier);
  }
  kaldi::BaseFloatWriter utt2dur_writer;
  if (!f.write_utt2dur.empty()) utt2dur_writer.Open(f.write_utt2dur);
  VtlnMap vtln_map(f.vtln_map, f.utt2spk);

  auto warn = [&](const std::string& msg) {
    std::fprintf(stderr, "kaldiq %s: warning: %s\n", cmd.c_str(), msg.c_str());
  };
  Progress progress(cmd, -1, f.quiet);
  int64_t num_utts = 0, num_success = 0;
  for (; !reader.Done(); reader.Next()) {
    ++num_utts;
    const std::string& utt = reader.Key();
    const kaldi::WaveData& wave = reader.Value();
    for (const std::string& w : wave.warnings) warn("utterance " + utt + ": " + w);
    if (wave.Duration() < f.min_duration) {
      warn("File: " + utt + " is too short (" + std::to_string(wave.Duration()) +
           " sec): producing no output.");
      continue;
    }
    const int64_t num_chan = wave.NumChannels();
    int64_t chan = f.channel;
    if (f.channel == -1) {
      chan = 0;
      if (num_chan != 1)
        warn("Channel not specified but you have data with " + std::to_string(num_chan) +
             " channels; defaulting to zero");
    } else if (f.channel < 0 || chan >= num_chan) {
      warn("File with id " + utt + " has " + std::to_string(num_chan) +
           " channels but you specified channel " + std::to_string(f.channel) +
           ", producing no output.");
      continue;
    }
    float warp = f.vtln_warp;
    if (vtln_map.IsOpen() && !vtln_map.Lookup(utt, &warp)) {
      warn("No vtln-map entry for utterance-id (or speaker-id) " + utt);
      continue;
    }
    MatrixF feats;
    try {
      feat::OnlineBaseFeature::Options o;
      o.dither_seed = UtteranceSeed(utt);
      o.vtln_warp = warp;
      o.resample_cutoff_fraction = 0.99f;  // Kaldi's offline ResampleWaveform
      feats = feat::ComputeUtteranceFeatures(make_computer(), o, wave.samp_freq,
                                             wave.data.Row(chan), wave.NumSamples());
    } catch (const Error& e) {
      warn("Failed to compute features for utterance " + utt + ": " + e.what());
      continue;
    }
    if (feats.rows() == 0) feats = MatrixF();  // Kaldi writes a 0 x 0 matrix
    if (f.subtract_mean && feats.rows() > 0) {
      std::vector<float> mean(static_cast<size_t>(feats.cols()), 0.0f);
      for (int64_t r = 0; r < feats.rows(); ++r)
        for (int64_t c = 0; c < feats.cols(); ++c) mean[c] += feats(r, c);
      for (float& m : mean) m *= 1.0f / static_cast<float>(feats.rows());
      for (int64_t r = 0; r < feats.rows(); ++r)
        for (int64_t c = 0; c < feats.cols(); ++c) feats(r, c) -= mean[c];
    }
    if (f.output_format == "kaldi") {
      kaldi_writer.Write(utt, feats);
    } else {
      kaldi::HtkHeader h;
      h.num_samples = static_cast<int32_t>(feats.rows());
      h.sample_period = 100000;  // Kaldi writes 10 ms whatever the frame shift
      h.sample_size = static_cast<int16_t>(4 * feats.cols());
      h.sample_kind = htk_kind;
      htk_writer.Write(utt, {feats, h});
    }
    if (utt2dur_writer.IsOpen()) utt2dur_writer.Write(utt, wave.Duration());
    if (f.verbose >= 2 && !f.quiet)
      std::fprintf(stderr, "kaldiq %s: Processed features for key %s\n", cmd.c_str(), utt.c_str());
    ++num_success;
    progress.Add();
  }
  reader.Close();
  kaldi_writer.Close();
  htk_writer.Close();
  utt2dur_writer.Close();
  if (!f.quiet) {
    std::fprintf(stderr, "kaldiq %s: Done %lld out of %lld utterances.\n", cmd.c_str(),
                 static_cast<long long>(num_success), static_cast<long long>(num_utts));
  }
  return num_success != 0 ? 0 : 1;
}

}  // namespace kaldiq::cli
