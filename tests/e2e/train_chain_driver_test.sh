#!/usr/bin/env bash
# Test of scripts/train_chain.sh (the multi-job driver) and scripts/run_local.sh (run.pl's
# convention), run by ctest: two jobs per iteration for two iterations on a tiny egs dir made
# from the fixture's archive, a resume with --stage, and the failure paths.
# Usage: train_chain_driver_test.sh <kaldiq-binary> <shared-dir> <scripts-dir>
# Exit 0 = pass, 77 = skipped (no ../shared), anything else = failure.
set -u
kaldiq=$1 shared=$2 scripts=$3
fixture=$shared/fixtures/models/tdnn-seed
if [ ! -f "$fixture/egs/cegs.1.ark" ] || [ ! -f "$fixture/final.mdl" ]; then
  echo "SKIP: $fixture (../shared) is absent"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kq_train_chain.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
check_file() { [ -s "$1" ] || fail "missing or empty: $1"; }
check_grep() {  # <pattern> <file> <what>
  grep -q -e "$1" "$2" 2> /dev/null || fail "$3: '$1' not in $2"
}

# --- run_local.sh: JOB substitution, logs, parallel jobs, failure status ---
"$scripts/run_local.sh" JOB=1:3 "$tmp/rl/log/a.JOB.log" echo "job JOB" \> "$tmp/rl/out.JOB" ||
  fail "run_local.sh JOB=1:3 echo failed"
for j in 1 2 3; do
  [ "$(cat "$tmp/rl/out.$j" 2> /dev/null)" = "job $j" ] || fail "run_local.sh: job $j output"
  check_grep "^# Ended (code 0)" "$tmp/rl/log/a.$j.log" "run_local.sh log trailer"
done
if "$scripts/run_local.sh" --max-jobs-run 1 JOB=1:3 "$tmp/rl/log/b.JOB.log" test JOB -ne 2 \
    2> "$tmp/rl/b.err"; then
  fail "run_local.sh: a failed job must give a non-zero status"
fi
check_grep "1 / 3 failed, log is in $tmp/rl/log/b.\*.log" "$tmp/rl/b.err" "run_local.sh message"
check_grep "^# Ended (code 1)" "$tmp/rl/log/b.2.log" "run_local.sh failed job's trailer"

# --- a tiny egs dir in Kaldi's layout: 2 archives of ~13 egs, small diagnostic sets ---
egs=$tmp/egs
mkdir -p "$egs"
"$kaldiq" nnet3-chain-copy-egs --quiet --keep-proportion=0.01 --srand=1 \
  "ark:$fixture/egs/cegs.1.ark" "ark:$egs/cegs.1.ark" "ark:$egs/cegs.2.ark" || fail "copy-egs"
for set in valid train; do
  "$kaldiq" nnet3-chain-copy-egs --quiet --keep-proportion=0.01 \
    "ark:$fixture/egs/${set}_diagnostic.cegs" "ark:$egs/${set}_diagnostic.cegs" ||
    fail "copy-egs $set"
done

# Two shifts and one epoch: 4 archive-shifts, 2 jobs -> 2 iterations.
# shellcheck disable=SC2054  # the commas are in option values
opts=(--kaldiq "$kaldiq" --num-jobs-initial=2 --num-jobs-final=2 --num-epochs=1
      --frame-shifts=0,1 --minibatch-size=4 --max-minibatches-per-epoch=2
      --initial-effective-lrate=5e-5 --final-effective-lrate=1e-5
      --l2-regularize=5e-05 --leaky-hmm-coefficient=0.1 --xent-regularize=0.1 --quiet=true)
exp=$tmp/exp
"$scripts/train_chain.sh" "${opts[@]}" "$fixture/final.mdl" "$fixture/den.fst" "$egs" "$exp" \
  2> "$tmp/run.err" || { cat "$tmp/run.err" >&2; fail "train_chain.sh failed"; }

for i in 0 1; do
  for j in 1 2; do
    log=$exp/log/train.$i.$j.log
    check_grep "^# Ended (code 0)" "$log" "job log"
    check_grep "Overall average objective function for 'output' is" "$log" "job objective"
    check_grep " --l2-regularize-factor=0.5 " "$log" "1/num_jobs"
    check_grep " --srand=$i " "$log" "srand = iteration"
    check_file "$exp/$((i + 1)).$j.mdl"
  done
  check_file "$exp/$((i + 1)).mdl"
  for set in valid train; do
    check_grep "Overall log-probability for 'output' is .* = .* per frame, over" \
      "$exp/log/compute_prob_$set.$i.log" "compute_prob $set $i"
  done
done
for set in valid train; do
  check_grep "Overall log-probability for 'output' is" "$exp/log/compute_prob_$set.final.log" \
    "compute_prob $set final"
