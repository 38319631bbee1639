// Kaldi's option files (util/parse-options.cc: ParseOptions::ReadConfigFile) and the `--config`
// option every Kaldi binary takes.
//
// A config file holds one option per line, written as on the command line ("--name=value" or
// "--name"). Everything from the first '#' on is a comment; leading and trailing whitespace is
// dropped; empty lines are skipped; any other line that does not start with "--" is an error.
// Options from --config files are applied first and the command line's own options override
// them; among repeated options the last one wins (Kaldi's semantics).
#pragma once

#include <string>
#include <vector>

namespace kaldiq::kaldi {

// The options of one config file, in file order ("--name=value" strings). Throws kaldiq::Error
// naming the file and line on an unreadable file or a line that is not an option.
std::vector<std::string> ReadConfigFile(const std::string& path);

// Returns args with every "--config=<file>" replaced by the file's options, placed before all
// command-line options, and with earlier occurrences of an option dropped when the same option
// name appears again later (so that a parser that refuses repeated options sees Kaldi's
// "last one wins"). Arguments that do not start with "--" keep their relative order; "--" ends
// option processing (everything after it is kept verbatim). Option names are normalised
// (NormalizeOptionArg).
std::vector<std::string> ExpandConfigArgs(const std::vector<std::string>& args);

// Kaldi's option-name normalisation (ParseOptions::NormalizeArgName): in "--Name_X=v" the name
// becomes lower case with '_' replaced by '-' ("--name-x=v"); the value and non-options are
// unchanged. ExpandConfigArgs applies it to every option, from files and the command line.
std::string NormalizeOptionArg(const std::string& arg);

// Kaldi's name normalisation on a bare option name: lower case, '_' -> '-'.
std::string NormalizeOptionName(const std::string& name);

// s without leading and trailing white space (" \t\r\n\f\v"), as Kaldi trims config lines.
std::string TrimWhitespace(const std::string& s);

// "--name=value" -> "name"; "--name" -> "name"; anything else -> "".
std::string OptionName(const std::string& arg);

}  // namespace kaldiq::kaldi
