#!/usr/bin/env bash
# CPU time of `kaldiq ivector-extract-online2` (and `apply-cmvn-online`) on the 60 dev
# utterances of ../shared/fixtures/audio, with the fixture's extractor and Kaldi's command line.
# Usage: bench/bench_ivector.sh [build-dir] [repeats]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
repeats=${2:-5}
kaldiq=$build/tools/kaldiq/kaldiq
audio=$root/../shared/fixtures/audio
[ -x "$kaldiq" ] || { echo "build kaldiq first ($kaldiq)" >&2; exit 1; }
[ -d "$audio" ] || { echo "needs ../shared/fixtures/audio" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$audio"  # ivector_extractor.conf holds paths relative to this folder, as Kaldi's does
run() {  # prints "user+sys wall"
  /usr/bin/time -f "%U %S %e" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.3f %.3f\n", $1 + $2, $3}'
}
printf "%-52s %8s %8s\n" "command (60 utterances, 18,256 frames)" "cpu s" "wall s"
for i in $(seq "$repeats"); do
  read -r cpu wall < <(run "$kaldiq" ivector-extract-online2 --quiet --num-threads=1 \
    --config=extractor/ivector_extractor.conf ark:spk2utt ark:kaldi/mfcc_hires.ark "ark:$out/iv.ark")
  printf "%-52s %8s %8s\n" "ivector-extract-online2 (spk2utt)" "$cpu" "$wall"
  read -r cpu wall < <(run "$kaldiq" apply-cmvn-online --quiet --spk2utt=ark:spk2utt \
    --config=extractor/online_cmvn.conf extractor/global_cmvn.stats ark:kaldi/mfcc_hires.ark \
    "ark:$out/cmvn.ark")
  printf "%-52s %8s %8s\n" "apply-cmvn-online --spk2utt" "$cpu" "$wall"
done
