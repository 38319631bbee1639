#include "kaldi/nnet3/io_util.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <sstream>

#include "kaldi/basic_io.h"
#include "kaldi/matrix_io.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

int32_t ReadBinaryCount(std::istream& is, int64_t element_bytes, const char* what) {
  int c = is.get();
  KQ_CHECK(c == 4, kFormat) << "expected " << what << " (size byte 4), got "
                            << (c == EOF ? std::string("end of file") : std::to_string(c)) << " "
                            << DescribePosition(is);
  int32_t n = 0;
  ReadExact(is, reinterpret_cast<char*>(&n), 4, what);
  KQ_CHECK(n >= 0, kFormat) << "negative " << what << " length " << n << " "
                            << DescribePosition(is);
  CheckPayloadFits(is, static_cast<int64_t>(n) * element_bytes, what);
  return n;
}

// Text: skips whitespace, expects '['.
void ExpectOpenBracket(std::istream& is, const char* what) {
  SkipWhitespace(is, false);
  int c = is.get();
  KQ_CHECK(c == '[', kFormat) << "expected '[' starting " << what << ", got "
                              << (c == EOF ? std::string("end of file") : std::string(1, char(c)))
                              << " " << DescribePosition(is);
}

std::string ReadWord(std::istream& is) {
  std::string w;
  int c;
  while ((c = is.peek()) != EOF && !std::isspace(c) && w.size() < 64) w.push_back(char(is.get()));
  return w;
}

int32_t ParseInt(const std::string& s, std::istream& is, const char* what) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s.c_str(), &end, 10);
  KQ_CHECK(!s.empty() && end && *end == '\0' && errno == 0 && v >= INT32_MIN && v <= INT32_MAX,
           kFormat)
      << "bad integer '" << QuoteBytes(s) << "' in " << what << " " << DescribePosition(is);
  return static_cast<int32_t>(v);
}

}  // namespace

void WriteInt32Vector(std::ostream& os, bool binary, const std::vector<int32_t>& v) {
  if (binary) {
    os.put(4);
    int32_t n = static_cast<int32_t>(v.size());
    os.write(reinterpret_cast<const char*>(&n), 4);
    if (n) os.write(reinterpret_cast<const char*>(v.data()), 4 * static_cast<std::streamsize>(n));
  } else {
    os << "[ ";
    for (int32_t x : v) os << x << ' ';
    os << "]\n";
  }
}

std::vector<int32_t> ReadInt32Vector(std::istream& is, bool binary) {
  std::vector<int32_t> v;
  if (binary) {
    int32_t n = ReadBinaryCount(is, 4, "int32 vector");
    v.resize(n);
    if (n) ReadExact(is, reinterpret_cast<char*>(v.data()), 4 * static_cast<int64_t>(n),
                     "int32 vector");
    return v;
  }
  ExpectOpenBracket(is, "an integer vector");
  while (true) {
    SkipWhitespace(is, false);
    KQ_CHECK(is.peek() != EOF, kFormat) << "unterminated integer vector " << DescribePosition(is);
    if (is.peek() == ']') {
      is.get();
      return v;
    }
    v.push_back(ParseInt(ReadWord(is), is, "integer vector"));
  }
}

void WriteInt32PairVector(std::ostream& os, bool binary,
                          const std::vector<std::pair<int32_t, int32_t>>& v) {
  if (binary) {
    os.put(4);
    int32_t n = static_cast<int32_t>(v.size());
    os.write(reinterpret_cast<const char*>(&n), 4);
    for (const auto& p : v) {
      os.write(reinterpret_cast<const char*>(&p.first), 4);
      os.write(reinterpret_cast<const char*>(&p.second), 4);
    }
  } else {
    os << "[ ";
    for (const auto& p : v) os << p.first << ',' << p.second << ' ';
    os << "]\n";
  }
}

std::vector<std::pair<int32_t, int32_t>> ReadInt32PairVector(std::istream& is, bool binary) {
  std::vector<std::pair<int32_t, int32_t>> v;
  if (binary) {
    int32_t n = ReadBinaryCount(is, 8, "int32 pair vector");
    v.resize(n);
    for (auto& p : v) {
      ReadExact(is, reinterpret_cast<char*>(&p.first), 4, "int32 pair vector");
      ReadExact(is, reinterpret_cast<char*>(&p.second), 4, "int32 pair vector");
    }
    return v;
  }
  ExpectOpenBracket(is, "an integer-pair vector");
  while (true) {
    SkipWhitespace(is, false);
    KQ_CHECK(is.peek() != EOF, kFormat) << "unterminated integer-pair vector "
                                        << DescribePosition(is);
    if (is.peek() == ']') {
      is.get();
      return v;
    }
    std::string w = ReadWord(is);
    size_t comma = w.find(',');
    KQ_CHECK(comma != std::string::npos, kFormat)
        << "expected 'a,b' in integer-pair vector, got '" << w << "' " << DescribePosition(is);
    v.emplace_back(ParseInt(w.substr(0, comma), is, "integer-pair vector"),
                   ParseInt(w.substr(comma + 1), is, "integer-pair vector"));
  }
}

std::string FormatConfigFloat(float f) {
  std::ostringstream os;
  os << f;
  return os.str();
}

}  // namespace kaldiq::kaldi
