#include "cli.h"

#include <cstdio>
#include <exception>

#include "util/error.h"

namespace kaldiq::cli {

void ConfigureApp(CLI::App& app, const std::string& usage) {
  app.description(usage);
  app.allow_windows_style_options(false);
  app.get_formatter()->column_width(40);
}

CLI::Option* AddBool(CLI::App& app, const std::string& name, bool* value,
                     const std::string& help) {
  // A string option with an optional value so that --x, --x=true and --x=false all work.
  auto* opt = app.add_option_function<std::string>(
      name,
      [value, name](const std::string& s) {
        if (s.empty() || s == "true" || s == "1" || s == "True") {
          *value = true;
        } else if (s == "false" || s == "0" || s == "False") {
          *value = false;
        } else {
          throw CLI::ValidationError(name, "expected true or false, got '" + s + "'");
        }
      },
      help + " (default: " + (*value ? "true" : "false") + ")");
  opt->expected(0, 1);
  opt->default_str("");
  return opt;
}

int RunGuarded(const std::string& cmd, CLI::App& app, int argc, char** argv,
               const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kaldiq %s: error: %s\n\n%s", cmd.c_str(), e.what(), app.help().c_str());
    return 1;
  }
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kaldiq %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}

}  // namespace kaldiq::cli
