// Helpers shared by the lattice tests: a minimal archive splitter (key + ' ' + lattice), paths.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "kaldi/lattice_io.h"
#include "util/error.h"

namespace kaldiq::lat::testing {

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline bool FileExists(const std::string& path) { return std::ifstream(path).good(); }

// Reads every entry of a lattice archive (binary or text) held in `bytes`.
inline std::vector<std::pair<std::string, CompactLattice>> ReadLatticeArchive(
    const std::string& bytes) {
  std::istringstream is(bytes);
  std::vector<std::pair<std::string, CompactLattice>> out;
  while (true) {
    std::string key;
    if (!(is >> key)) break;
    KQ_CHECK(is.get() == ' ', kFormat) << "expected space after key";
    CompactLattice clat;
    kaldi::ReadCompactLattice(is, &clat);
    out.emplace_back(key, std::move(clat));
  }
  return out;
}

inline std::string WriteLatticeArchive(
    const std::vector<std::pair<std::string, CompactLattice>>& entries, bool binary) {
  std::ostringstream os;
  for (const auto& [key, clat] : entries) {
    os << key << ' ';
    kaldi::WriteCompactLattice(os, binary, clat);
  }
  return os.str();
}

}  // namespace kaldiq::lat::testing
