#!/usr/bin/env bash
# One table of kaldiq's forward speed on this machine: for each model (seed625, tdnn-seed,
# tdnnf-small, and the LibriSpeech TDNN-F shape tdnnf17, made here with random weights), fp32
# and int8 with 7-bit and 8-bit weights, 1 and 2 threads: input frames per second in steady state
# (frames(C) / (t(2C) − t(C)): model loading cancels out) and including model loading (the whole
# 2C run), the int8 speed-up over kaldiq fp32, output SQNR and argmax agreement of each int8
# model against fp32 (calibrated and evaluated on the model's own feature file), the int8 kernel
# the layers run on, and Kaldi's nnet3-compute speed from the fixture READMEs where known.
#
# Usage: bench/bench_all.sh [build-dir] [repeats]
# Environment:
#   KQ_BENCH_THREADS="1 2"   thread counts
#   KQ_BENCH_ISA="native"    also "avx2": rerun with oneDNN limited to AVX2 (DNNL_MAX_CPU_ISA)
#                            and the int8 layers forced onto the avx2-w7 / avx2-w8 kernels, to
#                            measure the AVX2-only case on a CPU with VNNI / AVX-512
#   KQ_BENCH_ONLY=<label>    only the models whose label contains this
#   KQ_BENCH_SCALE=<f>       multiply the number of feature copies (default 1)
# Times: 1 thread = process CPU time (user + sys, the unit of the fixture READMEs' Kaldi
# timings, robust on a shared machine); 2 threads = wall time. The fastest of `repeats` runs.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${1:-$root/build}"
repeats="${2:-3}"
threads_list="${KQ_BENCH_THREADS:-1 2}"
isa_list="${KQ_BENCH_ISA:-native}"
only="${KQ_BENCH_ONLY:-}"
scale="${KQ_BENCH_SCALE:-1}"
kaldiq="$build/tools/kaldiq/kaldiq"
mkrandom="$build/bench/kq_make_random_nnet"
shared="$root/../shared/fixtures"
[[ -x "$kaldiq" ]] || { echo "no kaldiq binary at $kaldiq (build it first)" >&2; exit 1; }

tmp="$(mktemp -d /tmp/kq_bench_all.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# Kaldi nnet3-compute, 1 thread, process CPU time including model loading, from the fixture
# READMEs (a 2-core AVX2 VM): input frames per CPU second, "low-high".
#   seed625:  ../shared/fixtures/README.md, 38,848 frames in 7.2–8.2 s
#   tdnn-seed: same table, 73,024 frames in 2.3–2.7 s
#   tdnnf17:  perf/tdnnf17-shape/README.md, 9,712 frames in 3.8–3.9 s (0.3–0.4 s of it loading)
declare -A KALDI=(["seed625"]="4738-5396" ["tdnn-seed"]="27046-31750" ["tdnnf17"]="2490-2556")

# label | model | features | copies C | options. The 2C runs have as many frames as the
# fixtures' Kaldi timings (seed625: 32 × 1214 = 38,848; tdnnf17: 8 × 1214 = 9,712; tdnn-seed:
# 60 × 1214 = 72,840 ≈ 73,024), so the with-load speeds compare with Kaldi's like for like.
CASES=()
CASES+=("tdnn-seed|$root/testdata/tdnn-seed/final.mdl|$root/testdata/tdnn-seed/dev60/feats_cmvn5.ark|30|--frame-subsampling-factor=3 --frames-per-chunk=140")
CASES+=("tdnnf-small|$root/testdata/tdnnf-small/final.raw|$root/testdata/tdnnf-small/feats2.ark|96|--frame-subsampling-factor=3 --frames-per-chunk=150 --online-ivectors=ark:$root/testdata/tdnnf-small/online_ivectors5.ark --online-ivector-period=10")
if [[ -d "$shared/perf/seed625" ]]; then
  CASES+=("seed625|$shared/perf/seed625/final.raw|$shared/perf/seed625/feats5.ark|16|--frame-subsampling-factor=3 --frames-per-chunk=140")
  if [[ -d "$shared/perf/tdnnf17-shape" && -x "$mkrandom" ]]; then
    # The fixture has the shape, not the weights: a random-weight model (BatchNorm statistics
    # from these features, outputs within ±20) and one random i-vector per utterance.
    if [[ -z "$only" || "tdnnf17" == *"$only"* ]]; then
      "$mkrandom" --ivectors-out="ark:$tmp/iv17.ark" "$shared/perf/tdnnf17-shape/final.config" \
        "ark:$shared/perf/seed625/feats5.ark" "$tmp/tdnnf17.raw" 2>/dev/null
    fi
    CASES+=("tdnnf17|$tmp/tdnnf17.raw|$shared/perf/seed625/feats5.ark|4|--frame-subsampling-factor=3 --frames-per-chunk=150 --ivectors=ark:$tmp/iv17.ark")
  fi
