// Configuration of online i-vector extraction (Kaldi's OnlineIvectorExtractionConfig, the
// contents of ivector_extractor.conf) and the loaded extractor directory it points to (Kaldi's
// OnlineIvectorExtractionInfo: final.mat, global_cmvn.stats, online_cmvn.conf, splice.conf,
// final.dubm, final.ie). Paths inside the config are used verbatim, as Kaldi does: relative
// ones are relative to the current directory.
//
// OnlineIvectorExtractionConfig::FromConfigFile reads the file that online2 programs take as
// --ivector-extraction-config (only these options may appear in it). The info is immutable
// after construction and may be shared by any number of OnlineIvectorFeature objects and
// threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/matrix.h"
#include "feat/online_cmvn.h"
#include "ivector/diag_gmm.h"
#include "ivector/ivector_extractor.h"
#include "ivector/splice_transform.h"

namespace kaldiq::kaldi {
class OptionTable;
}

namespace kaldiq::ivector {

struct OnlineIvectorExtractionConfig {
  std::string lda_mat_rxfilename;            // --lda-matrix (final.mat)
  std::string global_cmvn_stats_rxfilename;  // --global-cmvn-stats
  std::string splice_config_rxfilename;      // --splice-config
  std::string cmvn_config_rxfilename;        // --cmvn-config
  std::string diag_ubm_rxfilename;           // --diag-ubm (final.dubm)
  std::string ivector_extractor_rxfilename;  // --ivector-extractor (final.ie)
  bool online_cmvn_iextractor = false;       // statistics from the CMVN-normalised features
  int32_t ivector_period = 10;
  int32_t num_gselect = 5;
  float min_post = 0.025f;
  float posterior_scale = 0.1f;
  float max_count = 0.0f;
  int32_t num_cg_iters = 15;  // not an option (as in Kaldi)
  bool use_most_recent_ivector = true;
  bool greedy_ivector_extractor = false;
  float max_remembered_frames = 1000;

  void Register(kaldi::OptionTable* table);
  static OnlineIvectorExtractionConfig FromConfigFile(const std::string& path);
};

struct OnlineIvectorExtractionInfo {
  // Reads every file the config names; throws kaldiq::Error naming the missing option or the
  // file, or the first inconsistency between them (Kaldi's Check()). num_threads: for the
  // extractor's derived quantities (load time only).
  explicit OnlineIvectorExtractionInfo(const OnlineIvectorExtractionConfig& config,
                                       int num_threads = 1);

  MatrixF lda_mat;
  MatrixD global_cmvn_stats;
  feat::OnlineCmvnOptions cmvn_opts;
  OnlineSpliceOptions splice_opts;
  DiagGmm diag_ubm;
  IvectorExtractor extractor;

  bool online_cmvn_iextractor;
  int32_t ivector_period;
  int32_t num_gselect;
  float min_post;
  float posterior_scale;
  float max_count;
  int32_t num_cg_iters;
  bool use_most_recent_ivector;
  bool greedy_ivector_extractor;
  float max_remembered_frames;

  // The base feature dimension (from the global CMVN stats).
  int32_t BaseDim() const { return static_cast<int32_t>(global_cmvn_stats.cols() - 1); }
  // Kaldi's ExpectedFeatureDim(): final.mat's input columns / number of spliced frames.
  int32_t ExpectedFeatureDim() const;
  int32_t IvectorDim() const { return extractor.IvectorDim(); }
};

}  // namespace kaldiq::ivector
