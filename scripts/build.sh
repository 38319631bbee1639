#!/usr/bin/env bash
# Configures and builds kaldiq into build/ (or $KQ_BUILD_DIR). Extra args go to cmake configure;
# $KQ_TARGETS (space-separated) builds only those targets instead of all.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KQ_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$(nproc)" ${KQ_TARGETS:+--target $KQ_TARGETS}
