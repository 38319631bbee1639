// Kaldi lattices in archives and files (Kaldi's src/lat/kaldi-lattice.cc), byte-identical.
//
// Binary form: an OpenFst binary VectorFst (header magic 0x7EB2FDD6, fst type "vector", arc type
// "compactlattice44" or "lattice4"), with NO Kaldi "\0B" marker -- so a binary archive entry is
// "key " + FST, and a single lattice file is readable by OpenFst itself.
// Text form: "\n", then OpenFst's printer output with tab separators (arcs
// "src\tdst\tword\tg,a,t1_t2" for CompactLattice, "src\tdst\ttid\tword\tg,a" for Lattice; weight
// One omitted; final states "s" or "s\tweight"; start state first), then an empty line.
// Reading sniffs the form from the first byte as Kaldi's holders do (whitespace = text, 0xD6 =
// binary) and converts as Kaldi does: a Lattice read where a CompactLattice is wanted is
// converted (and vice versa), double-precision lattices ("lattice8", "compactlattice84") are
// converted to float.
// Corrupt input throws kaldiq::Error with the byte offset; declared sizes are checked against the
// remaining bytes (seekable streams) or sane limits before anything is allocated.
#pragma once

#include <istream>
#include <ostream>

#include "lat/lattice_weight.h"

namespace kaldiq::kaldi {

void WriteCompactLattice(std::ostream& os, bool binary, const lat::CompactLattice& clat);
void WriteLattice(std::ostream& os, bool binary, const lat::Lattice& lat);

// Reads one lattice (binary or text, sniffed) from the current position.
void ReadCompactLattice(std::istream& is, lat::CompactLattice* clat);
void ReadLattice(std::istream& is, lat::Lattice* lat);

// Table holders (see kaldi/table.h). Lattices carry no "\0B" marker: Read ignores the `binary`
// argument and sniffs; Write writes no marker.
struct CompactLatticeHolder {
  using T = lat::CompactLattice;
  static constexpr bool kUsesBinaryMarker = false;
  static void Write(std::ostream& os, bool binary, const T& t) {
    WriteCompactLattice(os, binary, t);
  }
  static void Read(std::istream& is, bool /*binary*/, T* t) { ReadCompactLattice(is, t); }
  static bool IsTextOnly() { return false; }
};

struct LatticeHolder {
  using T = lat::Lattice;
  static constexpr bool kUsesBinaryMarker = false;
  static void Write(std::ostream& os, bool binary, const T& t) { WriteLattice(os, binary, t); }
  static void Read(std::istream& is, bool /*binary*/, T* t) { ReadLattice(is, t); }
  static bool IsTextOnly() { return false; }
};

}  // namespace kaldiq::kaldi
