#!/usr/bin/env bash
# run.sh - libFuzzer runs of every parser (manifest/config, JSON, CSV).
#
#   tests/fuzz/run.sh smoke   ~15 s per target (part of make test)
#   tests/fuzz/run.sh long    10 minutes per target (make fuzz)
# Crashes land in build/fuzz/artifacts/.  Ends with "fuzz: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
mode=${1:-smoke}
secs=15
[ "$mode" = long ] && secs=600
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang not found (scripts/deps.sh installs it)"
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi
make --no-print-directory -j2 fuzzers >build/fuzz-build.log 2>&1 || {
    tail -20 build/fuzz-build.log
    echo "fuzz: 0 passed, 1 failed"
    exit 1
}
mkdir -p build/fuzz/artifacts
pass=0 fail=0
for bin in build/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    case "$bin" in *.o | *.d) continue ;; esac
    name=${bin##*/fuzz_}
    corpus=tests/fuzz/corpus/$name
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
    if "$bin" -max_total_time=$secs -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix=build/fuzz/artifacts/ "$work" >"build/fuzz/$name.log" 2>&1; then
        pass=$((pass + 1))
        echo "ok   fuzz_$name ($(grep -o 'Done [0-9]* runs' "build/fuzz/$name.log" | tail -1))"
    else
        fail=$((fail + 1))
        echo "FAIL fuzz_$name (see build/fuzz/$name.log)"
        grep -m5 -E 'ERROR|SUMMARY' "build/fuzz/$name.log"
    fi
    rm -rf "$work"
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
