#include "score/sweep.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "kaldi/kaldi_stream.h"
#include "kaldi/lattice_io.h"
#include "kaldi/table.h"
#include "lat/lattice_ops.h"
#include "score/transcripts.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/thread_pool.h"

namespace kaldiq::score {

namespace {

float ParseFloatStrict(const std::string& s, const std::string& what) {
  const char* begin = s.c_str();
  char* end = nullptr;
  const float v = std::strtof(begin, &end);
  KQ_CHECK(!s.empty() && end == begin + s.size() && std::isfinite(v), kInvalidArgument)
      << what << ": expected a number, got '" << s << "'";
  return v;
}

// Kaldi's ParseOptions::Escape (bash quoting of a printed command-line argument).
std::string Escape(const std::string& s) {
  static const char kOk[] = "[]~#^_-+=:.,/";
  bool must_quote = s.empty();
  for (unsigned char c : s) {
    if (!std::isalnum(c) && std::strchr(kOk, c) == nullptr) must_quote = true;
  }
  if (!must_quote) return s;
  const bool use_double =
      s.find('\'') != std::string::npos && s.find_first_of("\"`$\\") == std::string::npos;
  const char q = use_double ? '"' : '\'';
  std::string out(1, q);
  for (char c : s) {
    if (!use_double && c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += q;
  return out;
}

void WriteFile(const std::string& path, const std::string& content) {
  kaldi::Output out(path, false, false);
  out.Stream() << content;
  out.Commit();
}

// Percent WER as best_wer.sh compares it: the printed number, read back.
double PrintedWer(const WerStats& s) {
  return std::strtod(FormatPercent(s.word_errs, s.num_words).c_str(), nullptr);
}

}  // namespace

std::vector<SweepPoint> SweepPoints(const SweepConfig& config) {
  std::vector<SweepPoint> points;
  for (const auto& wip : config.wips) {
    for (int32_t lmwt : config.lmwts) points.push_back({lmwt, wip});
  }
  return points;
}

std::vector<std::string> ParsePenaltyList(const std::string& list) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream is(list);
  while (std::getline(is, item, ',')) {
    ParseFloatStrict(item, "--word-ins-penalty");
    out.push_back(item);
  }
  KQ_CHECK(!out.empty(), kInvalidArgument) << "--word-ins-penalty: empty list";
  return out;
}

SweepHyps SweepLattices(const std::vector<std::string>& lattice_rspecifiers,
                        const SweepConfig& config) {
  KQ_CHECK(!config.lmwts.empty() && !config.wips.empty(), kInvalidArgument)
      << "the sweep needs at least one LM weight and one word insertion penalty";
  KQ_CHECK(config.post_decode_acwt > 0, kInvalidArgument)
      << "--post-decode-acwt must be positive, got " << config.post_decode_acwt;
  for (int32_t lmwt : config.lmwts) {
    KQ_CHECK(lmwt > 0, kInvalidArgument) << "LM weights must be positive, got " << lmwt;
  }
  SweepHyps out;
  out.points = SweepPoints(config);
  const size_t num_points = out.points.size();
  std::vector<float> penalties(num_points);
  std::vector<lat::LatticeScaleMatrix> scales(num_points);
  for (size_t p = 0; p < num_points; ++p) {
    penalties[p] = ParseFloatStrict(out.points[p].wip, "--word-ins-penalty");
    // lattice-scale --inv-acoustic-scale=LMWT: Kaldi keeps 1/LMWT in a float (BaseFloat)
    // before widening it into the double scale matrix, so round it the same way.
    const float acoustic_scale = static_cast<float>(1.0 / out.points[p].lmwt);
    scales[p] = lat::LatticeScaleFromOptions(acoustic_scale, 1.0, 1.0);
  }
  const lat::LatticeScaleMatrix post_scale =
      lat::LatticeScaleFromOptions(config.post_decode_acwt, 1.0, 1.0);
  out.words.resize(num_points);

  const int threads = std::max(1, config.num_threads);
  const size_t batch_size = 16 * static_cast<size_t>(threads);
  Progress progress("score", -1, config.quiet);
  std::vector<std::string> batch_keys;
  std::vector<lat::CompactLattice> batch;
  auto flush = [&]() {
    if (batch.empty()) return;
    if (config.post_decode_acwt != 1.0f) {
      ParallelFor(static_cast<int64_t>(batch.size()), threads,
                  [&](int64_t u, int) { lat::ScaleLattice(post_scale, &batch[u]); });
    }
    std::vector<lat::BestPath> best(batch.size() * num_points);
    ParallelFor(static_cast<int64_t>(best.size()), threads, [&](int64_t i, int) {
      const size_t u = static_cast<size_t>(i) / num_points, p = static_cast<size_t>(i) % num_points;
      lat::CompactLattice clat = batch[u];
      lat::ScaleLattice(scales[p], &clat);
      if (penalties[p] != 0.0f) lat::AddWordInsPenalty(penalties[p], &clat);
      best[static_cast<size_t>(i)] = lat::LatticeBestPath(clat);
    });
    for (size_t u = 0; u < batch.size(); ++u) {
      out.keys.push_back(batch_keys[u]);
      for (size_t p = 0; p < num_points; ++p) {
        lat::BestPath& b = best[u * num_points + p];
        if (b.ok) {
          out.words[p].emplace_back(std::move(b.words));
        } else {
          out.words[p].emplace_back(std::nullopt);
          out.num_failed++;
        }
      }
    }
    progress.Add(static_cast<int64_t>(batch.size()));
    batch.clear();
    batch_keys.clear();
  };
  for (const auto& rspec : lattice_rspecifiers) {
    kaldi::SequentialTableReader<kaldi::CompactLatticeHolder> reader;
    reader.Open(rspec);
    for (; !reader.Done(); reader.Next()) {
      batch_keys.push_back(reader.Key());
      batch.push_back(reader.Value());
      if (batch.size() >= batch_size) flush();
    }
    reader.Close();
  }
  flush();
  progress.Finish();
  return out;
}

std::vector<ScoredPoint> ScoreSweep(const SweepHyps& hyps, const Transcripts& refs,
                                    const fst::SymbolTable& symbols) {
  std::vector<ScoredPoint> out(hyps.points.size());
  for (size_t p = 0; p < hyps.points.size(); ++p) {
    ScoredPoint& sp = out[p];
    sp.point = hyps.points[p];
    for (size_t u = 0; u < hyps.keys.size(); ++u) {
      const auto& ids = hyps.words[p][u];
      if (!ids) continue;  // lattice-best-path wrote nothing for this key
      std::vector<std::string> words;
      words.reserve(ids->size());
      for (int32_t id : *ids) {
        std::string w = symbols.Find(static_cast<int64_t>(id));
        KQ_CHECK(!w.empty(), kInvalidArgument)
            << "utterance " << hyps.keys[u] << ": word id " << id
            << " of the best path is not in the symbol table " << symbols.Name();
        words.push_back(std::move(w));
      }
      sp.hyps.emplace_back(hyps.keys[u], std::move(words));
    }
    sp.results =
        ScoreTranscripts(refs, ToMap(sp.hyps, "lattices"), ScoringMode::kPresent, &sp.stats);
  }
  return out;
}

size_t BestPointIndex(const std::vector<ScoredPoint>& points) {
  KQ_CHECK(!points.empty(), kInvalidArgument) << "no sweep points";
  size_t best = 0;
  double best_wer = PrintedWer(points[0].stats);
  for (size_t i = 1; i < points.size(); ++i) {
    const double w = PrintedWer(points[i].stats);
    if (best_wer > w) {
      best = i;
      best_wer = w;
    }
  }
  return best;
}

std::string BestWerLine(const ScoredPoint& p, const std::string& decode_dir) {
  // best_wer.sh moves grep's "file:" prefix to the end, squeezes whitespace and drops the ':'.
  std::string line = FormatWerLine(p.stats) + " " + decode_dir + "/wer_" +
                     std::to_string(p.point.lmwt) + "_" + p.point.wip;
  std::string squeezed;
  for (char c : line) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && !squeezed.empty() && squeezed.back() == ' ') continue;
    squeezed += space ? ' ' : c;
  }
  return squeezed;
}

