// kaldiq nnet3-chain-copy-egs = Kaldi's nnet3-chain-copy-egs: copies chain egs, optionally
// shifting times (--frame-shift), keeping a random proportion, zeroing edge deriv weights,
// cutting context, and spreading them over several outputs (round robin or --random). With
// the same --srand it makes the same random choices as Kaldi on Linux (util/kaldi_rand.h).
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/chain_example.h"
#include "kaldi/chain_example_merge.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/kaldi_rand.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct CopyEgsFlags {
  bool random = false;
  int32_t srand = 0;
  int32_t frame_shift = 0;
  int32_t truncate_deriv_weights = 0;
  float keep_proportion = 1.0f;
  int32_t left_context = -1, right_context = -1;
  bool quiet = false;
  std::string in;
  std::vector<std::string> outs;
};

int CopyEgs(const CopyEgsFlags& f) {
  KQ_CHECK(f.keep_proportion >= 0, kInvalidArgument)
      << "--keep-proportion must be >= 0, got " << f.keep_proportion;
  KaldiRand rng(static_cast<uint32_t>(f.srand));
  kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> reader(f.in);
  std::vector<std::unique_ptr<kaldi::TableWriter<kaldi::NnetChainExampleHolder>>> writers;
  for (const std::string& w : f.outs)
    writers.push_back(std::make_unique<kaldi::TableWriter<kaldi::NnetChainExampleHolder>>(w));
  const int64_t num_outputs = static_cast<int64_t>(writers.size());
  const bool modify = f.frame_shift != 0 || f.truncate_deriv_weights != 0 ||
                      f.left_context != -1 || f.right_context != -1;
  Progress progress("nnet3-chain-copy-egs", -1, f.quiet);
  int64_t num_read = 0, num_written = 0;
  bool warned_left = false;
  for (; !reader.Done(); reader.Next(), ++num_read) {
    // Kaldi's GetCount: floor(p), plus one with probability frac(p).
    double expected = f.keep_proportion;
    int32_t count = static_cast<int32_t>(std::floor(expected));
    expected -= count;
    if (rng.WithProb(static_cast<float>(expected))) ++count;
    const std::string& key = reader.Key();
    const kaldi::NnetChainExample* eg = &reader.Value();
    kaldi::NnetChainExample modified;
    if (modify && count > 0) {
      try {
        modified = *eg;
        kaldi::ShiftChainExampleTimes(f.frame_shift, &modified);
        std::string warning;
        kaldi::ModifyChainExampleContext(f.left_context, f.right_context, &modified, &warning);
        if (!warning.empty() && !warned_left) {
          warned_left = true;
          std::fprintf(stderr,
                       "WARNING (kaldiq nnet3-chain-copy-egs) %s (will warn only once; this may "
                       "be harmless if using any --*left-context-initial options)\n",
                       warning.c_str());
        }
        if (f.truncate_deriv_weights != 0)
          kaldi::TruncateDerivWeights(f.truncate_deriv_weights, &modified);
      } catch (const Error& e) {
        throw e.WithContext("eg '" + key + "'");
      }
      eg = &modified;
    }
    for (int32_t c = 0; c < count; ++c) {
      const int64_t index = (f.random ? rng.Rand() : num_written) % num_outputs;
      writers[index]->Write(key, *eg);
      ++num_written;
    }
    progress.Add();
  }
  reader.Close();
  for (auto& w : writers) w->Close();
  progress.Finish();
  if (!f.quiet) {
    std::fprintf(stderr,
                 "LOG (kaldiq nnet3-chain-copy-egs) Read %lld neural-network training examples, "
                 "wrote %lld\n",
                 static_cast<long long>(num_read), static_cast<long long>(num_written));
  }
  return num_written == 0 ? 1 : 0;
}

}  // namespace

int RunNnet3ChainCopyEgs(int argc, char** argv) {
  CLI::App app;
  CopyEgsFlags f;
  ConfigureApp(app,
               "Copy examples for nnet3+chain network training, possibly changing the binary "
               "mode.\nSupports multiple wspecifiers, in which case it will write the examples\n"
               "round-robin to the outputs.\n\n"
               "Usage:  kaldiq nnet3-chain-copy-egs [options] <egs-rspecifier> "
               "<egs-wspecifier1> [<egs-wspecifier2> ...]\n"
               "e.g.   kaldiq nnet3-chain-copy-egs ark:train.cegs ark,t:text.cegs\n"
               "       kaldiq nnet3-chain-copy-egs --frame-shift=1 ark:cegs.1.ark ark:shifted.cegs");
  AddBool(app, "--random", &f.random,
          "If true, will write frames to output archives randomly, not round-robin.");
  app.add_option("--keep-proportion", f.keep_proportion,
                 "If <1.0, this program will randomly keep this proportion of the input "
                 "samples.  If >1.0, it will in expectation copy a sample this many times.")
      ->default_val(1.0);
  app.add_option("--srand", f.srand,
                 "Seed for random number generator (only relevant if --random=true or "
                 "--keep-proportion != 1.0)")
      ->default_val(0);
  app.add_option("--frame-shift", f.frame_shift,
                 "Allows you to shift time values in the supervision data (excluding iVector "
                 "data) - useful in augmenting data.  Note, the outputs will remain at the "
                 "closest exact multiples of the frame subsampling factor")
      ->default_val(0);
  app.add_option("--truncate-deriv-weights", f.truncate_deriv_weights,
                 "If nonzero, the number of initial/final subsample frames that will have their "
                 "derivatives' weights set to zero.")
      ->default_val(0);
  app.add_option("--left-context", f.left_context,
                 "Can be used to truncate the feature left-context that we output.")
      ->default_val(-1);
  app.add_option("--right-context", f.right_context,
                 "Can be used to truncate the feature right-context that we output.")
      ->default_val(-1);
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("in", f.in, "egs rspecifier")->required();
  app.add_option("out", f.outs, "egs wspecifier(s)")->required()->expected(1, -1);
  return RunGuarded("nnet3-chain-copy-egs", app, argc, argv, [&]() { return CopyEgs(f); });
}

}  // namespace kaldiq::cli
