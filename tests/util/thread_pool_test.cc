#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <vector>

#include "util/error.h"

namespace kaldiq {
namespace {

TEST(ParallelFor, EveryIndexOnceAnyThreadCount) {
  for (int threads : {1, 2, 3, 8}) {
    std::vector<int> hits(100, 0);
    ParallelFor(100, threads, [&](int64_t i, int) { hits[i] += 1; });
    for (int h : hits) EXPECT_EQ(h, 1) << "threads=" << threads;
  }
}

TEST(ParallelFor, RethrowsFirstError) {
  EXPECT_THROW(ParallelFor(10, 2,
                           [](int64_t i, int) {
                             if (i == 5) KQ_THROW(kFormat) << "bad item";
                           }),
               Error);
}

TEST(ErrorTest, ContextIsPrepended) {
  try {
    KQ_THROW(kIo) << "cannot open";
  } catch (const Error& e) {
    Error c = e.WithContext("final.mdl");
    EXPECT_STREQ(c.what(), "final.mdl: cannot open");
    EXPECT_EQ(c.code(), Error::Code::kIo);
  }
}

}  // namespace
}  // namespace kaldiq
