// kaldiq compute-mfcc-feats = Kaldi's compute-mfcc-feats: MFCC features of every wave in an
// rspecifier (scp:wav.scp with files, pipes and offsets; ark: wave archives), with all of
// Kaldi's options and --config=<file>.
#include "cli.h"
#include "commands.h"
#include "feat/mfcc.h"
#include "feature_flags.h"
#include "kaldi/htk_matrix.h"

namespace kaldiq::cli {

int RunComputeMfccFeats(int argc, char** argv) {
  CLI::App app;
  feat::MfccOptions opts;
  ComputeFeatsFlags f;
  ConfigureApp(app,
               "Create MFCC feature files.\n"
               "Usage:  kaldiq compute-mfcc-feats [options...] <wav-rspecifier> "
               "<feats-wspecifier>\n"
               "e.g.:   kaldiq compute-mfcc-feats --config=conf/mfcc_hires.conf scp:wav.scp "
               "ark,scp:mfcc.ark,mfcc.scp");
  AddMfccOptions(app, &opts);
  AddComputeFeatsFlags(app, &f);
  return RunGuarded("compute-mfcc-feats", app, argc, argv, [&]() {
    feat::MfccOptions o = opts;
    o.frame_opts.max_feature_vectors = -1;  // offline: every frame is kept (as Kaldi)
    const uint16_t kind =
        kaldi::kHtkMfcc | (o.use_energy ? kaldi::kHtkEnergy : kaldi::kHtkZeroth);
    return ComputeFeats("compute-mfcc-feats", f, [&o]() { return feat::MakeMfccComputer(o); },
                        kind);
  });
}

}  // namespace kaldiq::cli
