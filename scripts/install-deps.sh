#!/usr/bin/env bash
# Installs kaldiq's build dependencies from Debian 12's archive when any is missing.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(cmake make g++ pkg-config libfst-dev libdnnl-dev libopenblas-dev libcli11-dev
      libgtest-dev libgmock-dev libbenchmark-dev time
      # libdnnl-dev's CMake config calls find_package(OpenCL); the headers and loader are only a
      # Recommends of libdnnl-dev, which --no-install-recommends drops.
      ocl-icd-opencl-dev opencl-c-headers)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
