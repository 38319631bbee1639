#!/usr/bin/env bash
# run_local.sh: Kaldi's utils/run.pl calling convention on one machine, so that kaldiq's
# drivers (scripts/train_chain.sh) need no Kaldi install. Any script that takes
# --cmd "run.pl" / "queue.pl" / "slurm.pl" can take --cmd scripts/run_local.sh instead.
#
# Usage:  run_local.sh [options] [JOB=1:N] <log-file> <command> [<args> ...]
#   e.g.  run_local.sh JOB=1:4 exp/log/train.3.JOB.log kaldiq train ... exp/4.JOB.mdl
#         run_local.sh exp/log/average.3.log kaldiq average exp/4.1.mdl exp/4.2.mdl exp/4.mdl
#
# Contract (that of run.pl):
# - JOB=a:b (or JOB=a; any upper-case variable name, e.g. SPLIT=1:8) runs jobs a..b; every
#   occurrence of the name in the log file and in the command is replaced by the job's number.
# - The command's words are joined into one bash command line as run.pl joins them: a word
#   without white space is used as is (so an escaped \| makes a pipe), a word with white space
#   is double-quoted, or single-quoted if it contains a double quote.
# - Each job's stdout and stderr go to its log file (its directory is created), between
#   run.pl's header ("# <command>", "# Started at ...") and trailer ("# Accounting: time=...",
#   "# Ended (code N) at ..."), which Kaldi's log parsers and users' habits expect.
# - All jobs run in parallel (at most --max-jobs-run at a time, default all); the exit status
#   is 0 only if every job exited 0, otherwise 1 with "run_local.sh: K / N failed, log is in
#   <log>" on stderr (run.pl's message).
# - Scheduler options (--num-threads N, --mem 4G, --gpu 0, --config f, -l ..., -pe smp N,
#   -tc N, ...) are accepted and ignored, as run.pl ignores what one machine has no use for.
set -u

prog=run_local.sh
max_jobs_run=0   # 0: all at once

usage() {
  echo "Usage: $prog [options] [JOB=1:N] <log-file> <command> [<args> ...]" >&2
  exit 1
}

# Options come first, each as "--name value" (Kaldi's queue options), or "-x value".
while [ $# -gt 0 ]; do
  case "$1" in
    --max-jobs-run)
      [ $# -ge 2 ] || usage
      max_jobs_run=$2
      [[ "$max_jobs_run" =~ ^[0-9]+$ ]] || { echo "$prog: bad --max-jobs-run '$2'" >&2; exit 1; }
      shift 2 ;;
    --max-jobs-run=*)
      max_jobs_run=${1#*=}
      [[ "$max_jobs_run" =~ ^[0-9]+$ ]] || { echo "$prog: bad $1" >&2; exit 1; }
      shift ;;
    --*=*) shift ;;
    --*|-pe|-l|-tc|-q|-V|-sync)
      [ $# -ge 2 ] || usage
      if [ "$1" = -pe ]; then shift 3; else shift 2; fi ;;
    *) break ;;
  esac
done

jobname="" ; first=1 ; last=1
if [[ $# -gt 0 && "$1" =~ ^([A-Za-z_][A-Za-z0-9_]*)=([0-9]+)(:([0-9]+))?$ ]]; then
  jobname=${BASH_REMATCH[1]}
  first=${BASH_REMATCH[2]}
  last=${BASH_REMATCH[4]:-$first}
  if [ "$last" -lt "$first" ]; then
    echo "$prog: bad job range '$1'" >&2
    exit 1
  fi
  shift
fi
[ $# -ge 2 ] || usage
logfile=$1
shift

# run.pl's quoting, so that a command line means what it means under run.pl.
cmd=""
for word in "$@"; do
  if [[ "$word" =~ ^[^[:space:]]+$ ]]; then
    cmd+="$word "
  elif [[ "$word" == *\"* ]]; then
    cmd+="'$word' "
  else
    cmd+="\"$word\" "
  fi
done

run_one() {  # <job-number or empty>
  local log=$logfile c=$cmd
  if [ -n "$jobname" ]; then
    log=${log//$jobname/$1}
    c=${c//$jobname/$1}
  fi
  mkdir -p "$(dirname "$log")" || return 1
  {
    echo "# $c"
    echo "# Started at $(date)"
    echo "#"
  } > "$log" || return 1
  local start=$SECONDS
  ( bash -c "$c" ) >> "$log" 2>&1
  local rc=$?
  {
    echo "# Accounting: time=$((SECONDS - start)) threads=1"
    echo "# Ended (code $rc) at $(date), elapsed time $((SECONDS - start)) seconds"
  } >> "$log"
  return $rc
}

num_jobs=$((last - first + 1))
declare -A pid_of_job=()
failed=0
running=0

wait_for() {  # <job>: collect one job's status
  if ! wait "${pid_of_job[$1]}"; then
    failed=$((failed + 1))
  fi
  unset "pid_of_job[$1]"
}

oldest=$first
for ((j = first; j <= last; j++)); do
  if [ "$max_jobs_run" -gt 0 ] && [ "$running" -ge "$max_jobs_run" ]; then
    wait_for "$oldest"     # jobs of a stage take similar times: wait for the oldest
    oldest=$((oldest + 1))
    running=$((running - 1))
  fi
  if [ -n "$jobname" ]; then run_one "$j" & else run_one "" & fi
  pid_of_job[$j]=$!
  running=$((running + 1))
done
for ((j = oldest; j <= last; j++)); do
  wait_for "$j"
done

if [ "$failed" -gt 0 ]; then
  shown=$logfile
  [ -n "$jobname" ] && shown=${logfile//$jobname/*}
  if [ "$num_jobs" -eq 1 ]; then
    echo "$prog: job failed, log is in ${logfile//$jobname/$first}" >&2
  else
    echo "$prog: $failed / $num_jobs failed, log is in $shown" >&2
  fi
  exit 1
fi
exit 0
