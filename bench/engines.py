#!/usr/bin/env python3
"""engines.py - akili against DuckDB, SQLite and PostgreSQL on the flagship transform.

    python3 bench/engines.py [--sizes 1m,5m[,1m-1mu]] [--reps 3] [--engines akili,duckdb,sqlite,postgresql]
                             [--data DIR]

For each size (1m: 1,000,000 events of 50,000 users; 5m: 5,000,000 of
200,000; 1m-1mu, for scaling by keys: 1,000,000 events of 1,000,000 users) the data set is generated once with gen.py (seed 42, no NULL
user_id: the seed's critical check would hold every publish) and cached
under --data (default $AKILI_BENCH_DATA or /tmp/akili-bench-data).  Then,
alternating engines, each run a fresh process:

  akili       `akili run start user_sessions --once` on a fresh state
              directory: decode the NDJSON, append the input logs (fsync),
              the transform's operators, the five quality checks, publish to
              the embedded serving store, checkpoint.  Its own log splits the
              time: "transform" is the operators' time (the transform alone,
              on in-memory tables), the rest is decode + logs + tables,
              checks, publish and the checkpoint.
  duckdb      the seed SQL on DuckDB 1.5.6 (tests/oracle/duck.mjs: views
              over the same NDJSON, 2 threads, in-process; its own timing
              of the views and the query, not Node's start nor the oracle's
              formatting of the result, which is then compared)
  sqlite      ../shared/bench/sqlite_bench.py (json1 load + query)
  postgresql  ../shared/bench/pg_bench.py (CSV COPY + query) on a throwaway
              cluster (../shared/bench/pg_cluster.sh, 127.0.0.1 only),
              skipped when PostgreSQL 15 is not installed

Peak RSS is the process's (wait4); for PostgreSQL the backend's.  akili's
published rows must equal DuckDB's, line for line (the oracle's output
convention); SQLite's and PostgreSQL's row counts must equal DuckDB's.  A
difference fails the benchmark (exit 1).  The decoder's throughput on the
clickstream file is measured separately (build/release/decode_bench).
Prints a table per size and writes build/bench/engines.md.
"""
import argparse
import calendar
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import stream  # noqa: E402  (the streaming benchmark's set-up of the product)
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench"))
GEN = os.path.join(SHARED, "gen.py")
AKILI = stream.AKILI
DUCK = os.path.join(ROOT, "tests", "oracle", "duck.mjs")
SQL = os.path.join(ROOT, "tests", "data", "sql", "user_sessions.sql")
SIZES = {"1m": (1_000_000, 50_000), "5m": (5_000_000, 200_000),
         # scaling by keys: the same number of events spread over 20x the users
         "1m-1mu": (1_000_000, 1_000_000)}
EV = ("event_id:VARCHAR,user_id:VARCHAR,page_url:VARCHAR,referrer_url:VARCHAR,user_agent:VARCHAR,"
      "ip_address:VARCHAR,event_time:TIMESTAMP,session_id:VARCHAR")
UP = "user_id:VARCHAR,username:VARCHAR,account_type:VARCHAR,signup_date:DATE,country:VARCHAR,updated_at:TIMESTAMP"


def log(msg):
    print(msg, flush=True)


class Failed(Exception):
    pass


