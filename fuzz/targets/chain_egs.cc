// Chain egs archives (cegs.*.ark: NnetChainExample with plain or compressed features, i-vectors,
// supervision FSTs, deriv weights), binary and text. Every example read is checked as the
// trainer would use it (features decompressed, supervision dimensions, FST state times) and
// written back in both modes.
#include <vector>

#include "fuzz/archive.h"
#include "kaldi/chain_example.h"

using namespace kaldiq;
using namespace kaldiq::kaldi;

KQ_FUZZ_TARGET(chain_egs) {
  const std::string bytes = fuzz::AsString(data, size);
  fuzz::ForEachArchiveEntry<NnetChainExampleHolder>(
      bytes, [](const std::string&, const NnetChainExample& eg) {
        for (const NnetIo& io : eg.inputs) {
          MatrixF m;
          io.features.GetMatrix(&m);
          KQ_FUZZ_EXPECT(m.rows() == static_cast<int64_t>(io.indexes.size()),
                         "eg input rows != its indexes");
        }
        for (const NnetChainSupervision& out : eg.outputs) {
          out.CheckDim();
          if (!out.supervision.e2e()) {
            std::vector<int32_t> times;
            fuzz::Guarded([&] { ComputeFstStateTimes(out.supervision.fst, &times); });
          }
        }
        fuzz::WriteBoth<NnetChainExampleHolder>(eg);
      });
}
