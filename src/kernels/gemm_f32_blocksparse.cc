#include "kernels/gemm_f32_blocksparse.h"

#include <algorithm>
#include <cstring>

#include "kernels/gemm_f32.h"

namespace kaldiq::kernels {

namespace {

// Column spans covering the non-zeros of one row; zero gaps shorter than min_gap stay inside.
template <typename Span>
void RowSpans(const float* row, int64_t k, int64_t min_gap, std::vector<Span>* spans) {
  spans->clear();
  int64_t begin = -1, end = -1;
  for (int64_t c = 0; c < k; ++c) {
    if (row[c] == 0.0f) continue;
    if (begin >= 0 && c - end < min_gap) {
      end = c + 1;  // the zero gap [end, c) is short: keep it inside the span
      continue;
    }
    if (begin >= 0) spans->push_back({begin, end - begin});
    begin = c;
    end = c + 1;
  }
  if (begin >= 0) spans->push_back({begin, end - begin});
}

}  // namespace

std::unique_ptr<BlockSparseLinearF32> BlockSparseLinearF32::TryCreate(
    int64_t n, int64_t k, const float* w, const float* bias, bool relu, double max_density) {
  if (n <= 0 || k <= 0) return nullptr;
  std::unique_ptr<BlockSparseLinearF32> l(new BlockSparseLinearF32());
  l->n_ = n;
  l->k_ = k;
  l->relu_ = relu;
  if (bias) l->bias_.assign(bias, bias + n);
  std::vector<Span> spans, prev;
  int64_t area = 0;
  for (int64_t r = 0; r < n; ++r) {
    RowSpans(w + r * k, k, kMinGap, &spans);
    int64_t row_k = 0;
    for (const Span& s : spans) row_k += s.len;
    if (row_k > max_density * static_cast<double>(k)) return nullptr;
    area += row_k;
    bool same = r > 0 && spans.size() == prev.size() &&
                std::equal(spans.begin(), spans.end(), prev.begin(), [](const Span& a, const Span& b) {
                  return a.begin == b.begin && a.len == b.len;
                });
    if (same) {
      ++l->groups_.back().rows;
    } else {
      Group g;
      g.row0 = r;
      g.rows = 1;
      g.spans = spans;
      g.patch_k = row_k;
      l->groups_.push_back(std::move(g));
    }
    prev.swap(spans);
  }
  l->density_ = static_cast<double>(area) / (static_cast<double>(n) * static_cast<double>(k));
  if (l->density_ > max_density) return nullptr;
  for (Group& g : l->groups_) {
    l->max_patch_k_ = std::max(l->max_patch_k_, g.patch_k);
    g.w_kn.assign(static_cast<size_t>(g.patch_k * g.rows), 0.0f);
    for (int64_t j = 0; j < g.rows; ++j) {
      const float* row = w + (g.row0 + j) * k;
      int64_t p = 0;
      for (const Span& s : g.spans)
        for (int64_t c = 0; c < s.len; ++c, ++p) g.w_kn[p * g.rows + j] = row[s.begin + c];
    }
  }
  return l;
}

void BlockSparseLinearF32::Run(int64_t m, const float* x, int64_t ldx, float* y,
                               int64_t ldy) const {
  if (m <= 0) return;
  std::vector<float> patch;
  for (const Group& g : groups_) {
    float* yg = y + g.row0;
    if (g.spans.empty()) {
      for (int64_t i = 0; i < m; ++i) std::fill(yg + i * ldy, yg + i * ldy + g.rows, 0.0f);
      continue;
    }
    const float* a = x + g.spans[0].begin;
    int64_t lda = ldx;
    if (g.spans.size() > 1) {
      // im2col: the group's spans of every row, side by side.
      patch.resize(static_cast<size_t>(m * g.patch_k));
      for (int64_t i = 0; i < m; ++i) {
        float* dst = patch.data() + i * g.patch_k;
        for (const Span& s : g.spans) {
          std::memcpy(dst, x + i * ldx + s.begin, static_cast<size_t>(s.len) * sizeof(float));
          dst += s.len;
        }
      }
      a = patch.data();
      lda = g.patch_k;
    }
    GemmF32KN(m, g.rows, g.patch_k, a, lda, g.w_kn.data(), g.rows, yg, ldy, false);
  }
  if (bias_.empty() && !relu_) return;
  for (int64_t i = 0; i < m; ++i) {
    float* row = y + i * ldy;
    if (!bias_.empty())
      for (int64_t c = 0; c < n_; ++c) row[c] += bias_[c];
    if (relu_)
      for (int64_t c = 0; c < n_; ++c) row[c] = std::max(row[c], 0.0f);
  }
}

}  // namespace kaldiq::kernels