def measured(argv, env=None, timeout=1800, usage=None):
    """Runs argv; returns (wall s, peak RSS MB, stdout, stderr).  `usage`, a
    dict, gets the process's CPU seconds, bytes written to disk (MB) and
    minor page faults (each a page the kernel had to find and zero)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                raise Failed(f"{argv[0]} took over {timeout} s")
            time.sleep(0.002)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        o, e = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if p.returncode != 0:
            raise Failed(f"{' '.join(argv[:4])} ... exited with {p.returncode}:\n{e[-2000:]}")
        if usage is not None:
            usage.update(cpu=ru.ru_utime + ru.ru_stime, written=ru.ru_oublock * 512 / 1e6, faults=ru.ru_minflt)
        return wall, ru.ru_maxrss / 1024.0, o, e


def ensure_data(root, size):
    """The data set's directory and the clock its runs read: a minute after
    its newest event, so the seed's freshness check (critical) passes."""
    d = os.path.join(root, f"engines-{size}")
    if not os.path.exists(os.path.join(d, "manifest.json")):
        n, u = SIZES[size]
        log(f"generating {size} ({n:,} events, {u:,} users) into {d} (once) ...")
        subprocess.run([sys.executable, GEN, "--events", str(n), "--users", str(u), "--seed", "42",
                        "--null-user-fraction", "0", "--out", d], check=True, stdout=subprocess.DEVNULL)
    now = os.path.join(d, "now.txt")
    if not os.path.exists(now):
        newest = ""
        pat = re.compile(r'"event_time": ?"([^"]+)"')
        with open(os.path.join(d, "clickstream.ndjson"), encoding="utf-8") as f:
            for line in f:
                m = pat.search(line)
                if m and m.group(1) > newest:
                    newest = m.group(1)
        t = time.strptime(newest[:19], "%Y-%m-%dT%H:%M:%S")
        with open(now, "w") as f:
            f.write(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm(t) + 60)))
    with open(now) as f:
        return d, f.read().strip()


# ---- engines ------------------------------------------------------------------

def akili_run(d, now, verify_out=None):
    work = tempfile.mkdtemp(prefix="akili-engines-")
    try:
        # the seed's manifests as they are (now makes its freshness check pass)
        env = stream.setup(os.path.join(work, "home"), d, now, stream.EXAMPLE)
        use = {}
        wall, rss, out, err = measured([AKILI, "-v", "run", "start", "user_sessions", "--once"], env=env, usage=use)
        m = re.search(r"read ([\d.]+), commit ([\d.]+), step ([\d.]+), checks ([\d.]+), publish ([\d.]+)", err)
        ck = re.search(r"checkpoint \d+: \w+, \d+ records, [\d.]+ KB written in ([\d.]+) ms", err)
        ops = sum(float(x) for x in re.findall(r"^#\d+ \w+: .*?, ([\d.]+) s, state", err, re.M))
        rows = int(re.search(r"(\d+) rows in the published table", out + err).group(1))
        split = None
        if m:
            read, commit, step, checks, publish = (float(x) / 1e3 for x in m.groups())
            # the checkpoint is begun with the publish (its holders are serialized meanwhile): what it adds
            # is the part after the publish
            ckpt = float(ck.group(1)) / 1e3 if ck else 0.0
            split = {"transform": ops, "decode+logs+tables": read + commit + step - ops, "checks": checks,
                     "publish": publish, "checkpoint after publish": max(0.0, ckpt - publish)}
        if verify_out:
            q = subprocess.run([AKILI, "query", "--format", "json", "SELECT * FROM analytics.user_sessions"],
                               env=env, check=True, capture_output=True, text=True)
            with open(verify_out, "w") as f:
                f.write(q.stdout)
        return {"wall": wall, "rss": rss, "rows": rows, "split": split, **use}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def duck_run(d, now, verify_out=None):
    out = verify_out or os.path.join(tempfile.gettempdir(), f"akili-engines-duck-{os.getpid()}.ndjson")
    use = {}
    try:
        wall, rss, _, err = measured(["node", DUCK, "--table", f"clickstream={d}/clickstream.ndjson:{EV}",
                                      "--table", f"user_profiles={d}/user_profiles.ndjson:{UP}", "--sql", SQL,
                                      "--threads", "2", "--timing", "--out", out], usage=use)
        t = json.loads(err.strip().splitlines()[-1])
        # DuckDB's own figure: the views and the query (reading the files), without Node's start and the
        # oracle's formatting of the result for the comparison
        return {"wall": t["load_s"] + t["query_s"], "process": wall, "rss": rss, "rows": t["rows"], **use}
    finally:
        if not verify_out and os.path.exists(out):
            os.unlink(out)


