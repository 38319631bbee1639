#include "util/progress.h"

#include <cstdio>

namespace kaldiq {

Progress::Progress(std::string label, int64_t total, bool quiet)
    : label_(std::move(label)), total_(total), quiet_(quiet) {
  start_ = last_print_ = std::chrono::steady_clock::now();
}

void Progress::Add(int64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += n;
  auto now = std::chrono::steady_clock::now();
  if (now - last_print_ >= std::chrono::seconds(1)) {
    last_print_ = now;
    PrintLocked(false);
  }
}

void Progress::Finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  PrintLocked(true);
}

void Progress::PrintLocked(bool final_line) {
  if (quiet_) return;
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  if (final_line) {
    std::fprintf(stderr, "%s: done %lld utterances in %.1fs (%.1f utt/s)\n", label_.c_str(),
                 static_cast<long long>(done_), elapsed, rate);
  } else if (total_ > 0 && rate > 0) {
    std::fprintf(stderr, "%s: %lld/%lld utterances, %.1f utt/s, ETA %.0fs\n", label_.c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_), rate,
                 (total_ - done_) / rate);
  } else {
    std::fprintf(stderr, "%s: %lld utterances, %.1f utt/s\n", label_.c_str(),
                 static_cast<long long>(done_), rate);
  }
}

}  // namespace kaldiq
