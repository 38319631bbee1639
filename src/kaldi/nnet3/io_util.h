// Small Kaldi I/O pieces used by the nnet3 / transition-model readers that basic_io does not
// provide in Kaldi's exact form. Internal to src/kaldi.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace kaldiq::kaldi {

// Kaldi's WriteIntegerVector<int32>: binary = size byte 4, int32 count, then the elements as
// raw contiguous little-endian int32 (no per-element size byte); text = "[ 1 2 3 ]\n".
void WriteInt32Vector(std::ostream& os, bool binary, const std::vector<int32_t>& v);
// Inverse of the above; refuses counts larger than the remaining stream before allocating.
std::vector<int32_t> ReadInt32Vector(std::istream& is, bool binary);

// Kaldi's WriteIntegerPairVector<int32>: binary = size byte 4, int32 count, raw pairs;
// text = "[ 1,2 3,4 ]\n".
void WriteInt32PairVector(std::ostream& os, bool binary,
                          const std::vector<std::pair<int32_t, int32_t>>& v);
std::vector<std::pair<int32_t, int32_t>> ReadInt32PairVector(std::istream& is, bool binary);

// Formats a float like a default-precision std::ostream (what Kaldi's config lines use).
std::string FormatConfigFloat(float f);

}  // namespace kaldiq::kaldi
