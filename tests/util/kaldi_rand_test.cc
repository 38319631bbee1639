// KaldiRand reproduces glibc's srand()/rand() (what Kaldi's Rand() calls on Linux), and Kaldi's
// RandInt / WithProb on top of it.
#include <gtest/gtest.h>

#include <cstdlib>

#include "util/kaldi_rand.h"

namespace kaldiq {
namespace {

TEST(KaldiRand, EqualsGlibcRand) {
#if defined(__GLIBC__)
  for (unsigned seed : {0u, 1u, 2u, 17u, 12345u, 4000000000u}) {
    std::srand(seed);
    KaldiRand r(seed);
    for (int i = 0; i < 2000; ++i) ASSERT_EQ(r.Rand(), std::rand()) << seed << " " << i;
  }
#else
  GTEST_SKIP() << "not glibc";
#endif
}

TEST(KaldiRand, RandIntAndWithProbAsKaldi) {
  KaldiRand a(3), b(3);
  for (int i = 0; i < 100; ++i) {
    const int v = a.RandInt(5, 9);
    EXPECT_EQ(v, 5 + b.Rand() % 5);
  }
  // WithProb(0) and WithProb(1) draw nothing.
  KaldiRand c(7), d(7);
  EXPECT_FALSE(c.WithProb(0.0f));
  EXPECT_TRUE(c.WithProb(1.0f));
  EXPECT_EQ(c.Rand(), d.Rand());
  int hits = 0;
  for (int i = 0; i < 10000; ++i) hits += c.WithProb(0.25f);
  EXPECT_NEAR(hits / 10000.0, 0.25, 0.02);
}

}  // namespace
}  // namespace kaldiq
