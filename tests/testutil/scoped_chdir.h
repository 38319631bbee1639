// Runs a scope from another working directory and goes back afterwards: Kaldi opens the
// relative paths inside its config files (ivector_extractor.conf, online.conf) against the
// current directory, so tests of those readers run from the fixture directory.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

namespace kaldiq::testing {

class ScopedChdir {
 public:
  explicit ScopedChdir(const std::string& dir) {
    char buf[4096];
    if (getcwd(buf, sizeof(buf)) != nullptr) old_ = buf;
    ok_ = chdir(dir.c_str()) == 0;
  }
  ~ScopedChdir() {
    if (!old_.empty() && chdir(old_.c_str()) != 0) std::perror("chdir");
  }
  ScopedChdir(const ScopedChdir&) = delete;
  ScopedChdir& operator=(const ScopedChdir&) = delete;
  bool ok() const { return ok_; }

 private:
  std::string old_;
  bool ok_ = false;
};

}  // namespace kaldiq::testing
