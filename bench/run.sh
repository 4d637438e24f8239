#!/usr/bin/env bash
# run.sh - akili's benchmarks (figures and ratios, not pass/fail tests).
#   bench/engines.py  the flagship transform on akili (the whole pipeline
#                     and its transform alone), DuckDB, SQLite and PostgreSQL
#                     over the same 1M and 5M event files; rows checked equal
#   bench/stream.py   5M events loaded, then 1,000-event micro-batches,
#                     event -> visible latency, state per session and user,
#                     against recomputing everything (akili's batch engine
#                     and DuckDB, when tests/oracle is set up)
#   bench/sustained.py  a continuous run fed as fast as it reads, with
#                     checkpoints every 10 s: events/s and per CPU-second
#   lake_bench        the lake sink on 1M flagship sessions: one publish
#                     (zstd, snappy, none), 100 publishes of 1% changes,
#                     compaction and expiry, reading the table back
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
tests/oracle/setup.sh >/dev/null 2>&1 || echo "(DuckDB not installed: its figure is skipped)"
python3 bench/engines.py --sizes 1m,5m,1m-1mu
python3 bench/stream.py "$@"
python3 bench/sustained.py
build/release/lake_bench
