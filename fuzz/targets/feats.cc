// Feature, CMVN, i-vector, log-likelihood and vector archives: matrices (FM/DM, text), compressed
// matrices (CM/CM2/CM3, decompressed on reading), vectors (FV/DV, text), integer vectors
// (alignments). Every matrix read is written back and compressed again with every method, as
// copy-feats --compress would.
#include <cmath>

#include "fuzz/archive.h"
#include "kaldi/compressed_matrix.h"
#include "kaldi/holders.h"

using namespace kaldiq;
using namespace kaldiq::kaldi;

KQ_FUZZ_TARGET(feats) {
  const std::string bytes = fuzz::AsString(data, size);
  fuzz::ForEachArchiveEntry<MatrixHolder>(bytes, [](const std::string&, const MatrixF& m) {
    fuzz::WriteBoth<MatrixHolder>(m);
    for (int method = 1; method <= 7; ++method) {
      fuzz::Guarded([&] {
        CompressedMatrix c = CompressedMatrix::Compress(m, static_cast<CompressionMethod>(method));
        MatrixF back;
        c.CopyToMatrix(&back);
        fuzz::WriteBoth<CompressedMatrixHolder>(c);
      });
    }
  });
  fuzz::ForEachArchiveEntry<DoubleMatrixHolder>(
      bytes, [](const std::string&, const MatrixD& m) { fuzz::WriteBoth<DoubleMatrixHolder>(m); });
  fuzz::ForEachArchiveEntry<CompressedMatrixHolder>(
      bytes, [](const std::string&, const CompressedMatrix& c) {
        MatrixF m;
        c.CopyToMatrix(&m);
        // Kaldi's compressed forms hold only finite values; a header that decodes to NaN or Inf
        // must be refused, not decompressed.
        for (int64_t i = 0; i < m.size(); ++i)
          KQ_FUZZ_EXPECT(std::isfinite(m.data()[i]), "compressed matrix decompressed to NaN/Inf");
        fuzz::WriteBoth<CompressedMatrixHolder>(c);
      });
  fuzz::ForEachArchiveEntry<VectorHolder>(
      bytes, [](const std::string&, const std::vector<float>& v) { fuzz::WriteBoth<VectorHolder>(v); });
  fuzz::ForEachArchiveEntry<DoubleVectorHolder>(bytes, [](const std::string&, const auto&) {});
  fuzz::ForEachArchiveEntry<Int32VectorHolder>(
      bytes, [](const std::string&, const std::vector<int32_t>& v) {
        fuzz::WriteBoth<Int32VectorHolder>(v);
      });
}
