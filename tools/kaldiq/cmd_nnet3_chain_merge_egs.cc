// kaldiq nnet3-chain-merge-egs = Kaldi's nnet3-chain-merge-egs: merges chain egs into
// minibatches by Kaldi's --minibatch-size rules and writes them under the keys
// "merged-<index>-<size>", byte-compatible with Kaldi's merged egs.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/chain_example.h"
#include "kaldi/chain_example_merge.h"
#include "kaldi/table.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {

namespace {

struct MergeEgsFlags {
  std::string minibatch_size = "64";
  bool compress = false;
  bool multilingual_eg = false;
  std::string measure_output_frames = "deprecated";
  std::string discard_partial_minibatches = "deprecated";
  bool quiet = false;
  std::string in, out;
};

int MergeEgs(const MergeEgsFlags& f) {
  const char* prog = "kaldiq nnet3-chain-merge-egs";
  if (f.measure_output_frames != "deprecated")
    std::fprintf(stderr, "WARNING (%s) The --measure-output-frames option is deprecated and will "
                         "be ignored.\n", prog);
  if (f.discard_partial_minibatches != "deprecated")
    std::fprintf(stderr, "WARNING (%s) The --discard-partial-minibatches option is deprecated "
                         "and will be ignored.\n", prog);
  kaldi::MinibatchSizeRules rules(f.minibatch_size);
  kaldi::SequentialTableReader<kaldi::NnetChainExampleHolder> reader(f.in);
  kaldi::TableWriter<kaldi::NnetChainExampleHolder> writer(f.out);
  Progress progress("nnet3-chain-merge-egs", -1, f.quiet);
  int64_t num_written = 0;
  kaldi::ChainExampleMerger merger(rules, [&](std::vector<kaldi::NnetChainExample>&& egs,
                                              std::vector<std::string>&& keys) {
    std::string key = "merged-" + std::to_string(num_written++) + "-" + std::to_string(egs.size());
    kaldi::NnetChainExample merged;
    try {
      merged = kaldi::MergeChainExamples(egs, f.compress);
    } catch (const Error& e) {
      throw e.WithContext("minibatch '" + key + "' (egs '" + keys.front() + "' .. '" +
                          keys.back() + "')");
    }
    if (f.multilingual_eg) {
      // Kaldi: "?lang=" + the first output's name after its first '-'.
      const std::string& name = merged.outputs[0].name;
      key += "?lang=" + name.substr(name.find('-') + 1);
    }
    writer.Write(key, merged);
  });
  for (; !reader.Done(); reader.Next()) {
    merger.Accept(reader.Value(), reader.Key());
    progress.Add();
  }
  merger.Finish();
  reader.Close();
  writer.Close();
  progress.Finish();
  if (!f.quiet) {
    for (const std::string& line : merger.StatsLines())
      std::fprintf(stderr, "LOG (%s) %s\n", prog, line.c_str());
  }
  return num_written > 0 ? 0 : 1;
}

}  // namespace

int RunNnet3ChainMergeEgs(int argc, char** argv) {
  CLI::App app;
  MergeEgsFlags f;
  ConfigureApp(app,
               "This copies nnet3+chain training examples from input to output, merging them\n"
               "into composite examples.  The --minibatch-size option controls how many egs\n"
               "are merged into a single output eg.\n\n"
               "Usage:  kaldiq nnet3-chain-merge-egs [options] <egs-rspecifier> <egs-wspecifier>\n"
               "e.g.   kaldiq nnet3-chain-merge-egs --minibatch-size=128 ark:1.cegs ark:-");
  app.add_option("--minibatch-size", f.minibatch_size,
                 "String controlling the minibatch size.  May be just an integer, meaning a "
                 "fixed minibatch size (e.g. --minibatch-size=128).  May be a list of ranges and "
                 "values, e.g. --minibatch-size=32,64 or --minibatch-size=16:32,64,128.  All "
                 "minibatches will be of the largest size until the end of the input is reached; "
                 "then, increasingly smaller sizes will be allowed.  Only egs with the same "
                 "structure (e.g num-frames) are merged.  You may specify different minibatch "
                 "sizes for different sizes of eg (defined as the maximum number of Indexes on "
                 "any input), in the format --minibatch-size='eg_size1=mb_sizes1/"
                 "eg_size2=mb_sizes2', e.g. --minibatch-size=128=64:128,256/256=32:64,128.  Egs "
                 "are given minibatch-sizes based on the specified eg-size closest to their "
                 "actual size.")
      ->default_val("64");
  AddBool(app, "--compress", &f.compress,
          "If true, compress the output examples (not recommended unless you are writing to "
          "disk)");
  AddBool(app, "--multilingual-eg", &f.multilingual_eg,
          "If true, append ?lang=<language> (the first output's name after '-') to the keys");
  app.add_option("--measure-output-frames", f.measure_output_frames,
                 "This option is deprecated and does nothing.")
      ->default_val("deprecated");
  app.add_option("--discard-partial-minibatches", f.discard_partial_minibatches,
                 "discard-partial-minibatches: This option is deprecated and does nothing.")
      ->default_val("deprecated");
  AddBool(app, "--quiet", &f.quiet, "No progress or summary on stderr");
  app.add_option("in", f.in, "egs rspecifier")->required();
  app.add_option("out", f.out, "egs wspecifier")->required();
  return RunGuarded("nnet3-chain-merge-egs", app, argc, argv, [&]() { return MergeEgs(f); });
}

}  // namespace kaldiq::cli