def sqlite_run(d, now, verify_out=None):
    wall, rss, out, _ = measured([sys.executable, os.path.join(SHARED, "sqlite_bench.py"), "--data", d,
                                  "--load", "json1"])
    t = json.loads(out.strip().splitlines()[-1])
    return {"wall": t.get("e2e_s", wall), "process": wall, "rss": rss, "rows": t.get("rows")}


def pg_available():
    return os.path.exists("/usr/lib/postgresql/15/bin/postgres") and os.path.exists(os.path.join(SHARED, "pg_bench.py"))


def pg_run(d, now, verify_out=None):
    wall, rss, out, _ = measured([sys.executable, os.path.join(SHARED, "pg_bench.py"), "--data", d, "--load", "csv"])
    t = json.loads(out.strip().splitlines()[-1])
    return {"wall": t["e2e_s"], "process": wall, "rss": (t.get("backend_vmhwm_kb") or 0) / 1024.0, "rows": t["rows"]}


ENGINES = {"akili": akili_run, "duckdb": duck_run, "sqlite": sqlite_run, "postgresql": pg_run}


# ---- decode throughput ------------------------------------------------------------

def decode_rate(d):
    b = os.path.join(ROOT, "build", "release", "decode_bench")
    subprocess.run(["make", "--no-print-directory", "-s", "build/release/decode_bench"], cwd=ROOT, check=True)
    p = subprocess.run([b, "--all", "--reps", "3", os.path.join(d, "clickstream.ndjson")], capture_output=True,
                       text=True, check=True)
    m = re.search(r"CPU ([\d.]+) s: (\d+) MB/s", p.stdout)
    return p.stdout.strip(), (int(m.group(2)) if m else None)


# ---- summaries ----------------------------------------------------------------------------

def medians(runs):
    out = {}
    for k in ("wall", "process", "rss", "cpu", "written", "faults"):
        xs = [r[k] for r in runs if r.get(k) is not None]
        if xs:
            out[k] = statistics.median(xs)
    if runs and runs[0].get("split"):
        out["split"] = {k: statistics.median(r["split"][k] for r in runs) for k in runs[0]["split"]}
    return out


def targets(summary, decode_mb):
    """The performance issue's targets, as ratios from this run."""
    out = ["## Targets (ratios from this run)", "", "| size | target | measured | holds |", "|---|---|---|---|"]
    for size, m in summary.items():
        ak, dk = m.get("akili"), m.get("duckdb")
        if not ak or not dk:
            continue
        pipe = dk["wall"] / ak["wall"]
        tr = dk["wall"] / ak["split"]["transform"] if ak.get("split") else None
        out.append(f"| {size} | whole pipeline >= 2x faster than DuckDB | {pipe:.2f}x | {'yes' if pipe >= 2 else 'no'} |")
        if tr:
            out.append(f"| {size} | transform alone >= 3x faster than DuckDB | {tr:.2f}x | {'yes' if tr >= 3 else 'no'} |")
        out.append(f"| {size} | peak RSS <= DuckDB's | {ak['rss']:,.0f} / {dk['rss']:,.0f} MB = "
                   f"{ak['rss'] / dk['rss']:.2f} | {'yes' if ak['rss'] <= dk['rss'] else 'no'} |")
    if decode_mb:
        out.append(f"| - | JSON decode >= 1,000 MB/s per core | {decode_mb:,} MB/s | "
                   f"{'yes' if decode_mb >= 1000 else 'no'} |")
    return out + [""] if len(out) > 4 else []


