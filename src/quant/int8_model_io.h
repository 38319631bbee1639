// Internal: the byte layout of the int8 model file (docs/int8-format.md). Only int8_model.cc
// and the tests include this.
#pragma once

#include <string>

#include "quant/int8_model.h"

namespace kaldiq::quant {

std::string SerializeInt8Model(const Int8Model& model);
// Throws kaldiq::Error (kFormat) with the byte offset on any inconsistency.
Int8Model DeserializeInt8Model(const std::string& bytes);

// FNV-1a 64-bit hash (the file checksum).
uint64_t Fnv1a64(const char* data, size_t n);

}  // namespace kaldiq::quant
