// kaldiq score: Kaldi's steps/score_kaldi.sh in one process (LM-weight x word-insertion-penalty
// sweep over a decode directory's lattices), plus an optional paired significance test against
// a second decode directory.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "score/significance.h"
#include "score/sweep.h"
#include "score/transcripts.h"
#include "score/wer.h"
#include "util/error.h"

namespace kaldiq::cli {

namespace {

// Kaldi-style boolean: --x, --x=true|false (also 1/0). A CLI11 flag never consumes the next
// argument, so `kaldiq wer --text ark:ref ark:hyp` works as it does with compute-wer.
void AddFlag(CLI::App& app, const std::string& name, bool* value, const std::string& help) {
  app.add_flag(name, *value, help + std::string(" (default: ") + (*value ? "true" : "false") + ")");
}

namespace fs = std::filesystem;

const char kUsage[] =
    "Score a decode directory like Kaldi's steps/score_kaldi.sh: for every word insertion\n"
    "penalty WIP and LM weight LMWT, lattice-scale --inv-acoustic-scale=LMWT |\n"
    "lattice-add-penalty --word-ins-penalty=WIP | lattice-best-path | int2sym.pl, then\n"
    "compute-wer --text --mode=present against the reference. Writes, as Kaldi does,\n"
    "<decode-dir>/wer_<LMWT>_<WIP>, <decode-dir>/scoring_kaldi/{best_wer,test_filt.txt,\n"
    "penalty_<WIP>/<LMWT>.txt, wer_details/{lmwt,wip,per_utt}} and prints the best_wer line.\n"
    "\n"
    "Usage: kaldiq score [options] <data-dir|text> <lang-dir|words.txt> <decode-dir>\n"
    "E.g.:  kaldiq score --num-threads=2 data/test data/lang exp/chain/tdnn/decode_test\n"
    "\n"
    "Lattices: <decode-dir>/lat.*.gz (read through \"gunzip -c ... |\"), else "
    "<decode-dir>/lat.ark,\n"
    "or any rspecifier given with --lattices.\n"
    "--post-decode-acwt: chain models decode with --acoustic-scale=1.0 and the recipe then scales\n"
    "  the stored lattices by 10 (lattice-scale --acoustic-scale=10); give 10 here when scoring\n"
    "  such unscaled lattices (applied first, as its own lattice-scale pass).\n"
    "--compare=<decode-dir-B>: also sweep B's lattices (same options) and run a paired\n"
    "  significance test (matched pairs / MAPSSWE over utterances, and a paired bootstrap with\n"
    "  --seed) between this directory (A) and B, each at its own best (LMWT, WIP); prints "
    "p-values\n"
    "  and 95% confidence intervals of WER(B) - WER(A). B's scoring files are written too.\n";

// <decode-dir>/lat.N.gz in job order (N numeric), else lat.ark.
std::vector<std::string> FindLattices(const std::string& decode_dir) {
  std::vector<std::pair<long, std::string>> gz;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(decode_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 7 && name.compare(0, 4, "lat.") == 0 &&
        name.compare(name.size() - 3, 3, ".gz") == 0) {
      const std::string mid = name.substr(4, name.size() - 7);
      char* end = nullptr;
      const long n = std::strtol(mid.c_str(), &end, 10);
      if (!mid.empty() && *end == '\0') gz.emplace_back(n, entry.path().string());
    }
  }
  KQ_CHECK(!ec, kIo) << "cannot list decode directory " << decode_dir << ": " << ec.message();
  std::sort(gz.begin(), gz.end());
  std::vector<std::string> rspecs;
  for (const auto& [n, path] : gz) rspecs.push_back("ark:gunzip -c " + path + " |");
  if (rspecs.empty() && fs::exists(decode_dir + "/lat.ark")) {
    rspecs.push_back("ark:" + decode_dir + "/lat.ark");
  }
  KQ_CHECK(!rspecs.empty(), kIo) << "no lattices in " << decode_dir
                                 << " (looked for lat.*.gz and lat.ark; see --lattices)";
  return rspecs;
}

struct SystemResult {
  std::vector<score::ScoredPoint> points;
  size_t best = 0;
};

SystemResult ScoreDir(const std::string& decode_dir, const std::vector<std::string>& lattices,
                      const score::SweepConfig& config, const score::Transcripts& refs,
                      const fst::SymbolTable& symbols) {
  const score::SweepHyps hyps = score::SweepLattices(lattices, config);
  if (hyps.num_failed > 0) {
    std::fprintf(stderr,
                 "kaldiq score: warning: %s: no best path for %lld (utterance, LMWT, WIP) "
                 "combinations; those utterances are not scored there (lattice-best-path fails "
                 "the same way)\n",
                 decode_dir.c_str(), static_cast<long long>(hyps.num_failed));
  }
  SystemResult r;
  r.points = score::ScoreSweep(hyps, refs, symbols);
  r.best = score::BestPointIndex(r.points);
  score::WriteScoringDir(decode_dir, refs, r.points, r.best);
  return r;
}

}  // namespace

