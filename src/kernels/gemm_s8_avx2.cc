// The AVX2 backends of kernels/gemm_s8.h: raw accumulators acc = x · wᵀ (u8 × s8 → s32) with
// the weights packed once, at construction, into 8-column panels.
//
//   avx2-w8  exact for any s8 weights. A k-pair of 8 columns is 16 bytes (c0k0 c0k1 c1k0 …);
//            vpmovsxbw widens it to 16 × s16 and vpmaddwd multiplies it with the pair
//            (x[2g], x[2g+1]) broadcast as two u16: each 32-bit lane gets x0·w0 + x1·w1, which
//            fits easily (|·| ≤ 2·255·128). x is widened to u16 once per call.
//   avx2-w7  exact for |w| ≤ 64. A k-quad of 8 columns is 32 bytes (c0k0..k3 c1k0..k3 …);
//            vpmaddubsw multiplies it with the quad x[4g..4g+3] broadcast as four u8 and adds
//            adjacent products in saturating 16 bits (exact while 2·255·|w| ≤ 32767), vpmaddwd
//            with ones adds the two pairs into 32 bits.
//
// Both run the same blocked loop: columns in groups of P = 2 panels of 8, whose weights stay in
// L1/L2 while every row tile (R = 4 rows) of the call runs over them; K in blocks (one block for
// every layer of the fixture networks), accumulating int32 tiles in registers over a block and in
// `acc` across blocks. Edges (rows,
// columns, K tails) are handled by smaller tile instantiations, zero-padded weights and a
// zero-padded copy of x, so every shape is exact.
//
// Only the functions marked KQ_AVX2 use AVX2, and they are internal to this file, so the binary
// still runs on any x86-64; the table in gemm_s8.cc creates these kernels only when the CPU has
// AVX2.
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/gemm_s8_backend.h"
#include "util/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KQ_HAVE_AVX2_KERNELS 1
#define KQ_AVX2 __attribute__((target("avx2")))
#endif

namespace kaldiq::kernels {

#if KQ_HAVE_AVX2_KERNELS

namespace {

// The two instruction mixes, as compile-time policies.
// Tile shapes and K blocks chosen by measurement (bench/README.md): 4 rows × 2 panels keeps the
// 8 accumulators, 2 weight vectors, the broadcast and the temporaries within the 16 ymm
// registers (4 × 3 spilled one accumulator per step, −25 %); a K block covering the whole K of
// these layers (their weight micro-panels of ≤ 2 · 8 · K bytes stay in L2) beat 256- and 512-group
// blocks by 10–25 %, which paid for re-reading the int32 tiles.
struct MixW8 {  // 16-bit products: k in pairs
  static constexpr int kKPerGroup = 2;
  static constexpr int kGroupBytes = 16;  // one group of one 8-column panel (widened on load:
                                          // as fast as storing s16, at half the memory)
  static constexpr int kRows = 4;
  static constexpr int kPanels = 2;
  static constexpr int64_t kBlockGroups = 4096;
};
struct MixW7 {  // vpmaddubsw: k in quads
  static constexpr int kKPerGroup = 4;
  static constexpr int kGroupBytes = 32;
  static constexpr int kRows = 4;
  static constexpr int kPanels = 2;
  static constexpr int64_t kBlockGroups = 4096;
};

KQ_AVX2 inline __m256i LoadWeights(const int8_t* p, MixW8) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
KQ_AVX2 inline __m256i LoadWeights(const int8_t* p, MixW7) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
KQ_AVX2 inline __m256i MulAdd(__m256i acc, __m256i x, __m256i w, __m256i, MixW8) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w));
}
KQ_AVX2 inline __m256i MulAdd(__m256i acc, __m256i x, __m256i w, __m256i ones, MixW7) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), ones));
}

