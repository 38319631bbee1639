#include "kaldi/config_file.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <unordered_map>

#include "util/error.h"

namespace kaldiq::kaldi {

std::string TrimWhitespace(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::string NormalizeOptionName(const std::string& name) {
  std::string out = name;
  for (char& c : out) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> ReadConfigFile(const std::string& path) {
  std::ifstream in(path);
  KQ_CHECK(in.good(), kIo) << "cannot open config file '" << path << "'";
  std::vector<std::string> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    line = TrimWhitespace(line);
    if (line.empty()) continue;
    KQ_CHECK(line.compare(0, 2, "--") == 0 && line.size() > 2, kInvalidArgument)
        << "config file '" << path << "', line " << lineno
        << ": expected an option of the form --name=value, got '" << QuoteBytes(line, 200) << "'";
    out.push_back(line);
  }
  KQ_CHECK(!in.bad(), kIo) << "error reading config file '" << path << "'";
  return out;
}

std::string OptionName(const std::string& arg) {
  if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) return "";
  size_t eq = arg.find('=');
  return arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
}

std::string NormalizeOptionArg(const std::string& arg) {
  if (OptionName(arg).empty()) return arg;
  const size_t end = std::min(arg.find('='), arg.size());
  return "--" + NormalizeOptionName(arg.substr(2, end - 2)) + arg.substr(end);
}

std::vector<std::string> ExpandConfigArgs(const std::vector<std::string>& args_in) {
  std::vector<std::string> from_config, rest, tail;
  bool ended = false;
  std::vector<std::string> args;
  for (const std::string& a : args_in) {
    ended = ended || a == "--";
    args.push_back(ended ? a : NormalizeOptionArg(a));
  }
  ended = false;
  for (const std::string& a : args) {
    if (ended) {
      tail.push_back(a);
    } else if (a == "--") {
      ended = true;
      tail.push_back(a);
    } else if (OptionName(a) == "config") {
      size_t eq = a.find('=');
      KQ_CHECK(eq != std::string::npos && eq + 1 < a.size(), kInvalidArgument)
          << "--config needs a file name (--config=<file>)";
      for (std::string& o : ReadConfigFile(a.substr(eq + 1)))
        from_config.push_back(NormalizeOptionArg(o));
    } else {
      rest.push_back(a);
    }
  }
  std::vector<std::string> all = std::move(from_config);
  all.insert(all.end(), rest.begin(), rest.end());
  // Keep only the last occurrence of each option name.
  std::unordered_map<std::string, size_t> last;
  for (size_t i = 0; i < all.size(); ++i) {
    std::string name = OptionName(all[i]);
    if (!name.empty()) last[name] = i;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < all.size(); ++i) {
    std::string name = OptionName(all[i]);
    if (name.empty() || last[name] == i) out.push_back(all[i]);
  }
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

}  // namespace kaldiq::kaldi
