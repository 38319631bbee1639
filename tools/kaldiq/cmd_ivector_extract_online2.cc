// kaldiq ivector-extract-online2 = Kaldi's online2bin/ivector-extract-online2: online i-vectors
// every --ivector-period frames from raw (not mean-normalised) features, with the extractor
// directory given through its options (usually --config=.../ivector_extractor.conf), walking
// spk2utt in order and carrying each speaker's adaptation state across its utterances.
// --utts-per-spk-max=N (kaldiq) splits each speaker's list into consecutive groups of at most N
// utterances, each starting afresh, as utils/data/modify_speaker_info.sh --utts-per-spk-max
// does before Kaldi's extract_ivectors_online.sh. Summary lines as Kaldi's LOG lines.
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "ivector/extraction_config.h"
#include "ivector/ivector_extract.h"
#include "kaldi/option_table.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct IvectorExtractFlags {
  ivector::OnlineIvectorExtractionConfig config;
  int num_threads = 8;  // Kaldi's default (derived variables at start-up only)
  bool repeat = false;
  std::string frame_weights;
  int length_tolerance = 0;
  int utts_per_spk_max = -1;
  bool quiet = false;
  std::string spk2utt, features, output;
};

float Norm(const float* v, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += v[i] * v[i];
  return std::sqrt(s);
}

int IvectorExtractOnline2(IvectorExtractFlags& f) {
  KQ_CHECK(f.frame_weights.empty(), kUnsupported)
      << "--frame-weights-rspecifier (silence-weighted statistics) is not supported";
  KQ_CHECK(f.num_threads >= 1, kInvalidArgument) << "--num-threads must be >= 1";
  KQ_CHECK(f.utts_per_spk_max == -1 || f.utts_per_spk_max >= 1, kInvalidArgument)
      << "--utts-per-spk-max must be -1 (no maximum) or >= 1";
  f.config.use_most_recent_ivector = false;  // as Kaldi's program forces
  if (!f.quiet) {
    std::fprintf(stderr,
                 "kaldiq ivector-extract-online2: Computing derived variables for iVector "
                 "extractor\n");
  }
  ivector::OnlineIvectorExtractionInfo info(f.config, f.num_threads);
  if (!f.quiet) std::fprintf(stderr, "kaldiq ivector-extract-online2: Done.\n");

  kaldi::SequentialTokenVectorReader spk2utt_reader(f.spk2utt);
  kaldi::RandomAccessMatrixReader feature_reader(f.features);
  kaldi::MatrixWriter writer(f.output);
  Progress progress("ivector-extract-online2", -1, f.quiet);
  double tot_objf_impr = 0.0, tot_t = 0.0, tot_length = 0.0, tot_length_utt_end = 0.0;
  int64_t num_done = 0, num_err = 0;
  bool warned_dim = false;
  for (; !spk2utt_reader.Done(); spk2utt_reader.Next()) {
    const std::vector<std::string>& utts = spk2utt_reader.Value();
    ivector::OnlineIvectorAdaptationState state(info);
    int64_t in_group = 0;
    for (const std::string& utt : utts) {
      if (f.utts_per_spk_max > 0 && in_group == f.utts_per_spk_max) {
        state = ivector::OnlineIvectorAdaptationState(info);  // a new pseudo-speaker
        in_group = 0;
      }
      ++in_group;
      if (!feature_reader.HasKey(utt)) {
        std::fprintf(stderr, "kaldiq ivector-extract-online2: warning: Did not find audio for "
                             "utterance %s\n", utt.c_str());
        ++num_err;
        continue;
      }
      const MatrixF& feats = feature_reader.Value(utt);
      ivector::UtteranceIvectorDiagnostics diag;
      MatrixF ivectors;
      try {
        ivectors = ivector::ExtractOnlineIvectors(info, feats, f.repeat, &state, &diag);
      } catch (const Error& e) {
        std::fprintf(stderr, "kaldiq ivector-extract-online2: warning: utterance '%s': %s\n",
                     utt.c_str(), e.what());
        ++num_err;
        continue;
      }
      if (diag.dropped_pitch && !warned_dim && !f.quiet) {
        std::fprintf(stderr,
                     "kaldiq ivector-extract-online2: warning: Feature dimension is too large by "
                     "3, assuming there are pitch features and removing the last 3 dims.\n");
        warned_dim = true;
      }
      const double T = static_cast<double>(feats.rows());
      const int64_t n = ivectors.rows(), dim = ivectors.cols();
      tot_objf_impr += T * diag.objf_impr_per_frame;
      tot_length_utt_end += T * Norm(ivectors.Row(n - 1), dim);
      for (int64_t i = 0; i < n; ++i) tot_length += T * Norm(ivectors.Row(i), dim) / n;
      tot_t += T;
      writer.Write(utt, ivectors);
      ++num_done;
      progress.Add(1);
    }
  }
  progress.Finish();
  spk2utt_reader.Close();
  writer.Close();
  if (!f.quiet) {
    std::ostringstream log;
    log << "kaldiq ivector-extract-online2: Estimated iVectors for " << num_done << " files, "
        << num_err << " with errors.\n";
    log << "kaldiq ivector-extract-online2: Average objective-function improvement was "
        << (tot_objf_impr / tot_t) << " per frame, over " << tot_t << " frames (weighted).\n";
    log << "kaldiq ivector-extract-online2: Average iVector length was " << (tot_length / tot_t)
        << " and at utterance-end was " << (tot_length_utt_end / tot_t) << ", over " << tot_t
        << " frames (weighted);  expected length is " << std::sqrt(double(info.IvectorDim()))
        << "\n";
    std::fputs(log.str().c_str(), stderr);
  }
  return num_done != 0 ? 0 : 1;
}

}  // namespace

