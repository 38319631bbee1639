// Decoding graphs (HCLG.fst): OpenFst binary FSTs of type const or vector with StdArc arcs,
// read and validated as `kaldiq decode` does before the decoder touches them.
#include <sstream>

#include "decode/graph_io.h"
#include "fuzz/fuzz_target.h"

using namespace kaldiq;

KQ_FUZZ_TARGET(fst) {
  std::istringstream is(fuzz::AsString(data, size));
  decode::DecodingGraph g = decode::ReadDecodingGraph(is, "HCLG.fst");
  (void)g.NumStates();
}
