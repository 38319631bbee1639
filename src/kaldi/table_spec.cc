#include "kaldi/table_spec.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

// Kaldi's SplitStringToVector(s, ", ", false, ...): split on ',' and ' ', keeping empty parts.
std::vector<std::string> SplitOptions(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == ',' || c == ' ') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

bool ParseInt(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  *out = v;
  return true;
}

// "a:b" -> (a, b); ":" -> all.
bool ParseRangePart(const std::string& s, int64_t* a, int64_t* b, bool* all) {
  *all = false;
  if (s == ":") {
    *all = true;
    return true;
  }
  size_t colon = s.find(':');
  if (colon == std::string::npos || s.find(':', colon + 1) != std::string::npos) return false;
  return ParseInt(s.substr(0, colon), a) && ParseInt(s.substr(colon + 1), b);
}

}  // namespace

RspecifierType ClassifyRspecifier(const std::string& spec, std::string* rxfilename,
                                  RspecifierOptions* opts) {
  if (rxfilename) rxfilename->clear();
  RspecifierOptions o;
  if (opts) *opts = o;
  size_t pos = spec.find(':');
  if (pos == std::string::npos || spec.empty() || std::isspace(static_cast<unsigned char>(spec.back())))
    return RspecifierType::kNone;
  RspecifierType type = RspecifierType::kNone;
  for (const std::string& s : SplitOptions(spec.substr(0, pos))) {
    if (s == "b" || s == "t") {
    } else if (s == "o") {
      o.once = true;
    } else if (s == "no") {
      o.once = false;
    } else if (s == "p") {
      o.permissive = true;
    } else if (s == "np") {
      o.permissive = false;
    } else if (s == "s") {
      o.sorted = true;
    } else if (s == "ns") {
      o.sorted = false;
    } else if (s == "cs") {
      o.called_sorted = true;
    } else if (s == "ncs") {
      o.called_sorted = false;
    } else if (s == "bg") {
      o.background = true;
    } else if (s == "ark" && type == RspecifierType::kNone) {
      type = RspecifierType::kArchive;
    } else if (s == "scp" && type == RspecifierType::kNone) {
      type = RspecifierType::kScript;
    } else {
      return RspecifierType::kNone;
    }
  }
  if (type != RspecifierType::kNone) {
    if (rxfilename) *rxfilename = spec.substr(pos + 1);
    if (opts) *opts = o;
  }
  return type;
}

WspecifierType ClassifyWspecifier(const std::string& spec, std::string* archive_wx,
                                  std::string* script_wx, WspecifierOptions* opts) {
  if (archive_wx) archive_wx->clear();
  if (script_wx) script_wx->clear();
  WspecifierOptions o;
  if (opts) *opts = o;
  size_t pos = spec.find(':');
  if (pos == std::string::npos || spec.empty() || std::isspace(static_cast<unsigned char>(spec.back())))
    return WspecifierType::kNone;
  WspecifierType type = WspecifierType::kNone;
  for (const std::string& s : SplitOptions(spec.substr(0, pos))) {
    if (s == "b") {
      o.binary = true;
    } else if (s == "t") {
      o.binary = false;
    } else if (s == "f") {
      o.flush = true;
    } else if (s == "nf") {
      o.flush = false;
    } else if (s == "p") {
      o.permissive = true;
    } else if (s == "ark") {
      if (type != WspecifierType::kNone) return WspecifierType::kNone;  // "scp,ark" is invalid
      type = WspecifierType::kArchive;
    } else if (s == "scp") {
      if (type == WspecifierType::kNone) {
        type = WspecifierType::kScript;
      } else if (type == WspecifierType::kArchive) {
        type = WspecifierType::kBoth;
      } else {
        return WspecifierType::kNone;
      }
    } else {
      return WspecifierType::kNone;
    }
  }
  std::string after = spec.substr(pos + 1);
  switch (type) {
    case WspecifierType::kArchive:
      if (archive_wx) *archive_wx = after;
      break;
    case WspecifierType::kScript:
      if (script_wx) *script_wx = after;
      break;
    case WspecifierType::kBoth: {
      size_t comma = after.find(',');
      if (comma == std::string::npos) return WspecifierType::kNone;
      if (archive_wx) *archive_wx = after.substr(0, comma);
      if (script_wx) *script_wx = after.substr(comma + 1);
      break;
    }
    case WspecifierType::kNone:
      break;
  }
  if (opts) *opts = o;
  return type;
}

