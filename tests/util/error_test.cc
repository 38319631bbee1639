// QuoteBytes / SanitizeForTerminal: what error messages quote from a file is safe to print.
#include <gtest/gtest.h>

#include <string>

#include "util/error.h"

namespace kaldiq {
namespace {

TEST(QuoteBytes, PrintableAsciiIsKept) {
  EXPECT_EQ(QuoteBytes("<Nnet3> x=1"), "<Nnet3> x=1");
}

TEST(QuoteBytes, ControlBinaryAndNonAsciiAreEscaped) {
  EXPECT_EQ(QuoteBytes(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(QuoteBytes("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(QuoteBytes("\n\t\x7f\xff"), "\\x0a\\x09\\x7f\\xff");
  EXPECT_EQ(QuoteBytes("back\\slash"), "back\\x5cslash");  // unambiguous: '\' itself escaped
}

TEST(QuoteBytes, LongInputIsCut) {
  const std::string q = QuoteBytes(std::string(1000, 'x'), 10);
  EXPECT_EQ(q, "xxxxxxxxxx...");
  EXPECT_EQ(QuoteBytes(std::string(10, 'x'), 10), std::string(10, 'x'));
}

TEST(SanitizeForTerminal, KeepsValidUtf8AndNewlines) {
  const std::string s = "utt 'caf\xc3\xa9' \xe2\x82\xac \xf0\x9f\x98\x80\nline2\ttab";
  EXPECT_EQ(SanitizeForTerminal(s), s);
}

TEST(SanitizeForTerminal, EscapesControlAndInvalidUtf8) {
  EXPECT_EQ(SanitizeForTerminal("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(SanitizeForTerminal(std::string("\0\r", 2)), "\\x00\\x0d");
  EXPECT_EQ(SanitizeForTerminal("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(SanitizeForTerminal("\xc3"), "\\xc3");              // truncated sequence
  EXPECT_EQ(SanitizeForTerminal("\xc0\xaf"), "\\xc0\\xaf");     // overlong '/'
  EXPECT_EQ(SanitizeForTerminal("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(SanitizeForTerminal("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
}

}  // namespace
}  // namespace kaldiq
