// Internal to src/kaldi/nnet3: per-family component readers/writers. The dispatcher
// (component.cc) reads the opening "<XComponent>" token and hands the stream to the family
// that knows X; each Read* consumes everything up to and including the closing token.
#pragma once

#include <istream>
#include <ostream>
#include <string>

#include "kaldi/basic_io.h"
#include "kaldi/matrix_io.h"
#include "kaldi/nnet3/nnet.h"

namespace kaldiq::kaldi::internal {

// Families. Read*: returns false (consuming nothing) if `type` (e.g. "AffineComponent", no
// brackets) is not in the family. Write*: returns false if `p` holds another family's struct.
bool ReadAffineFamily(const std::string& type, std::istream& is, bool binary, ComponentParams* p);
bool WriteAffineFamily(std::ostream& os, bool binary, const ComponentParams& p);
bool ReadSimpleFamily(const std::string& type, std::istream& is, bool binary, ComponentParams* p);
bool WriteSimpleFamily(std::ostream& os, bool binary, const ComponentParams& p);
bool ReadNormalizeFamily(const std::string& type, std::istream& is, bool binary,
                         ComponentParams* p);
bool WriteNormalizeFamily(std::ostream& os, bool binary, const ComponentParams& p);

// Kaldi's Read/WriteUpdatableCommon. Read expects the opening tag to be consumed already.
void ReadUpdatableCommon(std::istream& is, bool binary, UpdatableCommon* c);
void WriteUpdatableCommon(std::ostream& os, bool binary, const std::string& type,
                          const UpdatableCommon& c);

inline float ReadFloat(std::istream& is, bool binary) { return ReadBasicType<float>(is, binary); }
inline double ReadDouble(std::istream& is, bool binary) {
  return ReadBasicType<double>(is, binary);
}
inline int32_t ReadInt(std::istream& is, bool binary) { return ReadBasicType<int32_t>(is, binary); }
inline void WriteFloat(std::ostream& os, bool binary, float v) {
  WriteBasicType<float>(os, binary, v);
}
inline void WriteDouble(std::ostream& os, bool binary, double v) {
  WriteBasicType<double>(os, binary, v);
}
inline void WriteInt(std::ostream& os, bool binary, int32_t v) {
  WriteBasicType<int32_t>(os, binary, v);
}
// "<Token> value" pairs.
inline void WriteTokenFloat(std::ostream& os, bool binary, const char* t, float v) {
  WriteToken(os, binary, t);
  WriteFloat(os, binary, v);
}
inline void WriteTokenInt(std::ostream& os, bool binary, const char* t, int32_t v) {
  WriteToken(os, binary, t);
  WriteInt(os, binary, v);
}
inline void WriteTokenBool(std::ostream& os, bool binary, const char* t, bool v) {
  WriteToken(os, binary, t);
  WriteBool(os, binary, v);
}
inline float ExpectFloat(std::istream& is, bool binary, const char* t) {
  ExpectToken(is, binary, t);
  return ReadFloat(is, binary);
}
inline int32_t ExpectInt(std::istream& is, bool binary, const char* t) {
  ExpectToken(is, binary, t);
  return ReadInt(is, binary);
}
inline bool ExpectBool(std::istream& is, bool binary, const char* t) {
  ExpectToken(is, binary, t);
  return ReadBool(is, binary);
}
// Throws kFormat "expected <A>, got <B>" at the current position.
[[noreturn]] void UnexpectedToken(std::istream& is, const std::string& expected,
                                  const std::string& got);

}  // namespace kaldiq::kaldi::internal
