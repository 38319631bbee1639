#!/usr/bin/env bash
# Real-time factor of the streaming path: `kaldiq online2-wav-nnet3-latgen-faster` on the audio
# fixture's 60 WAVs (183 s of audio) with conf/online.conf and 20-frame chunks, fp32 and int8
# (the tdnn-seed model calibrated with scheme `best` on dev60 and quantized), 1 thread.
# RTF = CPU seconds (user + sys, includes loading the model and the 10.8 MB HCLG) / audio
# seconds; best of N runs. Kaldi's own number on the fixture VM: 5.9 s CPU, RTF 0.032
# (../shared/fixtures/audio/README.md). Then the per-chunk latency table of
# build/bench/kq_bench_online_latency (chunks of 10, 20 and 50 frames; bench/README.md) for
# both models. Usage: bench/bench_online.sh [build-dir] [runs]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)  # absolute: the runs cd into the fixture
runs=${2:-3}
kaldiq="$build/tools/kaldiq/kaldiq"
audio="$root/../shared/fixtures/audio"
seed="$root/../shared/fixtures/models/tdnn-seed"
[[ -x "$kaldiq" ]] || { echo "no kaldiq binary at $kaldiq (build it first)" >&2; exit 1; }
[[ -d "$audio" ]] || { echo "no audio fixture at $audio" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$kaldiq" calibrate --quiet --scheme=best --frame-subsampling-factor=3 "$seed/final.mdl" \
  "ark:$seed/dev60/feats_cmvn.ark" "$tmp/plan.txt"
"$kaldiq" quantize --quiet "$seed/final.mdl" "$tmp/plan.txt" "$tmp/seed.int8" >/dev/null
seconds=$(awk '{print $2}' "$audio/wav.scp" | while read -r f; do
  stat -c %s "$audio/$f"; done | awk '{s += ($1 - 44) / 32000} END {printf "%.2f", s}')
echo "kaldiq streaming benchmark $(date -u +%FT%TZ): $(nproc) cpus; ${seconds} s of audio; best of $runs"
for m in "$seed/final.mdl" "$tmp/seed.int8"; do
  best=
  for ((r = 0; r < runs; ++r)); do
    cpu=$(cd "$audio" && /usr/bin/time -f "%U %S" "$kaldiq" online2-wav-nnet3-latgen-faster \
      --quiet --num-threads=1 --frames-per-chunk=20 --frame-subsampling-factor=3 \
      --config=conf/online.conf --min-active=200 --max-active=7000 --beam=15.0 \
      --lattice-beam=8.0 --acoustic-scale=1.0 "$m" "$seed/graph-pruned/HCLG.fst" ark:spk2utt \
      scp:wav.scp ark:/dev/null 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}')
    if [[ -z "$best" ]] || awk -v a="$cpu" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$cpu; fi
  done
  awk -v m="$(basename "$m")" -v c="$best" -v s="$seconds" \
    'BEGIN {printf "%-12s CPU %.2f s  RTF %.4f\n", m, c, c / s}'
done
latency="$build/bench/kq_bench_online_latency"
if [[ -x "$latency" ]]; then
  "$latency" --chunks=10,20,50 "$audio" "$seed/graph-pruned" "$seed/final.mdl" "$tmp/seed.int8"
else
  echo "no $latency: per-chunk latency skipped (build target kq_bench_online_latency)" >&2
fi
