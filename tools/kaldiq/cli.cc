#include "cli.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "kaldi/config_file.h"

#include "util/error.h"

namespace kaldiq::cli {

void ConfigureApp(CLI::App& app, const std::string& usage) {
  app.description(usage);
  app.allow_windows_style_options(false);
  app.get_formatter()->column_width(40);
}

CLI::Option* AddBool(CLI::App& app, const std::string& name, bool* value,
                     const std::string& help) {
  // CLI11's bool flag accepts --x, --x=true|false|1|0 and never consumes the next positional
  // argument (which an option with an optional value would: `--text ark:ref` must stay a flag).
  return app.add_flag(name, *value, help + " (default: " + (*value ? "true" : "false") + ")");
}

CLI::Option* AddKernelsOption(CLI::App& app, std::string* value) {
  return app
      .add_option("--kernels", *value,
                  "Kernels: auto, or force one per table (int8: reference, onednn, avx2-w7, "
                  "avx2-w8; fp32: reference, onednn, openblas), comma-separated; a forced int8 "
                  "kernel that is not exact for a layer's weights is an error")
      ->capture_default_str();
}

kernels::KernelSelection ParseKernels(const std::string& value) {
  return kernels::KernelSelection::Parse(value);
}

void AddOptionTable(CLI::App& app, const kaldi::OptionTable& table) {
  using Type = kaldi::OptionTable::Type;
  for (const kaldi::OptionTable::Entry& e : table.entries()) {
    const std::string name = "--" + e.name;
    switch (e.type) {
      case Type::kBool:
        AddBool(app, name, static_cast<bool*>(e.value), e.help);
        break;
      case Type::kInt32:
        app.add_option(name, *static_cast<int32_t*>(e.value), e.help)->capture_default_str();
        break;
      case Type::kFloat:
        app.add_option(name, *static_cast<float*>(e.value), e.help)->capture_default_str();
        break;
      case Type::kDouble:
        app.add_option(name, *static_cast<double*>(e.value), e.help)->capture_default_str();
        break;
      case Type::kString:
        app.add_option(name, *static_cast<std::string*>(e.value), e.help)->capture_default_str();
        break;
    }
  }
}

int RunGuarded(const std::string& cmd, CLI::App& app, int argc, char** argv,
               const std::function<int()>& body) {
  try {
    // Kaldi's --config=<file> (options read first, the command line overrides, last one wins);
    // CLI11 parses the expanded list (it wants it in reverse order).
    std::vector<std::string> args(argv + 1, argv + argc);
    args = kaldi::ExpandConfigArgs(args);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kaldiq %s: error: %s\n\n%s", cmd.c_str(),
                 SanitizeForTerminal(e.what()).c_str(), app.help().c_str());
    return 1;
  } catch (const std::exception& e) {  // an unreadable or malformed --config file
    std::fprintf(stderr, "kaldiq %s: error: %s\n", cmd.c_str(), SanitizeForTerminal(e.what()).c_str());
    return 1;
  }
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kaldiq %s: error: %s\n", cmd.c_str(), SanitizeForTerminal(e.what()).c_str());
    return 1;
  }
}

}  // namespace kaldiq::cli
