#include "ivector/extraction_config.h"

#include <cstdio>

#include "kaldi/ivector_model_io.h"
#include "kaldi/option_table.h"
#include "util/error.h"

namespace kaldiq::ivector {

void OnlineIvectorExtractionConfig::Register(kaldi::OptionTable* t) {
  t->Register("lda-matrix", &lda_mat_rxfilename,
              "Filename of LDA matrix, e.g. final.mat; used for iVector extraction. ");
  t->Register("global-cmvn-stats", &global_cmvn_stats_rxfilename,
              "(Extended) filename for global CMVN stats, used in iVector extraction, obtained "
              "for example from 'matrix-sum scp:data/train/cmvn.scp -', only used for iVector "
              "extraction");
  t->Register("cmvn-config", &cmvn_config_rxfilename,
              "Configuration file for online CMVN features (e.g. conf/online_cmvn.conf),only "
              "used for iVector extraction.  Contains options as for the program "
              "'apply-cmvn-online'");
  t->Register("online-cmvn-iextractor", &online_cmvn_iextractor,
              "add online-cmvn to feature pipeline of ivector extractor, use the cmvn setup "
              "from the UBM");
  t->Register("splice-config", &splice_config_rxfilename,
              "Configuration file for frame splicing (--left-context and --right-context "
              "options); used for iVector extraction.");
  t->Register("diag-ubm", &diag_ubm_rxfilename,
              "Filename of diagonal UBM used to obtain posteriors for iVector extraction, e.g. "
              "final.dubm");
  t->Register("ivector-extractor", &ivector_extractor_rxfilename,
              "Filename of iVector extractor, e.g. final.ie");
  t->Register("ivector-period", &ivector_period,
              "Frequency with which we extract iVectors for neural network adaptation");
  t->Register("num-gselect", &num_gselect, "Number of Gaussians to select for iVector extraction");
  t->Register("min-post", &min_post, "Threshold for posterior pruning in iVector extraction");
  t->Register("posterior-scale", &posterior_scale,
              "Scale for posteriors in iVector extraction (may be viewed as inverse of prior "
              "scale)");
  t->Register("max-count", &max_count,
              "Maximum data count we allow before we start scaling the stats down (if "
              "nonzero)... helps to make iVectors from long utterances look more typical.  "
              "Interpret as a frame-count times --posterior-scale, typically 1/10 of a number of "
              "frames.  Suggest 100.");
  t->Register("use-most-recent-ivector", &use_most_recent_ivector,
              "If true, always use most recent available iVector, rather than the one for the "
              "designated frame.");
  t->Register("greedy-ivector-extractor", &greedy_ivector_extractor,
              "If true, 'read ahead' as many frames as we currently have available when "
              "extracting the iVector.  May improve iVector quality.");
  t->Register("max-remembered-frames", &max_remembered_frames,
              "The maximum number of frames of adaptation history that we carry through to "
              "later utterances of the same speaker (having a finite number allows the speaker "
              "adaptation state to change over time).  Interpret as a real frame count, i.e. not "
              "a count scaled by --posterior-scale.");
}

OnlineIvectorExtractionConfig OnlineIvectorExtractionConfig::FromConfigFile(
    const std::string& path) {
  OnlineIvectorExtractionConfig config;
  kaldi::OptionTable table;
  config.Register(&table);
  table.ReadConfigFile(path);
  return config;
}

namespace {

const std::string& Required(const std::string& value, const char* option) {
  KQ_CHECK(!value.empty(), kInvalidArgument)
      << "--" << option << " option must be set (note: this may be needed in the file supplied "
      << "to --ivector-extraction-config)";
  return value;
}

}  // namespace

OnlineIvectorExtractionInfo::OnlineIvectorExtractionInfo(
    const OnlineIvectorExtractionConfig& c, int num_threads)
    : lda_mat(kaldi::ReadMatrixFileF(Required(c.lda_mat_rxfilename, "lda-matrix"))),
      global_cmvn_stats(
          kaldi::ReadMatrixFileD(Required(c.global_cmvn_stats_rxfilename, "global-cmvn-stats"))),
      cmvn_opts(feat::OnlineCmvnOptions::FromConfigFile(
          Required(c.cmvn_config_rxfilename, "cmvn-config"))),
      splice_opts(
          OnlineSpliceOptions::FromConfigFile(Required(c.splice_config_rxfilename, "splice-config"))),
      diag_ubm(kaldi::ReadDiagGmmFile(Required(c.diag_ubm_rxfilename, "diag-ubm"))),
      extractor(kaldi::ReadIvectorExtractorFile(
                    Required(c.ivector_extractor_rxfilename, "ivector-extractor")),
                num_threads),
      online_cmvn_iextractor(c.online_cmvn_iextractor),
      ivector_period(c.ivector_period),
      num_gselect(c.num_gselect),
      min_post(c.min_post),
      posterior_scale(c.posterior_scale),
      max_count(c.max_count),
      num_cg_iters(c.num_cg_iters),
      use_most_recent_ivector(c.use_most_recent_ivector),
      greedy_ivector_extractor(c.greedy_ivector_extractor),
      max_remembered_frames(c.max_remembered_frames) {
  if (greedy_ivector_extractor && !use_most_recent_ivector) {
    std::fprintf(stderr,
                 "kaldiq: warning: --greedy-ivector-extractor=true implies "
                 "--use-most-recent-ivector=true\n");
    use_most_recent_ivector = true;
  }
  // Kaldi's OnlineIvectorExtractionInfo::Check(), with messages.
  KQ_CHECK(global_cmvn_stats.rows() == 2 && global_cmvn_stats.cols() >= 2, kInvalidArgument)
      << "--global-cmvn-stats must be a 2 x (dim+1) matrix, got " << global_cmvn_stats.rows()
      << " x " << global_cmvn_stats.cols();
  cmvn_opts.Check();
  const int64_t base_dim = BaseDim();
  KQ_CHECK(global_cmvn_stats(0, base_dim) > 0.0, kInvalidArgument)
      << "--global-cmvn-stats have a count of " << global_cmvn_stats(0, base_dim)
      << " (must be positive)";
  KQ_CHECK(splice_opts.left_context >= 0 && splice_opts.right_context >= 0, kInvalidArgument)
      << "splice contexts must be non-negative";
  const int64_t num_splice = splice_opts.left_context + 1 + splice_opts.right_context;
  KQ_CHECK(lda_mat.cols() == base_dim * num_splice || lda_mat.cols() == base_dim * num_splice + 1,
           kInvalidArgument)
      << "--lda-matrix has " << lda_mat.cols() << " columns, expected " << base_dim * num_splice
      << " or one more (dimension " << base_dim << " from --global-cmvn-stats times "
      << num_splice << " spliced frames)";
  KQ_CHECK(lda_mat.rows() == diag_ubm.Dim(), kInvalidArgument)
      << "--lda-matrix has " << lda_mat.rows() << " rows but the UBM (--diag-ubm) has dimension "
      << diag_ubm.Dim();
  KQ_CHECK(diag_ubm.Dim() == extractor.FeatDim(), kInvalidArgument)
      << "the UBM has dimension " << diag_ubm.Dim() << " but the i-vector extractor expects "
      << extractor.FeatDim();
  KQ_CHECK(ivector_period > 0, kInvalidArgument) << "--ivector-period must be positive";
  KQ_CHECK(num_gselect > 0, kInvalidArgument) << "--num-gselect must be positive";
  KQ_CHECK(min_post >= 0.0f && min_post < 0.5f, kInvalidArgument)
      << "--min-post must be in [0, 0.5), got " << min_post;
  KQ_CHECK(posterior_scale > 0.0f && posterior_scale <= 1.0f, kInvalidArgument)
      << "--posterior-scale must be in (0, 1], got " << posterior_scale;
  KQ_CHECK(max_remembered_frames >= 0.0f, kInvalidArgument)
      << "--max-remembered-frames must be non-negative";
  KQ_CHECK(max_count >= 0.0f, kInvalidArgument) << "--max-count must be non-negative";
  KQ_CHECK(num_cg_iters != 0, kInvalidArgument) << "num-cg-iters must be nonzero";
}

int32_t OnlineIvectorExtractionInfo::ExpectedFeatureDim() const {
  const int64_t num_splice = splice_opts.left_context + 1 + splice_opts.right_context;
  return static_cast<int32_t>(lda_mat.cols() / num_splice);
}

}  // namespace kaldiq::ivector
