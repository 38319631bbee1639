// kaldiq wer: Kaldi's compute-wer (same arguments, options and byte-identical output), plus
// per-utterance alignments, a per-speaker table and a paired significance test against a
// second hypothesis set.
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "kaldi/kaldi_stream.h"
#include "score/significance.h"
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

const char kUsage[] =
    "Compute WER by comparing different transcriptions (like Kaldi's compute-wer).\n"
    "Takes two transcription tables, in integer or text format, and prints the overall\n"
    "WER statistics exactly as compute-wer does; the optional third argument receives\n"
    "compute-wer's detailed statistics (correct / substitution / insertion / deletion lines).\n"
    "\n"
    "Usage: kaldiq wer [options] <ref-rspecifier> <hyp-rspecifier> [<stats-out>]\n"
    "E.g.:  kaldiq wer --text --mode=present ark:data/test/text ark:hyp.txt\n"
    "\n"
    "Beyond compute-wer (printed after its three lines, which stay first):\n"
    "  --print-utt-alignment   per-utterance ref/hyp/op/#csid blocks like align-text |\n"
    "                          wer_per_utt_details.pl (\"***\" marks the empty side)\n"
    "  --utt2spk=<rspecifier>  per-speaker table of the scored utterances (raw counts and %)\n"
    "  --compare-hyp=<rspec>   second system B (hyp-rspecifier is A): its WER lines, then a\n"
    "                          matched-pairs test (MAPSSWE over utterances) and a paired\n"
    "                          bootstrap (Bisani & Ney): p-values and 95% confidence intervals\n"
    "                          of WER(B) - WER(A). Utterances are those scored for both systems\n"
    "                          (--mode applies to each); deterministic given --seed.\n";

// compute-wer's detailed stats line for one alignment column; a deletion prints the (empty)
// hypothesis side as Kaldi does, which is "" in text mode and "-1" (its epsilon) for integers.
void PrintAlignmentStats(const std::vector<std::string>& ref, const std::vector<std::string>& hyp,
                         bool text, std::ostream& os) {
  for (const auto& p : score::LevenshteinAlign(ref, hyp)) {
    if (!p.has_ref) {
      os << "insertion " << p.hyp << '\n';
    } else if (!p.has_hyp) {
      os << "deletion " << (text ? "" : "-1") << '\n';
    } else if (p.ref != p.hyp) {
      os << "substitution " << p.ref << ' ' << p.hyp << '\n';
    } else {
      os << "correct " << p.ref << '\n';
    }
  }
}

}  // namespace

