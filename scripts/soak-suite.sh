#!/usr/bin/env bash
# Runs the README's test command again and again on one build, to find flakes (issue 14's "20 in a row,
# 5 beside a CPU-heavy process"). Each run's output goes to $LOGS/run-N.log, one line per run to
# $LOGS/summary (exit status, duration, load average, the test-run line). Stops at the first failure
# unless KEEP_GOING=1.
#   scripts/soak-suite.sh                 20 runs
#   RUNS=5 LOAD=1 scripts/soak-suite.sh   5 runs beside a loop of release builds of a copy of this package
#   FILTER=SessionTests RUNS=50 scripts/soak-suite.sh   one suite only (swift test --filter)
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
LOAD=${LOAD:-0}
KEEP_GOING=${KEEP_GOING:-0}
FILTER=${FILTER:-}
LOGS=${LOGS:-.build/soak-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$LOGS"
swift build --build-tests > "$LOGS/build.log" 2>&1 || { echo "soak-suite: build failed, see $LOGS/build.log" >&2; exit 1; }

loader=
if [ "$LOAD" = 1 ]; then
    copy=$(mktemp -d)
    git clone -q . "$copy/package"
    ( cd "$copy/package" && while true; do rm -rf .build; swift build -c release > /dev/null 2>&1; done ) &
    loader=$!
    trap 'kill $loader 2>/dev/null; pkill -P $loader 2>/dev/null; rm -rf "$copy"' EXIT
fi

failed=0
for n in $(seq 1 "$RUNS"); do
    start=$(date +%s)
    swift test --skip-build --no-parallel ${FILTER:+--filter "$FILTER"} > "$LOGS/run-$n.log" 2>&1
    status=$?
    line=$(grep -E "Test run with" "$LOGS/run-$n.log" | tail -1)
    echo "run $n: exit $status, $(( $(date +%s) - start )) s, load $(cut -d' ' -f1 /proc/loadavg) | $line" | tee -a "$LOGS/summary"
    if [ $status -ne 0 ]; then
        failed=$((failed + 1))
        grep -E "^✘" "$LOGS/run-$n.log" | head -5
        [ "$KEEP_GOING" = 1 ] || break
    fi
done
echo "soak-suite: $failed failed of the runs in $LOGS/summary"
[ $failed -eq 0 ]
