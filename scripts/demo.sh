#!/usr/bin/env bash
# The main job on the bundled example (testdata/tdnn-seed: a Kaldi-trained chain TDNN, 60 dev
# utterances, a small HCLG): CMVN -> fp32 forward -> calibrate -> int8 quantize -> int8 forward ->
# decode both -> WER, printing sizes, speed and WER fp32 vs int8. Installs Debian deps and builds
# first. Outputs go to out/demo/ (or $1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" >/dev/null
kq=$root/build/tools/kaldiq/kaldiq
M=$root/testdata/tdnn-seed
out=${1:-$root/out/demo}
mkdir -p "$out"
cd "$out"

step() { printf '\n== %s\n' "$*" >&2; }
secs() { local t0=$(date +%s.%N); "$@"; echo "$(date +%s.%N) - $t0" | bc -l; }

step "model"
"$kq" info "$M/final.mdl" | head -n 12

step "CMVN (per-speaker means, as Kaldi's decoding scripts apply it)"
"$kq" apply-cmvn --quiet --utt2spk=ark:"$M/dev60/utt2spk" ark:"$M/dev60/cmvn.ark" \
  ark:"$M/dev60/feats.ark" ark,scp:feats_cmvn.ark,feats_cmvn.scp
# Calibrate on the first 20 utterances; evaluate on the other 40 (never calibrate on the test set).
head -n 20 feats_cmvn.scp > calib.scp
tail -n +21 feats_cmvn.scp > test.scp
awk 'NR==FNR{k[$1]=1;next} ($1 in k)' test.scp "$M/dev60/text" > test_text

fwd_opts="--frame-subsampling-factor=3 --frames-per-chunk=140 --quiet"
step "fp32 forward"
t_fp32=$(secs "$kq" forward $fwd_opts "$M/final.mdl" scp:test.scp ark:loglikes.fp32.ark)

step "calibrate + quantize (scheme: best)"
"$kq" calibrate --quiet --scheme=best $fwd_opts "$M/final.mdl" scp:calib.scp plan.txt
"$kq" quantize --quiet "$M/final.mdl" plan.txt model.int8

step "int8 forward (compared with fp32)"
t_int8=$(secs "$kq" forward $fwd_opts --compare-to="$M/final.mdl" model.int8 scp:test.scp ark:loglikes.int8.ark 2> compare.log)
cat compare.log >&2

dec_opts="--acoustic-scale=1.0 --beam=15 --lattice-beam=8 --max-active=7000 --min-active=200 --allow-partial=true --quiet"
for m in fp32 int8; do
  step "decode $m"
  model=$M/final.mdl; [ $m = int8 ] && model=model.int8
  "$kq" decode $dec_opts --word-symbol-table="$M/graph-tiny/words.txt" "$model" "$M/graph-tiny/HCLG.fst" \
    ark:loglikes.$m.ark "ark:| gzip -c > lat.$m.gz" ark,t:words.$m.int
  "$kq" wer --text --mode=present ark:test_text \
    "ark:utils_int2sym() { :; }; awk 'NR==FNR{w[\$2]=\$1;next}{printf \"%s\", \$1; for(i=2;i<=NF;i++) printf \" %s\", w[\$i]; print \"\"}' $M/graph-tiny/words.txt words.$m.int |" \
    > wer.$m.txt
done

frames=$(awk '{print $1}' test.scp | wc -l)
size_fp32=$(stat -c %s "$M/final.mdl"); size_int8=$(stat -c %s model.int8)
printf '\n%-28s %14s %14s\n' "" "fp32" "int8"
printf '%-28s %14s %14s\n' "model file (bytes)" "$size_fp32" "$size_int8"
printf '%-28s %14.3f %14.3f\n' "forward time, 40 utts (s)" "$t_fp32" "$t_int8"
printf '%-28s %14s %14s\n' "WER (40 test utts)" "$(head -n1 wer.fp32.txt | awk '{print $2}')" "$(head -n1 wer.int8.txt | awk '{print $2}')"
echo
echo "fp32: $(head -n1 wer.fp32.txt)"
echo "int8: $(head -n1 wer.int8.txt)"
echo "(outputs in $out)"
