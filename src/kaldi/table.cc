#include "kaldi/table.h"

#include <cctype>

namespace kaldiq::kaldi::internal {

bool ReadArchiveKey(std::istream& is, std::string* key) {
  key->clear();
  int c;
  while ((c = is.peek()) != EOF && std::isspace(c)) is.get();
  if (c == EOF) return false;
  while ((c = is.peek()) != EOF && !std::isspace(c)) {
    key->push_back(static_cast<char>(is.get()));
    KQ_CHECK(key->size() <= 4096, kFormat)
        << "invalid archive: key longer than 4096 bytes (not an archive?) " << DescribePosition(is);
  }
  // Kaldi: the key is followed by a space (or tab, consumed; or newline, not consumed).
  KQ_CHECK(c == ' ' || c == '\t' || c == '\n', kFormat)
      << "invalid archive: expected a space after key '" << *key << "', got "
      << (c == EOF ? std::string("end of file") : "character " + std::to_string(c)) << " "
      << DescribePosition(is);
  if (c != '\n') is.get();
  return true;
}

bool ReadScriptEntry(std::istream& is, int64_t* line_number, ScriptEntry* entry) {
  std::string line;
  while (std::getline(is, line)) {
    ++*line_number;
    bool blank = true;
    for (char ch : line) blank = blank && std::isspace(static_cast<unsigned char>(ch));
    KQ_CHECK(!blank, kFormat) << "empty line " << *line_number << " in script file";
    KQ_CHECK(ParseScriptLine(line, entry), kFormat)
        << "invalid line " << *line_number << " in script file: \"" << QuoteBytes(line, 200)
        << "\" (expected \"<key> <rxfilename>\")";
    return true;
  }
  return false;
}

std::string EntryContext(const char* what, const std::string& spec, const std::string& key,
                         int64_t offset) {
  std::string s = std::string(what) + " '" + spec + "'";
  if (!key.empty()) s += ", key '" + key + "'";
  if (offset >= 0) s += " (entry at byte offset " + std::to_string(offset) + ")";
  return s;
}

int64_t TellOrMinusOne(std::istream& is) {
  if (!is.good()) return -1;
  std::streampos p = is.rdbuf()->pubseekoff(0, std::ios::cur, std::ios::in);
  return p == std::streampos(-1) ? -1 : static_cast<int64_t>(p);
}

}  // namespace kaldiq::kaldi::internal
