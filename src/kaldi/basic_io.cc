#include "kaldi/basic_io.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <type_traits>

#include "util/error.h"

namespace kaldiq::kaldi {

std::string DescribePosition(std::istream& is) {
  if (is.eof()) return "at end of stream";
  std::istream::pos_type pos = is.tellg();
  if (pos == std::istream::pos_type(-1)) return "(position unknown)";
  return "at byte offset " + std::to_string(static_cast<long long>(pos));
}

bool ReadBinaryMarker(std::istream& is) {
  if (is.peek() == '\0') {
    is.get();
    int c = is.get();
    KQ_CHECK(c == 'B', kFormat) << "expected binary marker \"\\0B\", got \"\\0"
                                << (c == EOF ? std::string() : QuoteBytes(std::string(1, char(c))))
                                << "\" "
                                << DescribePosition(is);
    return true;
  }
  return false;
}

void WriteBinaryMarker(std::ostream& os, bool binary) {
  if (binary) os.write("\0B", 2);
}

void SkipWhitespace(std::istream& is, bool binary) {
  if (binary) return;
  while (std::isspace(is.peek())) is.get();
}

void WriteToken(std::ostream& os, bool binary, const std::string& token) {
  (void)binary;
  os << token << ' ';
}

std::string ReadToken(std::istream& is, bool binary) {
  if (!binary) SkipWhitespace(is, binary);
  std::string token;
  int c;
  while ((c = is.peek()) != EOF && !std::isspace(c)) {
    token.push_back(static_cast<char>(is.get()));
    KQ_CHECK(token.size() < 4096, kFormat) << "token too long " << DescribePosition(is);
  }
  KQ_CHECK(!token.empty(), kFormat) << "expected a token, got "
                                    << (c == EOF ? std::string("end of file")
                                                 : "character " + std::to_string(c))
                                    << " " << DescribePosition(is);
  // Kaldi writes exactly one space after a token; binary readers consume it.
  if (binary) {
    c = is.get();
    KQ_CHECK(c == ' ', kFormat) << "expected space after token '" << QuoteBytes(token) << "' "
                                << DescribePosition(is);
  }
  return token;
}

std::string PeekToken(std::istream& is, bool binary) {
  if (!binary) SkipWhitespace(is, binary);
  std::istream::pos_type pos = is.tellg();
  if (pos != std::istream::pos_type(-1)) {
    std::string token = ReadToken(is, binary);
    is.clear();
    is.seekg(pos);
    return token;
  }
  // Non-seekable stream: read into a buffer and push it back character by character.
  std::string token;
  int c;
  while ((c = is.peek()) != EOF && !std::isspace(c) && token.size() < 4096) {
    token.push_back(static_cast<char>(is.get()));
  }
  for (auto it = token.rbegin(); it != token.rend(); ++it) is.putback(*it);
  KQ_CHECK(is.good() || token.empty(), kIo) << "cannot peek token in non-seekable stream";
  return token;
}

void ExpectToken(std::istream& is, bool binary, const std::string& expected) {
  std::string got;
  try {
    got = ReadToken(is, binary);
  } catch (const Error& e) {
    throw e.WithContext("expected " + expected);
  }
  KQ_CHECK(got == expected, kFormat) << "expected " << expected << ", got '" << QuoteBytes(got) << "' "
                                     << DescribePosition(is);
}

namespace {
template <typename T>
constexpr char SizeByte() {
  return static_cast<char>((std::numeric_limits<T>::is_signed ? 1 : -1) *
                           static_cast<int>(sizeof(T)));
}

template <typename T>
T ReadTextNumber(std::istream& is, const char* what) {
  SkipWhitespace(is, false);
  std::string word;
  int c;
  while ((c = is.peek()) != EOF && !std::isspace(c) && word.size() < 64) {
    word.push_back(static_cast<char>(is.get()));
  }
  KQ_CHECK(!word.empty(), kFormat) << "expected " << what << ", got end of input "
                                   << DescribePosition(is);
  if constexpr (std::is_floating_point_v<T>) {
    std::string lower;
    for (char ch : word) lower.push_back(static_cast<char>(std::tolower(ch)));
    if (lower == "inf" || lower == "+inf" || lower == "infinity") return std::numeric_limits<T>::infinity();
    if (lower == "-inf" || lower == "-infinity") return -std::numeric_limits<T>::infinity();
    if (lower == "nan" || lower == "-nan") return std::numeric_limits<T>::quiet_NaN();
    char* end = nullptr;
    double v = std::strtod(word.c_str(), &end);
    KQ_CHECK(end && *end == '\0', kFormat) << "expected " << what << ", got '" << QuoteBytes(word) << "' "
                                           << DescribePosition(is);
    return static_cast<T>(v);
  } else {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(word.c_str(), &end, 10);
    KQ_CHECK(end && *end == '\0' && errno == 0, kFormat)
        << "expected " << what << ", got '" << QuoteBytes(word) << "' " << DescribePosition(is);
    KQ_CHECK(v >= static_cast<long long>(std::numeric_limits<T>::min()) &&
                 (v < 0 || static_cast<unsigned long long>(v) <=
                               static_cast<unsigned long long>(std::numeric_limits<T>::max())),
             kFormat)
        << what << " " << v << " out of range " << DescribePosition(is);
    return static_cast<T>(v);
  }
}
}  // namespace

template <typename T>
void WriteBasicType(std::ostream& os, bool binary, T value) {
  static_assert(std::is_integral_v<T>);
  if (binary) {
    os.put(SizeByte<T>());
    os.write(reinterpret_cast<const char*>(&value), sizeof(T));
  } else {
    if constexpr (sizeof(T) == 1) {
      os << static_cast<int>(value) << ' ';
    } else {
      os << value << ' ';
    }
  }
}

template <typename T>
T ReadBasicType(std::istream& is, bool binary) {
  static_assert(std::is_integral_v<T>);
  if (binary) {
    int c = is.get();
    KQ_CHECK(c != EOF, kFormat) << "expected integer, got end of file " << DescribePosition(is);
    KQ_CHECK(static_cast<char>(c) == SizeByte<T>(), kFormat)
        << "expected integer of size " << int(SizeByte<T>()) << ", got size byte " << int(static_cast<char>(c))
        << " " << DescribePosition(is);
    T value;
    is.read(reinterpret_cast<char*>(&value), sizeof(T));
    KQ_CHECK(is.gcount() == static_cast<std::streamsize>(sizeof(T)), kFormat)
        << "truncated integer " << DescribePosition(is);
    return value;
  }
  return ReadTextNumber<T>(is, "integer");
}

template <>
void WriteBasicType<float>(std::ostream& os, bool binary, float value) {
  if (binary) {
    os.put(static_cast<char>(sizeof(float)));
    os.write(reinterpret_cast<const char*>(&value), sizeof(float));
  } else {
    os << value << ' ';
  }
}

template <>
void WriteBasicType<double>(std::ostream& os, bool binary, double value) {
  if (binary) {
    os.put(static_cast<char>(sizeof(double)));
    os.write(reinterpret_cast<const char*>(&value), sizeof(double));
  } else {
    os << value << ' ';
  }
}

namespace {
template <typename T>
T ReadFloating(std::istream& is, bool binary) {
  if (!binary) return ReadTextNumber<T>(is, "floating-point number");
  int c = is.get();
  if (c == 4) {
    float f;
    is.read(reinterpret_cast<char*>(&f), sizeof(f));
    KQ_CHECK(is.gcount() == 4, kFormat) << "truncated float " << DescribePosition(is);
    return static_cast<T>(f);
  }
  if (c == 8) {
    double d;
    is.read(reinterpret_cast<char*>(&d), sizeof(d));
    KQ_CHECK(is.gcount() == 8, kFormat) << "truncated double " << DescribePosition(is);
    return static_cast<T>(d);
  }
  KQ_THROW(kFormat) << "expected floating-point size byte 4 or 8, got "
                    << (c == EOF ? std::string("end of file") : std::to_string(c)) << " "
                    << DescribePosition(is);
}
}  // namespace

template <>
float ReadBasicType<float>(std::istream& is, bool binary) {
  return ReadFloating<float>(is, binary);
}
template <>
double ReadBasicType<double>(std::istream& is, bool binary) {
  return ReadFloating<double>(is, binary);
}

void WriteBool(std::ostream& os, bool binary, bool value) {
  os.put(value ? 'T' : 'F');
  if (!binary) os.put(' ');
}

bool ReadBool(std::istream& is, bool binary) {
  SkipWhitespace(is, binary);
  int c = is.get();
  KQ_CHECK(c == 'T' || c == 'F', kFormat) << "expected bool T or F, got "
                                          << (c == EOF ? std::string("end of file") : "'" + QuoteBytes(std::string(1, char(c))) + "'")
                                          << " " << DescribePosition(is);
  if (!binary && is.peek() == ' ') is.get();
  return c == 'T';
}

#define KQ_INSTANTIATE(T)                                                   \
  template void WriteBasicType<T>(std::ostream&, bool, T);                 \
  template T ReadBasicType<T>(std::istream&, bool);
KQ_INSTANTIATE(int8_t)
KQ_INSTANTIATE(uint8_t)
KQ_INSTANTIATE(int16_t)
KQ_INSTANTIATE(uint16_t)
KQ_INSTANTIATE(int32_t)
KQ_INSTANTIATE(uint32_t)
KQ_INSTANTIATE(int64_t)
KQ_INSTANTIATE(uint64_t)
#undef KQ_INSTANTIATE

}  // namespace kaldiq::kaldi
