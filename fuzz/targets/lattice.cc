// Lattice archives (lattice-best-path, lmrescore, score input): binary OpenFst lattices of any of
// the four arc types and the text form, read as CompactLattice and as Lattice (the conversion
// paths), then written back in both forms.
#include "fuzz/archive.h"
#include "kaldi/lattice_io.h"

using namespace kaldiq;
using namespace kaldiq::kaldi;

KQ_FUZZ_TARGET(lattice) {
  const std::string bytes = fuzz::AsString(data, size);
  fuzz::ForEachArchiveEntry<CompactLatticeHolder>(
      bytes, [](const std::string&, const lat::CompactLattice& clat) {
        fuzz::WriteBoth<CompactLatticeHolder>(clat);
      });
  fuzz::ForEachArchiveEntry<LatticeHolder>(
      bytes, [](const std::string&, const lat::Lattice& l) { fuzz::WriteBoth<LatticeHolder>(l); });
}
