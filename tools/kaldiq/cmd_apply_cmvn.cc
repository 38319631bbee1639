// kaldiq apply-cmvn = Kaldi's apply-cmvn: normalises features with per-utterance or per-speaker
// (--utt2spk) statistics from a table, or with one global stats matrix from an rxfilename.
// Utterances without stats (or with unusable ones) are reported by name, counted and produce
// no output, as in Kaldi; the run fails only if nothing succeeded.
#include <cstdio>
#include <string>

#include "cli.h"
#include "commands.h"
#include "kaldi/cmvn.h"
#include "kaldi/kaldi_stream.h"
#include "kaldi/matrix_io.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct ApplyCmvnFlags {
  std::string utt2spk;
  bool norm_means = true;
  bool norm_vars = false;
  bool reverse = false;
  bool quiet = false;
  std::string cmvn, in, out;
};

int ApplyCmvnMain(const ApplyCmvnFlags& f) {
  KQ_CHECK(f.norm_means || !f.norm_vars, kInvalidArgument)
      << "you cannot normalize the variance but not the mean";
  const bool from_table =
      kaldi::ClassifyRspecifier(f.cmvn, nullptr, nullptr) != kaldi::RspecifierType::kNone;
  KQ_CHECK(from_table || f.utt2spk.empty(), kInvalidArgument)
      << "--utt2spk option not compatible with rxfilename as input (did you forget ark:?)";

  kaldi::RandomAccessDoubleMatrixReader cmvn_reader;
  kaldi::RandomAccessTokenReader utt2spk_reader;
  MatrixD global_stats;
  if (from_table) {
    cmvn_reader.Open(f.cmvn);
    if (!f.utt2spk.empty()) utt2spk_reader.Open(f.utt2spk);
  } else {
    kaldi::Input in(f.cmvn);
    kaldi::ReadMatrix(in.Stream(), in.binary(), &global_stats);
  }

  kaldi::SequentialMatrixReader feat_reader(f.in);
  kaldi::MatrixWriter feat_writer(f.out);
  Progress progress("apply-cmvn", -1, f.quiet);
  int64_t num_done = 0, num_err = 0;
  for (; !feat_reader.Done(); feat_reader.Next()) {
    const std::string& utt = feat_reader.Key();
    MatrixF& feat = feat_reader.Value();
    if (f.norm_means) {
      const MatrixD* stats = &global_stats;
      if (from_table) {
        // Kaldi's RandomAccessDoubleMatrixReaderMapped: utt -> spk through utt2spk.
        std::string key = utt;
        bool found = true;
        if (utt2spk_reader.IsOpen()) {
          found = utt2spk_reader.HasKey(utt);
          if (found) key = utt2spk_reader.Value(utt);
        }
        if (!found || !cmvn_reader.HasKey(key)) {
          std::fprintf(stderr,
                       "kaldiq apply-cmvn: warning: no normalization statistics available for "
                       "key '%s', producing no output for this utterance\n", utt.c_str());
          ++num_err;
          continue;
        }
        stats = &cmvn_reader.Value(key);
      }
      try {
        if (f.reverse) {
          kaldi::ApplyCmvnReverse(*stats, f.norm_vars, &feat);
        } else {
          kaldi::ApplyCmvn(*stats, f.norm_vars, &feat);
        }
      } catch (const Error& e) {
        std::fprintf(stderr, "kaldiq apply-cmvn: warning: utterance '%s': %s\n", SanitizeForTerminal(utt).c_str(),
                     SanitizeForTerminal(e.what()).c_str());
        ++num_err;
        continue;
      }
    }
    feat_writer.Write(utt, feat);
    ++num_done;
    progress.Add();
  }
  feat_reader.Close();
  feat_writer.Close();
  if (!f.quiet) {
    std::fprintf(stderr,
                 "kaldiq apply-cmvn: Applied cepstral mean %snormalization to %lld utterances, "
                 "errors on %lld\n",
                 f.norm_vars ? "and variance " : "", static_cast<long long>(num_done),
                 static_cast<long long>(num_err));
  }
  return num_done != 0 ? 0 : 1;
}

}  // namespace

int RunApplyCmvn(int argc, char** argv) {
  CLI::App app;
  ApplyCmvnFlags f;
  ConfigureApp(app,
               "Apply cepstral mean and (optionally) variance normalization\n"
               "Per-utterance by default, or per-speaker if utt2spk option provided\n"
               "Usage: kaldiq apply-cmvn [options] (<cmvn-stats-rspecifier>|<cmvn-stats-rxfilename>)"
               " <feats-rspecifier> <feats-wspecifier>\n"
               "e.g.: kaldiq apply-cmvn --utt2spk=ark:data/train/utt2spk scp:data/train/cmvn.scp "
               "scp:data/train/feats.scp ark:-");
  app.add_option("--utt2spk", f.utt2spk,
                 "rspecifier for utterance to speaker map (if supplied, stats are per speaker)");
  AddBool(app, "--norm-vars", &f.norm_vars, "If true, normalize variances.");
  AddBool(app, "--norm-means", &f.norm_means,
          "You can set this to false to turn off mean normalization.");
  AddBool(app, "--reverse", &f.reverse,
          "If true, apply CMVN in a reverse sense, so as to transform zero-mean, unit-variance "
          "input into data with the given mean and variance.");
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("cmvn", f.cmvn, "CMVN stats rspecifier (or a global stats rxfilename)")
      ->required();
  app.add_option("in", f.in, "feature rspecifier")->required();
  app.add_option("out", f.out, "feature wspecifier")->required();
  return RunGuarded("apply-cmvn", app, argc, argv, [&]() { return ApplyCmvnMain(f); });
}

}  // namespace kaldiq::cli
