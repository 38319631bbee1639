// Reading a Kaldi archive ("key value key value ...") from the fuzz input, in memory, with the
// same per-entry functions the table readers use (kaldi/table.h internal::ReadArchiveKey and
// ReadObject), so targets exercise exactly what `ark:` rspecifiers parse.
#pragma once

#include <sstream>
#include <string>

#include "fuzz/fuzz_target.h"
#include "kaldi/table.h"

namespace kaldiq::fuzz {

// Calls f(key, value) for each entry until the end of the input or the first kaldiq::Error
// (which is swallowed: the next pass of the caller still runs).
template <class Holder, class F>
void ForEachArchiveEntry(const std::string& bytes, F&& f) {
  Guarded([&] {
    std::istringstream is(bytes);
    std::string key;
    while (kaldi::internal::ReadArchiveKey(is, &key)) {
      typename Holder::T value{};
      kaldi::internal::ReadObject<Holder>(is, &value);
      f(key, value);
    }
  });
}

// Writes `value` back in both modes (writers must cope with whatever a reader accepted).
template <class Holder>
void WriteBoth(const typename Holder::T& value) {
  for (bool binary : {true, false}) {
    std::ostringstream os;
    kaldi::internal::WriteObject<Holder>(os, binary, value);
  }
}

}  // namespace kaldiq::fuzz