fi

# Number of rows in a binary archive of uncompressed float matrices.
count_frames() {
  python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read(); i = 0; rows = 0
while i < len(b):
    j = b.index(b' ', i); i = j + 1
    assert b[i:i + 2] == b'\0B', 'binary archive expected'
    assert b[i + 2:i + 5] == b'FM ', 'uncompressed float matrices expected'
    r = struct.unpack('<i', b[i + 6:i + 10])[0]; c = struct.unpack('<i', b[i + 11:i + 15])[0]
    rows += r; i += 15 + 4 * r * c
print(rows)
PY
}

# Fastest time of $repeats runs of "$@": CPU seconds (user + sys) for 1 thread, wall for more.
best_time() {
  local threads="$1"; shift
  local best=1e9 t
  for ((r = 0; r < repeats; r++)); do
    /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || {
      cat "$tmp/err" >&2; echo "failed: $*" >&2; exit 1; }
    t=$(awk -v th="$threads" 'END { print (th == 1) ? $2 + $3 : $1 }' "$tmp/time")
    best=$(awk -v a="$t" -v b="$best" 'BEGIN { print (a < b) ? a : b }')
  done
  echo "$best"
}

echo "kaldiq forward benchmark $(date -u +%FT%TZ), git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(nproc) cpus;" \
     "avx2 $(grep -qw avx2 /proc/cpuinfo && echo yes || echo no), avx512 $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)," \
     "vnni $(grep -qE 'avx512_vnni|avx_vnni' /proc/cpuinfo && echo yes || echo no); load average $(cut -d' ' -f1-3 /proc/loadavg); best of $repeats"
echo "1 thread: CPU time; 2 threads: wall time. steady = model loading excluded; +load = included."
printf "%-11s %-6s %3s %-5s %-18s %9s %9s %7s %7s %7s %7s %14s %7s\n" \
  model isa thr type kernel "fr/s" "fr/s+ld" "x-fp32" "x+load" "SQNR" "argmax" "Kaldi fr/s" "x-Kaldi"
