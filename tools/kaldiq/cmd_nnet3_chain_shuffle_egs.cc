// kaldiq nnet3-chain-shuffle-egs = Kaldi's nnet3-chain-shuffle-egs. With --buffer-size=B
// (train.py uses 5000) each eg lands in slot RandInt(0, B-1) of a buffer and evicts what was
// there, exactly as Kaldi does with the same --srand on Linux. Without a buffer the whole
// input is shuffled; Kaldi seeds that shuffle from std::random_device (not reproducible), we
// use a Fisher-Yates shuffle driven by --srand, so the order is fixed for a given seed.
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/chain_example.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/kaldi_rand.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct ShuffleEgsFlags {
  int32_t srand = 0;
  int32_t buffer_size = 0;
  bool quiet = false;
  std::string in, out;
};

int ShuffleEgs(const ShuffleEgsFlags& f) {
  KQ_CHECK(f.buffer_size >= 0, kInvalidArgument)
      << "--buffer-size must be >= 0, got " << f.buffer_size;
  KaldiRand rng(static_cast<uint32_t>(f.srand));
  kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> reader(f.in);
  kaldi::TableWriter<kaldi::NnetChainExampleHolder> writer(f.out);
  Progress progress("nnet3-chain-shuffle-egs", -1, f.quiet);
  using Entry = std::optional<std::pair<std::string, kaldi::NnetChainExample>>;
  std::vector<Entry> egs;
  int64_t num_done = 0;
  if (f.buffer_size == 0) {
    for (; !reader.Done(); reader.Next()) {
      egs.emplace_back(std::make_pair(reader.Key(), reader.Value()));
      progress.Add();
    }
    // std::random_shuffle's loop (libstdc++) on our generator.
    for (size_t i = 1; i < egs.size(); ++i) {
      const size_t j = static_cast<size_t>(rng.Rand()) % (i + 1);
      if (i != j) std::swap(egs[i], egs[j]);
    }
  } else {
    egs.resize(static_cast<size_t>(f.buffer_size));
    for (; !reader.Done(); reader.Next()) {
      Entry& slot = egs[static_cast<size_t>(rng.RandInt(0, f.buffer_size - 1))];
      if (slot) {
        writer.Write(slot->first, slot->second);
        ++num_done;
      }
      slot.emplace(reader.Key(), reader.Value());
      progress.Add();
    }
  }
  for (Entry& e : egs) {
    if (!e) continue;
    writer.Write(e->first, e->second);
    ++num_done;
  }
  reader.Close();
  writer.Close();
  progress.Finish();
  if (!f.quiet) {
    std::fprintf(stderr,
                 "LOG (kaldiq nnet3-chain-shuffle-egs) Shuffled order of %lld neural-network "
                 "training examples %s\n",
                 static_cast<long long>(num_done),
                 f.buffer_size ? "using a buffer (partial randomization)" : "");
  }
  return num_done == 0 ? 1 : 0;
}

}  // namespace

int RunNnet3ChainShuffleEgs(int argc, char** argv) {
  CLI::App app;
  ShuffleEgsFlags f;
  ConfigureApp(app,
               "Copy nnet3+chain examples for neural network training, from the input to "
               "output,\nwhile randomly shuffling the order.  This program will keep all of the "
               "examples\nin memory at once, unless you use the --buffer-size option\n\n"
               "Usage:  kaldiq nnet3-chain-shuffle-egs [options] <egs-rspecifier> "
               "<egs-wspecifier>\n"
               "e.g.   kaldiq nnet3-chain-shuffle-egs --srand=1 ark:train.egs ark:shuffled.egs");
  app.add_option("--srand", f.srand, "Seed for random number generator ")->default_val(0);
  app.add_option("--buffer-size", f.buffer_size,
                 "If >0, size of a buffer we use to do limited-memory partial randomization.  "
                 "Otherwise, do full randomization.")
      ->default_val(0);
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("in", f.in, "egs rspecifier")->required();
  app.add_option("out", f.out, "egs wspecifier")->required();
  return RunGuarded("nnet3-chain-shuffle-egs", app, argc, argv, [&]() { return ShuffleEgs(f); });
}

}  // namespace kaldiq::cli
