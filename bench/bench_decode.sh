#!/usr/bin/env bash
# Times `kaldiq decode` (= latgen-faster-mapped) on Kaldi's stored dev60 log-likelihoods with the
# fixture's beams (beam 15, lattice-beam 8, max-active 7000, min-active 200, acwt 1.0) on
# graph-pruned/HCLG.fst, with 1 and 2 threads, and prints wall/CPU seconds, the real-time factor
# (dev60 = 6105 output frames at 30 ms = 183.2 s of audio), peak memory and the 1-best agreement
# with Kaldi's words.int. Kaldi's own time for the same run (fixture README): 17-25 s CPU.
#
# Usage: bench/bench_decode.sh [build-dir] [repeats]
#   build-dir  default: build (must contain tools/kaldiq/kaldiq, Release build)
#   repeats    runs per cell, the fastest wall time is reported (default 1)
# Environment: KQ_BENCH_THREADS="1 2" thread counts.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build}"
repeats="${2:-1}"
threads_list="${KQ_BENCH_THREADS:-1 2}"
kaldiq="$build/tools/kaldiq/kaldiq"
fix="$root/../shared/fixtures/models/tdnn-seed"
[[ -x "$kaldiq" ]] || { echo "no kaldiq binary at $kaldiq (build it first)" >&2; exit 1; }
[[ -d "$fix" ]] || { echo "../shared/fixtures absent: nothing to benchmark" >&2; exit 1; }

tmp="$(mktemp -d /tmp/kq_bench_decode.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
audio_s=183.15  # 6105 frames x 0.03 s (frame subsampling 3)

opts="--acoustic-scale=1.0 --beam=15 --lattice-beam=8 --max-active=7000 --min-active=200 --allow-partial=true --quiet"
printf '%-8s %8s %8s %9s %9s %8s %6s %12s\n' threads "wall s" "cpu s" "wall RTF" "cpu RTF" \
  "peak MB" utts "1-best=Kaldi"
for threads in $threads_list; do
  best_wall="" best_cpu="" best_rss=""
  for ((r = 0; r < repeats; r++)); do
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
      "$kaldiq" decode $opts --num-threads="$threads" "$fix/final.mdl" \
      "$fix/graph-pruned/HCLG.fst" "ark:$fix/dev60/loglikes.ark" "ark:$tmp/lat.ark" \
      "ark,t:$tmp/words.int" "ark,t:$tmp/ali.int" 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
    read -r wall user sys rss <"$tmp/time"
    cpu=$(echo "$user + $sys" | bc)
    if [[ -z "$best_wall" ]] || (( $(echo "$wall < $best_wall" | bc) )); then
      best_wall=$wall best_cpu=$cpu best_rss=$rss
    fi
  done
  total=$(wc -l <"$fix/dev60/words.int")
  same=$(awk 'NR == FNR { k = $1; $1 = ""; ref[k] = $0; next }
               { k = $1; $1 = ""; if ((k in ref) && ref[k] == $0) n++ } END { print n + 0 }' \
         "$fix/dev60/words.int" "$tmp/words.int")
  rtf=$(echo "scale=4; $best_wall / $audio_s" | bc)
  cpu_rtf=$(echo "scale=4; $best_cpu / $audio_s" | bc)
  printf '%-8s %8.2f %8.2f %9s %9s %8d %6s %12s\n' "$threads" "$best_wall" "$best_cpu" "$rtf" \
    "$cpu_rtf" $((best_rss / 1024)) "$total" "$same/$total"
done
