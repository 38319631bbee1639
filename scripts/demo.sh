#!/usr/bin/env bash
# The main job on the bundled example (testdata/tdnn-seed: a Kaldi-trained chain TDNN, 60 dev
# utterances, a small HCLG): CMVN -> fp32 forward -> calibrate -> int8 quantize -> int8 forward ->
# decode both -> WER, then prints sizes, speed and WER fp32 vs int8; with the shared fixtures, LF-MMI
# fine-tuning and quantization-aware training (QAT) too. Installs Debian packages and
# builds first. Outputs go to out/demo/ (or the directory given as $1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
echo "building kaldiq (first time: a few minutes)..." >&2
# Only the command, configured as scripts/test.sh configures build/, so that the two share one build.
KQ_TARGETS=kaldiq "$root/scripts/build.sh" -DKQ_WERROR=ON >/dev/null
kq=$root/build/tools/kaldiq/kaldiq
M=$root/testdata/tdnn-seed
out=${1:-$root/out/demo}
mkdir -p "$out"
cd "$out"

step() { printf '\n== %s\n' "$*"; }
# timed VAR cmd...: runs cmd, stores its wall time in seconds in VAR.
timed() { local var=$1 t0=$EPOCHREALTIME; shift; "$@"; printf -v "$var" '%s' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.3f", b-a}')"; }

step "model: $M/final.mdl"
"$kq" info "$M/final.mdl" > info.txt
head -n 8 info.txt

step "CMVN (per-speaker means, as Kaldi's chain decoding applies it)"
"$kq" apply-cmvn --utt2spk=ark:"$M/dev60/utt2spk" ark:"$M/dev60/cmvn.ark" \
  ark:"$M/dev60/feats.ark" ark,scp:feats_cmvn.ark,feats_cmvn.scp
# Calibrate on the first 20 utterances, evaluate on the other 40: never calibrate on the test set.
head -n 20 feats_cmvn.scp > calib.scp
tail -n +21 feats_cmvn.scp > test.scp
awk 'NR==FNR{k[$1]=1;next} ($1 in k)' test.scp "$M/dev60/text" > test_text
frames=$("$kq" copy-feats --write-num-frames=ark,t:- scp:test.scp ark:/dev/null 2>/dev/null | awk '{s+=$2} END{print s}')

fwd="--frame-subsampling-factor=3 --frames-per-chunk=140"
step "fp32 forward (40 test utterances, $frames frames = $(awk -v f="$frames" 'BEGIN{printf "%.1f", f/100}') s of audio, 1 thread)"
timed t_fp32 "$kq" forward $fwd "$M/final.mdl" scp:test.scp ark:loglikes.fp32.ark

step "calibrate on 20 held-out utterances (scheme: best), quantize to int8"
"$kq" calibrate --quiet --scheme=best $fwd "$M/final.mdl" scp:calib.scp plan.txt
"$kq" quantize $fwd --eval-features=scp:test.scp "$M/final.mdl" plan.txt model.int8

# Which kernel each layer runs on this CPU (chosen at run time; `kaldiq info` lists them per op).
kernels_of() { "$kq" info "$1" | sed -n 's/.*kernel="\([^"]*\)".*/\1/p' | sort | uniq -c |
  awk '{n=$1; $1=""; printf "%s%d x%s", (NR>1 ? ", " : ""), n, $0}'; }
k_int8=$(kernels_of model.int8)

step "int8 forward"
timed t_int8 "$kq" forward $fwd "model.int8" scp:test.scp ark:loglikes.int8.ark

