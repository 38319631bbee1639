#include "score/wer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "util/error.h"

namespace kaldiq::score {

ScoringMode ParseScoringMode(const std::string& mode) {
  if (mode == "present") return ScoringMode::kPresent;
  if (mode == "all") return ScoringMode::kAll;
  if (mode == "strict") return ScoringMode::kStrict;
  KQ_THROW(kInvalidArgument)
      << "--mode option invalid: expected \"present\"|\"all\"|\"strict\", got " << mode;
}

void WerStats::Add(const EditCounts& counts, int64_t ref_words, bool sentence_error) {
  num_words += ref_words;
  word_errs += counts.errors;
  num_ins += counts.ins;
  num_del += counts.del;
  num_sub += counts.sub;
  num_sent++;
  if (sentence_error) sent_errs++;
}

void WerStats::Merge(const WerStats& o) {
  num_words += o.num_words;
  word_errs += o.word_errs;
  num_ins += o.num_ins;
  num_del += o.num_del;
  num_sub += o.num_sub;
  num_sent += o.num_sent;
  sent_errs += o.sent_errs;
  num_absent += o.num_absent;
}

std::string FormatPercent(int64_t num, int64_t den) {
  // Kaldi: BaseFloat p = 100.0 * float(num) / float(den); printed with std::fixed, precision 2.
  // x86's 0.0/0.0 is the negative default NaN, which glibc prints as "-nan"; we spell the
  // zero-denominator cases out rather than rely on the compiler keeping the division at run time.
  if (den == 0) return num == 0 ? "-nan" : "inf";
  const float p = static_cast<float>(100.0 * static_cast<float>(num) / static_cast<float>(den));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f", static_cast<double>(p));
  return buf;
}

std::string FormatWerLine(const WerStats& s) {
  std::ostringstream os;
  os << "%WER " << FormatPercent(s.word_errs, s.num_words) << " [ " << s.word_errs << " / "
     << s.num_words << ", " << s.num_ins << " ins, " << s.num_del << " del, " << s.num_sub
     << " sub ]" << (s.num_absent != 0 ? " [PARTIAL]" : "");
  return os.str();
}

std::string FormatWerReport(const WerStats& s) {
  std::ostringstream os;
  os << FormatWerLine(s) << '\n';
  os << "%SER " << FormatPercent(s.sent_errs, s.num_sent) << " [ " << s.sent_errs << " / "
     << s.num_sent << " ]\n";
  os << "Scored " << s.num_sent << " sentences, " << s.num_absent << " not present in hyp.\n";
  return os.str();
}

std::vector<UttResult> ScoreTranscripts(const Transcripts& refs, const TranscriptMap& hyps,
                                        ScoringMode mode, WerStats* stats) {
  std::vector<UttResult> results;
  results.reserve(refs.size());
  static const std::vector<std::string> kEmpty;
  for (const auto& [key, ref] : refs) {
    auto it = hyps.find(key);
    const std::vector<std::string>* hyp = &kEmpty;
    UttResult r;
    r.key = key;
    if (it == hyps.end()) {
      if (mode == ScoringMode::kStrict) {
        KQ_THROW(kInvalidArgument)
            << "No hypothesis for key " << key << " and strict mode specifier.";
      }
      stats->num_absent++;
      if (mode == ScoringMode::kPresent) continue;
      r.hyp_present = false;
    } else {
      hyp = &it->second;
    }
    r.ref_words = static_cast<int32_t>(ref.size());
    r.counts = LevenshteinCounts(ref, *hyp);
    r.sentence_error = ref != *hyp;
    stats->Add(r.counts, r.ref_words, r.sentence_error);
    results.push_back(std::move(r));
  }
  return results;
}

size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) n++;  // count every byte that is not a continuation byte
  }
  return n;
}

namespace {

// wer_per_utt_details.pl's cjustify: the odd extra space goes to the left.
std::string Centre(const std::string& s, size_t width) {
  const size_t len = Utf8Length(s);
  const size_t pad = width > len ? width - len : 0;
  const size_t right = pad / 2;
  const size_t left = pad - right;
  return std::string(left, ' ') + s + std::string(right, ' ');
}

}  // namespace

