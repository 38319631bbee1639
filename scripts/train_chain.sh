#!/usr/bin/env bash
# train_chain.sh: Kaldi's multi-job chain training schedule (steps/nnet3/chain/train.py) with
# kaldiq as the trainer, on one machine (local processes) or on a cluster (the user's --cmd).
#
# Usage:  scripts/train_chain.sh [options] <model-in> <den.fst> <egs-dir> <dir>
#   e.g.  scripts/train_chain.sh --num-jobs-initial=2 --num-jobs-final=4 --num-epochs=2 \
#           --initial-effective-lrate=5e-5 --final-effective-lrate=1e-5 \
#           --l2-regularize=5e-05 --leaky-hmm-coefficient=0.1 --xent-regularize=0.1 \
#           --minibatch-size=64 --cmd "queue.pl --mem 2G" \
#           exp/chain/tdnn/final.mdl exp/chain/tdnn/den.fst exp/chain/tdnn/egs exp/chain/tdnn_ft
#
# <egs-dir> is in Kaldi's layout: cegs.1.ark .. cegs.N.ark (N from info/num_archives, else the
# files present), valid_diagnostic.cegs and train_diagnostic.cegs (each optional: without it
# that compute_prob log is not written).
#
# Schedule (train.py and steps/libs/nnet3/train/{common.py,chain_objf/acoustic_model.py}):
#   S = number of frame shifts (--frame-subsampling-factor F gives shifts 0..F-1; F is read from
#       <dir of model-in>/frame_subsampling_factor when present, as train.py reads it from the
#       experiment dir, else 3; or an explicit --frame-shifts=a,b,c list)
#   num_archives_to_process = int(num_epochs * N * S)
#   num_iters = (2 * num_archives_to_process) / (nj_initial + nj_final)      (integer division)
#   nj(i)     = int(0.5 + nj_initial + (nj_final - nj_initial) * i / num_iters)
#   processed(i) = nj(0) + ... + nj(i-1)            (archives processed before iteration i)
#   job j of iteration i (1-based):  k = processed(i) + j - 1,
#       archive = (k mod N) + 1,   frame shift = shifts[(archive + floor(k / N)) mod S]
#   effective lrate(i) = lr_initial * exp(processed(i) * ln(lr_final / lr_initial)
#                                        / num_archives_to_process),  = lr_final on the last one
#   kaldiq train --learning-rate = nj(i) * effective lrate(i)   (averaging divides the sum by nj)
#                --l2-regularize-factor = 1/nj(i),  --srand = srand + i,  one epoch
# Iteration i: compute_prob_{valid,train}.i.log for i.mdl (in the background, as train.py);
# nj jobs "$cmd JOB=1:nj dir/log/train.i.JOB.log kaldiq train ... dir/i.mdl ... dir/<i+1>.JOB.mdl";
# "kaldiq average" of the job models -> dir/<i+1>.mdl (log/average.i.log). At the end
# final.mdl = num_iters.mdl and compute_prob_{valid,train}.final.log.
#
# Averaging keeps the jobs whose final objective (in their logs) is within 1.0 of the best one,
# as train.py does after iteration 0. Differences from train.py (stated, not hidden): iteration
# 0 also averages (train.py keeps only the best job there, with half the minibatch and
# max-change/sqrt(2), which matters when training from a random init, not when fine-tuning a
# trained model); no nnet3-chain-combine at the end (final.mdl is the last
# iteration's model, which is what train.py gives without combination); no shrinkage, dropout
# schedule or nnet3-show-progress.
#
# --cmd is the user's Kaldi scheduler prefix, called as Kaldi's scripts call it
# ("<cmd> [JOB=1:N] <log> <command...>"): run.pl, queue.pl, slurm.pl, ssh.pl, or the default
# scripts/run_local.sh (run.pl's behaviour, no Kaldi needed). On a cluster, <egs-dir> and <dir>
# must be on a shared filesystem and kaldiq (--kaldiq) on every node's path.
# Per-job inputs that JOB alone cannot name (archive, frame shift) are written before each
# iteration to dir/jobs/train.i.j.conf (kaldiq's --config=, Kaldi's option-file format) and
# dir/jobs/egs.i.j.ark (a symbolic link to the job's archive).
#
# Errors: a failed job stops the run, naming the job's log; every model is written by kaldiq
# through a temporary file and a rename, so no model file is ever half-written, and --stage=i
# resumes at iteration i (it needs dir/i.mdl).
set -euo pipefail

