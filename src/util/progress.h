// Progress on stderr for long-running commands: "forward: 120/600 utts, 85.3 utt/s, ETA 5s".
// Prints at most about once a second (and once at Finish); silent when quiet. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace kaldiq {

class Progress {
 public:
  // total <= 0 means unknown (no ETA is printed).
  Progress(std::string label, int64_t total, bool quiet);
  void Add(int64_t n = 1);
  // Prints the final line (done count, rate, elapsed).
  void Finish();

 private:
  void PrintLocked(bool final_line);

  std::string label_;
  int64_t total_;
  bool quiet_;
  int64_t done_ = 0;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

}  // namespace kaldiq
