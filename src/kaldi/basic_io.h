// Kaldi's basic serialisation (Kaldi's base/io-funcs): tokens, integers, floats, bools, in
// binary and text mode. Binary objects start with "\0B"; binary numbers carry a one-byte size
// prefix (negative for unsigned types). All readers throw kaldiq::Error (Code::kFormat or kIo)
// naming what was expected and the byte offset where reading failed, and never read past a
// declared size without checking it.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>

namespace kaldiq::kaldi {

// Consumes the "\0B" binary marker if present (Kaldi's InitKaldiInputStream); returns true for
// binary. Text mode consumes nothing.
bool ReadBinaryMarker(std::istream& is);
// Writes "\0B" when binary; nothing in text mode.
void WriteBinaryMarker(std::ostream& os, bool binary);

// "at byte offset N" (or "at end of stream"/"in a pipe") for error messages.
std::string DescribePosition(std::istream& is);

// Tokens such as "<Nnet3>" are written followed by one space. Reading skips leading whitespace in
// text mode and consumes the single space that follows in binary mode.
void WriteToken(std::ostream& os, bool binary, const std::string& token);
std::string ReadToken(std::istream& is, bool binary);
// Throws Code::kFormat "expected <X>, got <Y> at byte offset N" on mismatch.
void ExpectToken(std::istream& is, bool binary, const std::string& expected);
// Returns the next token without consuming it (skips whitespace in text mode first).
std::string PeekToken(std::istream& is, bool binary);

// Integral types: int8/16/32/64 and unsigned variants. Binary: size byte then little-endian
// bytes. Text: decimal followed by a space.
template <typename T>
void WriteBasicType(std::ostream& os, bool binary, T value);
template <typename T>
T ReadBasicType(std::istream& is, bool binary);

// float/double have their own overloads: binary float data may be stored as either width and is
// converted (as Kaldi does); text accepts inf/nan spellings that Kaldi writes.
template <>
void WriteBasicType<float>(std::ostream& os, bool binary, float value);
template <>
void WriteBasicType<double>(std::ostream& os, bool binary, double value);
template <>
float ReadBasicType<float>(std::istream& is, bool binary);
template <>
double ReadBasicType<double>(std::istream& is, bool binary);

// Kaldi bools are 'T'/'F' (binary and text alike, followed by a space in text mode).
void WriteBool(std::ostream& os, bool binary, bool value);
bool ReadBool(std::istream& is, bool binary);

// Skips spaces/newlines in text mode (no-op in binary mode).
void SkipWhitespace(std::istream& is, bool binary);

}  // namespace kaldiq::kaldi