dec="--acoustic-scale=1.0 --beam=15 --lattice-beam=8 --max-active=7000 --min-active=200 --allow-partial=true"
for m in fp32 int8; do
  step "decode $m (graph-tiny HCLG, Kaldi's chain beams)"
  model=$M/final.mdl; [ "$m" = int8 ] && model=model.int8
  timed "t_dec_$m" "$kq" decode $dec --quiet "$model" "$M/graph-tiny/HCLG.fst" \
    ark:loglikes.$m.ark "ark:| gzip -c > lat.$m.gz" ark,t:words.$m.int
  # ids -> words, as Kaldi's utils/int2sym.pl -f 2-
  awk 'NR==FNR{w[$2]=$1;next}{printf "%s", $1; for(i=2;i<=NF;i++) printf " %s", w[$i]; print ""}' \
    "$M/graph-tiny/words.txt" words.$m.int > hyp.$m.txt
  "$kq" wer --text --mode=present ark:test_text ark:hyp.$m.txt > wer.$m.txt
done

step "WER fp32 vs int8 (paired significance test)"
"$kq" wer --text --mode=present --compare-hyp=ark:hyp.int8.txt ark:test_text ark:hyp.fp32.txt | tee compare.txt

size_fp32=$(stat -c %s "$M/final.mdl"); size_int8=$(stat -c %s model.int8)
audio=$(awk -v f="$frames" 'BEGIN{print f/100}')
step "summary"
printf '%-34s %16s %16s\n' "" "fp32 (final.mdl)" "int8 (model.int8)"
printf '%-34s %16s %16s\n' "model file size (bytes)" "$size_fp32" "$size_int8"
printf '%-34s %16.3f %16.3f\n' "forward wall time (s)" "$t_fp32" "$t_int8"
printf '%-34s %16.4f %16.4f\n' "forward real-time factor" "$(awk -v t="$t_fp32" -v a="$audio" 'BEGIN{print t/a}')" "$(awk -v t="$t_int8" -v a="$audio" 'BEGIN{print t/a}')"
printf '%-34s %16s %16s\n' "int8 forward speed-up" "" "$(awk -v a="$t_fp32" -v b="$t_int8" 'BEGIN{printf "%.2fx", a/b}')"
printf '%-34s %16.3f %16.3f\n' "decode wall time (s)" "$t_dec_fp32" "$t_dec_int8"
printf '%-34s %16s %16s\n' "WER, 40 test utterances" "$(awk 'NR==1{print $2}' wer.fp32.txt)%" "$(awk 'NR==1{print $2}' wer.int8.txt)%"
echo
echo "int8 kernels on this CPU: $k_int8"
echo "fp32: $(head -n1 wer.fp32.txt)"
echo "int8: $(head -n1 wer.int8.txt)"
echo "(wall times include model loading; see bench/ for throughput. Outputs are in $out)"

