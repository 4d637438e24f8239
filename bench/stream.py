#!/usr/bin/env python3
"""stream.py - the streaming benchmark: load, micro-batches, latency, state.

    python3 bench/stream.py [--events 5000000] [--users 200000] [--batches 20]
            [--batch 1000] [--trickle 30] [--rate 200] [--data DIR] [--keep]
            [--checkpoint-interval SECONDS]

1. Generates (once, cached under --data) --events events plus the tail the
   later phases append, with tests/data/gen.py (seed 42, no NULL users, so
   the seed's no_null_users gate passes; 2% of events arrive 1-180 s late,
   which is the micro-batches' lateness too).
2. Starts `akili run start user_sessions` (release build, continuous,
   default settings) on the first --events events and waits until the
   serving table reflects them all: the initial load.
3. Appends --batches micro-batches of --batch events, one at a time, each
   when the previous one is visible, and measures append -> visible in the
   serving store (the input positions recorded with the published table);
   akili's own per-batch breakdown comes from its log.
4. Recomputes everything: the same transform re-evaluated whole over all
   the events (AKILI_NO_INCREMENTAL=1, the batch engine over the same
   in-memory tables), and DuckDB over the same files when tests/oracle is
   set up.  Ratio = recompute / one micro-batch.
5. Trickles events at --rate per second for --trickle seconds (small appends
   every 10 ms) and measures every append's event -> visible latency while
   a reader polls the serving store: p50, p99, max.
6. Reports state: akili's operator state per session and per user, and the
   process's RSS.
7. Checkpoints: the first (whole) checkpoint after the load, then three
   restarts (`--once`) that each restore the newest checkpoint, read
   --batch new events and checkpoint what changed: restore time, bytes
   written per incremental checkpoint, state on disk.

The Freshness check is a warning here (the data is a fixed historical
timeline; AKILI_NOW is pinned after it); every other check is the seed's.
Figures go to stdout and to build/bench/stream.md.
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AKILI = os.environ.get("AKILI_RELEASE", os.path.join(ROOT, "build/release/akili"))
GEN = os.path.join(ROOT, "tests/data/gen.py")
EXAMPLE = os.path.join(ROOT, "examples/user_sessions")
DUCK = os.path.join(ROOT, "tests/oracle/duck.mjs")
CLICK, PROF = "clickstream.ndjson", "user_profiles.ndjson"


CKPT = re.compile(r"checkpoint \d+: (?P<kind>whole|incremental), (?P<records>\d+) records, (?P<kb>[\d.]+) KB written "
                  r"in (?P<ms>[\d.]+) ms \(state on disk (?P<disk>[\d.]+) MB")
RESTORED = re.compile(r"state restored from checkpoint \d+ \((?P<mb>[\d.]+) MB in (?P<ms>[\d.]+) ms\)")


def log(msg):
    print(msg, flush=True)


def rss(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS", "VmHWM")):
                    out[line.split(":")[0]] = int(line.split()[1]) // 1024
    except OSError:
        pass
    return out


class Store:
    def __init__(self, path):
        self.path = path
        self.c = None

    def offsets(self):
        if self.c is None:
            if not os.path.exists(self.path):
                return None
            self.c = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
        try:
            m = self.c.execute("SELECT inputs FROM _akili_tables WHERE name = 'user_sessions'").fetchone()
        except sqlite3.OperationalError:
            return None
        if not m or not m[0]:
            return None
        inp = json.loads(m[0])
        return tuple((inp.get(k) or {}).get("offset", 0) for k in ("clickstream", "user_profiles"))

    def query(self, sql):
        return self.c.execute(sql).fetchall()


def wait_visible(store, want, proc, timeout=3600):
    t_end = time.time() + timeout
    while True:
        o = store.offsets()
        if o and o[0] >= want[0] and o[1] >= want[1]:
            return time.time()
        if proc.poll() is not None:
            sys.exit(f"akili exited with {proc.returncode}")
        if time.time() > t_end:
            sys.exit(f"not visible after {timeout} s: {o} < {want}")
        time.sleep(0.0005)


BATCH_RE = re.compile(r"batch (\d+): (\d+) records, (\d+) changes, (\d+) rows; ([\d.]+) ms: read ([\d.]+), commit "
                      r"([\d.]+), step ([\d.]+), checks ([\d.]+), (publish|held) ([\d.]+).*state ([\d.]+) MB")


def batch_lines(path):
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = BATCH_RE.search(line)
            if m:
                g = m.groups()
                out.append({"batch": int(g[0]), "records": int(g[1]), "changes": int(g[2]), "rows": int(g[3]),
                            "total": float(g[4]), "read": float(g[5]), "commit": float(g[6]), "step": float(g[7]),
                            "checks": float(g[8]), "what": g[9], "publish": float(g[10]), "state_mb": float(g[11])})
    return out


def warn_freshness(man):
    """The seed's freshness check as a warning: a historical timeline with
    AKILI_NOW pinned after it would hold every publish."""
    q = os.path.join(man, "quality.yaml")
    with open(q) as f:
        text = re.sub(r"(- name: freshness\n(?:.*\n)*?\s+severity: )critical", r"\1warning", f.read())
    with open(q, "w") as f:
        f.write(text)


def setup(home, data, now, man=None):
    """Connections over `data` and the product deployed from `man` (default:
    a copy of the example beside home, freshness a warning); returns the
    environment akili runs in."""
    env = dict(os.environ, AKILI_HOME=home, AKILI_NOW=now)
    env.pop("AKILI_NO_INCREMENTAL", None)
    if man is None:
        man = os.path.join(os.path.dirname(home), "manifests")
        if not os.path.exists(man):
            shutil.copytree(EXAMPLE, man)
            warn_freshness(man)
    cfg = json.dumps({"path": data, "files": {"clickstream.page-views": CLICK, "public.users": PROF}})
    for name in ("production-events", "production-db"):
        subprocess.run([AKILI, "connection", "create", "--name", name, "--connector-type", "file", "--config", cfg],
                       env=env, check=True, capture_output=True)
    subprocess.run([AKILI, "product", "create", "--name", "user_sessions", "--namespace", "analytics", "--archetype",
                    "source"], env=env, check=True, capture_output=True)
    subprocess.run([AKILI, "product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", man], env=env,
                   check=True, capture_output=True)
    return env


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100 * (len(xs) - 1)))))
    return xs[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=5000000)
    ap.add_argument("--users", type=int, default=200000)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--trickle", type=float, default=30.0)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--data", default=os.environ.get("AKILI_BENCH_DATA", "/tmp/akili-bench-data"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--checkpoint-interval", help="passed to the continuous run (seconds; default the product's 10)")
    a = ap.parse_args()
    extra = a.batches * a.batch + int(a.trickle * a.rate) + 1000 + 3 * a.batch
    total = a.events + extra
    gdir = os.path.join(a.data, f"stream-{total}-{a.users}")
    if not os.path.exists(os.path.join(gdir, "manifest.json")):
        log(f"generating {total:,} events for {a.users:,} users into {gdir} (once) ...")
        subprocess.run([sys.executable, GEN, "--events", str(total), "--users", str(a.users), "--seed", "42",
                        "--null-user-fraction", "0", "--out", gdir], check=True)
    work = tempfile.mkdtemp(prefix="akili-bench-")
    data = os.path.join(work, "data")
    os.makedirs(data)
    home = os.path.join(work, "home")
    report = []
    try:
        # the first --events lines are the history; the rest is appended later
        tail = []
        with open(os.path.join(gdir, CLICK), "rb") as src, open(os.path.join(data, CLICK), "wb") as dst:
            for i, line in enumerate(src):
                if i < a.events:
                    dst.write(line)
                else:
                    tail.append(line)
        shutil.copy(os.path.join(gdir, PROF), os.path.join(data, PROF))
        last = json.loads(tail[-1])["event_time"]
        env = setup(home, data, last)
        store = Store(os.path.join(home, "serving", "analytics.db"))
        errf = open(os.path.join(work, "akili.stderr"), "w")
        t0 = time.time()
        extra = ["--checkpoint-interval", a.checkpoint_interval] if a.checkpoint_interval else []
        proc = subprocess.Popen([AKILI, "run", "start", "user_sessions", *extra], env=env, stdout=subprocess.DEVNULL,
                                stderr=errf)
        csize = os.path.getsize(os.path.join(data, CLICK))
        psize = os.path.getsize(os.path.join(data, PROF))
        peak_load = 0
        while True:
            o = store.offsets()
            peak_load = max(peak_load, rss(proc.pid).get("VmHWM", 0))
            if o and o[0] >= csize and o[1] >= psize:
                break
            if proc.poll() is not None:
                sys.exit(f"akili exited with {proc.returncode}; see {work}/akili.stderr")
            time.sleep(0.05)
        load_s = time.time() - t0
        mem = rss(proc.pid)
        sessions = store.query("SELECT COUNT(*) FROM user_sessions")[0][0]
        log(f"initial load: {a.events:,} events in {load_s:.1f} s ({a.events / load_s:,.0f} events/s), "
            f"{sessions:,} sessions published, RSS {mem.get('VmRSS')} MB (peak {mem.get('VmHWM')} MB)")
        report.append(("initial load", f"{a.events:,} events in {load_s:.1f} s ({a.events / load_s:,.0f} events/s); "
                                        f"peak RSS {mem.get('VmHWM')} MB"))
        # the first checkpoint (whole) comes within the checkpoint interval
        deadline = time.time() + 60
        ck = None
        while time.time() < deadline and not ck:
            with open(os.path.join(work, "akili.stderr"), errors="replace") as f:
                ck = CKPT.search(f.read())
            time.sleep(0.2)
        if ck:
            log(f"first checkpoint ({ck['kind']}): {int(ck['records']):,} records, {float(ck['kb']) / 1024:.1f} MB "
                f"in {float(ck['ms']) / 1000:.2f} s")
            report.append(("whole checkpoint after the load", f"{float(ck['kb']) / 1024:.1f} MB, "
                                                              f"{int(ck['records']):,} records, "
                                                              f"{float(ck['ms']) / 1000:.2f} s"))
        time.sleep(1.0)
        nlog = len(batch_lines(os.path.join(work, "akili.stderr")))
        # micro-batches
        pos = 0
        vis = []
        fclick = open(os.path.join(data, CLICK), "ab")
        for b in range(a.batches):
            chunk = b"".join(tail[pos:pos + a.batch])
            pos += a.batch
            ta = time.time()
            fclick.write(chunk)
            fclick.flush()
            csize += len(chunk)
            tv = wait_visible(store, (csize, psize), proc)
            vis.append((tv - ta) * 1000)
            time.sleep(0.1)
        time.sleep(0.5)
        bl = [x for x in batch_lines(os.path.join(work, "akili.stderr"))[nlog:] if x["records"] >= a.batch // 2]
        late = sum(1 for i in range(0, a.batches * a.batch) if i and json.loads(tail[i])["event_time"] <
                   json.loads(tail[i - 1])["event_time"])
        inc_ms = statistics.median(x["total"] for x in bl) if bl else float("nan")
        log(f"micro-batches: {len(vis)} x {a.batch} events ({late / (a.batches * a.batch) * 100:.1f}% arrive after a "
            f"later event); append -> visible median {statistics.median(vis):.1f} ms, max {max(vis):.1f} ms")
        if bl:
            med = lambda k: statistics.median(x[k] for x in bl)
            log(f"  akili per micro-batch (median of {len(bl)}): {inc_ms:.1f} ms = read {med('read'):.1f} + commit "
                f"{med('commit'):.1f} + step {med('step'):.1f} + checks {med('checks'):.1f} + publish "
                f"{med('publish'):.1f}; {med('changes'):.0f} row changes")
            report.append(("1,000-event micro-batch", f"{inc_ms:.1f} ms in akili (read {med('read'):.1f}, commit "
                                                      f"{med('commit'):.1f}, step {med('step'):.1f}, checks "
                                                      f"{med('checks'):.1f}, publish {med('publish'):.1f}); append "
                                                      f"-> visible median {statistics.median(vis):.1f} ms"))
        # trickle: latency per append
        polls = []
        stop = threading.Event()
        pstore = Store(store.path)

        def poller():
            while not stop.is_set():
                o = pstore.offsets()
                if o:
                    polls.append((time.time(), o[0]))
                time.sleep(0.0005)
        th = threading.Thread(target=poller)
        th.start()
        appends = []
        per = max(1, a.rate // 100)
        t_next = time.time()
        t_stop = time.time() + a.trickle
        while time.time() < t_stop and pos + per <= len(tail):
            chunk = b"".join(tail[pos:pos + per])
            pos += per
            fclick.write(chunk)
            fclick.flush()
            csize += len(chunk)
            appends.append((time.time(), csize))
            t_next += 0.01
            d = t_next - time.time()
            if d > 0:
                time.sleep(d)
        wait_visible(store, (csize, psize), proc)
        time.sleep(0.05)
        stop.set()
        th.join()
        lat = []
        k = 0
        for ta, off in appends:
            while k < len(polls) and polls[k][1] < off:
                k += 1
            if k < len(polls):
                lat.append(max(0.0, polls[k][0] - ta) * 1000)
        log(f"event -> visible, {a.rate} events/s for {a.trickle:.0f} s ({len(lat)} appends): p50 "
            f"{pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, max {max(lat):.1f} ms")
        report.append(("event -> visible", f"p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, max "
                                           f"{max(lat):.1f} ms ({a.rate} events/s, {len(lat)} appends)"))
        # state: akili's own account when it stops
        mem = rss(proc.pid)
        sessions, users = store.query("SELECT COUNT(*), COUNT(DISTINCT user_id) FROM user_sessions")[0]
        fclick.close()
        proc.send_signal(2)
        proc.wait(timeout=300)
        errf.close()
        with open(os.path.join(work, "akili.stderr"), errors="replace") as f:
            text = f.read()
        m = re.search(r"state total ([\d.]+) MB", text)
        state_mb = float(m.group(1)) if m else float("nan")
        ops = re.findall(r"(#\d+ \w+): .*?state ([\d.]+) MB", text[text.rfind("operators:"):])
        sb = state_mb * 1048576 / sessions
        ub = state_mb * 1048576 / users
        log(f"state: {state_mb:.0f} MB for {sessions:,} sessions of {users:,} users: {sb:.0f} bytes per session, "
            f"{ub:.0f} bytes per user (operators, checks and sink; input tables and logs not counted); "
            f"RSS {mem.get('VmRSS')} MB")
        log("  by operator: " + ", ".join(f"{k} {v} MB" for k, v in ops))
        report.append(("state", f"{sb:.0f} bytes per session, {ub:.0f} bytes per user ({state_mb:.0f} MB for "
                                f"{sessions:,} sessions, {users:,} users); RSS {mem.get('VmRSS')} MB"))
        # recompute everything with the batch engine, over the same data
        home2 = os.path.join(work, "home-batch")
        env2 = setup(home2, data, last) | {"AKILI_NO_INCREMENTAL": "1"}
        p = subprocess.run([AKILI, "run", "start", "user_sessions", "--once"], env=env2, capture_output=True,
                           text=True)
        bb = batch_lines_text(p.stderr)
        full_ms = bb[-1]["step"] if bb else float("nan")
        log(f"recompute everything: the transform over all {a.events + pos:,} events with the batch engine: "
            f"{full_ms / 1000:.2f} s (whole run {bb[-1]['total'] / 1000 if bb else float('nan'):.1f} s)")
        report.append(("recompute everything (akili batch engine)", f"{full_ms / 1000:.2f} s"))
        ratio = full_ms / inc_ms if inc_ms else float("nan")
        log(f"ratio: recompute / micro-batch = {ratio:,.0f}x (micro-batch step alone: "
            f"{full_ms / statistics.median(x['step'] for x in bl):,.0f}x)")
        report.append(("ratio recompute / micro-batch", f"{ratio:,.0f}x"))
        if os.path.exists(os.path.join(ROOT, "tests/oracle/node_modules")):
            duck = duck_time(work, data)
            if duck:
                log(f"DuckDB, the same SQL over the same files (views, 2 threads): {duck:.2f} s; ratio to the "
                    f"micro-batch {duck * 1000 / inc_ms:,.0f}x")
                report.append(("DuckDB recompute", f"{duck:.2f} s; ratio to the micro-batch {duck * 1000 / inc_ms:,.0f}x"))
        # restarts: restore, read one batch, checkpoint what changed
        fclick = open(os.path.join(data, CLICK), "ab")
        for k in range(3):
            chunk = b"".join(tail[pos:pos + a.batch])
            pos += a.batch
            fclick.write(chunk)
            fclick.flush()
            p = subprocess.run([AKILI, "run", "start", "user_sessions", "--once"], env=env, capture_output=True,
                               text=True)
            rs = RESTORED.search(p.stderr)
            cks = list(CKPT.finditer(p.stderr))
            if not rs or not cks:
                log(f"restart {k + 1}: no restore or checkpoint line (exit {p.returncode})")
                continue
            c = cks[-1]
            log(f"restart {k + 1}: restored {float(rs['mb']):.1f} MB in {float(rs['ms']) / 1000:.2f} s; after "
                f"{a.batch} events, checkpoint {c['kind']}: {int(c['records']):,} records, {float(c['kb']):.1f} KB "
                f"in {float(c['ms']):.1f} ms (state on disk {c['disk']} MB)")
            if k == 2:
                report.append(("restart", f"restore {float(rs['mb']):.1f} MB of checkpoint in "
                                          f"{float(rs['ms']) / 1000:.2f} s"))
                report.append((f"checkpoint after a {a.batch:,}-event batch", f"{c['kind']}: {float(c['kb']):.1f} KB "
                                                                              f"({int(c['records']):,} records) in "
                                                                              f"{float(c['ms']):.1f} ms"))
        fclick.close()
        os.makedirs(os.path.join(ROOT, "build/bench"), exist_ok=True)
        with open(os.path.join(ROOT, "build/bench/stream.md"), "w") as f:
            f.write("| measure | figure |\n|---|---|\n")
            for k, v in report:
                f.write(f"| {k} | {v} |\n")
        log("figures written to build/bench/stream.md")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")


def batch_lines_text(text):
    path = tempfile.mktemp()
    with open(path, "w") as f:
        f.write(text)
    try:
        return batch_lines(path)
    finally:
        os.unlink(path)


def duck_time(work, data):
    """DuckDB's time for the seed's SQL over the same NDJSON (views: read while querying)."""
    ev = ("event_id:VARCHAR,user_id:VARCHAR,page_url:VARCHAR,referrer_url:VARCHAR,user_agent:VARCHAR,"
          "ip_address:VARCHAR,event_time:TIMESTAMP,session_id:VARCHAR")
    up = ("user_id:VARCHAR,username:VARCHAR,account_type:VARCHAR,signup_date:DATE,country:VARCHAR,"
          "updated_at:TIMESTAMP")
    t0 = time.time()
    p = subprocess.run(["node", DUCK, "--table", f"clickstream={data}/{CLICK}:{ev}", "--table",
                        f"user_profiles={data}/{PROF}:{up}", "--sql", os.path.join(ROOT, "tests/data/sql/user_sessions.sql"),
                        "--out", os.path.join(work, "duck.ndjson")], capture_output=True, text=True)
    if p.returncode != 0:
        log(f"(DuckDB run failed: {p.stderr[-300:]})")
        return None
    return time.time() - t0


if __name__ == "__main__":
    main()