def scaling(summary):
    """How akili's and DuckDB's time and memory grow with events and with keys."""
    out = []
    for base, big, what in (("1m", "5m", "5x the events, 4x the users"), ("1m", "1m-1mu", "the same events, 20x the users")):
        if base not in summary or big not in summary:
            continue
        if not out:
            out = ["## Scaling", "", "| from -> to | engine | time x | CPU x | peak RSS x | written x | page faults x |",
                   "|---|---|---|---|---|---|---|"]
        for e in ("akili", "duckdb"):
            a, b = summary[base].get(e), summary[big].get(e)
            if not a or not b:
                continue
            r = [f"{b[k] / a[k]:.2f}" if a.get(k) and b.get(k) else "-"
                 for k in ("wall", "cpu", "rss", "written", "faults")]
            out.append(f"| {base} -> {big} ({what}) | {e} | " + " | ".join(r) + " |")
        a, b = summary[base].get("akili"), summary[big].get("akili")
        if a and b and a.get("split") and b.get("split"):
            out.append("")
            out.append(f"akili's phases {base} -> {big}: " + ", ".join(
                f"{k} {a['split'][k]:.2f} -> {b['split'][k]:.2f} s ({b['split'][k] / a['split'][k]:.1f}x)"
                for k in a["split"] if a["split"][k] > 0) + ".")
            out.append("")
    return out


# ---- main -------------------------------------------------------------------------------

