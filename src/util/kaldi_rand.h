// Kaldi's random numbers, reproducibly. Kaldi's tools call srand(--srand) and then rand() through
// Rand(), RandInt(), WithProb() and std::random_shuffle; on Linux that is glibc's additive
// feedback generator (random_r TYPE_3). KaldiRand reproduces that sequence exactly, so a kaldiq
// command given Kaldi's --srand picks the same egs, the same output archive, the same buffer
// slot as the Kaldi tool would on Linux -- without touching the process-global rand() state.
#pragma once

#include <cstdint>

namespace kaldiq {

class KaldiRand {
 public:
  static constexpr int32_t kRandMax = 2147483647;  // glibc RAND_MAX

  // srand(seed): glibc seeds r[0..30] with 16807^i * seed mod (2^31 - 1) (seed 0 acts as 1),
  // then discards 310 outputs.
  explicit KaldiRand(uint32_t seed = 0) { Seed(seed); }

  void Seed(uint32_t seed) {
    int32_t word = static_cast<int32_t>(seed == 0 ? 1 : seed);
    r_[0] = word;
    for (int i = 1; i < 31; ++i) {
      // Schrage's method, as glibc writes it: 16807 * word mod 2147483647.
      const int32_t hi = word / 127773, lo = word % 127773;
      word = 16807 * lo - 2836 * hi;
      if (word < 0) word += 2147483647;
      r_[i] = word;
    }
    front_ = 3;  // glibc's fptr = &state[SEP_3]
    rear_ = 0;
    for (int i = 0; i < 310; ++i) Rand();
  }

  // rand(): a value in [0, kRandMax].
  int32_t Rand() {
    r_[front_] = static_cast<int32_t>(static_cast<uint32_t>(r_[front_]) +
                                      static_cast<uint32_t>(r_[rear_]));
    const int32_t result = static_cast<int32_t>((static_cast<uint32_t>(r_[front_]) >> 1) & 0x7fffffff);
    if (++front_ >= 31) {
      front_ = 0;
      ++rear_;
    } else if (++rear_ >= 31) {
      rear_ = 0;
    }
    return result;
  }

  // Kaldi's RandInt(min, max): min + Rand() % (max + 1 - min).
  int32_t RandInt(int32_t min_val, int32_t max_val) {
    if (max_val <= min_val) return min_val;
    return min_val + static_cast<int32_t>(Rand() % (max_val + 1 - min_val));
  }

  // Kaldi's RandUniform(): (Rand() + 1.0) / (RAND_MAX + 2.0), in (0, 1).
  double RandUniform() { return (Rand() + 1.0) / (kRandMax + 2.0); }

  // Kaldi's WithProb(p): true with probability p, drawn as Kaldi does (p == 0 and p == 1 draw
  // nothing; p * RAND_MAX < 128 first draws a 1/128 chance and recurses on 128 p).
  bool WithProb(float prob) {
    if (prob == 0) return false;
    if (prob == 1.0f) return true;
    if (prob * static_cast<float>(kRandMax) < 128.0f) {
      if (Rand() < kRandMax / 128) return WithProb(static_cast<float>(prob * 128.0));
      return false;
    }
    return Rand() < ((static_cast<float>(kRandMax) + 1.0f) * prob);
  }

 private:
  int32_t r_[31] = {};
  int front_ = 3, rear_ = 0;
};

}  // namespace kaldiq
