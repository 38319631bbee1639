#include "kaldi/option_table.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "kaldi/config_file.h"
#include "util/error.h"

namespace kaldiq::kaldi {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ParseBool(const std::string& v, bool* out) {
  std::string l = Lower(v);
  if (l == "true" || l == "t" || l == "1") {
    *out = true;
    return true;
  }
  if (l == "false" || l == "f" || l == "0") {
    *out = false;
    return true;
  }
  return false;
}

bool ParseInt32(const std::string& v, int32_t* out) {
  if (v.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  *out = static_cast<int32_t>(x);
  return true;
}

bool ParseDouble(const std::string& v, double* out) {
  if (v.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (end == nullptr || *end != '\0' || errno == ERANGE) return false;
  *out = x;
  return true;
}

}  // namespace

void OptionTable::Add(const std::string& name, Type type, void* value, const std::string& help) {
  std::string n = NormalizeOptionName(name);
  for (const Entry& e : entries_) {
    KQ_CHECK(e.name != n, kInternal) << "option --" << n << " registered twice";
  }
  entries_.push_back(Entry{n, type, value, help});
}

void OptionTable::Register(const std::string& name, bool* value, const std::string& help) {
  Add(name, Type::kBool, value, help);
}
void OptionTable::Register(const std::string& name, int32_t* value, const std::string& help) {
  Add(name, Type::kInt32, value, help);
}
void OptionTable::Register(const std::string& name, float* value, const std::string& help) {
  Add(name, Type::kFloat, value, help);
}
void OptionTable::Register(const std::string& name, double* value, const std::string& help) {
  Add(name, Type::kDouble, value, help);
}
void OptionTable::Register(const std::string& name, std::string* value,
                           const std::string& help) {
  Add(name, Type::kString, value, help);
}

void OptionTable::Set(const std::string& raw_name, const std::string& raw_value,
                      bool has_value) {
  const std::string name = NormalizeOptionName(TrimWhitespace(raw_name));
  const std::string value = TrimWhitespace(raw_value);
  const Entry* entry = nullptr;
  for (const Entry& e : entries_) {
    if (e.name == name) entry = &e;
  }
  KQ_CHECK(entry != nullptr, kInvalidArgument) << "invalid option --" << name;
  if (!has_value) {
    KQ_CHECK(entry->type == Type::kBool, kInvalidArgument)
        << "option --" << name << " needs a value (--" << name << "=<value>)";
    *static_cast<bool*>(entry->value) = true;
    return;
  }
  KQ_CHECK(!value.empty(), kInvalidArgument)
      << "invalid option --" << name << "= (empty value; option format is --x=y)";
  bool ok = false;
  switch (entry->type) {
    case Type::kBool:
      ok = ParseBool(value, static_cast<bool*>(entry->value));
      break;
    case Type::kInt32:
      ok = ParseInt32(value, static_cast<int32_t*>(entry->value));
      break;
    case Type::kFloat: {
      double d = 0;
      ok = ParseDouble(value, &d);
      if (ok) *static_cast<float*>(entry->value) = static_cast<float>(d);
      break;
    }
    case Type::kDouble:
      ok = ParseDouble(value, static_cast<double*>(entry->value));
      break;
    case Type::kString:
      *static_cast<std::string*>(entry->value) = value;
      ok = true;
      break;
  }
  KQ_CHECK(ok, kInvalidArgument) << "invalid value '" << value << "' for option --" << name;
}

void OptionTable::Apply(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    KQ_CHECK(a.size() > 2 && a.compare(0, 2, "--") == 0, kInvalidArgument)
        << "expected an option --name=value, got '" << a << "'";
    size_t eq = a.find('=');
    if (eq == std::string::npos) {
      Set(a.substr(2), "", /*has_value=*/false);
    } else {
      Set(a.substr(2, eq - 2), a.substr(eq + 1));
    }
  }
}

void OptionTable::ReadConfigFile(const std::string& path) {
  std::vector<std::string> args = kaldi::ReadConfigFile(path);
  try {
    Apply(args);
  } catch (const Error& e) {
    throw e.WithContext("config file '" + path + "'");
  }
}

std::string OptionTable::ValueString(const Entry& e) {
  std::ostringstream os;
  switch (e.type) {
    case Type::kBool:
      os << (*static_cast<const bool*>(e.value) ? "true" : "false");
      break;
    case Type::kInt32:
      os << *static_cast<const int32_t*>(e.value);
      break;
    case Type::kFloat:
      os << *static_cast<const float*>(e.value);
      break;
    case Type::kDouble:
      os << *static_cast<const double*>(e.value);
      break;
    case Type::kString:
      os << *static_cast<const std::string*>(e.value);
      break;
  }
  return os.str();
}

}  // namespace kaldiq::kaldi
