// Internal: the byte layout of the int8 model file (docs/int8-format.md). Only int8_model.cc
// and the tests include this.
#pragma once

#include <string>

#include "quant/int8_model.h"

namespace kaldiq::quant {

// version: kInt8FormatVersion, or 1 (only the tests write it, to check that version-1 files are
// still read).
std::string SerializeInt8Model(const Int8Model& model, uint32_t version = kInt8FormatVersion);
// Throws kaldiq::Error (kFormat) with the byte offset on any inconsistency.
Int8Model DeserializeInt8Model(const std::string& bytes);

// FNV-1a 64-bit hash (the file checksum).
uint64_t Fnv1a64(const char* data, size_t n);

}  // namespace kaldiq::quant