# LF-MMI fine-tuning (kaldiq train) needs Kaldi's chain egs and den.fst, which are too big to
# bundle: they come from the shared fixtures ($KQ_SHARED, default ../shared) when present.
E=${KQ_SHARED:-$root/../shared}/fixtures/models/tdnn-seed
if [ -f "$E/egs/cegs.1.ark" ] && [ -f "$E/den.fst" ]; then
  step "fine-tune with LF-MMI (kaldiq train: 6 minibatches of 64 chunks from cegs.1.ark, frame shift 1)"
  chain="--l2-regularize=5e-05 --leaky-hmm-coefficient=0.1 --xent-regularize=0.1"
  timed t_train "$kq" train $chain --learning-rate=1e-4 --num-epochs=1 --minibatch-size=64 \
    --frame-shifts=1 --max-minibatches-per-epoch=6 --valid-egs=ark:"$E/egs/valid_diagnostic.cegs" \
    --log-dir=train_log "$M/final.mdl" "$E/den.fst" ark:"$E/egs/cegs.1.ark" finetuned.mdl 2> train.log
  grep "kaldiq train) epoch" train.log
  # score MODEL TAG: forward, decode and WER of the 40 test utterances into wer.TAG.txt.
  score() {
    "$kq" forward $fwd "$1" scp:test.scp ark:loglikes.$2.ark 2>/dev/null
    "$kq" decode $dec --quiet "$1" "$M/graph-tiny/HCLG.fst" ark:loglikes.$2.ark \
      ark:/dev/null ark,t:words.$2.int 2>/dev/null
    awk 'NR==FNR{w[$2]=$1;next}{printf "%s", $1; for(i=2;i<=NF;i++) printf " %s", w[$i]; print ""}' \
      "$M/graph-tiny/words.txt" words.$2.int > hyp.$2.txt
    "$kq" wer --text --mode=present ark:test_text ark:hyp.$2.txt > wer.$2.txt
  }
  score finetuned.mdl ft
  # 'output' objective + l2 term (Kaldi's compute_prob line) before and after.
  objf() { sed -n "s/.*for 'output' is \([^ ]*\) + \([^ ]*\) = \([^ ]*\) per frame.*/\1 \3/p" "$1"; }
  read -r a0 t0 < <(objf train_log/compute_prob_valid.0.log)
  read -r a1 t1 < <(objf train_log/compute_prob_valid.1.log)
  step "fine-tuning summary"
  printf '%-34s %16s %16s\n' "" "fp32 (final.mdl)" "finetuned.mdl"
  printf '%-34s %16s %16s\n' "valid LF-MMI objective per frame" "$a0" "$a1"
  printf '%-34s %16s %16s\n' "  + output l2 term = total" "$t0" "$t1"
  printf '%-34s %16s %16s\n' "WER, 40 test utterances" "$(awk 'NR==1{print $2}' wer.fp32.txt)%" "$(awk 'NR==1{print $2}' wer.ft.txt)%"
  printf '%-34s %16s %16.1f\n' "training wall time (s)" "" "$t_train"

  # QAT trains the int8 model's own graph (BatchNorm folded, the plan's grids frozen) with fake
  # quantization; its epoch-0 diagnostic is the post-training int8 model (the same forward, bit
  # for bit), and --write-int8 is the trained int8 model itself.
  step "quantization-aware training (kaldiq train --qat=plan.txt: 20 minibatches of 64 chunks, writes the int8 model)"
  timed t_qat "$kq" train --quiet --l2-regularize=5e-05 --leaky-hmm-coefficient=0.1 --qat=plan.txt \
    --write-int8=qat.int8 --write-plan=qat.plan --learning-rate=5e-5 --num-epochs=1 \
    --minibatch-size=64 --frame-shifts=1 --max-minibatches-per-epoch=20 \
    --valid-egs=ark:"$E/egs/valid_diagnostic.cegs" --log-dir=qat_log "$M/final.mdl" "$E/den.fst" \
    ark:"$E/egs/cegs.1.ark" qat.mdl 2> qat.log
  score qat.int8 qat
  read -r q0 qt0 < <(objf qat_log/compute_prob_valid.0.log)
  read -r q1 qt1 < <(objf qat_log/compute_prob_valid.1.log)
  step "QAT summary ($(sed -n 's/^weight bits=\([0-9]*\).*/\1/p' plan.txt)-bit weights)"
  printf '%-34s %16s %16s %16s\n' "" "fp32 (final.mdl)" "PTQ (model.int8)" "QAT (qat.int8)"
  printf '%-34s %16s %16s %16s\n' "valid LF-MMI objective per frame" "$a0" "$q0" "$q1"
  printf '%-34s %16s %16s %16s\n' "  + output l2 term = total" "$t0" "$qt0" "$qt1"
  printf '%-34s %16s %16s %16s\n' "WER, 40 test utterances" "$(awk 'NR==1{print $2}' wer.fp32.txt)%" \
    "$(awk 'NR==1{print $2}' wer.int8.txt)%" "$(awk 'NR==1{print $2}' wer.qat.txt)%"
  printf '%-34s %16s %16s %16.1f\n' "QAT wall time (s)" "" "" "$t_qat"
else
  step "fine-tuning skipped: no chain egs / den.fst under $E"
fi
