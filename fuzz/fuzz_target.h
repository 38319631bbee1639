// One fuzz target = one file fuzz/targets/<name>.cc:
//
//   #include "fuzz/fuzz_target.h"
//   KQ_FUZZ_TARGET(lattice) {            // `data`, `size`: the input bytes
//     std::istringstream is(AsString(data, size));
//     ... call the library entry point ...
//   }
//
// plus one line `kq_fuzz_target(<name> DEPS <libraries>)` in fuzz/targets.cmake.
//
// Contract of a target: it feeds the bytes to a library entry point in memory (not the CLI),
// the way kaldiq would read a file. A kaldiq::Error is the expected answer to a bad input and is
// swallowed by the macro; anything else -- another exception, a crash, a sanitizer report, a
// hang, a huge allocation -- is a defect.
//
// The same file is compiled two ways:
//   * fuzz build (clang, -DKQ_FUZZ=ON): defines LLVMFuzzerTestOneInput for libFuzzer;
//   * normal build: registers the target by name so tests/fuzz/ replays the corpus
//     tests/fuzz_regressions/<name>/ through it with g++ (and under ASan in CI).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "util/error.h"

namespace kaldiq::fuzz {

using TargetFn = void (*)(const uint8_t* data, size_t size);

// name -> target, filled by static registration (normal build only).
inline std::map<std::string, TargetFn>& Registry() {
  static std::map<std::string, TargetFn> targets;
  return targets;
}
inline bool Register(const char* name, TargetFn fn) {
  Registry()[name] = fn;
  return true;
}

inline std::string AsString(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// An oracle inside a target: what the library accepted must make sense (e.g. a decompressed
// matrix is finite). A violation is a finding -- a wrongly accepted input -- reported as an
// exception that is not a kaldiq::Error (libFuzzer: crash; replay test: failure).
#define KQ_FUZZ_EXPECT(cond, what)                                                        \
  do {                                                                                    \
    if (!(cond)) throw std::logic_error(std::string("fuzz oracle failed: ") + (what));   \
  } while (0)

// Runs `body`, treating kaldiq::Error as a clean refusal.
template <class F>
void Guarded(F&& body) {
  try {
    body();
  } catch (const Error&) {
  }
}

}  // namespace kaldiq::fuzz

#ifdef KQ_LIBFUZZER
#define KQ_FUZZ_ENTRY_(name)                                                   \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {    \
    ::kaldiq::fuzz::Guarded([&] { KqFuzzBody_##name(data, size); });           \
    return 0;                                                                  \
  }
#else
#define KQ_FUZZ_ENTRY_(name)                                                   \
  static void KqFuzzGuarded_##name(const uint8_t* data, size_t size) {         \
    ::kaldiq::fuzz::Guarded([&] { KqFuzzBody_##name(data, size); });           \
  }                                                                            \
  [[maybe_unused]] static const bool kq_fuzz_registered_##name =               \
      ::kaldiq::fuzz::Register(#name, &KqFuzzGuarded_##name);
#endif

#define KQ_FUZZ_TARGET(name)                                                   \
  static void KqFuzzBody_##name(const uint8_t* data, size_t size);             \
  KQ_FUZZ_ENTRY_(name)                                                         \
  static void KqFuzzBody_##name([[maybe_unused]] const uint8_t* data,          \
                                [[maybe_unused]] size_t size)