// One register tile: rows [0, R) of x (4 bytes per group: a u16 pair or a u8 quad, row stride
// ldx bytes) times P panels of w (panel stride in bytes), over groups [g0, g1), added to the
// int32 tile c (row stride ldc; `first`: c starts at zero instead).
template <class Mix, int R, int P>
KQ_AVX2 void Tile(const uint8_t* x, int64_t ldx, const int8_t* w, int64_t panel_stride,
                  int64_t g0, int64_t g1, int32_t* c, int64_t ldc, bool first) {
  __m256i acc[R][P];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p)
      acc[r][p] = first ? _mm256_setzero_si256()
                        : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + r * ldc + 8 * p));
  const __m256i ones = _mm256_set1_epi16(1);
  const int8_t* wg = w + g0 * Mix::kGroupBytes;
  const uint8_t* xg = x + g0 * 4;
  for (int64_t g = g0; g < g1; ++g, wg += Mix::kGroupBytes, xg += 4) {
    __m256i wv[P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) wv[p] = LoadWeights(wg + p * panel_stride, Mix());
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      int32_t q;
      std::memcpy(&q, xg + r * ldx, 4);
      const __m256i xb = _mm256_set1_epi32(q);
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) acc[r][p] = MulAdd(acc[r][p], xb, wv[p], ones, Mix());
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8 * p), acc[r][p]);
}

template <class Mix, int R, int P>
void TileAny(int64_t cols, const uint8_t* x, int64_t ldx, const int8_t* w, int64_t panel_stride,
             int64_t g0, int64_t g1, int32_t* c, int64_t ldc, bool first) {
  if (cols == 8 * P) {
    Tile<Mix, R, P>(x, ldx, w, panel_stride, g0, g1, c, ldc, first);
    return;
  }
  // A column edge: run the full tile on a local copy and write back the valid columns.
  alignas(32) int32_t tmp[R * 8 * P] = {};
  for (int r = 0; r < R; ++r)
    if (!first) std::memcpy(tmp + r * 8 * P, c + r * ldc, sizeof(int32_t) * cols);
  Tile<Mix, R, P>(x, ldx, w, panel_stride, g0, g1, tmp, 8 * P, first);
  for (int r = 0; r < R; ++r) std::memcpy(c + r * ldc, tmp + r * 8 * P, sizeof(int32_t) * cols);
}

using TileFn = void (*)(int64_t, const uint8_t*, int64_t, const int8_t*, int64_t, int64_t,
                        int64_t, int32_t*, int64_t, bool);

// tiles[rows - 1][panels - 1] for the edge tiles.
template <class Mix, int R>
struct RowTiles {
  static TileFn Get(int panels) {
    switch (panels) {
      case 1: return TileAny<Mix, R, 1>;
      case 2: return TileAny<Mix, R, 2>;
      default: return TileAny<Mix, R, (Mix::kPanels >= 3 ? 3 : 2)>;
    }
  }
};
template <class Mix>
TileFn GetTile(int rows, int panels) {
  switch (rows) {
    case 1: return RowTiles<Mix, 1>::Get(panels);
    case 2: return RowTiles<Mix, 2>::Get(panels);
    case 3: return RowTiles<Mix, (Mix::kRows >= 3 ? 3 : 1)>::Get(panels);
    case 4: return RowTiles<Mix, (Mix::kRows >= 4 ? 4 : 1)>::Get(panels);
    case 5: return RowTiles<Mix, (Mix::kRows >= 5 ? 5 : 1)>::Get(panels);
    default: return RowTiles<Mix, Mix::kRows>::Get(panels);
  }
}

// x widened to u16 (avx2-w8), row stride kp elements; columns [k, kp) zero.
KQ_AVX2 void WidenRows(int64_t m, int64_t k, int64_t kp, const uint8_t* x, int64_t ldx,
                       uint16_t* out) {
  for (int64_t i = 0; i < m; ++i) {
    const uint8_t* xr = x + i * ldx;
    uint16_t* o = out + i * kp;
    int64_t p = 0;
    for (; p + 16 <= k; p += 16) {
      __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(xr + p));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + p), _mm256_cvtepu8_epi16(b));
    }
    for (; p < k; ++p) o[p] = xr[p];
    for (; p < kp; ++p) o[p] = 0;
  }
}

template <class Mix>
class Avx2Int8Kernel : public Int8Kernel {
 public:
  static constexpr int kKG = Mix::kKPerGroup;

