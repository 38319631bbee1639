// The one error type of kaldiq. Library code throws kaldiq::Error (never exit()/abort());
// the CLI catches it once and prints "kaldiq <cmd>: error: <what()>".
#pragma once

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>

namespace kaldiq {

class Error : public std::runtime_error {
 public:
  enum class Code { kIo, kFormat, kUnsupported, kInvalidArgument, kInternal };

  Error(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Code code() const { return code_; }

  // Returns a copy whose message is "<context>: <message>", e.g. WithContext("final.mdl")
  // or WithContext("utterance 'spk1-001'"). Used to add file / utterance / component names
  // while an error travels up.
  Error WithContext(const std::string& context) const {
    return Error(code_, context + ": " + what());
  }

 private:
  Code code_;
};

namespace internal {
// Collects a message with operator<< and throws it from Throw(); see KQ_THROW.
class ErrorBuilder {
 public:
  explicit ErrorBuilder(Error::Code code) : code_(code) {}
  template <typename T>
  ErrorBuilder& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }
  [[noreturn]] void Throw() const { throw Error(code_, stream_.str()); }

 private:
  Error::Code code_;
  std::ostringstream stream_;
};
// Lets `KQ_THROW(kFormat) << "x" << y;` be a statement that throws at its end.
struct ErrorThrower {
  [[noreturn]] void operator&(const ErrorBuilder& b) const { b.Throw(); }
};
}  // namespace internal

// Bytes read from a file, quoted for an error message: printable ASCII as is, anything else
// (control characters, binary, non-ASCII) as \xNN, at most `max_bytes` of the input followed by
// "..." when longer -- so a garbage file cannot echo binary or terminal escapes into the user's
// terminal, nor a megabyte-long "token" into a message. Use it wherever a message quotes what
// was read (tokens, words, lines).
inline std::string QuoteBytes(const std::string& bytes, size_t max_bytes = 64) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  const size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  out.reserve(n + 8);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (n < bytes.size()) out += "...";
  return out;
}

// A whole message made safe for a terminal: control characters and bytes that are not part of
// valid UTF-8 become \xNN (valid UTF-8 -- non-ASCII keys and file names -- is kept). The CLI
// prints every error through it, as a backstop for call sites that quote raw bytes.
inline std::string SanitizeForTerminal(const std::string& msg) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(msg.size());
  auto escape = [&](unsigned char c) {
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  };
  for (size_t i = 0; i < msg.size();) {
    const unsigned char c = static_cast<unsigned char>(msg[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) escape(c);
      else out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Length of a valid UTF-8 sequence starting here (0 if invalid): no overlong forms, no
    // surrogates, nothing above U+10FFFF.
    size_t len = 0;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) len = 3;
    else if (c >= 0xf0 && c <= 0xf4) len = 4;
    bool ok = len > 0 && i + len <= msg.size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(msg[i + k]) & 0xc0) == 0x80;
    if (ok && len >= 3) {
      const unsigned char c1 = static_cast<unsigned char>(msg[i + 1]);
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) ||
          (c == 0xf4 && c1 >= 0x90))
        ok = false;
    }
    if (!ok) {
      escape(c);
      ++i;
      continue;
    }
    out.append(msg, i, len);
    i += len;
  }
  return out;
}

}  // namespace kaldiq

// KQ_THROW(kFormat) << "bad marker " << m;   -- throws kaldiq::Error with Code::kFormat.
#define KQ_THROW(code) \
  ::kaldiq::internal::ErrorThrower() & ::kaldiq::internal::ErrorBuilder(::kaldiq::Error::Code::code)

// KQ_CHECK(cond, kFormat) << "message";   -- throws when cond is false.
#define KQ_CHECK(cond, code) \
  if (cond) {                \
  } else                     \
    KQ_THROW(code)
