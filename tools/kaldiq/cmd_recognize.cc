// PLACEHOLDER: replaced by the owner of this subcommand.
#include "commands.h"
#include "cli.h"
#include "util/error.h"

namespace kaldiq::cli {
int RunRecognize(int argc, char** argv) {
  CLI::App app;
  ConfigureApp(app, "not implemented yet");
  return RunGuarded("recognize", app, argc, argv, []() -> int {
    KQ_THROW(kUnsupported) << "not implemented yet";
  });
}
}  // namespace kaldiq::cli
