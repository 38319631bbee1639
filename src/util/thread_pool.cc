#include "util/thread_pool.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kaldiq {

void ParallelFor(int64_t n, int num_threads, const std::function<void(int64_t, int)>& work) {
  if (num_threads <= 1 || n <= 1) {
    for (int64_t i = 0; i < n; ++i) work(i, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto loop = [&](int worker) {
    while (!failed.load()) {
      int64_t i = next.fetch_add(1);
      if (i >= n) break;
      try {
        work(i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < num_threads; ++t) threads.emplace_back(loop, t);
  loop(0);
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace kaldiq