RspecifierType ParseRspecifierOrThrow(const std::string& spec, std::string* rxfilename,
                                      RspecifierOptions* opts) {
  RspecifierType t = ClassifyRspecifier(spec, rxfilename, opts);
  KQ_CHECK(t != RspecifierType::kNone, kInvalidArgument)
      << "invalid rspecifier '" << spec
      << "' (expected e.g. ark:feats.ark, scp:feats.scp, \"ark:cmd |\", ark,s,cs:-)";
  return t;
}

WspecifierType ParseWspecifierOrThrow(const std::string& spec, std::string* archive_wx,
                                      std::string* script_wx, WspecifierOptions* opts) {
  WspecifierType t = ClassifyWspecifier(spec, archive_wx, script_wx, opts);
  KQ_CHECK(t != WspecifierType::kNone, kInvalidArgument)
      << "invalid wspecifier '" << spec
      << "' (expected e.g. ark:out.ark, ark,t:-, ark,scp:out.ark,out.scp, \"ark:| cmd\")";
  return t;
}

bool ParseScriptLine(const std::string& line_in, ScriptEntry* e) {
  std::string line = line_in;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  // Kaldi's SplitStringOnFirstSpace: key up to the first space/tab, rest trimmed.
  size_t b = 0;
  while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
  size_t k = b;
  while (k < line.size() && !std::isspace(static_cast<unsigned char>(line[k]))) ++k;
  e->key = line.substr(b, k - b);
  size_t r = k;
  while (r < line.size() && std::isspace(static_cast<unsigned char>(line[r]))) ++r;
  size_t end = line.size();
  while (end > r && std::isspace(static_cast<unsigned char>(line[end - 1]))) --end;
  e->rxfilename = line.substr(r, end - r);
  e->range.clear();
  if (e->key.empty() || e->rxfilename.empty()) return false;
  // Kaldi's ExtractRangeSpecifier: "name[range]" with exactly one '['.
  const std::string& rx = e->rxfilename;
  if (rx.back() == ']') {
    size_t open = rx.find('[');
    if (open != std::string::npos && open > 0 && rx.find('[', open + 1) == std::string::npos &&
        open + 2 < rx.size()) {
      e->range = rx.substr(open + 1, rx.size() - open - 2);
      e->rxfilename = rx.substr(0, open);
    }
  }
  return true;
}

void ParseMatrixRange(const std::string& range, int64_t rows, int64_t cols, int64_t* row_begin,
                      int64_t* num_rows, int64_t* col_begin, int64_t* num_cols) {
  std::vector<std::string> parts(1);
  for (char c : range) {
    if (c == ',') {
      parts.emplace_back();
    } else {
      parts.back().push_back(c);
    }
  }
  bool ok = !range.empty() && parts.size() <= 2;
  for (const auto& p : parts) ok = ok && !p.empty();
  int64_t r0 = 0, r1 = rows - 1, c0 = 0, c1 = cols - 1;
  bool all = false;
  if (ok) {
    int64_t a = 0, b = 0;
    ok = ParseRangePart(parts[0], &a, &b, &all);
    if (ok && !all) {
      r0 = a;
      r1 = b;
    }
    if (ok && parts.size() == 2) {
      ok = ParseRangePart(parts[1], &a, &b, &all);
      if (ok && !all) {
        c0 = a;
        c1 = b;
      }
    }
  }
  // Kaldi allows the row range to overrun by up to 3 frames (segment rounding) and clamps.
  const int64_t kLengthTolerance = 3;
  ok = ok && r0 >= 0 && r0 <= r1 && r1 < rows + kLengthTolerance && c0 >= 0 && c0 <= c1 &&
       c1 < cols;
  KQ_CHECK(ok, kFormat) << "invalid range specifier [" << range << "] for a matrix of " << rows
                        << " x " << cols;
  r1 = std::min(r1, rows - 1);
  KQ_CHECK(r0 <= r1, kFormat) << "range [" << range << "] starts beyond the last row (" << rows
                              << " rows)";
  *row_begin = r0;
  *num_rows = r1 - r0 + 1;
  *col_begin = c0;
  *num_cols = c1 - c0 + 1;
}

bool IsValidKey(const std::string& key) {
  if (key.empty()) return false;
  for (unsigned char c : key) {
    if (std::isspace(c) || !std::isprint(c)) return false;
  }
  return true;
}

}  // namespace kaldiq::kaldi
