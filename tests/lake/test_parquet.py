#!/usr/bin/env python3
"""test_parquet.py - Parquet files akili writes, read by independent readers.

The unit-test binary (build/asan/tests/test_parquet, `export` test) writes
files of every type, optional and required, with NULLs and extremes, for each
codec (zstd, snappy, none) and layout (one row group; many row groups with
small pages and, for snappy, no dictionary; zero rows), plus the expected rows
as JSON.  tests/lake/parquet_check.mjs reads them with hyparquet and DuckDB
and compares every value, the field ids and every chunk's statistics.  A
negative control changes one expected value and one expected row count: the
check must then fail.  Ends with `parquet: N passed, M failed`.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build/asan/tests/test_parquet")
CHECK = os.path.join(ROOT, "tests/lake/parquet_check.mjs")

passed = failed = 0


def result(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(("ok   " if ok else "FAIL ") + what + ("" if ok or not detail else ": " + detail))


def run_check(expected):
    p = subprocess.run(["node", CHECK, expected], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout.splitlines(), p.stderr


def main():
    b = subprocess.run(["make", "--no-print-directory", "-j2", "build/asan/tests/test_parquet"], cwd=ROOT,
                       capture_output=True, text=True)
    if b.returncode != 0:
        result(False, "build test_parquet", (b.stdout + b.stderr)[-2000:])
        return
    s = subprocess.run([os.path.join(ROOT, "tests/oracle/setup.sh")], capture_output=True, text=True)
    if s.returncode != 0:
        result(False, "tests/oracle/setup.sh (hyparquet, DuckDB)", (s.stdout + s.stderr)[-2000:])
        return
    with tempfile.TemporaryDirectory(prefix="ak_lake_parquet.") as d:
        env = dict(os.environ, AK_PQ_EXPORT_DIR=d, AK_TEST_ONLY="export")
        w = subprocess.run([BIN], env=env, capture_output=True, text=True, timeout=300)
        expected = os.path.join(d, "expected.json")
        if w.returncode != 0 or not os.path.exists(expected):
            result(False, "akili writes the files", (w.stdout + w.stderr)[-2000:])
            return
        files = json.load(open(expected))
        result(len(files) == 9, f"akili wrote {len(files)} files (3 codecs x 3 layouts)")
        rc, lines, err = run_check(expected)
        for line in lines:
            if line.startswith("ok   ") or line.startswith("FAIL "):
                result(line.startswith("ok"), line[5:])
        if rc != 0 and not any(line.startswith("FAIL") for line in lines):
            result(False, "parquet_check.mjs", err[-2000:])

        # negative control: a wrong expectation must be reported
        e = files[0]
        col = next(i for i, c in enumerate(e["columns"]) if c["type"] == "VARCHAR" and c["required"])
        e["rows"][0][col] = e["rows"][0][col] + "!"
        files[1]["rows"].pop()
        bad = os.path.join(d, "expected-wrong.json")
        json.dump(files, open(bad, "w"))
        rc, lines, _ = run_check(bad)
        nfail = sum(1 for line in lines if line.startswith("FAIL"))
        result(rc != 0 and nfail >= 4, f"negative control: changed expectations are caught ({nfail} checks fail)")


if __name__ == "__main__":
    try:
        main()
    except Exception as ex:  # a crash of the driver is a failure, not a silence
        result(False, "driver", repr(ex))
    print(f"parquet: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
