#!/usr/bin/env bash
# Times `kaldiq compute-mfcc-feats --config=conf/mfcc_hires.conf` on the 60 fixture WAVs
# (../shared/fixtures/audio, 183 s of 16 kHz audio) -- the command whose Kaldi timing the
# fixture README gives (0.10-0.18 s CPU, 1 thread) -- and compute-fbank-feats with 80 bins.
# CPU time = user + system from /usr/bin/time, the unit of the README's figure; wall time is
# printed too but means little on a shared machine.
#
# Usage: bench/bench_features.sh [build-dir] [repeats]
#   build-dir  default: build (must contain tools/kaldiq/kaldiq, Release build)
#   repeats    runs per case; min / median / max CPU are reported (default 7)
# KQ_BENCH_COPIES=N also times a wav.scp listing every WAV N times (default 10), which
# amortises process start-up and gives the steady-state throughput.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build}"
repeats="${2:-7}"
copies="${KQ_BENCH_COPIES:-10}"
kaldiq="$build/tools/kaldiq/kaldiq"
audio="$root/../shared/fixtures/audio"
[[ -x "$kaldiq" ]] || { echo "no kaldiq binary at $kaldiq (build it first)" >&2; exit 1; }
[[ -d "$audio" ]] || { echo "needs $audio (the fixture WAVs)" >&2; exit 1; }

tmp="$(mktemp -d /tmp/kq_bench_features.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
# Absolute paths, so the command can run from anywhere.
awk -v d="$audio" '{print $1, d "/" $2}' "$audio/wav.scp" >"$tmp/wav.scp"
: >"$tmp/wavN.scp"
for ((i = 0; i < copies; i++)); do
  awk -v d="$audio" -v i="$i" '{print $1 "-" i, d "/" $2}' "$audio/wav.scp" >>"$tmp/wavN.scp"
done
seconds=183.0  # audio in the 60 WAVs

# label | command | scp | passes over the 60 WAVs
CASES=(
  "mfcc hires, 60 WAVs|compute-mfcc-feats --config=$audio/conf/mfcc_hires.conf|$tmp/wav.scp|1"
  "mfcc hires, 60 WAVs x $copies|compute-mfcc-feats --config=$audio/conf/mfcc_hires.conf|$tmp/wavN.scp|$copies"
  "fbank 80, 60 WAVs|compute-fbank-feats --num-mel-bins=80 --dither=0|$tmp/wav.scp|1"
)

printf '%-28s %8s %8s %8s %10s %12s %10s\n' case "cpu min" "cpu med" "cpu max" "wall med" \
  "cpu s/60 WAV" "x realtime"
for case in "${CASES[@]}"; do
  IFS='|' read -r label cmd scp passes <<<"$case"
  cpus=() walls=()
  for ((r = 0; r < repeats; r++)); do
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$kaldiq" $cmd --quiet "scp:$scp" \
      "ark:$tmp/out.ark" 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
    read -r wall user sys <"$tmp/time"
    cpus+=("$(echo "$user + $sys" | bc -l)")
    walls+=("$wall")
  done
  sorted=($(printf '%s\n' "${cpus[@]}" | sort -g))
  wsorted=($(printf '%s\n' "${walls[@]}" | sort -g))
  mid=$((repeats / 2))
  med="${sorted[$mid]}"
  per60="$(echo "$med / $passes" | bc -l)"
  if (($(echo "$med > 0" | bc -l))); then
    speed="$(echo "$seconds * $passes / $med" | bc -l)"
  else
    speed=inf
  fi
  printf '%-28s %8.3f %8.3f %8.3f %10.3f %12.3f %10.0f\n' "$label" "${sorted[0]}" "$med" \
    "${sorted[$((repeats - 1))]}" "${wsorted[$mid]}" "$per60" "$speed"
done
echo
echo "Kaldi compute-mfcc-feats --config=conf/mfcc_hires.conf on the 60 WAVs (fixture README,"
echo "1 thread, 2-core AVX2 VM): 0.10-0.18 s CPU, including process start-up."
