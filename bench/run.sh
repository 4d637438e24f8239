#!/usr/bin/env bash
# run.sh - akili's benchmarks (figures and ratios, not pass/fail tests).
#   bench/stream.py   5M events loaded, then 1,000-event micro-batches,
#                     event -> visible latency, state per session and user,
#                     against recomputing everything (akili's batch engine
#                     and DuckDB, when tests/oracle is set up)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
tests/oracle/setup.sh >/dev/null 2>&1 || echo "(DuckDB not installed: its figure is skipped)"
python3 bench/stream.py "$@"