for c in "${CASES[@]}"; do
  IFS='|' read -r label model feats copies opts <<<"$c"
  [[ -n "$only" && "$label" != *"$only"* ]] && continue
  copies=$(awk -v c="$copies" -v s="$scale" 'BEGIN { n = int(c * s); print n < 1 ? 1 : n }')
  # shellcheck disable=SC2086
  {
    "$kaldiq" calibrate --quiet --target=avx2 $opts "$model" "ark:$feats" "$tmp/p7.txt"
    "$kaldiq" quantize $opts --eval-features="ark:$feats" "$model" "$tmp/p7.txt" "$tmp/$label.w7.int8" >"$tmp/q7.txt"
    "$kaldiq" quantize $opts --target=vnni --eval-features="ark:$feats" "$model" "$tmp/p7.txt" "$tmp/$label.w8.int8" >"$tmp/q8.txt"
  } 2>/dev/null
  declare -A sqnr argmax
  for b in 7 8; do
    sqnr[w$b]=$(awk '/output \(log-likelihood\) SQNR/ { print $4 }' "$tmp/q$b.txt")
    argmax[w$b]=$(awk '/output \(log-likelihood\) SQNR/ { for (i = 1; i <= NF; ++i) if ($i == "agreement") print $(i + 1) }' "$tmp/q$b.txt" | tr -d '%')
  done
  for ((i = 0; i < copies; i++)); do cat "$feats"; done >"$tmp/feats1.ark"
  cat "$tmp/feats1.ark" "$tmp/feats1.ark" >"$tmp/feats2.ark"
  frames=$(count_frames "$tmp/feats1.ark")
  for isa in $isa_list; do
    env_isa=(); k7="auto"; k8="auto"
    if [[ $isa == avx2 ]]; then env_isa=(env DNNL_MAX_CPU_ISA=AVX2); k7="avx2-w7"; k8="avx2-w8"; fi
    for threads in $threads_list; do
      declare -A t1 t2 kern
      for type in fp32 w7 w8; do
        m="$model"; kopt="--kernels=auto"
        [[ $type == w7 ]] && { m="$tmp/$label.w7.int8"; kopt="--kernels=$k7"; }
        [[ $type == w8 ]] && { m="$tmp/$label.w8.int8"; kopt="--kernels=$k8"; }
        kern[$type]="fp32"
        if [[ $type != fp32 ]]; then
          kern[$type]=$("${env_isa[@]}" "$kaldiq" info "$kopt" "$m" | grep -o 'kernel="int8 [^ ]*' | sed 's/kernel="int8 //' | sort | uniq -c | sort -rn | awk '{ printf "%s%s", (NR > 1 ? "+" : ""), $2 }')
        fi
        # shellcheck disable=SC2086
        t1[$type]=$(best_time "$threads" "${env_isa[@]}" "$kaldiq" forward --quiet --num-threads="$threads" $kopt $opts "$m" "ark:$tmp/feats1.ark" ark:/dev/null)
        # shellcheck disable=SC2086
        t2[$type]=$(best_time "$threads" "${env_isa[@]}" "$kaldiq" forward --quiet --num-threads="$threads" $kopt $opts "$m" "ark:$tmp/feats2.ark" ark:/dev/null)
      done
      for type in fp32 w7 w8; do
        s="-"; a="-"; [[ $type != fp32 ]] && { s="${sqnr[$type]:--}"; a="${argmax[$type]:--}"; }
        kal="${KALDI[$label]:--}"; [[ $threads != 1 ]] && kal="-"
        awk -v l="$label" -v isa="$isa" -v th="$threads" -v ty="$type" -v k="${kern[$type]}" \
            -v a="${t1[$type]}" -v b="${t2[$type]}" -v a32="${t1[fp32]}" -v b32="${t2[fp32]}" \
            -v f="$frames" -v s="$s" -v am="$a" -v kal="$kal" 'BEGIN {
          d = b - a; d32 = b32 - a32; if (d <= 0) d = 1e-9;
          steady = f / d; load = 2 * f / b;
          xk = "-";
          if (kal != "-") { split(kal, r, "-"); xk = sprintf("%.2f-%.2f", load / r[2], load / r[1]); }
          printf "%-11s %-6s %3d %-5s %-18s %9.0f %9.0f %7.2f %7.2f %7s %7s %14s %7s\n", l, isa, th, ty, k,
                 steady, load, d32 / d, b32 / b, s, am, kal, xk }'
      done
    done
  done
done

# Streaming: RTF and per-chunk latency, fp32 and int8 (bench/bench_online.sh), when the audio
# fixture is there.
if [[ -z "$only" && -d "$shared/audio" ]]; then
  echo
  "$here/bench_online.sh" "$build" "$repeats"
fi
