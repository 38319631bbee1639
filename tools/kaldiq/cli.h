// Shared CLI plumbing: every subcommand wraps its body in RunGuarded so that any kaldiq::Error
// (or other exception) is printed once as "kaldiq <cmd>: error: ..." and turned into exit 1.
// Options are parsed with CLI11 in Kaldi's style: --name=value, booleans as --flag, --flag=true
// or --flag=false; --help prints usage with defaults; --config=<file> reads Kaldi option files
// (kaldi/config_file.h).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "kernels/kernel_selection.h"
#include "kaldi/option_table.h"

namespace kaldiq::cli {

// Makes a CLI11 app for subcommand `name` with Kaldi-style usage text and a --quiet flag
// bound to *quiet when given.
void ConfigureApp(CLI::App& app, const std::string& usage);

// Adds a Kaldi-style boolean option: accepts --name, --name=true|false (also 1/0).
CLI::Option* AddBool(CLI::App& app, const std::string& name, bool* value,
                     const std::string& help);

// Adds --kernels=<name>[,<name>] (kernels/kernel_selection.h): forces the int8 and/or fp32
// kernel of every layer ("auto" = chosen per layer from the CPU and the layer's shape / weights).
CLI::Option* AddKernelsOption(CLI::App& app, std::string* value);
// The selection *value names; throws kaldiq::Error (kInvalidArgument) listing the known kernels.
kernels::KernelSelection ParseKernels(const std::string& value);
// Binds every option of a Kaldi option struct's table (kaldi/option_table.h) to the command
// line, with the struct's current values as defaults; the table must outlive the app.
void AddOptionTable(CLI::App& app, const kaldi::OptionTable& table);

// Parses argv (argv[0] = subcommand) and runs body(); returns the exit code: 0 on success,
// 1 on any error (printed as "kaldiq <cmd>: error: <message>"), 0 after --help.
int RunGuarded(const std::string& cmd, CLI::App& app, int argc, char** argv,
               const std::function<int()>& body);

}  // namespace kaldiq::cli
