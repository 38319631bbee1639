#include "online/feature_config.h"

#include "kaldi/option_table.h"
#include "util/error.h"

namespace kaldiq::online {

void RegisterFrameExtractionOptions(kaldi::OptionTable* t, feat::FrameExtractionOptions* o) {
  t->Register("sample-frequency", &o->samp_freq,
              "Waveform data sample frequency (must match the waveform file, if specified "
              "there)");
  t->Register("frame-length", &o->frame_length_ms, "Frame length in milliseconds");
  t->Register("frame-shift", &o->frame_shift_ms, "Frame shift in milliseconds");
  t->Register("preemphasis-coefficient", &o->preemph_coeff,
              "Coefficient for use in signal preemphasis");
  t->Register("remove-dc-offset", &o->remove_dc_offset,
              "Subtract mean from waveform on each frame");
  t->Register("dither", &o->dither, "Dithering constant (0.0 means no dither).");
  t->Register("window-type", &o->window_type,
              "Type of window (\"hamming\"|\"hanning\"|\"povey\"|\"rectangular\"|\"sine\"|"
              "\"blackman\")");
  t->Register("blackman-coeff", &o->blackman_coeff,
              "Constant coefficient for generalized Blackman window.");
  t->Register("round-to-power-of-two", &o->round_to_power_of_two,
              "If true, round window size to power of two by zero-padding input to FFT.");
  t->Register("snip-edges", &o->snip_edges,
              "If true, end effects will be handled by outputting only frames that completely "
              "fit in the file, and the number of frames depends on the frame-length.  If "
              "false, the number of frames depends only on the frame-shift, and we reflect the "
              "data at the ends.");
  t->Register("allow-downsample", &o->allow_downsample,
              "If true, allow the input waveform to have a higher frequency than the specified "
              "--sample-frequency (and we'll downsample).");
  t->Register("max-feature-vectors", &o->max_feature_vectors,
              "Memory optimization. If larger than 0, periodically remove feature vectors so "
              "that only this number of the latest feature vectors is retained.");
  t->Register("allow-upsample", &o->allow_upsample,
              "If true, allow the input waveform to have a lower frequency than the specified "
              "--sample-frequency (and we'll upsample).");
}

void RegisterMelBanksOptions(kaldi::OptionTable* t, feat::MelBanksOptions* o) {
  t->Register("num-mel-bins", &o->num_bins, "Number of triangular mel-frequency bins");
  t->Register("low-freq", &o->low_freq, "Low cutoff frequency for mel bins");
  t->Register("high-freq", &o->high_freq,
              "High cutoff frequency for mel bins (if <= 0, offset from Nyquist)");
  t->Register("vtln-low", &o->vtln_low,
              "Low inflection point in piecewise linear VTLN warping function");
  t->Register("vtln-high", &o->vtln_high,
              "High inflection point in piecewise linear VTLN warping function (if negative, "
              "offset from high-mel-freq");
  t->Register("debug-mel", &o->debug_mel, "Print out debugging information for mel bin computation");
}

void RegisterMfccOptions(kaldi::OptionTable* t, feat::MfccOptions* o) {
  RegisterFrameExtractionOptions(t, &o->frame_opts);
  RegisterMelBanksOptions(t, &o->mel_opts);
  t->Register("num-ceps", &o->num_ceps, "Number of cepstra in MFCC computation (including C0)");
  t->Register("use-energy", &o->use_energy, "Use energy (not C0) in MFCC computation");
  t->Register("energy-floor", &o->energy_floor,
              "Floor on energy (absolute, not relative) in MFCC computation. Only makes a "
              "difference if --use-energy=true; only necessary if --dither=0.0.  Suggested "
              "values: 0.1 or 1.0");
  t->Register("raw-energy", &o->raw_energy,
              "If true, compute energy before preemphasis and windowing");
  t->Register("cepstral-lifter", &o->cepstral_lifter, "Constant that controls scaling of MFCCs");
  t->Register("htk-compat", &o->htk_compat,
              "If true, put energy or C0 last and use a factor of sqrt(2) on C0.  Warning: not "
              "sufficient to get HTK compatible features (need to change other parameters).");
}

void RegisterFbankOptions(kaldi::OptionTable* t, feat::FbankOptions* o) {
  RegisterFrameExtractionOptions(t, &o->frame_opts);
  RegisterMelBanksOptions(t, &o->mel_opts);
  t->Register("use-energy", &o->use_energy,
              "Add an extra dimension with energy to the FBANK output.");
  t->Register("energy-floor", &o->energy_floor,
              "Floor on energy (absolute, not relative) in FBANK computation. Only makes a "
              "difference if --use-energy=true; only necessary if --dither=0.0.  Suggested "
              "values: 0.1 or 1.0");
  t->Register("raw-energy", &o->raw_energy,
              "If true, compute energy before preemphasis and windowing");
  t->Register("htk-compat", &o->htk_compat,
              "If true, put energy last.  Warning: not sufficient to get HTK compatible "
              "features (need to change other parameters).");
  t->Register("use-log-fbank", &o->use_log_fbank,
              "If true, produce log-filterbank, else produce linear.");
  t->Register("use-power", &o->use_power, "If true, use power, else use magnitude.");
}

namespace {

// Options of a Kaldi config file read into a default-constructed Options through Register, then
// validated; errors name the file.
template <class Options>
Options ReadValidatedConfig(const std::string& path,
                            void (*register_options)(kaldi::OptionTable*, Options*)) {
  Options o;
  kaldi::OptionTable t;
  register_options(&t, &o);
  t.ReadConfigFile(path);
  try {
    o.Validate();
  } catch (const Error& e) {
    throw e.WithContext(path);
  }
  return o;
}

}  // namespace

feat::MfccOptions ReadMfccConfig(const std::string& path) {
  return ReadValidatedConfig<feat::MfccOptions>(path, RegisterMfccOptions);
}

feat::FbankOptions ReadFbankConfig(const std::string& path) {
  return ReadValidatedConfig<feat::FbankOptions>(path, RegisterFbankOptions);
}

}  // namespace kaldiq::online