done
# Learning rate = num_jobs * effective lrate: 2 * 5e-5 first, 2 * 1e-5 on the last iteration.
check_grep " --learning-rate=0.0001 " "$exp/log/train.0.1.log" "iteration 0 learning rate"
check_grep " --learning-rate=2e-05 " "$exp/log/train.1.2.log" "last iteration learning rate"
# train.py's archive and shift: k = processed + j - 1, archive = k % 2 + 1,
# shift = shifts[(archive + k / 2) % 2]  ->  iteration 0: (1, 1) (2, 0); iteration 1: (1, 0) (2, 1).
expect=("0 1 1 1" "0 2 2 0" "1 1 1 0" "1 2 2 1")
for e in "${expect[@]}"; do
  read -r i j a s <<< "$e"
  check_grep "^--frame-shifts=$s\$" "$exp/jobs/train.$i.$j.conf" "frame shift of job $i.$j"
  [ "$(readlink "$exp/jobs/egs.$i.$j.ark")" = "$egs/cegs.$a.ark" ] || fail "archive of job $i.$j"
done
# The averaged model is kaldiq average of the two job models; final.mdl is the last one,
# differs from the input and reads back.
"$kaldiq" average "$exp/2.1.mdl" "$exp/2.2.mdl" "$tmp/avg.mdl" 2> /dev/null || fail "average"
cmp -s "$tmp/avg.mdl" "$exp/2.mdl" || fail "2.mdl is not the average of 2.1.mdl and 2.2.mdl"
cmp -s "$exp/2.mdl" "$exp/final.mdl" || fail "final.mdl is not 2.mdl"
cmp -s "$fixture/final.mdl" "$exp/final.mdl" && fail "final.mdl equals the input model"
"$kaldiq" chain-compute-prob --quiet --leaky-hmm-coefficient=0.1 "$exp/final.mdl" \
  "$fixture/den.fst" "ark:$egs/valid_diagnostic.cegs" 2> "$tmp/final.prob" ||
  fail "final.mdl does not read back"
check_grep "Overall log-probability for 'output'" "$tmp/final.prob" "final.mdl compute-prob"

# --stage=1 resumes at iteration 1 and gives the same final model, byte for byte (here with
# a --cmd prefix that has options of its own, run one job at a time).
cp "$exp/final.mdl" "$tmp/first.mdl"
rm -f "$exp/2.mdl" "$exp/final.mdl"
"$scripts/train_chain.sh" "${opts[@]}" --stage=1 --cmd "$scripts/run_local.sh --max-jobs-run 1" \
  "$fixture/final.mdl" "$fixture/den.fst" "$egs" "$exp" 2> "$tmp/resume.err" ||
  { cat "$tmp/resume.err" >&2; fail "--stage=1 failed"; }
cmp -s "$tmp/first.mdl" "$exp/final.mdl" || fail "--stage=1 gave another final.mdl"

# A job that fails (archive 2 is not an archive) stops the run and names its log.
bad=$tmp/bad-egs
mkdir -p "$bad"
cp "$egs"/*.cegs "$egs/cegs.1.ark" "$bad/"
echo "not an archive" > "$bad/cegs.2.ark"
if "$scripts/train_chain.sh" "${opts[@]}" "$fixture/final.mdl" "$fixture/den.fst" "$bad" \
    "$tmp/exp-bad" 2> "$tmp/bad.err"; then
  fail "a failed job must fail the driver"
fi
check_grep "iteration 0: job 2 failed (archive 2, frame shift 0), see $tmp/exp-bad/log/train.0.2.log" \
  "$tmp/bad.err" "failed job message"
check_grep "kaldiq train: error:" "$tmp/bad.err" "the job's error shown"
[ -e "$tmp/exp-bad/1.mdl" ] && fail "1.mdl written after a failed job"
[ -e "$tmp/exp-bad/1.2.mdl" ] && fail "the failed job left a model"

# A missing archive is reported before anything runs.
mkdir -p "$bad/info" && echo 3 > "$bad/info/num_archives"
cp "$egs/cegs.2.ark" "$bad/cegs.2.ark"
if "$scripts/train_chain.sh" "${opts[@]}" "$fixture/final.mdl" "$fixture/den.fst" "$bad" \
    "$tmp/exp-missing" 2> "$tmp/missing.err"; then
  fail "a missing archive must fail the driver"
fi
check_grep "error: $bad/cegs.3.ark is missing (3 archives expected)" "$tmp/missing.err" \
  "missing archive message"
[ -e "$tmp/exp-missing/log/train.0.1.log" ] && fail "jobs ran despite a missing archive"

if [ "$fails" -gt 0 ]; then
  echo "$fails check(s) failed" >&2
  exit 1
fi
echo "PASS"
