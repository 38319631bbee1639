// The one error type of kaldiq. Library code throws kaldiq::Error (never exit()/abort());
// the CLI catches it once and prints "kaldiq <cmd>: error: <what()>".
#pragma once

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

}  // namespace kaldiq

// KQ_THROW(kFormat) << "bad marker " << m;   -- throws kaldiq::Error with Code::kFormat.
#define KQ_THROW(code) \
  ::kaldiq::internal::ErrorThrower() & ::kaldiq::internal::ErrorBuilder(::kaldiq::Error::Code::code)

// KQ_CHECK(cond, kFormat) << "message";   -- throws when cond is false.
#define KQ_CHECK(cond, code) \
  if (cond) {                \
  } else                     \
    KQ_THROW(code)