int RunScore(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app, kUsage);
  int32_t min_lmwt = 7, max_lmwt = 17;
  std::string word_ins_penalty = "0.0,0.5,1.0";
  float post_decode_acwt = 1.0f;
  int num_threads = 1;
  std::string lattices, compare;
  int32_t replications = 10000;
  uint64_t seed = 0;
  bool quiet = false;
  std::vector<std::string> args;
  app.add_option("--min-lmwt", min_lmwt, "Minimum LM weight")->capture_default_str();
  app.add_option("--max-lmwt", max_lmwt, "Maximum LM weight")->capture_default_str();
  app.add_option("--word-ins-penalty", word_ins_penalty, "Comma-separated word insertion penalties")
      ->capture_default_str();
  app.add_option("--post-decode-acwt", post_decode_acwt,
                 "Acoustic scale applied to the lattices before the sweep (10 for chain "
                 "lattices written with --acoustic-scale=1.0)")
      ->capture_default_str();
  app.add_option("--num-threads", num_threads,
                 "Threads for the best paths (output identical for any value)")
      ->capture_default_str();
  app.add_option("--lattices", lattices,
                 "Lattice rspecifier instead of <decode-dir>/lat.*.gz or lat.ark");
  app.add_option("--compare", compare,
                 "Second decode directory B for a paired significance test against this one");
  app.add_option("--bootstrap-replications", replications, "Bootstrap replications for --compare")
      ->capture_default_str();
  app.add_option("--seed", seed, "Random seed of the bootstrap")->capture_default_str();
  AddFlag(app, "--quiet", &quiet, "No progress on stderr");
  app.add_option("args", args, "<data-dir|text> <lang-dir|words.txt> <decode-dir>")
      ->expected(3)
      ->required();

  return RunGuarded("score", app, argc, argv, [&]() -> int {
    KQ_CHECK(min_lmwt >= 1 && max_lmwt >= min_lmwt, kInvalidArgument)
        << "need 1 <= --min-lmwt <= --max-lmwt, got " << min_lmwt << ".." << max_lmwt;
    KQ_CHECK(num_threads >= 1, kInvalidArgument) << "--num-threads must be >= 1";
    const std::string& data = args[0];
    const std::string& lang = args[1];
    std::string decode_dir = args[2];
    KQ_CHECK(fs::is_directory(decode_dir), kIo)
        << "decode directory " << decode_dir << " does not exist";
    const std::string text = fs::is_directory(data) ? data + "/text" : data;
    const std::string words = fs::is_directory(lang) ? lang + "/words.txt" : lang;

    score::SweepConfig config;
    for (int32_t l = min_lmwt; l <= max_lmwt; ++l) config.lmwts.push_back(l);
    config.wips = score::ParsePenaltyList(word_ins_penalty);
    config.post_decode_acwt = post_decode_acwt;
    config.num_threads = num_threads;
    config.quiet = quiet;

    const auto symbols = score::ReadSymbolTable(words);
    score::TranscriptOptions ref_opts;
    ref_opts.text = true;
    const score::Transcripts refs = score::ReadTranscripts("ark:" + text, ref_opts);
    std::string unknown_example;
    const int64_t unknown = score::CountUnknownWords(refs, *symbols, &unknown_example);
    if (unknown > 0) {
      std::fprintf(stderr,
                   "kaldiq score: warning: %lld reference words are not in %s (first: %s); they "
                   "are scored as errors\n",
                   static_cast<long long>(unknown), words.c_str(), unknown_example.c_str());
    }

    const std::vector<std::string> lat_a =
        lattices.empty() ? FindLattices(decode_dir) : std::vector<std::string>{lattices};
    const SystemResult a = ScoreDir(decode_dir, lat_a, config, refs, *symbols);
    std::string report = score::BestWerLine(a.points[a.best], decode_dir) + "\n";
    if (!compare.empty()) {
      KQ_CHECK(fs::is_directory(compare), kIo) << "--compare: " << compare << " is not a directory";
      const SystemResult b = ScoreDir(compare, FindLattices(compare), config, refs, *symbols);
      report += score::BestWerLine(b.points[b.best], compare) + "\n";
      std::map<std::string, const score::UttResult*> by_key;
      for (const auto& r : b.points[b.best].results) by_key[r.key] = &r;
      std::vector<score::PairedUtt> paired;
      for (const auto& r : a.points[a.best].results) {
        auto it = by_key.find(r.key);
        if (it != by_key.end())
          paired.push_back({r.counts.errors, it->second->counts.errors, r.ref_words});
      }
      const auto& pa = a.points[a.best].point;
      const auto& pb = b.points[b.best].point;
      report += score::FormatSignificance(
          decode_dir + " (LMWT " + std::to_string(pa.lmwt) + ", WIP " + pa.wip + ")",
          compare + " (LMWT " + std::to_string(pb.lmwt) + ", WIP " + pb.wip + ")", paired,
          score::MatchedPairsTest(paired), score::PairedBootstrap(paired, replications, seed));
    }
    std::cout << report;
    std::cout.flush();
    return 0;
  });
}

}  // namespace kaldiq::cli
