// kaldiq compute-fbank-feats = Kaldi's compute-fbank-feats: log mel filterbank (FBANK) features
// of every wave in an rspecifier, with all of Kaldi's options and --config=<file>.
#include "cli.h"
#include "commands.h"
#include "feat/mfcc.h"
#include "feature_flags.h"
#include "kaldi/htk_matrix.h"

namespace kaldiq::cli {

int RunComputeFbankFeats(int argc, char** argv) {
  CLI::App app;
  feat::FbankOptions opts;
  ComputeFeatsFlags f;
  ConfigureApp(app,
               "Create Mel-filter bank (FBANK) feature files.\n"
               "Usage:  kaldiq compute-fbank-feats [options...] <wav-rspecifier> "
               "<feats-wspecifier>\n"
               "e.g.:   kaldiq compute-fbank-feats --num-mel-bins=80 --dither=0 scp:wav.scp "
               "ark:fbank.ark");
  AddFbankOptions(app, &opts);
  AddComputeFeatsFlags(app, &f);
  return RunGuarded("compute-fbank-feats", app, argc, argv, [&]() {
    feat::FbankOptions o = opts;
    o.frame_opts.max_feature_vectors = -1;  // offline: every frame is kept (as Kaldi)
    const uint16_t kind =
        kaldi::kHtkFbank | (o.use_energy ? kaldi::kHtkEnergy : kaldi::kHtkZeroth);
    return ComputeFeats("compute-fbank-feats", f, [&o]() { return feat::MakeFbankComputer(o); },
                        kind);
  });
}

}  // namespace kaldiq::cli
