// Kaldi's option registration (util/parse-options.h: ParseOptions::Register) for option structs
// that Kaldi reads from their own files: online2's "--cmvn-config=online_cmvn.conf",
// "--splice-config", "--ivector-extraction-config", each parsed by a fresh parser that knows only
// that struct's options (Kaldi's ReadConfigFromFile). A struct registers its fields once
// (`void Register(kaldi::OptionTable*)`); the same table then reads a config file here and is
// bound to the command line by the CLI (cli::AddOptionTable), so each option has one definition.
//
// Semantics (Kaldi's): names are normalised ('_' -> '-', lower case); "--name=value", and for
// booleans also a bare "--name" (true); booleans accept true/t/1 and false/f/0 in any case;
// "--name=" (empty value), an unknown name, or a value that does not parse is an error
// (kaldiq::Error kInvalidArgument naming the option, and the file when read from one); the last
// occurrence of an option wins. The table holds pointers into the registered struct: it must not
// outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kaldi/config_file.h"  // NormalizeOptionName

namespace kaldiq::kaldi {

class OptionTable {
 public:
  enum class Type { kBool, kInt32, kFloat, kDouble, kString };
  struct Entry {
    std::string name;  // normalised, without "--"
    Type type;
    void* value;
    std::string help;
  };

  void Register(const std::string& name, bool* value, const std::string& help);
  void Register(const std::string& name, int32_t* value, const std::string& help);
  void Register(const std::string& name, float* value, const std::string& help);
  void Register(const std::string& name, double* value, const std::string& help);
  void Register(const std::string& name, std::string* value, const std::string& help);

  // Sets option `name` from its text form (a bare boolean flag passes has_value = false).
  void Set(const std::string& name, const std::string& value, bool has_value = true);
  // Applies "--name=value" / "--name" arguments in order.
  void Apply(const std::vector<std::string>& args);
  // Reads a Kaldi config file (kaldi::ReadConfigFile) and applies it; errors name the file.
  void ReadConfigFile(const std::string& path);

  const std::vector<Entry>& entries() const { return entries_; }
  // The current value of an entry in Kaldi's text form ("true", "600", "0.025", a string).
  static std::string ValueString(const Entry& e);

 private:
  void Add(const std::string& name, Type type, void* value, const std::string& help);
  std::vector<Entry> entries_;
};

}  // namespace kaldiq::kaldi
