#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang + ASan + UBSan into build-fuzz/ (or
# $KQ_FUZZ_BUILD_DIR) and runs each for the given time, on top of its seeds (cut from testdata/
# by kq_fuzz_seeds) and its regression corpus (tests/fuzz_regressions/<target>/).
#   scripts/fuzz.sh [seconds-per-target]        default 60; every target
#   KQ_FUZZ_TARGETS="lattice plan" scripts/fuzz.sh 600    only these
#   KQ_FUZZ_JOBS=2 ...                          run that many targets at once (each one process)
#   KQ_FUZZ_SEED=1 ...                          fixed libFuzzer seed (CI: the same mutations on
#                                               every run, so a clean tree stays green); default random
# Limits (the bar every target must clear): -timeout=10 (an input running over 10 s is a
# finding), -rss_limit_mb=2048 and -malloc_limit_mb=2048 (a 2 GB process or allocation is a
# finding), leaks (LeakSanitizer), any ASan/UBSan report. Findings are saved under
# build-fuzz/artifacts/<target>/; the corpus grows in build-fuzz/corpus/<target>/ (kept between
# runs, not committed: minimise a finding into tests/fuzz_regressions/<target>/ instead).
# Prints a table of executions and coverage (libFuzzer's cov: and ft:) per target; exits 1 if
# any target found something.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${KQ_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${KQ_FUZZ_JOBS:-1}

# Debian 12's clang 14 with the libFuzzer/sanitizer runtimes, plus the project's own dependencies.
"$root/scripts/install-deps.sh"
missing=()
for p in clang libclang-rt-14-dev llvm; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DKQ_FUZZ=ON -DKQ_WERROR=ON \
  -DKQ_BUILD_TESTS=OFF -DKQ_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Fuzz \
  -DCMAKE_CXX_FLAGS_FUZZ="-O1" "${launcher[@]}" >/dev/null
all_targets=$(sed -n 's/^kq_fuzz_target(\([a-z0-9_]*\).*/\1/p' "$root/fuzz/targets.cmake")
targets=${KQ_FUZZ_TARGETS:-$all_targets}
build_targets=(kq_fuzz_seeds)
for t in $targets; do build_targets+=("fuzz_$t"); done
cmake --build "$build" -j"$(nproc)" --target "${build_targets[@]}"

rm -rf "$build/seeds"
"$build/fuzz/kq_fuzz_seeds" "$root/testdata" "$root/fuzz/seeds" "$build/seeds"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
command -v llvm-symbolizer >/dev/null 2>&1 && export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)

# Largest input per target: a little above its largest seed (the transition model of tdnn-seed
# makes the model seeds the big ones).
max_len() {
  case "$1" in
    nnet3|trans_model|int8_model) echo 32768 ;;
    *) echo 16384 ;;
  esac
}

run_one() {
  local t=$1 log=$build/logs/$1.log
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$root/tests/fuzz_regressions/$t"
  local dict=()
  [ -f "$root/fuzz/dict/$t.dict" ] && dict=(-dict="$root/fuzz/dict/$t.dict")
  local rc=0 seed=()
  [ -n "${KQ_FUZZ_SEED:-}" ] && seed=(-seed="$KQ_FUZZ_SEED")
  "$build/fuzz/fuzz_$t" "${seed[@]}" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 -close_fd_mask=1 \
    -artifact_prefix="$build/artifacts/$t/" "${dict[@]}" \
    "$build/corpus/$t" "$build/seeds/$t" "$root/tests/fuzz_regressions/$t" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$build/logs/$t.rc"
}

mkdir -p "$build/logs"
start=$(date +%s)
running=0
for t in $targets; do
  echo "fuzz: $t for ${seconds}s" >&2
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

status=0
printf '%-12s %-6s %12s %8s %8s %9s %s\n' target result execs exec/s cov ft corpus >&2
for t in $targets; do
  log=$build/logs/$t.log
  rc=$(cat "$build/logs/$t.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  result=ok
  if [ "$rc" != 0 ]; then
    result=FAIL
    status=1
  fi
  printf '%-12s %-6s %12s %8s %8s %9s %s\n' "$t" "$result" "${execs:-?}" "${speed:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" >&2
  if [ "$rc" != 0 ]; then
    grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written' "$log" | head -5 >&2 || true
    echo "  (full log: $log)" >&2
  fi
done
echo "fuzz: $(( $(date +%s) - start ))s of fuzzing" >&2
# The plain closing line CI reads: targets without findings / with.
n_ok=0 n_fail=0
for t in $targets; do
  if [ "$(cat "$build/logs/$t.rc" 2>/dev/null || echo 1)" = 0 ]; then n_ok=$((n_ok + 1)); else n_fail=$((n_fail + 1)); fi
done
echo "fuzz: $n_ok passed, $n_fail failed"
exit $status
