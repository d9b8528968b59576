#!/usr/bin/env bash
# Flake hunt: runs the whole test suite of one build many times while busy loops keep
# every core occupied, with a per-test timeout, and reports every test that ever failed
# or hung. Timing races show up under load far more often than on an idle machine.
#
#   bash scripts/flake-hunt.sh build/release            # 20 rounds
#   bash scripts/flake-hunt.sh build/asan 30 -R Workers # 30 rounds of the matching tests
#
# Arguments: BUILD_DIR [ROUNDS] [extra ctest arguments...]. Environment: FLAKE_TIMEOUT
# (seconds per test, default 120), FLAKE_JOBS (ctest -j, default cores + 1), FLAKE_BUSY
# (busy loops, default one per core). The report and each failing round's log are written
# to BUILD_DIR/flake-hunt/; the exit status is 1 when anything failed or hung.
set -uo pipefail
cd "$(dirname "$0")/.."

build=${1:?usage: flake-hunt.sh BUILD_DIR [ROUNDS] [ctest args...]}
rounds=${2:-20}
shift $(( $# >= 2 ? 2 : 1 ))
timeout=${FLAKE_TIMEOUT:-120}
cores=$(nproc)
jobs=${FLAKE_JOBS:-$((cores + 1))}
busy=${FLAKE_BUSY:-$cores}
out="$build/flake-hunt"
rm -rf "$out" && mkdir -p "$out"

# The load: plain busy loops, stopped by pid however this script ends.
busy_pids=()
stop_load() { ((${#busy_pids[@]})) && kill "${busy_pids[@]}" 2>/dev/null; wait 2>/dev/null; }
trap stop_load EXIT
trap 'exit 130' INT TERM
for ((i = 0; i < busy; i++)); do
  ( while :; do :; done ) &
  busy_pids+=($!)
done

declare -A failed=() hung=()
started=$(date +%s)
total_tests=0
for ((round = 1; round <= rounds; round++)); do
  log="$out/round-$round.log"
  t0=$(date +%s)
  ctest --test-dir "$build" -j "$jobs" --timeout "$timeout" --output-on-failure "$@" >"$log" 2>&1
  # ctest lists every test that did not pass under "The following tests FAILED:",
  # as "  123 - Suite.Name (Failed)" or "(Timeout)".
  bad=$(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^\s+[0-9]+ - ' || true)
  total_tests=$(grep -Eo '[0-9]+ tests failed out of [0-9]+|tests passed, [0-9]+ tests failed out of [0-9]+' "$log" |
                grep -Eo '[0-9]+$' | tail -1)
  summary="round $round/$rounds: $(( $(date +%s) - t0 )) s, ${total_tests:-?} tests"
  if [[ -z "$bad" ]]; then
    echo "$summary, all passed"
    rm -f "$log"
    continue
  fi
  while read -r line; do
    name=$(sed -E 's/^\s*[0-9]+ - (.*) \((.*)\)\s*$/\1/' <<<"$line")
    why=$(sed -E 's/^\s*[0-9]+ - (.*) \((.*)\)\s*$/\2/' <<<"$line")
    if [[ "$why" == Timeout ]]; then hung[$name]=$(( ${hung[$name]:-0} + 1 ))
    else failed[$name]=$(( ${failed[$name]:-0} + 1 )); fi
  done <<<"$bad"
  echo "$summary, not passed: $(wc -l <<<"$bad") (log: $log)"
  sed 's/^/    /' <<<"$bad"
done

report="$out/report.txt"
{
  echo "flake hunt of $build: $rounds rounds of ${total_tests:-?} tests, ctest -j $jobs, $busy busy loops" \
       "on $cores cores, ${timeout} s per test, $(( $(date +%s) - started )) s in all"
  if ((${#failed[@]} + ${#hung[@]} == 0)); then
    echo "no test failed or hung"
  else
    for name in "${!failed[@]}"; do echo "FAILED ${failed[$name]}/$rounds  $name"; done
    for name in "${!hung[@]}"; do echo "HUNG   ${hung[$name]}/$rounds  $name"; done
  fi
} | tee "$report"
((${#failed[@]} + ${#hung[@]} == 0))