prog=train_chain.sh
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Options (train.py's defaults where it has them).
cmd="$script_dir/run_local.sh"
kaldiq=${KALDIQ:-kaldiq}
stage=0
num_jobs_initial=1
num_jobs_final=8
num_epochs=10
initial_effective_lrate=0.0002
final_effective_lrate=0.00002
frame_subsampling_factor=""
frame_shifts=""
srand=0
l2_regularize=0.0
leaky_hmm_coefficient=0.00001
xent_regularize=0.0
out_of_range_regularize=0.01
minibatch_size=128
max_param_change=2.0
momentum=0.0
apply_deriv_weights=true
num_threads=1
max_minibatches_per_epoch=-1
diagnostic_minibatch_size=1:16
train_opts=""
cleanup_job_models=false
quiet=false

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  cat >&2 <<EOF
Options (--name=value or --name value):
  --cmd <prefix>                   scheduler prefix (default: scripts/run_local.sh)
  --kaldiq <path>                  kaldiq binary (default: \$KALDIQ or kaldiq on PATH)
  --stage <i>                      resume at iteration i (default 0; negative = 0)
  --num-jobs-initial/--num-jobs-final <n>   job ramp (default 1 -> 8)
  --num-epochs <e>                 (default 10)
  --initial-effective-lrate/--final-effective-lrate  (default 0.0002 -> 0.00002)
  --frame-subsampling-factor <F>   shifts 0..F-1 (default: model dir's file, else 3)
  --frame-shifts <a,b,...>         explicit frame shifts instead
  --srand <s>                      job seeds are s + iteration (default 0)
  --l2-regularize --leaky-hmm-coefficient --xent-regularize --out-of-range-regularize
  --minibatch-size --max-param-change --momentum --apply-deriv-weights --num-threads
  --max-minibatches-per-epoch      passed to every kaldiq train job
  --diagnostic-minibatch-size      compute-prob's --minibatch-size (default 1:16)
  --train-opts "<opts>"            further options for every kaldiq train job
  --cleanup-job-models <bool>      delete dir/<i+1>.<j>.mdl once averaged (default false)
  --quiet <bool>                   no progress lines from this script
EOF
  exit 1
}

# Background diagnostics are waited for, so that nothing keeps writing after the script ended.
die() { echo "$prog: error: $*" >&2; wait 2> /dev/null || true; exit 1; }
log() { [ "$quiet" = true ] || echo "$prog: $*" >&2; }

# Kaldi's parse_options.sh convention: --foo-bar=value or --foo-bar value sets foo_bar, which
# must be one of the variables above.
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) usage ;;
    --*=*) name=${1%%=*}; value=${1#*=}; shift ;;
    --*) [ $# -ge 2 ] || die "option $1 needs a value"; name=$1; value=$2; shift 2 ;;
    *) break ;;
  esac
  var=${name#--}; var=${var//-/_}
  case "$var" in
    cmd|kaldiq|stage|num_jobs_initial|num_jobs_final|num_epochs|initial_effective_lrate|\
    final_effective_lrate|frame_subsampling_factor|frame_shifts|srand|l2_regularize|\
    leaky_hmm_coefficient|xent_regularize|out_of_range_regularize|minibatch_size|\
    max_param_change|momentum|apply_deriv_weights|num_threads|max_minibatches_per_epoch|\
    diagnostic_minibatch_size|train_opts|cleanup_job_models|quiet)
      printf -v "$var" '%s' "$value" ;;
    *) die "unknown option $name (see --help)" ;;
  esac
