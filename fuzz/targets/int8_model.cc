// kaldiq int8 model files. The checksum would refuse nearly every mutated input before its
// content is parsed, so the target first rewrites the header's size and checksum fields to
// match the bytes -- exactly the case of a hostile or buggy writer whose file is consistent --
// then reads the model as loading does (DeserializeInt8Model) and plans the integer pipeline
// over its graph (OutputGrids, which walks the graph's op indices).
#include <cstring>
#include <string>

#include "fuzz/fuzz_target.h"
#include "quant/int8_model.h"
#include "quant/int8_model_io.h"

using namespace kaldiq;

KQ_FUZZ_TARGET(int8_model) {
  std::string bytes = fuzz::AsString(data, size);
  if (bytes.size() >= 64) {
    const uint64_t n = bytes.size();
    std::memcpy(&bytes[16], &n, 8);
    const uint64_t sum = quant::Fnv1a64(bytes.data() + 64, bytes.size() - 64);
    std::memcpy(&bytes[24], &sum, 8);
  }
  const quant::Int8Model m = quant::DeserializeInt8Model(bytes);
  quant::OutputGrids(m);
}
