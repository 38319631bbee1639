// kaldiq apply-cmvn-online = Kaldi's online2bin/apply-cmvn-online: online cepstral mean (and
// optionally variance) normalisation with the online decoder's code (feat/online_cmvn.h),
// backing off to the global stats at the start, and with --spk2utt to the speaker's earlier
// utterances (in spk2utt order). Kaldi's summary counts each file twice without --spk2utt;
// kaldiq counts it once.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "feat/online_cmvn.h"
#include "kaldi/ivector_model_io.h"
#include "kaldi/option_table.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct ApplyCmvnOnlineFlags {
  feat::OnlineCmvnOptions opts;
  std::string spk2utt;
  bool quiet = false;
  std::string global_stats, in, out;
};

int ApplyCmvnOnline(const ApplyCmvnOnlineFlags& f) {
  f.opts.Check();
  const MatrixD global = kaldi::ReadMatrixFileD(f.global_stats);
  kaldi::MatrixWriter writer(f.out);
  Progress progress("apply-cmvn-online", -1, f.quiet);
  int64_t num_done = 0, num_err = 0, tot_t = 0;
  // Normalises one utterance from *state; returns false (reported) when it cannot.
  auto normalize = [&](const std::string& utt, const MatrixF& feats, feat::OnlineCmvnState* state) {
    MatrixF out;
    try {
      feat::OnlineCmvn cmvn(f.opts, *state);
      cmvn.AcceptFeatures(feats, &out);
      *state = cmvn.GetState();
    } catch (const Error& e) {
      std::fprintf(stderr, "kaldiq apply-cmvn-online: warning: utterance '%s': %s\n", utt.c_str(),
                   e.what());
      ++num_err;
      return;
    }
    writer.Write(utt, out);
    ++num_done;
    tot_t += feats.rows();
    progress.Add(1);
  };
  if (!f.spk2utt.empty()) {
    kaldi::SequentialTokenVectorReader spk2utt_reader(f.spk2utt);
    kaldi::RandomAccessMatrixReader feature_reader(f.in);
    for (; !spk2utt_reader.Done(); spk2utt_reader.Next()) {
      feat::OnlineCmvnState state(global);
      for (const std::string& utt : spk2utt_reader.Value()) {
        if (!feature_reader.HasKey(utt)) {
          std::fprintf(stderr,
                       "kaldiq apply-cmvn-online: warning: No features for utterance %s\n",
                       utt.c_str());
          ++num_err;
          continue;
        }
        normalize(utt, feature_reader.Value(utt), &state);
      }
    }
    spk2utt_reader.Close();
  } else {
    kaldi::SequentialMatrixReader feature_reader(f.in);
    for (; !feature_reader.Done(); feature_reader.Next()) {
      feat::OnlineCmvnState state(global);
      normalize(feature_reader.Key(), feature_reader.Value(), &state);
    }
    feature_reader.Close();
  }
  progress.Finish();
  writer.Close();
  if (!f.quiet) {
    std::fprintf(stderr,
                 "kaldiq apply-cmvn-online: Applied online CMVN to %lld files, or %lld frames.\n",
                 static_cast<long long>(num_done), static_cast<long long>(tot_t));
    if (num_err > 0) {
      std::fprintf(stderr, "kaldiq apply-cmvn-online: %lld utterances had errors\n",
                   static_cast<long long>(num_err));
    }
  }
  return num_done != 0 ? 0 : 1;
}

}  // namespace

int RunApplyCmvnOnline(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Apply online cepstral mean (and possibly variance) computation online, using the "
               "same code as used for online decoding in the 'new' setup in online2/ and "
               "online2bin/. If the --spk2utt option is used, it uses prior utterances from the "
               "same speaker to back off to at the utterance beginning.\n"
               "Usage: kaldiq apply-cmvn-online [options] <global-cmvn-stats> "
               "<feature-rspecifier> <feature-wspecifier>\n"
               "e.g. kaldiq apply-cmvn-online 'matrix-sum scp:data/train/cmvn.scp -|' "
               "scp:data/train/feats.scp ark:-\n"
               "or: kaldiq apply-cmvn-online --spk2utt=ark:data/train/spk2utt "
               "'matrix-sum scp:data/train/cmvn.scp -|' scp:data/train/feats.scp ark:-");
  ApplyCmvnOnlineFlags f;
  app.add_option("--spk2utt", f.spk2utt, "rspecifier for speaker to utterance-list map");
  kaldi::OptionTable table;
  f.opts.Register(&table);
  AddOptionTable(app, table);
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("global-cmvn-stats", f.global_stats,
                 "Global CMVN stats (rxfilename), e.g. 'matrix-sum scp:cmvn.scp -|'")
      ->required();
  app.add_option("feature-rspecifier", f.in, "Input features")->required();
  app.add_option("feature-wspecifier", f.out, "Normalized features")->required();
  return RunGuarded("apply-cmvn-online", app, argc, argv, [&]() { return ApplyCmvnOnline(f); });
}

}  // namespace kaldiq::cli
