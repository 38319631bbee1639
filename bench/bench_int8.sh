#!/usr/bin/env bash
# int8 vs fp32 `kaldiq forward`: for each fixture model, calibrate (scheme best) on its
# features, quantize, then time fp32 and int8 forward with 1 and 2 threads (fastest of N runs,
# wall time) on the feature archive repeated C and 2C times. Prints the steady-state input
# frames/s and real-time factor (10 ms frames) from the difference of the two runs (model
# loading cancels out), the estimated load time, the int8 speed-up both steady-state and for
# the whole 2C run including the load, the model file sizes and the peak memory (max RSS of the
# whole 2C process).
#
# Usage: bench/bench_int8.sh [build-dir] [repeats]
# Environment: KQ_BENCH_THREADS="1 2", KQ_BENCH_COPIES=C (default: 64 for tdnn-seed, 128 for
# tdnnf-small, 8 for seed625, so that each run takes seconds), KQ_BENCH_SCHEME (default best).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build}"
repeats="${2:-3}"
threads_list="${KQ_BENCH_THREADS:-1 2}"
scheme="${KQ_BENCH_SCHEME:-best}"
kaldiq="$build/tools/kaldiq/kaldiq"
shared="$root/../shared/fixtures"
[[ -x "$kaldiq" ]] || { echo "no kaldiq binary at $kaldiq (build it first)" >&2; exit 1; }

tmp="$(mktemp -d /tmp/kq_bench_int8.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# label | model | features | copies | extra options
CASES=(
  "tdnn-seed|$root/testdata/tdnn-seed/final.mdl|$root/testdata/tdnn-seed/dev60/feats_cmvn5.ark|${KQ_BENCH_COPIES:-64}|--frame-subsampling-factor=3 --frames-per-chunk=140"
  "tdnnf-sm|$root/testdata/tdnnf-small/final.raw|$root/testdata/tdnnf-small/feats2.ark|${KQ_BENCH_COPIES:-128}|--frame-subsampling-factor=3 --frames-per-chunk=150 --online-ivectors=ark:$root/testdata/tdnnf-small/online_ivectors5.ark --online-ivector-period=10"
)
if [[ -d "$shared/perf/seed625" ]]; then
  CASES+=("seed625|$shared/perf/seed625/final.raw|$shared/perf/seed625/feats5.ark|${KQ_BENCH_COPIES:-8}|--frame-subsampling-factor=3 --frames-per-chunk=140")
fi

# Number of rows in a binary archive of uncompressed float matrices ("key \0BFM \4<rows>\4<cols>").
count_frames() {
  python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read(); i = 0; rows = 0
while i < len(b):
    j = b.index(b' ', i); i = j + 1
    assert b[i:i + 2] == b'\0B', 'binary archive expected'
    tok = b[i + 2:i + 5]; assert tok == b'FM ', 'uncompressed float matrices expected'
    r = struct.unpack('<i', b[i + 6:i + 10])[0]; c = struct.unpack('<i', b[i + 11:i + 15])[0]
    rows += r; i += 15 + 4 * r * c
print(rows)
PY
}

best_time() {  # fastest wall time (s) of $repeats runs
  local best=1e9 t0 t1
  for ((r = 0; r < repeats; r++)); do
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    best=$(awk -v a="$t0" -v b="$t1" -v c="$best" 'BEGIN { d = b - a; print (d < c) ? d : c }')
  done
  echo "$best"
}

peak_mb() {
  /usr/bin/time -f "%M" -o "$tmp/rss" "$@" >/dev/null 2>&1
  awk '{ printf "%.1f", $1 / 1024 }' "$tmp/rss"
}

echo "kaldiq int8 benchmark $(date -u +%FT%TZ): $(nproc) cpus; VNNI: $(grep -qE 'avx512_vnni|avx_vnni' /proc/cpuinfo && echo yes || echo no); scheme $scheme; best of $repeats"
printf "%-10s %-5s %3s %10s %9s %7s %8s %8s %9s %9s\n" model type thr frames/s RTF load_s speedup sp+load size_MB peak_MB
for c in "${CASES[@]}"; do
  IFS='|' read -r label model feats copies opts <<<"$c"
  int8="$tmp/$label.int8"
  # shellcheck disable=SC2086
  "$kaldiq" calibrate --quiet --scheme="$scheme" $opts "$model" "ark:$feats" "$tmp/plan.txt"
  "$kaldiq" quantize --quiet "$model" "$tmp/plan.txt" "$int8" >/dev/null
  for ((i = 0; i < copies; i++)); do cat "$feats"; done >"$tmp/feats1.ark"
  cat "$tmp/feats1.ark" "$tmp/feats1.ark" >"$tmp/feats2.ark"
  frames=$(count_frames "$tmp/feats1.ark")
  for threads in $threads_list; do
    declare -A t1 t2
    for type in fp32 int8; do
      m="$model"; [[ $type == int8 ]] && m="$int8"
      # shellcheck disable=SC2086
      t1[$type]=$(best_time "$kaldiq" forward --quiet --num-threads="$threads" $opts "$m" "ark:$tmp/feats1.ark" ark:/dev/null)
      # shellcheck disable=SC2086
      t2[$type]=$(best_time "$kaldiq" forward --quiet --num-threads="$threads" $opts "$m" "ark:$tmp/feats2.ark" ark:/dev/null)
    done
    for type in fp32 int8; do
      m="$model"; [[ $type == int8 ]] && m="$int8"
      # shellcheck disable=SC2086
      mb=$(peak_mb "$kaldiq" forward --quiet --num-threads="$threads" $opts "$m" "ark:$tmp/feats2.ark" ark:/dev/null)
      awk -v l="$label" -v ty="$type" -v th="$threads" -v a="${t1[$type]}" -v b="${t2[$type]}" \
          -v a32="${t1[fp32]}" -v b32="${t2[fp32]}" -v f="$frames" \
          -v sz="$(stat -c %s "$m")" -v mb="$mb" 'BEGIN {
            d = b - a; d32 = b32 - a32; if (d <= 0) d = 1e-9;
            printf "%-10s %-5s %3d %10.0f %9.5f %7.2f %8.2f %8.2f %9.2f %9s\n", l, ty, th, f / d,
                   d * 100 / f, 2 * a - b, d32 / d, b32 / b, sz / 1e6, mb }'
    done
  done
done