namespace {

// The hypothesis file as utils/int2sym.pl writes it: words joined by single spaces.
std::string FormatTranscripts(const Transcripts& t) {
  std::string s;
  for (const auto& [key, words] : t) {
    s += key;
    for (const auto& w : words) s += " " + w;
    s += '\n';
  }
  return s;
}

}  // namespace

void WriteScoringDir(const std::string& decode_dir, const Transcripts& refs,
                     const std::vector<ScoredPoint>& points, size_t best) {
  namespace fs = std::filesystem;
  KQ_CHECK(best < points.size(), kInternal) << "best point index out of range";
  const std::string scoring = decode_dir + "/scoring_kaldi";
  std::error_code ec;
  fs::create_directories(scoring + "/wer_details", ec);
  KQ_CHECK(!ec, kIo) << "cannot create " << scoring << "/wer_details: " << ec.message();
  const std::string test_filt = scoring + "/test_filt.txt";
  WriteFile(test_filt, FormatTranscripts(refs));
  const std::string command_line = "compute-wer --text --mode=present " +
                                   Escape("ark:" + test_filt) + " " + Escape("ark,p:-") + " \n";
  for (const auto& p : points) {
    const std::string penalty_dir = scoring + "/penalty_" + p.point.wip;
    fs::create_directories(penalty_dir, ec);
    KQ_CHECK(!ec, kIo) << "cannot create " << penalty_dir << ": " << ec.message();
    WriteFile(penalty_dir + "/" + std::to_string(p.point.lmwt) + ".txt", FormatTranscripts(p.hyps));
    WriteFile(decode_dir + "/wer_" + std::to_string(p.point.lmwt) + "_" + p.point.wip,
              command_line + FormatWerReport(p.stats));
  }
  const ScoredPoint& b = points[best];
  WriteFile(scoring + "/best_wer", BestWerLine(b, decode_dir) + "\n");
  WriteFile(scoring + "/wer_details/lmwt", std::to_string(b.point.lmwt) + "\n");
  WriteFile(scoring + "/wer_details/wip", b.point.wip + "\n");
  std::string per_utt;
  const TranscriptMap hyp_map = ToMap(b.hyps, "lattices");
  for (const auto& [key, ref] : refs) {
    auto it = hyp_map.find(key);
    if (it == hyp_map.end()) continue;  // align-text skips keys without a hypothesis
    per_utt += FormatUttAlignment(key, ref, it->second);
  }
  WriteFile(scoring + "/wer_details/per_utt", per_utt);
}

}  // namespace kaldiq::score
