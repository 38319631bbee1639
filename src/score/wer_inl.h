// Template bodies of score/wer.h (include wer.h, not this file).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace kaldiq::score {

template <typename T>
EditCounts LevenshteinCounts(const std::vector<T>& ref, const std::vector<T>& hyp) {
  // Row over reference positions, advanced one hypothesis word at a time, each cell carrying the
  // counts of the path Kaldi's rules chose (see wer.h). prev = row hyp_index-1, cur = row
  // hyp_index.
  const size_t r = ref.size();
  std::vector<EditCounts> prev(r + 1), cur(r + 1);
  for (size_t i = 0; i <= r; ++i) {
    prev[i].del = static_cast<int32_t>(i);
    prev[i].errors = static_cast<int32_t>(i);
  }
  for (size_t h = 1; h <= hyp.size(); ++h) {
    cur[0] = prev[0];
    cur[0].ins++;
    cur[0].errors++;
    for (size_t i = 1; i <= r; ++i) {
      const bool same = hyp[h - 1] == ref[i - 1];
      const int32_t ins_err = prev[i].errors + 1;
      const int32_t del_err = cur[i - 1].errors + 1;
      const int32_t sub_err = prev[i - 1].errors + (same ? 0 : 1);
      if (sub_err < ins_err && sub_err < del_err) {
        cur[i] = prev[i - 1];
        if (!same) cur[i].sub++;
        cur[i].errors = sub_err;
      } else if (del_err < ins_err) {
        cur[i] = cur[i - 1];
        cur[i].del++;
        cur[i].errors = del_err;
      } else {
        cur[i] = prev[i];
        cur[i].ins++;
        cur[i].errors = ins_err;
      }
    }
    std::swap(prev, cur);
  }
  return prev[r];
}

template <typename T>
std::vector<AlignedPair<T>> LevenshteinAlign(const std::vector<T>& ref, const std::vector<T>& hyp,
                                             int32_t* cost) {
  const size_t m_size = ref.size(), n_size = hyp.size();
  // Full (M+1)x(N+1) table, row-major; utterances are short so memory is not a concern.
  std::vector<int32_t> e((m_size + 1) * (n_size + 1));
  auto at = [&](size_t m, size_t n) -> int32_t& { return e[m * (n_size + 1) + n]; };
  for (size_t n = 0; n <= n_size; ++n) at(0, n) = static_cast<int32_t>(n);
  for (size_t m = 1; m <= m_size; ++m) {
    at(m, 0) = at(m - 1, 0) + 1;
    for (size_t n = 1; n <= n_size; ++n) {
      const int32_t sub_or_ok = at(m - 1, n - 1) + (ref[m - 1] == hyp[n - 1] ? 0 : 1);
      const int32_t del = at(m - 1, n) + 1;
      const int32_t ins = at(m, n - 1) + 1;
      at(m, n) = std::min(sub_or_ok, std::min(del, ins));
    }
  }
  std::vector<AlignedPair<T>> out;
  size_t m = m_size, n = n_size;
  while (m != 0 || n != 0) {
    size_t last_m, last_n;
    if (m == 0) {
      last_m = m;
      last_n = n - 1;
    } else if (n == 0) {
      last_m = m - 1;
      last_n = n;
    } else {
      const int32_t sub_or_ok = at(m - 1, n - 1) + (ref[m - 1] == hyp[n - 1] ? 0 : 1);
      const int32_t del = at(m - 1, n) + 1;
      const int32_t ins = at(m, n - 1) + 1;
      if (sub_or_ok <= std::min(del, ins)) {
        last_m = m - 1;
        last_n = n - 1;
      } else if (del <= ins) {
        last_m = m - 1;
        last_n = n;
      } else {
        last_m = m;
        last_n = n - 1;
      }
    }
    AlignedPair<T> p;
    if (last_m != m) {
      p.has_ref = true;
      p.ref = ref[last_m];
    }
    if (last_n != n) {
      p.has_hyp = true;
      p.hyp = hyp[last_n];
    }
    out.push_back(std::move(p));
    m = last_m;
    n = last_n;
  }
  std::reverse(out.begin(), out.end());
  if (cost != nullptr) *cost = at(m_size, n_size);
  return out;
}

}  // namespace kaldiq::score
