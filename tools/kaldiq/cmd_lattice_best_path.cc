// kaldiq lattice-best-path = Kaldi's lattice-best-path: scales each lattice (--acoustic-scale,
// --lm-scale), takes its best path, writes the word sequence and the transition-id alignment.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/lattice_io.h"
#include "kaldi/table.h"
#include "lat/lattice_ops.h"
#include "util/error.h"
#include "util/progress.h"

namespace kaldiq::cli {
namespace {

struct Flags {
  float acoustic_scale = 1.0F;
  float lm_scale = 1.0F;
  std::string word_symbol_table;
  bool quiet = false;
  std::vector<std::string> args;
};

std::unordered_map<int32_t, std::string> ReadSymbolTable(const std::string& path) {
  std::ifstream f(path);
  KQ_CHECK(f.good(), kIo) << "cannot open word symbol table '" << path << "'";
  std::unordered_map<int32_t, std::string> syms;
  std::string word;
  long long id = 0;
  int64_t line = 0;
  while (f >> word) {
    ++line;
    KQ_CHECK(static_cast<bool>(f >> id), kFormat)
        << "word symbol table '" << path << "': bad line " << line;
    syms[static_cast<int32_t>(id)] = word;
  }
  return syms;
}

int Run(const Flags& fl) {
  using lat::CompactLattice;
  const std::string lat_rspec = fl.args[0];
  const std::string words_wspec = fl.args.size() > 1 ? fl.args[1] : "";
  const std::string ali_wspec = fl.args.size() > 2 ? fl.args[2] : "";
  std::unordered_map<int32_t, std::string> syms;
  if (!fl.word_symbol_table.empty()) syms = ReadSymbolTable(fl.word_symbol_table);

  kaldi::SequentialTableReader<kaldi::CompactLatticeHolder> reader(lat_rspec);
  kaldi::Int32VectorWriter words_writer, ali_writer;
  if (!words_wspec.empty()) words_writer.Open(words_wspec);
  if (!ali_wspec.empty()) ali_writer.Open(ali_wspec);
  const lat::LatticeScaleMatrix scale = lat::LatticeScale(fl.lm_scale, fl.acoustic_scale);

  Progress progress("lattice-best-path", -1, fl.quiet);
  int64_t n_done = 0, n_fail = 0, n_frame = 0;
  lat::LatticeWeight tot_weight = lat::LatticeWeight::One();
  for (; !reader.Done(); reader.Next()) {
    const std::string key = reader.Key();
    CompactLattice& clat = reader.Value();
    lat::ScaleLattice(scale, &clat);
    const lat::BestPath bp = lat::LatticeBestPath(clat);
    progress.Add();
    if (!bp.ok) {
      std::fprintf(stderr, "kaldiq lattice-best-path: warning: best-path failed for key %s\n",
                   key.c_str());
      ++n_fail;
      continue;
    }
    if (!words_wspec.empty()) words_writer.Write(key, bp.words);
    if (!ali_wspec.empty()) ali_writer.Write(key, bp.alignment);
    if (!syms.empty()) {
      std::string line = key + ' ';
      for (int32_t w : bp.words) {
        auto it = syms.find(w);
        KQ_CHECK(it != syms.end(), kFormat)
            << "word-id " << w << " (utterance '" << key << "') not in the symbol table";
        line += it->second + ' ';
      }
      std::cerr << line << '\n';
    }
    ++n_done;
    n_frame += static_cast<int64_t>(bp.alignment.size());
    tot_weight = lat::Times(tot_weight, bp.weight);
  }
  progress.Finish();
  if (!words_wspec.empty()) words_writer.Close();
  if (!ali_wspec.empty()) ali_writer.Close();
  if (!fl.quiet) {
    const double nf = static_cast<double>(n_frame);
    std::fprintf(stderr,
                 "kaldiq lattice-best-path: Overall cost per frame is %g = %g [graph] + %g "
                 "[acoustic] over %lld frames.\n",
                 (tot_weight.Value1() + tot_weight.Value2()) / nf, tot_weight.Value1() / nf,
                 tot_weight.Value2() / nf, static_cast<long long>(n_frame));
    std::fprintf(stderr, "kaldiq lattice-best-path: Done %lld lattices, failed for %lld\n",
                 static_cast<long long>(n_done), static_cast<long long>(n_fail));
  }
  return n_done != 0 ? 0 : 1;
}

}  // namespace

int RunLatticeBestPath(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app,
               "Generate 1-best path through lattices; output as transcriptions and alignments "
               "(Kaldi's lattice-best-path).\n"
               "Usage: kaldiq lattice-best-path [options] <lattice-rspecifier> "
               "[<transcriptions-wspecifier> [<alignments-wspecifier>]]\n"
               " e.g.: kaldiq lattice-best-path --acoustic-scale=0.1 ark:1.lats ark,t:1.tra "
               "ark:1.ali");
  Flags fl;
  app.add_option("--acoustic-scale", fl.acoustic_scale, "Scaling factor for acoustic likelihoods")
      ->capture_default_str();
  app.add_option("--lm-scale", fl.lm_scale, "Scaling factor for LM probabilities")
      ->capture_default_str();
  app.add_option("--word-symbol-table", fl.word_symbol_table,
                 "Symbol table for words (prints each utterance's words to stderr)");
  // add_flag (not AddBool): accepts --quiet, --quiet=true/false and never eats a positional.
  app.add_flag("--quiet", fl.quiet, "No progress or summary on stderr");
  app.add_option("args", fl.args,
                 "<lattice-rspecifier> [<transcriptions-wspecifier> [<alignments-wspecifier>]]")
      ->required()
      ->expected(1, 3);
  return RunGuarded("lattice-best-path", app, argc, argv, [&]() { return Run(fl); });
}

}  // namespace kaldiq::cli