def same_rows(akili_file, duck_file):
    with open(akili_file, encoding="utf-8") as f:
        a = sorted(f.read().splitlines(), key=lambda s: s.encode())
    with open(duck_file, encoding="utf-8") as f:
        b = sorted(f.read().splitlines(), key=lambda s: s.encode())
    if a == b:
        return None
    sa, sb = set(a), set(b)
    return (f"{len(a)} rows from akili, {len(b)} from DuckDB; {len(sa - sb)} only in akili "
            f"(first: {sorted(sa - sb)[:1]}), {len(sb - sa)} only in DuckDB (first: {sorted(sb - sa)[:1]})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1m,5m")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--engines", default="akili,duckdb,sqlite,postgresql")
    ap.add_argument("--data", default=os.environ.get("AKILI_BENCH_DATA", "/tmp/akili-bench-data"))
    a = ap.parse_args()
    engines = [e for e in a.engines.split(",") if e]
    for e in engines:
        if e not in ENGINES:
            ap.error(f"unknown engine {e} (akili, duckdb, sqlite, postgresql)")
    if "postgresql" in engines and not pg_available():
        log("(PostgreSQL 15 or ../shared/bench not here: its figures are skipped)")
        engines.remove("postgresql")
    if "sqlite" in engines and not os.path.exists(os.path.join(SHARED, "sqlite_bench.py")):
        log("(../shared/bench/sqlite_bench.py not here: SQLite's figures are skipped)")
        engines.remove("sqlite")
    if "duckdb" in engines and subprocess.run([os.path.join(ROOT, "tests/oracle/setup.sh")],
                                              stdout=subprocess.DEVNULL).returncode != 0:
        log("(DuckDB not installed: its figures are skipped)")
        engines.remove("duckdb")
    subprocess.run(["make", "--no-print-directory", "-s", "-j2", "release"], cwd=ROOT, check=True)
    if "postgresql" in engines:
        subprocess.run(["bash", os.path.join(SHARED, "pg_cluster.sh"), "start"], check=True, stdout=subprocess.DEVNULL)
    report = [f"# akili against other engines ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, "
              f"{a.reps} runs each, alternating)", ""]
    failed = False
    summary, decode_mb = {}, None
    try:
        for size in a.sizes.split(","):
            d, now = ensure_data(a.data, size)
            n = SIZES[size][0]
            mb = os.path.getsize(os.path.join(d, "clickstream.ndjson")) / 1e6
            res = {e: [] for e in engines}
            vdir = tempfile.mkdtemp(prefix="akili-engines-verify-")
            for rep in range(a.reps):
                for e in engines:
                    vf = os.path.join(vdir, e + ".ndjson") if rep == 0 and e in ("akili", "duckdb") else None
                    r = ENGINES[e](d, now, vf)
                    res[e].append(r)
                    log(f"{size} run {rep + 1}: {e:<10} {r['wall']:7.2f} s, peak RSS {r['rss']:6.0f} MB, "
                        f"{r['rows']} rows")
            # correctness first
            if "akili" in engines and "duckdb" in engines:
                why = same_rows(os.path.join(vdir, "akili.ndjson"), os.path.join(vdir, "duckdb.ndjson"))
                if why:
                    failed = True
                    log(f"FAIL {size}: akili's published rows differ from DuckDB's: {why}")
                want = res["duckdb"][0]["rows"]
                for e in engines:
                    if any(r["rows"] != want for r in res[e]):
                        failed = True
                        log(f"FAIL {size}: {e} returned {[r['rows'] for r in res[e]]} rows, DuckDB {want}")
            shutil.rmtree(vdir, ignore_errors=True)
            base = statistics.median(r["wall"] for r in res["akili"]) if "akili" in engines else None
            table = [f"## {size}: {n:,} events, {SIZES[size][1]:,} users, {mb:,.0f} MB of NDJSON", "",
                     "| engine | median s | min-max s | events/s | MB/s | peak RSS MB | engine s / akili s |",
                     "|---|---|---|---|---|---|---|"]
            for e in engines:
                ws = [r["wall"] for r in res[e]]
                med = statistics.median(ws)
                ratio = f"{med / base:.2f}" if base else "-"
                table.append(f"| {e} | {med:.2f} | {min(ws):.2f}-{max(ws):.2f} | {n / med:,.0f} | {mb / med:,.0f} | "
                             f"{statistics.median(r['rss'] for r in res[e]):,.0f} | {ratio} |")
            if "akili" in engines and res["akili"][0]["split"]:
                keys = list(res["akili"][0]["split"])
                parts = ", ".join(f"{k} {statistics.median(r['split'][k] for r in res['akili']):.2f} s" for k in keys)
                table += ["", f"akili's run, median per phase: {parts}."]
                if "duckdb" in engines:
                    tr = statistics.median(r["split"]["transform"] for r in res["akili"])
                    dk = statistics.median(r["wall"] for r in res["duckdb"])
                    table.append(f"Transform alone (akili's operators over in-memory tables) {tr:.2f} s: DuckDB's whole "
                                 f"run / akili's transform = {dk / tr:.2f}; DuckDB / akili's full pipeline = "
                                 f"{dk / base:.2f}.")
            summary[size] = {e: medians(res[e]) for e in engines}
            for e in ("akili", "duckdb"):
                m = summary[size].get(e)
                if m and "cpu" in m:
                    wall = m.get("process", m["wall"])
                    table.append(f"{e} (whole process): CPU {m['cpu']:.2f} s = {m['cpu'] / wall:.2f} cores over "
                                 f"{wall:.2f} s, {m['written']:,.0f} MB written to disk, {m['faults']:,.0f} minor "
                                 f"page faults ({m['faults'] * 4096 / 1e6:,.0f} MB of pages zeroed at 4 KB).")
            if size == a.sizes.split(",")[0]:
                line, decode_mb = decode_rate(d)
                table += ["", f"Decoder alone (8 columns, one core): {line}"]
            log("")
            for t in table:
                log(t)
            log("")
            report += table + [""]
    finally:
        if "postgresql" in engines:
            subprocess.run(["bash", os.path.join(SHARED, "pg_cluster.sh"), "stop"], stdout=subprocess.DEVNULL)
    extra = targets(summary, decode_mb) + scaling(summary)
    for t in extra:
        log(t)
    report += extra
    os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "bench", "engines.md"), "w") as f:
        f.write("\n".join(report) + "\n")
    log("figures written to build/bench/engines.md")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