done
[ $# -eq 4 ] || usage
model_in=$1; den_fst=$2; egs_dir=$3; dir=$4

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_num() { [[ "$1" =~ ^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ ]]; }
# Kaldi's scripts start setups with negative stages; here every stage below 0 is iteration 0.
[[ "$stage" =~ ^-?[0-9]+$ ]] || die "--stage must be an integer, not '$stage'"
[ "$stage" -ge 0 ] || stage=0
for v in num_jobs_initial num_jobs_final srand num_threads; do
  is_uint "${!v}" || die "--${v//_/-} must be a non-negative integer, not '${!v}'"
done
for v in num_epochs initial_effective_lrate final_effective_lrate; do
  is_num "${!v}" || die "--${v//_/-} must be a positive number, not '${!v}'"
done
{ [ "$num_jobs_initial" -ge 1 ] && [ "$num_jobs_final" -ge 1 ]; } ||
  die "--num-jobs-initial and --num-jobs-final must be at least 1"
awk -v a="$initial_effective_lrate" -v b="$final_effective_lrate" 'BEGIN{exit !(a > 0 && b > 0)}' ||
  die "the effective learning rates must be positive"
for b in apply_deriv_weights cleanup_job_models quiet; do
  [ "${!b}" = true ] || [ "${!b}" = false ] || die "--${b//_/-} must be true or false"
done

[ -f "$model_in" ] || die "no such model: $model_in"
[ -f "$den_fst" ] || die "no such denominator FST: $den_fst"
[ -d "$egs_dir" ] || die "no such egs directory: $egs_dir"
command -v "$kaldiq" > /dev/null || die "kaldiq binary '$kaldiq' not found (set --kaldiq or PATH)"
kaldiq=$(command -v "$kaldiq")
# Paths given to jobs are absolute: a scheduler may start them in another directory.
abspath() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
model_in=$(abspath "$model_in"); den_fst=$(abspath "$den_fst"); egs_dir=$(abspath "$egs_dir")
mkdir -p "$dir/log" "$dir/jobs"
dir=$(cd "$dir" && pwd)

# Archives.
if [ -f "$egs_dir/info/num_archives" ]; then
  num_archives=$(cat "$egs_dir/info/num_archives")
  { is_uint "$num_archives" && [ "$num_archives" -ge 1 ]; } ||
    die "$egs_dir/info/num_archives: bad number of archives '$num_archives'"
else
  num_archives=0
  while [ -f "$egs_dir/cegs.$((num_archives + 1)).ark" ]; do num_archives=$((num_archives + 1)); done
  [ "$num_archives" -ge 1 ] || die "$egs_dir: no cegs.1.ark and no info/num_archives"
fi
for ((a = 1; a <= num_archives; a++)); do
  [ -f "$egs_dir/cegs.$a.ark" ] ||
    die "$egs_dir/cegs.$a.ark is missing ($num_archives archives expected)"
done
[ "$num_jobs_final" -le "$num_archives" ] ||
  die "--num-jobs-final=$num_jobs_final exceeds the number of archives ($num_archives)"

# Frame shifts.
if [ -n "$frame_shifts" ]; then
  [[ "$frame_shifts" =~ ^-?[0-9]+(,-?[0-9]+)*$ ]] || die "bad --frame-shifts '$frame_shifts'"
  IFS=, read -r -a shifts <<< "$frame_shifts"
else
  if [ -z "$frame_subsampling_factor" ]; then
    frame_subsampling_factor=3
    fss_file=$(dirname "$model_in")/frame_subsampling_factor
    [ -f "$fss_file" ] && frame_subsampling_factor=$(cat "$fss_file")
  fi
  { is_uint "$frame_subsampling_factor" && [ "$frame_subsampling_factor" -ge 1 ]; } ||
    die "bad frame subsampling factor '$frame_subsampling_factor'"
  shifts=()
  for ((s = 0; s < frame_subsampling_factor; s++)); do shifts+=("$s"); done
fi
num_shifts=${#shifts[@]}

num_archives_expanded=$((num_archives * num_shifts))
num_archives_to_process=$(awk -v e="$num_epochs" -v x="$num_archives_expanded" \
                              'BEGIN{printf "%d", e * x}')
num_iters=$(( (2 * num_archives_to_process) / (num_jobs_initial + num_jobs_final) ))
[ "$num_iters" -ge 1 ] ||
  die "no iterations: $num_epochs epochs of $num_archives archives x $num_shifts shifts" \
      "are fewer archives than the $num_jobs_initial..$num_jobs_final jobs"
[ "$stage" -le "$num_iters" ] || die "--stage=$stage is beyond the last iteration ($num_iters)"

num_jobs_at() {  # <iter>
  awk -v i="$1" -v n="$num_iters" -v a="$num_jobs_initial" -v b="$num_jobs_final" \
    'BEGIN{printf "%d", int(0.5 + a + (b - a) * i / n)}'
}
learning_rate_at() {  # <iter> <num-jobs> <processed>: nj * effective lrate
  awk -v i="$1" -v nj="$2" -v p="$3" -v n="$num_iters" -v t="$num_archives_to_process" \
      -v a="$initial_effective_lrate" -v b="$final_effective_lrate" \
    'BEGIN{e = (i + 1 >= n) ? b : a * exp(p * log(b / a) / t); printf "%.8g", nj * e}'
}

chain_opts=(--l2-regularize="$l2_regularize" --leaky-hmm-coefficient="$leaky_hmm_coefficient"
            --xent-regularize="$xent_regularize"
            --out-of-range-regularize="$out_of_range_regularize")

# compute_prob_{valid,train}.<tag>.log for a model, in the background; pids in diag_pids.
diag_pids=()
start_diagnostics() {  # <model> <tag>
  local set name
  for set in valid train; do
    name=${set}_diagnostic.cegs
    [ -f "$egs_dir/$name" ] || continue
    $cmd "$dir/log/compute_prob_$set.$2.log" \
      "$kaldiq" chain-compute-prob "${chain_opts[@]}" \
      --minibatch-size="$diagnostic_minibatch_size" --quiet \
      "$1" "$den_fst" "ark:$egs_dir/$name" &
    diag_pids+=("$!:$dir/log/compute_prob_$set.$2.log")
  done
}
wait_diagnostics() {
  local entry bad=0
  for entry in "${diag_pids[@]}"; do
    wait "${entry%%:*}" || { echo "$prog: error: diagnostics failed, see ${entry#*:}" >&2; bad=1; }
  done
  diag_pids=()
  [ "$bad" -eq 0 ] || exit 1
}

if [ "$stage" -le 0 ] && [ ! -f "$dir/0.mdl" ]; then
  cp "$model_in" "$dir/0.mdl.tmp" && mv "$dir/0.mdl.tmp" "$dir/0.mdl"
fi
log "$num_archives archives x $num_shifts frame shifts, $num_epochs epochs:" \
    "$num_iters iterations, jobs $num_jobs_initial -> $num_jobs_final, --cmd '$cmd'"

processed=0
for ((iter = 0; iter < num_iters; iter++)); do
  nj=$(num_jobs_at "$iter")
  if [ "$iter" -lt "$stage" ]; then processed=$((processed + nj)); continue; fi
  [ -f "$dir/$iter.mdl" ] || die "$dir/$iter.mdl is missing (cannot start at iteration $iter)"
  lrate=$(learning_rate_at "$iter" "$nj" "$processed")
  l2_factor=$(awk -v nj="$nj" 'BEGIN{printf "%.8g", 1 / nj}')
  archives=() ; job_shifts=()
  for ((j = 1; j <= nj; j++)); do
    k=$((processed + j - 1))
    archive=$((k % num_archives + 1))
    shift_=${shifts[$(( (archive + k / num_archives) % num_shifts ))]}
    archives+=("$archive"); job_shifts+=("$shift_")
    printf '# iteration %d, job %d: archive %d, frame shift %s (train.py schedule)\n--frame-shifts=%s\n' \
      "$iter" "$j" "$archive" "$shift_" "$shift_" > "$dir/jobs/train.$iter.$j.conf"
    ln -sfn "$egs_dir/cegs.$archive.ark" "$dir/jobs/egs.$iter.$j.ark"
    rm -f "$dir/$((iter + 1)).$j.mdl"
  done
  epoch=$(awk -v p="$processed" -v x="$num_archives_expanded" 'BEGIN{printf "%.2f", p / x}')
  pct=$(awk -v p="$processed" -v t="$num_archives_to_process" 'BEGIN{printf "%.1f", 100 * p / t}')
  log "Iter: $iter/$num_iters   Jobs: $nj   Epoch: $epoch/$num_epochs ($pct% complete)" \
      "  lr: $lrate   archives: ${archives[*]}   shifts: ${job_shifts[*]}"

  start_diagnostics "$dir/$iter.mdl" "$iter"
  # shellcheck disable=SC2086  # $cmd and $train_opts are word lists, as in Kaldi's scripts
  if ! $cmd JOB=1:"$nj" "$dir/log/train.$iter.JOB.log" \
      "$kaldiq" train --config="$dir/jobs/train.$iter.JOB.conf" \
      "${chain_opts[@]}" --apply-deriv-weights="$apply_deriv_weights" \
      --momentum="$momentum" --max-param-change="$max_param_change" \
      --minibatch-size="$minibatch_size" --num-threads="$num_threads" \
      --max-minibatches-per-epoch="$max_minibatches_per_epoch" \
      --learning-rate="$lrate" --l2-regularize-factor="$l2_factor" --srand=$((srand + iter)) \
      --num-epochs=1 $train_opts \
      "$dir/$iter.mdl" "$den_fst" "ark:$dir/jobs/egs.$iter.JOB.ark" "$dir/$((iter + 1)).JOB.mdl"
  then
    wait || true
    for ((j = 1; j <= nj; j++)); do
      if [ ! -f "$dir/$((iter + 1)).$j.mdl" ]; then
        echo "$prog: error: iteration $iter: job $j failed (archive ${archives[j-1]}," \
             "frame shift ${job_shifts[j-1]}), see $dir/log/train.$iter.$j.log:" >&2
        grep -v '^#' "$dir/log/train.$iter.$j.log" 2> /dev/null | tail -n 5 | sed 's/^/  /' >&2 || true
      fi
    done
    die "iteration $iter failed; fix the cause and rerun with --stage=$iter"
  fi
  # train.py's get_successful_models: average the jobs whose final objective ('output', the
  # last "Overall average objective function" line of the job's log) is within 1.0 of the best.
  objfs=()
  for ((j = 1; j <= nj; j++)); do
    objfs+=("$(awk '/Overall average objective function for .output. is/ {
                      sub(/ over .*/, ""); v = $NF } END { print (v == "" ? -100000 : v) }' \
                "$dir/log/train.$iter.$j.log")")
  done
  best=$(printf '%s\n' "${objfs[@]}" | sort -g | tail -n 1)
  job_models=()
  for ((j = 1; j <= nj; j++)); do
    if awk -v b="$best" -v o="${objfs[j-1]}" 'BEGIN{exit !(b - o <= 1.0)}'; then
      job_models+=("$dir/$((iter + 1)).$j.mdl")
    else
      log "iteration $iter: job $j's objective ${objfs[j-1]} is more than 1.0 below the best" \
          "($best): not averaged"
    fi
  done
  $cmd "$dir/log/average.$iter.log" "$kaldiq" average "${job_models[@]}" "$dir/$((iter + 1)).mdl" ||
    die "iteration $iter: averaging failed, see $dir/log/average.$iter.log"
  wait_diagnostics
  [ "$cleanup_job_models" = true ] && rm -f "${job_models[@]}"
  processed=$((processed + nj))
done

[ -f "$dir/$num_iters.mdl" ] || die "$dir/$num_iters.mdl is missing (the last iteration's model)"
cp "$dir/$num_iters.mdl" "$dir/final.mdl.tmp" && mv "$dir/final.mdl.tmp" "$dir/final.mdl"
start_diagnostics "$dir/final.mdl" final
wait_diagnostics
for set in valid train; do
  f=$dir/log/compute_prob_$set.final.log
  [ -f "$f" ] && log "$(basename "$f"): $(grep -m1 "Overall log-probability for 'output'" "$f" |
                                          sed "s/.*is /is /")"
done
log "done: $dir/final.mdl"
