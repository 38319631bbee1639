// Kaldi's feature options on the kaldiq command line, with Kaldi's names, defaults and help
// (FrameExtractionOptions::Register, MelBanksOptions::Register, MfccOptions::Register,
// FbankOptions::Register), and the utterance loop shared by compute-mfcc-feats and
// compute-fbank-feats (featbin/compute-{mfcc,fbank}-feats.cc: --output-format, --subtract-mean,
// --vtln-warp, --vtln-map, --utt2spk, --channel, --min-duration, --write-utt2dur).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cli.h"
#include "feat/feature_computer.h"
#include "feat/feature_options.h"

namespace kaldiq::cli {

void AddFrameExtractionOptions(CLI::App& app, feat::FrameExtractionOptions* o);
void AddMelBanksOptions(CLI::App& app, feat::MelBanksOptions* o);
void AddMfccOptions(CLI::App& app, feat::MfccOptions* o);    // frame + mel + MFCC options
void AddFbankOptions(CLI::App& app, feat::FbankOptions* o);  // frame + mel + fbank options

struct ComputeFeatsFlags {
  std::string output_format = "kaldi";
  bool subtract_mean = false;
  float vtln_warp = 1.0f;
  std::string vtln_map, utt2spk;
  int channel = -1;
  float min_duration = 0;
  std::string write_utt2dur;
  int verbose = 0;          // Kaldi's standard --verbose (make_mfcc.sh passes --verbose=2)
  bool print_args = true;   // Kaldi's standard --print-args: accepted, kaldiq does not echo
  bool quiet = false;
  std::string wav_rspecifier, feats_wspecifier;
};

// The program options of compute-{mfcc,fbank}-feats and the two positional arguments, plus
// Kaldi's standard --verbose and --print-args, which Kaldi scripts pass.
void AddComputeFeatsFlags(CLI::App& app, ComputeFeatsFlags* f);

// Reads every wave of f.wav_rspecifier, computes its features with a fresh computer from
// `make_computer` (through feat::ComputeUtteranceFeatures, the streaming path) and writes them;
// Kaldi's per-utterance rules: a failing utterance is skipped with a warning; exit status 0 if
// any utterance succeeded. `htk_kind` is the HTK parameter kind for --output-format=htk.
int ComputeFeats(const std::string& cmd, const ComputeFeatsFlags& f,
                 const std::function<std::unique_ptr<feat::FeatureComputer>()>& make_computer,
                 uint16_t htk_kind);

// The dither seed of an utterance: a 64-bit FNV-1a hash of its key (reproducible, independent
// of the order and of other utterances).
uint64_t UtteranceSeed(const std::string& key);

}  // namespace kaldiq::cli
