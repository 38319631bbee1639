#!/usr/bin/env bash
# Times `kaldiq forward` (fp32) on the fixture models with 1 and 2 threads and prints a table
# of frames/s and real-time factor (10 ms input frames). Extend by adding lines to CASES (e.g.
# int8 models: same columns, another "model" label).
#
# Usage: bench/bench_forward.sh [build-dir] [repeats]
#   build-dir  default: build (must contain tools/kaldiq/kaldiq, Release build)
#   repeats    runs per cell, the fastest wall time is reported (default 3)
# Environment: KQ_BENCH_COPIES=N concatenates each feature archive N times (default 8) so that
# runs last long enough to time; KQ_BENCH_THREADS="1 2" thread counts.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build}"
repeats="${2:-3}"
copies="${KQ_BENCH_COPIES:-8}"
threads_list="${KQ_BENCH_THREADS:-1 2}"
only="${KQ_BENCH_ONLY:-}"  # substring of a case label: time only matching cases
kaldiq="$build/tools/kaldiq/kaldiq"
shared="$root/../shared/fixtures"
[[ -x "$kaldiq" ]] || { echo "no kaldiq binary at $kaldiq (build it first)" >&2; exit 1; }

tmp="$(mktemp -d /tmp/kq_bench_forward.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# label | model | features archive | extra options
CASES=(
  "tdnn-seed (vendored 5 utts)|$root/testdata/tdnn-seed/final.mdl|$root/testdata/tdnn-seed/dev60/feats_cmvn5.ark|--frame-subsampling-factor=3 --frames-per-chunk=140"
)
if [[ -d "$shared" ]]; then
  CASES+=(
    "seed625 fp32 (perf/seed625)|$shared/perf/seed625/final.raw|$shared/perf/seed625/feats5.ark|--frame-subsampling-factor=3 --frames-per-chunk=140"
    "tdnn-seed dev60 (60 utts)|$shared/models/tdnn-seed/final.mdl|$shared/models/tdnn-seed/dev60/feats_cmvn.ark|--frame-subsampling-factor=3 --frames-per-chunk=140"
  )
else
  echo "(../shared absent: only the vendored model is timed)" >&2
fi

# frames/s and RTF from wall time; the "cpu" columns use user+system CPU time, which is what to
# compare on a shared, loaded machine (and how the fixture README states Kaldi's time).
printf '%-30s %7s %8s %8s %8s %10s %8s %10s %8s %8s\n' model threads frames "wall s" "cpu s" \
  "frames/s" RTF "cpu fr/s" "cpu RTF" "peak MB"
for case in "${CASES[@]}"; do
  IFS='|' read -r label model feats opts <<<"$case"
  [[ -z "$only" || "$label" == *"$only"* ]] || continue
  in="$tmp/in.ark"
  : >"$in"
  for ((i = 0; i < copies; i++)); do cat "$feats" >>"$in"; done
  for threads in $threads_list; do
    best_wall="" best_cpu="" best_rss="" frames=""
    for ((r = 0; r < repeats; r++)); do
      /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
        "$kaldiq" forward $opts --num-threads="$threads" "$model" "ark:$in" "ark:$tmp/out.ark" \
        2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
      read -r wall user sys rss <"$tmp/time"
      frames="$(sed -n 's/.* \([0-9][0-9]*\) frames in .*/\1/p' "$tmp/log" | tail -1)"
      cpu="$(echo "$user + $sys" | bc -l)"
      if [[ -z "$best_wall" ]] || (($(echo "$wall < $best_wall" | bc -l))); then
        best_wall="$wall" best_cpu="$cpu" best_rss="$rss"
      fi
    done
    fps="$(echo "$frames / $best_wall" | bc -l)"
    rtf="$(echo "$best_wall * 100 / $frames" | bc -l)"
    cfps="$(echo "$frames / $best_cpu" | bc -l)"
    crtf="$(echo "$best_cpu * 100 / $frames" | bc -l)"
    printf '%-30s %7s %8s %8.2f %8.2f %10.0f %8.4f %10.0f %8.4f %8.1f\n' "$label" "$threads" \
      "$frames" "$best_wall" "$best_cpu" "$fps" "$rtf" "$cfps" "$crtf" \
      "$(echo "$best_rss / 1024" | bc -l)"
  done
done
echo
echo "Kaldi nnet3-compute on seed625 (fixture README, its reference machine): 60,114 frames in"
echo "14.3-16.5 s CPU = 3,640-4,200 frames/s, RTF ~0.025 single-threaded."
