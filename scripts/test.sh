#!/usr/bin/env bash
# Sets up and runs kaldiq's test suite: installs Debian dependencies when missing, builds with
# -Wall -Wextra -Werror, runs every GoogleTest suite through ctest.
#   scripts/test.sh             release build in build/
#   scripts/test.sh --sanitize  ASan+UBSan build in build-asan/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
if [ "${1:-}" = "--sanitize" ]; then
  export KQ_BUILD_DIR=$root/build-asan
  # -O1 -g1: measured on the heaviest (OpenFst) translation unit, decode_run.cc, the ASan+UBSan
  # compile takes 23 s of CPU instead of 54 s at RelWithDebInfo's -O2 -g; -g1 keeps the line
  # tables the sanitizer reports need.
  "$root/scripts/build.sh" -DKQ_WERROR=ON -DKQ_SANITIZE=ON -DKQ_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  export KQ_BUILD_DIR=$root/build
  "$root/scripts/build.sh" -DKQ_WERROR=ON
fi
cd "$KQ_BUILD_DIR"
ctest --output-on-failure -j"$(nproc)"
