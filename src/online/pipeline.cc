#include "online/pipeline.h"

#include "kaldi/ivector_model_io.h"
#include "kaldi/option_table.h"
#include "online/feature_config.h"
#include "util/error.h"

namespace kaldiq::online {

void FeaturePipelineConfig::Register(kaldi::OptionTable* t) {
  t->Register("feature-type", &feature_type,
              "Base feature type [mfcc, plp, fbank]");
  t->Register("mfcc-config", &mfcc_config,
              "Configuration file for MFCC features (e.g. conf/mfcc.conf)");
  t->Register("plp-config", &plp_config, "Configuration file for PLP features (e.g. conf/plp.conf)");
  t->Register("fbank-config", &fbank_config,
              "Configuration file for filterbank features (e.g. conf/fbank.conf)");
  t->Register("add-pitch", &add_pitch, "Append pitch features to raw MFCC/PLP/filterbank features "
              "[but not for iVector extraction]");
  t->Register("online-pitch-config", &online_pitch_config,
              "Configuration file for online pitch features, if --add-pitch=true (e.g. "
              "conf/online_pitch.conf)");
  t->Register("ivector-extraction-config", &ivector_extraction_config,
              "Configuration file for online iVector extraction, see class "
              "OnlineIvectorExtractionConfig in the code");
  t->Register("cmvn-config", &cmvn_config,
              "Configuration file for online cmvn features (e.g. conf/online_cmvn.conf). "
              "Controls features on nnet3 input (not ivector features). If not set, the "
              "OnlineCmvn is disabled.");
  t->Register("global-cmvn-stats", &global_cmvn_stats,
              "filename with global stats for OnlineCmvn for features on nnet3 input (not "
              "ivector features)");
}

FeaturePipelineInfo FeaturePipelineInfo::Load(const FeaturePipelineConfig& c) {
  FeaturePipelineInfo info;
  if (c.feature_type == "mfcc") {
    info.use_mfcc = true;
    if (!c.mfcc_config.empty()) info.mfcc = ReadMfccConfig(c.mfcc_config);
  } else if (c.feature_type == "fbank") {
    info.use_mfcc = false;
    if (!c.fbank_config.empty()) info.fbank = ReadFbankConfig(c.fbank_config);
  } else if (c.feature_type == "plp") {
    KQ_THROW(kUnsupported) << "--feature-type=plp is not implemented in kaldiq";
  } else {
    KQ_THROW(kInvalidArgument) << "invalid feature type: " << c.feature_type;
  }
  KQ_CHECK(!c.add_pitch, kUnsupported) << "--add-pitch is not implemented in kaldiq";
  if (!c.cmvn_config.empty()) {
    info.use_cmvn = true;
    info.cmvn = feat::OnlineCmvnOptions::FromConfigFile(c.cmvn_config);
    KQ_CHECK(!c.global_cmvn_stats.empty(), kInvalidArgument)
        << "--global-cmvn-stats is required with --cmvn-config";
    info.global_cmvn_stats = kaldi::ReadMatrixFileD(c.global_cmvn_stats);
    KQ_CHECK(info.global_cmvn_stats.rows() == 2 &&
                 info.global_cmvn_stats.cols() == info.Dim() + 1,
             kInvalidArgument)
        << "--global-cmvn-stats " << c.global_cmvn_stats << " is "
        << info.global_cmvn_stats.rows() << " x " << info.global_cmvn_stats.cols()
        << " but the features have dimension " << info.Dim() << " (expected 2 x "
        << info.Dim() + 1 << ")";
  }
  if (!c.ivector_extraction_config.empty()) {
    try {
      info.ivector = std::make_shared<ivector::OnlineIvectorExtractionInfo>(
          ivector::OnlineIvectorExtractionConfig::FromConfigFile(c.ivector_extraction_config));
    } catch (const Error& e) {
      throw e.WithContext("--ivector-extraction-config '" + c.ivector_extraction_config + "'");
    }
    // Kaldi's OnlineIvectorFeature reads the base features (pitch excluded).
    KQ_CHECK(info.ivector->ExpectedFeatureDim() == info.Dim(), kInvalidArgument)
        << "--ivector-extraction-config " << c.ivector_extraction_config
        << ": the extractor expects " << info.ivector->ExpectedFeatureDim()
        << "-dimensional features but --feature-type=" << c.feature_type << " gives "
        << info.Dim();
  }
  return info;
}

int32_t FeaturePipelineInfo::Dim() const {
  if (use_mfcc) return mfcc.num_ceps;
  return fbank.mel_opts.num_bins + (fbank.use_energy ? 1 : 0);
}

}  // namespace kaldiq::online