std::string FormatUttAlignment(const std::string& key, const std::vector<std::string>& ref,
                               const std::vector<std::string>& hyp) {
  static const std::string kEps = "***";
  for (const auto* v : {&ref, &hyp}) {
    for (const auto& w : *v) {
      KQ_CHECK(w != kEps, kInvalidArgument)
          << "utterance " << key << ": the word '" << kEps
          << "' is the alignment's special symbol and may not appear in a transcript";
    }
  }
  const auto cols = LevenshteinAlign(ref, hyp);
  std::string ref_line = key + " ref", hyp_line = key + " hyp", op_line = key + " op ";
  int c = 0, s = 0, i = 0, d = 0;
  for (size_t k = 0; k < cols.size(); ++k) {
    const auto& p = cols[k];
    const std::string& rw = p.has_ref ? p.ref : kEps;
    const std::string& hw = p.has_hyp ? p.hyp : kEps;
    std::string op;
    if (!p.has_hyp) {
      op = "D";
      d++;
    } else if (!p.has_ref) {
      op = "I";
      i++;
    } else if (p.ref != p.hyp) {
      op = "S";
      s++;
    } else {
      op = "C";
      c++;
    }
    const size_t width = std::max({Utf8Length(rw), Utf8Length(hw), op.size()});
    const char* sep = "  ";
    ref_line += sep + Centre(rw, width);
    hyp_line += sep + Centre(hw, width);
    op_line += sep + Centre(op, width);
  }
  if (cols.empty()) {  // the Perl script prints the label followed by its two spaces
    ref_line += "  ";
    hyp_line += "  ";
    op_line += "  ";
  }
  std::ostringstream os;
  os << ref_line << '\n' << hyp_line << '\n' << op_line << '\n';
  os << key << " #csid " << c << ' ' << s << ' ' << i << ' ' << d << '\n';
  return os.str();
}

std::string FormatSpeakerTable(const std::vector<UttResult>& results,
                               const std::map<std::string, std::string>& utt2spk) {
  std::map<std::string, WerStats> per_spk;
  WerStats total;
  for (const auto& r : results) {
    auto it = utt2spk.find(r.key);
    KQ_CHECK(it != utt2spk.end(), kInvalidArgument)
        << "utterance " << r.key << " has no speaker in utt2spk";
    per_spk[it->second].Add(r.counts, r.ref_words, r.sentence_error);
    total.Add(r.counts, r.ref_words, r.sentence_error);
  }
  size_t name_width = 7;  // "SPEAKER"
  for (const auto& [spk, st] : per_spk) name_width = std::max(name_width, Utf8Length(spk));
  std::ostringstream os;
  auto pad = [&](const std::string& s) {
    return s + std::string(name_width - std::min(name_width, Utf8Length(s)), ' ');
  };
  char buf[256];
  std::snprintf(buf, sizeof(buf), "  %-4s %7s %7s %7s %7s %7s %7s %7s %7s\n", "id", "#SENT",
                "#WORD", "Corr", "Sub", "Ins", "Del", "Err", "S.Err");
  os << pad("SPEAKER") << buf;
  auto rows = [&](const std::string& name, const WerStats& st) {
    std::snprintf(buf, sizeof(buf), "  %-4s %7lld %7lld %7lld %7lld %7lld %7lld %7lld %7lld\n",
                  "raw", static_cast<long long>(st.num_sent), static_cast<long long>(st.num_words),
                  static_cast<long long>(st.NumCorrect()), static_cast<long long>(st.num_sub),
                  static_cast<long long>(st.num_ins), static_cast<long long>(st.num_del),
                  static_cast<long long>(st.word_errs), static_cast<long long>(st.sent_errs));
    os << pad(name) << buf;
    std::snprintf(buf, sizeof(buf), "  %-4s %7lld %7lld %7s %7s %7s %7s %7s %7s\n", "sys",
                  static_cast<long long>(st.num_sent), static_cast<long long>(st.num_words),
                  FormatPercent(st.NumCorrect(), st.num_words).c_str(),
                  FormatPercent(st.num_sub, st.num_words).c_str(),
                  FormatPercent(st.num_ins, st.num_words).c_str(),
                  FormatPercent(st.num_del, st.num_words).c_str(),
                  FormatPercent(st.word_errs, st.num_words).c_str(),
                  FormatPercent(st.sent_errs, st.num_sent).c_str());
    os << pad(name) << buf;
  };
  for (const auto& [spk, st] : per_spk) rows(spk, st);
  rows("SUM", total);
  return os.str();
}

}  // namespace kaldiq::score
