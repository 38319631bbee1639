// Ordered parallel map for per-utterance work: Run(n, work) calls work(i, worker) for i in
// [0, n) on num_threads threads; results are the caller's to store by index, so output order
// (and content) never depends on the thread count. The first exception thrown by any work item
// is rethrown from Run after all threads stop.
#pragma once

#include <cstdint>
#include <functional>

namespace kaldiq {

// work(item_index, worker_index); worker_index in [0, num_threads) lets callers keep
// per-thread scratch buffers.
void ParallelFor(int64_t n, int num_threads, const std::function<void(int64_t, int)>& work);

}  // namespace kaldiq
