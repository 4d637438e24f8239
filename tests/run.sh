#!/usr/bin/env bash
# run.sh - every test of `make test`, under AddressSanitizer and UBSan:
# unit tests, the oracle self-check, the pipeline tests (whole products on
# files against the batch oracle, the CLI surface, crashes), the streaming
# harness (a continuous run checked after every micro-batch), the crash
# test (kill -9 and restarts), the connectors against real peers on
# 127.0.0.1 (tests/sources) and a fuzz smoke run of every parser.  The last line is "N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
total_pass=0
total_fail=0
summary=()

count() { # $1 suite name, $2 output file
    local line p f
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$2" | tail -1)
    if [ -z "$line" ]; then
        p=0 f=1
    else
        p=$(sed -E 's/.*[^0-9]([0-9]+) passed.*/\1/; s/^([0-9]+) passed.*/\1/' <<<"$line")
        f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    summary+=("$(printf '%-10s %5d passed, %d failed' "$1" "$p" "$f")")
}

# Runs test binaries ($2...) for suite $1: each one's own "N passed, M
# failed" line counts; one that exits non-zero without reporting a failure
# (a sanitizer stopped it, or reported at exit) counts one failure more.
run_bins() {
    local name=$1 log=build/test-logs/$1.log t out rc last p f tp=0 tf=0
    shift
    : >"$log"
    for t in "$@"; do
        case "$t" in *.d) continue ;; esac
        out=$("$t" 2>&1)
        rc=$?
        # ThreadSanitizer refuses some kernels' address-space randomisation
        if grep -q 'unexpected memory mapping' <<<"$out" && command -v setarch >/dev/null; then
            out=$(setarch "$(uname -m)" -R "$t" 2>&1)
            rc=$?
        fi
        echo "$out" | tail -1
        last=$(grep -E '[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
        if [ $rc -ne 0 ]; then
            if [ -z "$last" ]; then
                echo "$out" | tail -30
            else
                echo "$out" | grep -E 'FAIL|ERROR|WARNING: ThreadSanitizer' -A12 | head -40
            fi
        fi
        [ -n "$last" ] && echo "$last" >>"$log"
        if [ $rc -ne 0 ] && ! grep -qE ' [1-9][0-9]* failed' <<<"$last"; then
            echo "$t: 0 passed, 1 failed" >>"$log"
        fi
    done
    while read -r l; do
        p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$l")
        f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$l")
        tp=$((tp + p))
        tf=$((tf + f))
    done <"$log"
    echo "$name: $tp passed, $tf failed" >"build/test-logs/$name.sum"
    count "$name" "build/test-logs/$name.sum"
}

mkdir -p build/test-logs
echo "== unit tests"
run_bins unit build/asan/tests/test_*

echo "== threads: the tests of code that runs threads, under ThreadSanitizer"
TSAN_OPTIONS=halt_on_error=1 run_bins threads build/tsan/tests/test_*

echo "== the engine under ThreadSanitizer: streaming runs, with checkpoints between micro-batches and without"
tsan_akili=build/tsan/akili
if build/tsan/akili --version 2>&1 | grep -q 'unexpected memory mapping'; then
    tsan_akili=build/tsan/akili-norandom # as run_bins does: without address randomisation
    printf '#!/bin/sh\nexec setarch "$(uname -m)" -R "%s" "$@"\n' "$ROOT/build/tsan/akili" >"$tsan_akili"
    chmod +x "$tsan_akili"
fi
TSAN_OPTIONS=halt_on_error=1 python3 tests/stream/harness.py --seeds 2 --first 201 --held --checkpoint-interval 0.02 \
    --lake-every -1 --akili "$tsan_akili" 2>&1 | sed 's/^stream:/tsan-run:/' | tee build/test-logs/tsan-run.log
count tsan-run build/test-logs/tsan-run.log
# (with checkpoints that often most publishes are waited for; without, they run on the publisher's thread)
TSAN_OPTIONS=halt_on_error=1 python3 tests/stream/harness.py --seeds 2 --first 211 --lake-every -1 --akili "$tsan_akili" 2>&1 |
    sed 's/^stream:/tsan-async:/' | tee build/test-logs/tsan-async.log
count tsan-async build/test-logs/tsan-async.log

echo "== test oracles agree with each other"
tests/oracle/setup.sh >/dev/null 2>&1 || true
tests/pipeline/oracle_selftest.sh >build/test-logs/oracle.log 2>&1
grep -E '^FAIL' -A3 build/test-logs/oracle.log | head -30
tail -1 build/test-logs/oracle.log
count oracle build/test-logs/oracle.log

echo "== pipeline tests"
python3 tests/pipeline/test_pipeline.py 2>&1 | tee build/test-logs/pipeline.log
count pipeline build/test-logs/pipeline.log

echo "== streaming: published table vs the batch oracle after every micro-batch"
python3 tests/stream/harness.py --seeds "${AK_STREAM_SEEDS:-16}" --held --lake-every -1 2>&1 |
    tee build/test-logs/stream.log
count stream build/test-logs/stream.log
# the lake read by icebird and ice_ref every 8 micro-batches and after the last (the held scenario too)
python3 tests/stream/harness.py --seeds 1 --first 301 --held --lake-every 8 2>&1 | sed 's/^stream:/stream-lake:/' |
    tee build/test-logs/stream-lake.log
count stream-lake build/test-logs/stream-lake.log

echo "== crashes: kill -9 at random moments and at named points, restart, compare"
python3 tests/stream/crash.py --seeds "${AK_CRASH_SEEDS:-3}" --kills 9 2>&1 | grep -v '^akili: info' | tee build/test-logs/crash.log
count crash build/test-logs/crash.log
echo "== crashes with a 1-day retention: state compaction and rebuilds from the logs"
python3 tests/stream/crash.py --seeds 2 --first 101 --kills 20 --retention-days 1 2>&1 | grep -v '^akili: info' |
    tee build/test-logs/crash-compaction.log
count compaction build/test-logs/crash-compaction.log

echo "== real sources: each connector against its peer started on 127.0.0.1"
for t in tests/sources/test_*.py; do
    [ -e "$t" ] || continue
    n=$(basename "$t" .py)
    n=${n#test_}
    python3 "$t" 2>&1 | grep -v '^akili: info' | tee "build/test-logs/src-$n.log"
    count "$n" "build/test-logs/src-$n.log"
done

echo "== the lake: what akili writes, read back by independent readers"
for t in tests/lake/test_*.py; do
    [ -e "$t" ] || continue
    n=$(basename "$t" .py)
    n=${n#test_}
    python3 "$t" 2>&1 | grep -v '^akili: info' | tee "build/test-logs/lake-$n.log"
    count "$n" "build/test-logs/lake-$n.log"
done

echo "== fuzz smoke"
tests/fuzz/run.sh smoke 2>&1 | tee build/test-logs/fuzz.log
count fuzz build/test-logs/fuzz.log

echo
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
