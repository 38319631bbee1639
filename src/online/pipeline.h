// online2's feature pipeline configuration (Kaldi's OnlineNnet2FeaturePipelineConfig and
// OnlineNnet2FeaturePipelineInfo, online2/online-nnet2-feature-pipeline.{h,cc}): what
// `--config=conf/online.conf` of online2-wav-nnet3-latgen-faster holds, read once and shared by
// every stream.
//
// Options (Kaldi's names): --feature-type (mfcc|fbank; plp is not implemented), --mfcc-config,
// --fbank-config (files with the feature options; absent = Kaldi's defaults), --cmvn-config
// (OnlineCmvnOptions file; its presence turns online CMVN on), --global-cmvn-stats (the CMVN
// prior, required with --cmvn-config), --ivector-extraction-config (an ivector_extractor.conf:
// its presence turns online i-vector extraction on, ivector/extraction_config.h), --add-pitch.
// Not implemented here (kUnsupported errors, never silently ignored): plp, --add-pitch.
//
// Relative paths are opened relative to the working directory, as Kaldi does.
#pragma once

#include <memory>
#include <string>

#include "core/matrix.h"
#include "feat/feature_options.h"
#include "feat/online_cmvn.h"
#include "ivector/extraction_config.h"

namespace kaldiq::kaldi {
class OptionTable;
}

namespace kaldiq::online {

struct FeaturePipelineConfig {
  std::string feature_type = "mfcc";
  std::string mfcc_config, fbank_config, plp_config;
  std::string cmvn_config, global_cmvn_stats;
  std::string ivector_extraction_config;
  bool add_pitch = false;
  std::string online_pitch_config;

  void Register(kaldi::OptionTable* table);
};

// The loaded configuration. Immutable after Load; shared by streams.
struct FeaturePipelineInfo {
  bool use_mfcc = true;  // else fbank
  feat::MfccOptions mfcc;
  feat::FbankOptions fbank;
  bool use_cmvn = false;
  feat::OnlineCmvnOptions cmvn;
  MatrixD global_cmvn_stats;  // 2 x (dim+1) when use_cmvn
  // The online i-vector extractor (Kaldi's ivector_extractor_info), null without
  // --ivector-extraction-config. Not const so that a program can change the estimation mode
  // before sharing the info (online2-wav-nnet3-latgen-faster --online=false sets
  // use_most_recent_ivector and greedy_ivector_extractor, as Kaldi does).
  std::shared_ptr<ivector::OnlineIvectorExtractionInfo> ivector;

  // Reads the files the config names. Throws kaldiq::Error naming the file or option.
  static FeaturePipelineInfo Load(const FeaturePipelineConfig& config);

  const feat::FrameExtractionOptions& Frames() const {
    return use_mfcc ? mfcc.frame_opts : fbank.frame_opts;
  }
  float SampleFrequency() const { return Frames().samp_freq; }
  float FrameShiftInSeconds() const { return Frames().frame_shift_ms * 0.001f; }
  int32_t Dim() const;
  bool HasIvectors() const { return ivector != nullptr; }
  int32_t IvectorDim() const { return ivector ? ivector->IvectorDim() : 0; }
};

}  // namespace kaldiq::online