  Avx2Int8Kernel(int64_t n, int64_t k, const int8_t* w)
      : n_(n), k_(k), groups_((k + kKG - 1) / kKG), panels_((n + 7) / 8) {
    // Panel p, group g, column c (of 8), element e (of kKG) at
    // (p·groups + g)·kGroupBytes + c·kKG + e; padding columns and k are zero.
    packed_.assign(static_cast<size_t>(panels_ * groups_ * Mix::kGroupBytes), 0);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t p = j / 8, c = j % 8;
      for (int64_t q = 0; q < k; ++q) {
        const int64_t g = q / kKG, e = q % kKG;
        packed_[static_cast<size_t>((p * groups_ + g) * Mix::kGroupBytes + c * kKG + e)] =
            w[j * k + q];
      }
    }
  }

  void Run(int64_t m, const uint8_t* x, int64_t ldx, int32_t* acc) const override {
    const int64_t kp = groups_ * kKG;
    // x as 4-byte groups (u16 pairs or u8 quads) with zero padding up to kp, row stride xs bytes.
    thread_local std::vector<uint8_t> xbuf;
    const uint8_t* xs = x;
    int64_t xstride = ldx;
    if (kKG == 2) {
      const size_t bytes = static_cast<size_t>(m * kp * 2);
      if (xbuf.size() < bytes) xbuf.resize(bytes);
      WidenRows(m, k_, kp, x, ldx, reinterpret_cast<uint16_t*>(xbuf.data()));
      xs = xbuf.data();
      xstride = kp * 2;
    } else if (kp != k_) {
      const size_t bytes = static_cast<size_t>(m * kp);
      if (xbuf.size() < bytes) xbuf.resize(bytes);
      for (int64_t i = 0; i < m; ++i) {
        std::memcpy(xbuf.data() + i * kp, x + i * ldx, static_cast<size_t>(k_));
        std::memset(xbuf.data() + i * kp + k_, 0, static_cast<size_t>(kp - k_));
      }
      xs = xbuf.data();
      xstride = kp;
    }
    const int64_t panel_stride = groups_ * Mix::kGroupBytes;
    for (int64_t g0 = 0; g0 < groups_; g0 += Mix::kBlockGroups) {
      const int64_t g1 = std::min(groups_, g0 + Mix::kBlockGroups);
      for (int64_t p0 = 0; p0 < panels_; p0 += Mix::kPanels) {
        const int panels = static_cast<int>(std::min<int64_t>(Mix::kPanels, panels_ - p0));
        const int64_t col0 = p0 * 8;
        const int64_t cols = std::min<int64_t>(8 * panels, n_ - col0);
        const int8_t* wp = packed_.data() + p0 * panel_stride;
        const TileFn full = GetTile<Mix>(Mix::kRows, panels);
        int64_t i = 0;
        for (; i + Mix::kRows <= m; i += Mix::kRows)
          full(cols, xs + i * xstride, xstride, wp, panel_stride, g0, g1, acc + i * n_ + col0,
               n_, g0 == 0);
        if (i < m)
          GetTile<Mix>(static_cast<int>(m - i), panels)(cols, xs + i * xstride, xstride, wp,
                                                        panel_stride, g0, g1,
                                                        acc + i * n_ + col0, n_, g0 == 0);
      }
    }
  }

 private:
  int64_t n_, k_, groups_, panels_;
  std::vector<int8_t> packed_;
};

}  // namespace

std::unique_ptr<Int8Kernel> CreateAvx2W7Kernel(int64_t n, int64_t k, const int8_t* w) {
  return std::make_unique<Avx2Int8Kernel<MixW7>>(n, k, w);
}
std::unique_ptr<Int8Kernel> CreateAvx2W8Kernel(int64_t n, int64_t k, const int8_t* w) {
  return std::make_unique<Avx2Int8Kernel<MixW8>>(n, k, w);
}

#else  // not x86-64 GCC/Clang: the rows are never available (CpuHasAvx2() is false)

std::unique_ptr<Int8Kernel> CreateAvx2W7Kernel(int64_t, int64_t, const int8_t*) {
  KQ_THROW(kUnsupported) << "avx2 int8 kernels are not built on this platform";
}
std::unique_ptr<Int8Kernel> CreateAvx2W8Kernel(int64_t, int64_t, const int8_t*) {
  KQ_THROW(kUnsupported) << "avx2 int8 kernels are not built on this platform";
}

#endif

}  // namespace kaldiq::kernels