int RunWer(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app, kUsage);
  std::string mode = "strict";
  bool text = false;
  bool print_alignment = false;
  std::string utt2spk, compare_hyp, symbol_table;
  int32_t replications = 10000;
  uint64_t seed = 0;
  std::vector<std::string> args;
  app.add_option("--mode", mode,
                 "Scoring mode: \"present\" scores only utterances with a hypothesis; \"all\" "
                 "treats absent hypotheses as empty; \"strict\" fails if one is absent")
      ->capture_default_str();
  AddFlag(app, "--text", &text, "Expect strings, not integers, as input");
  AddFlag(app, "--print-utt-alignment", &print_alignment,
          "Print per-utterance alignments (ref/hyp/op/#csid) after the WER lines");
  app.add_option("--utt2spk", utt2spk, "Print a per-speaker table using this utt2spk rspecifier");
  app.add_option("--word-symbol-table", symbol_table,
                 "Integer input: map ids to words with this words.txt (unknown ids are errors). "
                 "Text input: warn about reference words missing from it");
  app.add_option("--compare-hyp", compare_hyp,
                 "Hypotheses of a second system B for a paired significance test against A");
  app.add_option("--bootstrap-replications", replications,
                 "Bootstrap replications for --compare-hyp")
      ->capture_default_str();
  app.add_option("--seed", seed, "Random seed of the bootstrap")->capture_default_str();
  app.add_option("args", args, "<ref-rspecifier> <hyp-rspecifier> [<stats-out>]")
      ->expected(2, 3)
      ->required();
  bool quiet = false;
  AddFlag(app, "--quiet", &quiet, "Accepted for uniformity; wer prints no progress");

  return RunGuarded("wer", app, argc, argv, [&]() -> int {
    const score::ScoringMode scoring_mode = score::ParseScoringMode(mode);
    std::unique_ptr<fst::SymbolTable> symbols;
    if (!symbol_table.empty()) symbols = score::ReadSymbolTable(symbol_table);

    score::TranscriptOptions ref_opts;
    ref_opts.text = text;
    ref_opts.symbols = text ? nullptr : symbols.get();
    ref_opts.role = "reference";
    score::TranscriptOptions hyp_opts = ref_opts;
    hyp_opts.role = "hypothesis";

    const score::Transcripts refs = score::ReadTranscripts(args[0], ref_opts);
    const score::TranscriptMap hyps =
        score::ToMap(score::ReadTranscripts(args[1], hyp_opts), args[1]);
    if (text && symbols) {
      std::string example;
      const int64_t unknown = score::CountUnknownWords(refs, *symbols, &example);
      if (unknown > 0) {
        std::fprintf(stderr,
                     "kaldiq wer: warning: %lld reference words are not in %s (first: %s); they "
                     "are scored as errors\n",
                     static_cast<long long>(unknown), symbol_table.c_str(), example.c_str());
      }
    }

    score::WerStats stats;
    const auto results = score::ScoreTranscripts(refs, hyps, scoring_mode, &stats);

    // Everything is computed before anything is printed, so an error prints no partial report.
    std::string extra;
    if (args.size() == 3) {
      kaldi::Output out(args[2], false, false);
      for (const auto& [key, ref] : refs) {
        auto it = hyps.find(key);
        if (it == hyps.end() && scoring_mode == score::ScoringMode::kPresent) continue;
        static const std::vector<std::string> kEmpty;
        PrintAlignmentStats(ref, it == hyps.end() ? kEmpty : it->second, text, out.Stream());
      }
      out.Commit();
    }
    if (print_alignment) {
      for (const auto& [key, ref] : refs) {
        auto it = hyps.find(key);
        if (it == hyps.end() && scoring_mode == score::ScoringMode::kPresent) continue;
        extra += score::FormatUttAlignment(
            key, ref, it == hyps.end() ? std::vector<std::string>() : it->second);
      }
    }
    if (!utt2spk.empty()) extra += score::FormatSpeakerTable(results, score::ReadUtt2Spk(utt2spk));
    if (!compare_hyp.empty()) {
      const score::TranscriptMap hyps_b =
          score::ToMap(score::ReadTranscripts(compare_hyp, hyp_opts), compare_hyp);
      score::WerStats stats_b;
      const auto results_b = score::ScoreTranscripts(refs, hyps_b, scoring_mode, &stats_b);
      // Pair up the utterances scored for both systems (present mode may drop different ones).
      std::map<std::string, const score::UttResult*> by_key;
      for (const auto& r : results_b) by_key[r.key] = &r;
      std::vector<score::PairedUtt> paired;
      for (const auto& r : results) {
        auto it = by_key.find(r.key);
        if (it == by_key.end()) continue;
        paired.push_back({r.counts.errors, it->second->counts.errors, r.ref_words});
      }
      extra += "System B (" + compare_hyp + "):\n" + score::FormatWerReport(stats_b);
      extra +=
          score::FormatSignificance(args[1], compare_hyp, paired, score::MatchedPairsTest(paired),
                                    score::PairedBootstrap(paired, replications, seed));
    }
    std::cout << score::FormatWerReport(stats) << extra;
    std::cout.flush();
    return 0;
  });
}

}  // namespace kaldiq::cli