int RunIvectorExtractOnline2(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Extract iVectors for utterances every --ivector-period frames, using a trained "
               "iVector extractor and features and Gaussian-level posteriors, exactly as Kaldi's "
               "ivector-extract-online2 (the online decoder's code).\n"
               "The --use-most-recent-ivector option is ignored (set to false). The "
               "<spk2utt-rspecifier> is mandatory; for per-utterance i-vectors give a map of the "
               "form <utterance-id> <utterance-id>.\n"
               "The iVectors are output as an archive of matrices, indexed by utterance-id; each "
               "row corresponds to an iVector. If --repeat=true, outputs the whole matrix of "
               "iVectors, not just every (ivector-period)'th frame. The input features are the "
               "raw, non-cepstral-mean-normalized features, e.g. MFCC.\n"
               "Usage: kaldiq ivector-extract-online2 [options] <spk2utt-rspecifier> "
               "<feature-rspecifier> <ivector-wspecifier>\n"
               "e.g.: kaldiq ivector-extract-online2 --config=exp/nnet3/extractor/"
               "ivector_extractor.conf ark:data/train/spk2utt scp:data/train/feats.scp "
               "ark,t:ivectors.1.ark");
  IvectorExtractFlags f;
  kaldi::OptionTable table;
  f.config.Register(&table);
  AddOptionTable(app, table);
  app.add_option("--num-threads", f.num_threads,
                 "Number of threads to use for computing derived variables of iVector extractor, "
                 "at process start-up.")
      ->capture_default_str();
  AddBool(app, "--repeat", &f.repeat,
          "If true, output the same number of iVectors as input frames (including repeated "
          "data).");
  app.add_option("--frame-weights-rspecifier", f.frame_weights,
                 "Archive of frame weights to scale stats (not supported by kaldiq)");
  app.add_option("--length-tolerance", f.length_tolerance,
                 "Tolerance on the difference in number of frames for feats and weights")
      ->capture_default_str();
  app.add_option("--utts-per-spk-max", f.utts_per_spk_max,
                 "kaldiq: split each speaker into consecutive pseudo-speakers of at most this "
                 "many utterances (as modify_speaker_info.sh --utts-per-spk-max); -1 = no maximum")
      ->capture_default_str();
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("spk2utt-rspecifier", f.spk2utt, "Speaker to utterance-list map")->required();
  app.add_option("feature-rspecifier", f.features, "Raw features (e.g. MFCC)")->required();
  app.add_option("ivector-wspecifier", f.output, "Output i-vector matrices")->required();
  return RunGuarded("ivector-extract-online2", app, argc, argv,
                    [&]() { return IvectorExtractOnline2(f); });
}

}  // namespace kaldiq::cli
