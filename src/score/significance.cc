#include "score/significance.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <sstream>

#include "util/error.h"

namespace kaldiq::score {

namespace {

void CheckInput(const std::vector<PairedUtt>& utts) {
  KQ_CHECK(!utts.empty(), kInvalidArgument) << "significance test: no utterances to compare";
  for (size_t i = 0; i < utts.size(); ++i) {
    KQ_CHECK(utts[i].errs_a >= 0 && utts[i].errs_b >= 0 && utts[i].ref_words >= 0, kInvalidArgument)
        << "significance test: negative count at utterance index " << i;
  }
}

int64_t TotalWords(const std::vector<PairedUtt>& utts) {
  int64_t n = 0;
  for (const auto& u : utts) n += u.ref_words;
  return n;
}

double Percent(int64_t num, int64_t den) {
  return den == 0 ? 0.0 : 100.0 * static_cast<double>(num) / static_cast<double>(den);
}

std::string Signed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%+.2f", v);
  return buf;
}

}  // namespace

MatchedPairsResult MatchedPairsTest(const std::vector<PairedUtt>& utts) {
  CheckInput(utts);
  MatchedPairsResult r;
  const int64_t n = static_cast<int64_t>(utts.size());
  const int64_t words = TotalWords(utts);
  r.num_segments = n;
  int64_t sum_d = 0;
  for (const auto& u : utts) sum_d += u.errs_b - u.errs_a;
  r.wer_diff = Percent(sum_d, words);
  const double mean = static_cast<double>(sum_d) / static_cast<double>(n);
  double ss = 0;
  for (const auto& u : utts) {
    const double dev = (u.errs_b - u.errs_a) - mean;
    ss += dev * dev;
  }
  // Converts a difference in mean errors per segment into percent WER points.
  const double to_percent = words == 0 ? 0.0 : 100.0 * static_cast<double>(n) / words;
  if (n < 2) {
    r.z = 0;
    r.p_value = 1;
    r.ci_low = r.ci_high = r.wer_diff;
    return r;
  }
  const double sd = std::sqrt(ss / static_cast<double>(n - 1));
  const double se = sd / std::sqrt(static_cast<double>(n));
  if (se == 0) {
    if (sum_d == 0) {
      r.z = 0;
      r.p_value = 1;
    } else {
      r.z = sum_d > 0 ? std::numeric_limits<double>::infinity()
                      : -std::numeric_limits<double>::infinity();
      r.p_value = 0;
    }
    r.ci_low = r.ci_high = r.wer_diff;
    return r;
  }
  r.z = mean / se;
  r.p_value = std::erfc(std::fabs(r.z) / std::sqrt(2.0));
  r.ci_low = (mean - 1.96 * se) * to_percent;
  r.ci_high = (mean + 1.96 * se) * to_percent;
  return r;
}

BootstrapResult PairedBootstrap(const std::vector<PairedUtt>& utts, int32_t replications,
                                uint64_t seed) {
  CheckInput(utts);
  KQ_CHECK(replications >= 1, kInvalidArgument)
      << "bootstrap replications must be >= 1, got " << replications;
  BootstrapResult r;
  r.replications = replications;
  r.seed = seed;
  int64_t sum_d = 0;
  for (const auto& u : utts) sum_d += u.errs_b - u.errs_a;
  r.wer_diff = Percent(sum_d, TotalWords(utts));

  std::mt19937_64 gen(seed);
  const uint64_t n = utts.size();
  std::vector<double> diffs(static_cast<size_t>(replications));
  int64_t le_zero = 0, ge_zero = 0, below_zero = 0;
  for (int32_t rep = 0; rep < replications; ++rep) {
    int64_t d = 0, w = 0;
    for (uint64_t j = 0; j < n; ++j) {
      const PairedUtt& u = utts[gen() % n];
      d += u.errs_b - u.errs_a;
      w += u.ref_words;
    }
    const double diff = Percent(d, w);
    diffs[static_cast<size_t>(rep)] = diff;
    if (d <= 0) le_zero++;
    if (d >= 0) ge_zero++;
    if (d < 0) below_zero++;
  }
  std::sort(diffs.begin(), diffs.end());
  const auto quantile_index = [&](double q) {
    const double pos = std::ceil(q * replications) - 1;
    return static_cast<size_t>(std::clamp(pos, 0.0, static_cast<double>(replications - 1)));
  };
  r.ci_low = diffs[quantile_index(0.025)];
  r.ci_high = diffs[quantile_index(0.975)];
  const int64_t minority = std::min(le_zero, ge_zero);
  r.p_value = std::min(1.0, 2.0 * static_cast<double>(minority + 1) / (replications + 1.0));
  r.prob_b_better = static_cast<double>(below_zero) / replications;
  return r;
}

std::string FormatSignificance(const std::string& name_a, const std::string& name_b,
                               const std::vector<PairedUtt>& utts, const MatchedPairsResult& mp,
                               const BootstrapResult& bs) {
  int64_t ea = 0, eb = 0;
  for (const auto& u : utts) {
    ea += u.errs_a;
    eb += u.errs_b;
  }
  const int64_t words = TotalWords(utts);
  char buf[512];
  std::ostringstream os;
  os << "Comparing A = " << name_a << " and B = " << name_b << " on " << utts.size()
     << " utterances, " << words << " reference words\n";
  std::snprintf(buf, sizeof(buf), "%%WER A %.2f, B %.2f, B - A = %s\n", Percent(ea, words),
                Percent(eb, words), Signed(Percent(eb - ea, words)).c_str());
  os << buf;
  std::snprintf(buf, sizeof(buf),
                "Matched pairs (MAPSSWE, utterance segments): Z = %.2f, p = %.4f, 95%% CI of B - A "
                "[ %s, %s ]\n",
                mp.z, mp.p_value, Signed(mp.ci_low).c_str(), Signed(mp.ci_high).c_str());
  os << buf;
  std::snprintf(buf, sizeof(buf),
                "Paired bootstrap (%d replications, seed %llu): p = %.4f, 95%% CI of B - A "
                "[ %s, %s ], P(B better) = %.2f%%\n",
                bs.replications, static_cast<unsigned long long>(bs.seed), bs.p_value,
                Signed(bs.ci_low).c_str(), Signed(bs.ci_high).c_str(), 100.0 * bs.prob_b_better);
  os << buf;
  return os.str();
}

}  // namespace kaldiq::score
