#!/usr/bin/env python3
"""harness.py - akili's streaming contract, checked after every micro-batch.

For each seed: generate a clickstream and profiles (tests/data/gen.py) plus
hand-made adversarial timelines, turn them into change logs (events in
random arrival order, as plain rows or Debezium `c` envelopes, with random
`u` updates that move events across session boundaries, `d` deletes with
tombstones, duplicate events, NULL times; profile updates, stale updates,
deletes and primary-key changes), cut the logs into random micro-batches,
and feed them to one continuous `akili run start user_sessions`.  After
every micro-batch the harness waits until the serving table reflects it
(the input positions recorded with the table equal the files' sizes) and
compares the table with an independent oracle: tests/oracle/materialize.py
(the change logs -> the current input tables) and tests/oracle/sessions_ref.py
(the seed's SQL evaluated in plain Python).

    python3 tests/stream/harness.py [--seeds N] [--first S] [--events N]
            [--users N] [--batch-max N] [--held] [--keep] [--akili PATH]
            [--lake-every N]

After the last micro-batch of each seed (and every N with --lake-every),
once the lake table has the serving table's commit number, its rows as two
independent readers see them must be the oracle's too: icebird
(tests/lake/ice_rows.mjs) and ice_ref (tests/lake/ice_ref.py: python3-avro
for the manifests, DuckDB for the Parquet files, the equality deletes
applied by the spec's rules).

--held also runs the quality-gate scenario: a NULL user blocks publishing
(`no_null_users` critical); the published table must stay as it was while
blocked and catch up exactly when the blocking event is deleted.

Prints one line per seed and ends with "stream: N passed, M failed".
"""
import argparse
import importlib.util
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEN = os.path.join(ROOT, "tests/data/gen.py")
EXAMPLE = os.path.join(ROOT, "examples/user_sessions")
EV = ("event_id:VARCHAR,user_id:VARCHAR,page_url:VARCHAR,referrer_url:VARCHAR,user_agent:VARCHAR,"
      "ip_address:VARCHAR,event_time:TIMESTAMP,session_id:VARCHAR")
UP = "user_id:VARCHAR,username:VARCHAR,account_type:VARCHAR,signup_date:DATE,country:VARCHAR,updated_at:TIMESTAMP"
CLICK, PROF = "clickstream.ndjson", "user_profiles.ndjson"
MIN_MS = 60 * 1000
RUN_ARGS = []  # more `run start` options (--checkpoint-interval)


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MAT = load("materialize", os.path.join(ROOT, "tests/oracle/materialize.py"))
REF = load("sessions_ref", os.path.join(ROOT, "tests/oracle/sessions_ref.py"))


class Failure(Exception):
    pass


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def parse_ms(s):
    return None if s is None else MAT.parse_ts(s) // 1000


# ---- the change logs ---------------------------------------------------------

class Logs:
    """Lines for each file in arrival order, tagged with their batch later."""

    def __init__(self, rng):
        self.rng = rng
        self.click = []   # (line, kind)
        self.prof = []

    def event(self, row, env=None):
        env = self.rng.random() < 0.5 if env is None else env
        if env:
            o = {"op": "c", "before": None, "after": row, "ts_ms": 1}
            if self.rng.random() < 0.2:
                o = {"schema": {}, "payload": o}
            self.click.append((json.dumps(o), "c"))
        else:
            self.click.append((json.dumps(row), "c"))

    def update(self, before, after):
        self.click.append((json.dumps({"op": "u", "before": before, "after": after, "ts_ms": 2}), "u"))

    def delete(self, before):
        self.click.append((json.dumps({"op": "d", "before": before, "after": None, "ts_ms": 3}), "d"))
        if self.rng.random() < 0.5:
            self.click.append(("null", "tombstone"))

    def profile(self, row):
        self.prof.append((json.dumps(row), "p"))

    def profile_delete(self, uid):
        self.prof.append((json.dumps({"op": "d", "before": {"user_id": uid}, "after": None}), "pd"))

    def profile_rekey(self, before, after):
        self.prof.append((json.dumps({"op": "u", "before": before, "after": after}), "pk"))


def adversarial(base_ms, n):
    """Hand-made timelines (user, [minutes offsets]) and the late events that
    merge, split or open sessions between others."""
    s = lambda m: base_ms + int(m * MIN_MS)
    cases = []
    # merge across batches: two sessions 40 min apart, a late event in between
    cases.append(("adv-merge-%d" % n, [0, 5, 45, 50], [25]))
    # exactly on the boundary: DATEDIFF counts minute boundaries
    cases.append(("adv-edge-%d" % n, [0.99, 31.99, 62.0, 92.999, 123.0], [153.0]))
    # a late event before everything: every session number shifts
    cases.append(("adv-first-%d" % n, [100, 200, 300, 400], [10]))
    # a late event opening a session between two others
    cases.append(("adv-between-%d" % n, [0, 1, 200, 201, 400], [100]))
    # ties on event_time
    cases.append(("adv-ties-%d" % n, [0, 0, 0, 35, 35], [35]))
    return [(uid, [s(m) for m in times], [s(m) for m in late]) for uid, times, late in cases]


def build(seed, events, users, work, null_users=True):
    rng = random.Random(seed)
    gen_dir = os.path.join(work, "gen")
    subprocess.run([sys.executable, GEN, "--events", str(events), "--users", str(users), "--seed", str(seed),
                    "--out", gen_dir] + ([] if null_users else ["--null-user-fraction", "0"]),
                   check=True, capture_output=True)
    with open(os.path.join(gen_dir, CLICK)) as f:
        evs = [json.loads(l) for l in f if l.strip()]
    with open(os.path.join(gen_dir, PROF)) as f:
        profs = [json.loads(l) for l in f if l.strip()]
    base = min(parse_ms(e["event_time"]) for e in evs if e.get("event_time")) // MIN_MS * MIN_MS
    late = []
    for k, (uid, times, lates) in enumerate(adversarial(base + 7 * 60 * MIN_MS, seed)):
        for i, t in enumerate(times):
            evs.append({"event_id": "%s-%d" % (uid, i), "user_id": uid, "page_url": "/p/%d" % (i % 3),
                        "referrer_url": None if i % 2 else "https://r.example/%d" % i, "user_agent": "ua",
                        "ip_address": "10.0.0.%d" % k, "event_time": iso(t), "session_id": None})
        for i, t in enumerate(lates):
            late.append({"event_id": "%s-late%d" % (uid, i), "user_id": uid, "page_url": "/late",
                         "referrer_url": "https://late.example", "user_agent": "ua", "ip_address": "10.9.9.9",
                         "event_time": iso(t), "session_id": None})
        if k % 2 == 0:
            profs.append({"user_id": uid, "username": "adv%d" % k, "account_type": "pro", "signup_date": "2026-01-01",
                          "country": "KE", "updated_at": "2026-10-01T00:00:00Z"})
    # NULL event times (several per user: they are peers, each after the first
    # opening a session) and exact duplicates; these are the rows deletes and
    # updates pick on purpose
    special = []
    for k in range(8):
        e = dict(rng.choice(evs))
        e["event_time"] = None
        e["event_id"] = "nulltime-%d" % (k // 2)  # pairs of identical rows too
        evs.append(e)
        special.append(e)
    for k in range(6):
        e = dict(rng.choice(evs))
        evs.append(e)
        special.append(e)
    special += [e for e in evs if str(e.get("user_id", "")).startswith("adv-ties")]
    # arrival order: by event time, each event late by up to 3 h with some
    # probability, a few arriving at random
    def arrival(e):
        t = parse_ms(e.get("event_time")) or base
        r = rng.random()
        if r < 0.08:
            return rng.uniform(base, base + 3 * 24 * 60 * MIN_MS)
        if r < 0.3:
            return t + rng.uniform(0, 180 * MIN_MS)
        return t
    evs.sort(key=arrival)
    logs = Logs(rng)
    live = []
    profile_at = {p["user_id"]: p for p in profs}
    pending_profiles = list(profs)
    rng.shuffle(pending_profiles)
    n_late = len(late)
    for i, e in enumerate(evs):
        # profiles trickle in between events
        while pending_profiles and rng.random() < len(profs) / max(1, len(evs)):
            logs.profile(pending_profiles.pop())
        logs.event(e)
        live.append(e)
        if late and rng.random() < 2.0 * n_late / len(evs):
            x = late.pop()
            logs.event(x)
            live.append(x)
        r = rng.random()
        def pick_live():
            # a third of the time one of the special rows, if it is still there
            if rng.random() < 0.35:
                cands = [k for k, x in enumerate(live) if any(x is y for y in special)]
                if cands:
                    return rng.choice(cands)
            return rng.randrange(len(live))
        if r < 0.04 and live:
            # move an event in time (across a session boundary, often)
            j = pick_live()
            old = live[j]
            new = dict(old)
            if old.get("event_time"):
                new["event_time"] = iso(parse_ms(old["event_time"]) + rng.randint(-90, 90) * MIN_MS)
            new["page_url"] = rng.choice(["/moved", "/A", "/z", None])
            logs.update(old, new)
            live[j] = new
            if any(old is y for y in special):
                special.append(new)
        elif r < 0.07 and live:
            j = pick_live()
            logs.delete(live.pop(j))
        elif r < 0.08 and profile_at:
            uid = rng.choice(sorted(profile_at))
            p = dict(profile_at[uid])
            kind = rng.random()
            if kind < 0.5:      # newer: replaces
                p["username"] = "u-%d" % rng.randrange(1000)
                p["country"] = rng.choice(["KE", "TZ", "UG", None])
                p["updated_at"] = iso(parse_ms(p["updated_at"]) + rng.randint(1, 10 ** 7))
                logs.profile(p)
                profile_at[uid] = p
            elif kind < 0.65:   # older: ignored
                p["username"] = "stale"
                p["updated_at"] = iso(parse_ms(p["updated_at"]) - rng.randint(1, 10 ** 7))
                logs.profile(p)
            elif kind < 0.85:   # deleted
                logs.profile_delete(uid)
                del profile_at[uid]
            else:               # the key changes: a delete plus an insert
                q = dict(p)
                q["user_id"] = "%s-renamed" % uid if not uid.endswith("-renamed") else uid[:-8]
                logs.profile_rekey(p, q)
                del profile_at[uid]
                profile_at[q["user_id"]] = q
    for x in late:
        logs.event(x)
    for p in pending_profiles:
        logs.profile(p)
    if rng.random() < 0.5:
        logs.click.append(("{not json", "bad"))
    return logs


def batches(logs, rng, batch_max):
    """Interleaves the two logs into micro-batches: lists of (file, line)."""
    out = []
    ci = pi = 0
    nc, npf = len(logs.click), len(logs.prof)
    while ci < nc or pi < npf:
        size = rng.randint(1, batch_max) if rng.random() < 0.9 else rng.randint(batch_max, 4 * batch_max)
        b = []
        for _ in range(size):
            if ci < nc and (pi >= npf or rng.random() < nc / (nc + npf)):
                b.append((CLICK, logs.click[ci][0]))
                ci += 1
            elif pi < npf:
                b.append((PROF, logs.prof[pi][0]))
                pi += 1
        out.append(b)
    return out


# ---- the oracle ---------------------------------------------------------------

class Oracle:
    def __init__(self, work):
        self.work = work
        a = argparse.Namespace(key=None, cursor=None, columns=EV)
        self.click = MAT.Table(a)
        a = argparse.Namespace(key="user_id", cursor="updated_at", columns=UP)
        self.prof = MAT.Table(a)

    def apply(self, fname, line):
        try:
            MAT.apply_line(self.click if fname == CLICK else self.prof, line)
        except MAT.Bad:
            pass  # akili sends it to the dead letters

    def rows(self):
        cp = os.path.join(self.work, "oracle-c.ndjson")
        pp = os.path.join(self.work, "oracle-p.ndjson")
        for path, t in ((cp, self.click), (pp, self.prof)):
            with open(path, "w") as f:
                for r in t.result():
                    f.write(json.dumps(r) + "\n")
        return sorted(REF.sessions([cp], [pp]), key=repr)


# ---- akili ----------------------------------------------------------------------

QUALITY = """quality:
  checks:
    - name: no_null_users
      sql: "SELECT COUNT(*) FROM {{ this }} WHERE user_id IS NULL"
      severity: SEVERITY
      threshold: 0
    - name: positive_duration
      sql: "SELECT COUNT(*) FROM {{ this }} WHERE session_duration_seconds < 0"
      severity: warning
      threshold: 0
    - name: freshness
      sql: "SELECT DATEDIFF('minute', MAX(session_end), CURRENT_TIMESTAMP()) FROM {{ this }}"
      severity: warning
      threshold: 15
    - name: session_count_anomaly
      sql: >
        SELECT CASE WHEN COUNT(*) < 100 AND EXTRACT(HOUR FROM CURRENT_TIMESTAMP()) BETWEEN 8 AND 22
        THEN 1 ELSE 0 END FROM {{ this }} WHERE session_start >= CURRENT_DATE()
      severity: warning
      threshold: 0
"""


class Akili:
    def __init__(self, binary, work, held, retention_days=None):
        self.bin = binary
        self.work = work
        self.home = os.path.join(work, "home")
        self.data = os.path.join(work, "data")
        os.makedirs(self.data)
        for f in (CLICK, PROF):
            open(os.path.join(self.data, f), "w").close()
        self.env = dict(os.environ, AKILI_HOME=self.home, AKILI_NOW="2026-12-01T00:00:00Z")
        self.env.pop("AKILI_NO_INCREMENTAL", None)
        man = os.path.join(work, "manifests")
        shutil.copytree(EXAMPLE, man)
        # the seed's checks; nothing blocks except, in the held scenario, NULL users
        with open(os.path.join(man, "quality.yaml"), "w") as f:
            f.write(QUALITY.replace("SEVERITY", "critical" if held else "warning"))
        if retention_days is not None:
            with open(os.path.join(man, "output.yaml")) as f:
                out = f.read()
            with open(os.path.join(man, "output.yaml"), "w") as f:
                f.write(out.replace("days: 90", "days: %d" % retention_days))
        cfg = json.dumps({"path": self.data, "files": {"clickstream.page-views": CLICK, "public.users": PROF}})
        for name in ("production-events", "production-db"):
            self.ak("connection", "create", "--name", name, "--connector-type", "file", "--config", cfg)
        self.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics", "--archetype", "source")
        self.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", man)
        self.db = os.path.join(self.home, "serving", "analytics.db")
        self.lake = os.path.join(self.home, "lake", "analytics", "user_sessions")
        self.commit_seq, self.cols = None, None
        self.catalog = os.path.join(self.home, "catalog.db")
        open(os.path.join(work, "akili.stderr"), "w").close()
        self.start()

    def start(self):
        self.err = open(os.path.join(self.work, "akili.stderr"), "a")
        self.proc = subprocess.Popen([self.bin, "run", "start", "user_sessions", "--interval", "0.002", *RUN_ARGS],
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=self.err)

    def ak(self, *args):
        p = subprocess.run([self.bin, *args], env=self.env, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise Failure(f"akili {' '.join(args)}: {p.stdout}{p.stderr}")
        return p

    def alive(self):
        if self.proc.poll() is not None:
            self.err.flush()
            with open(os.path.join(self.work, "akili.stderr")) as f:
                tail = f.read()[-3000:]
            raise Failure(f"akili exited with {self.proc.returncode}:\n{tail}")

    def published(self):
        """(inputs positions, rows) of the serving table, read in one snapshot."""
        if not os.path.exists(self.db):
            return None, None
        try:
            c = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
            try:
                c.execute("BEGIN")
                m = c.execute("SELECT inputs, commit_seq FROM _akili_tables WHERE name = 'user_sessions'").fetchone()
                if not m or not m[0]:
                    return None, None
                rows = c.execute("SELECT * FROM user_sessions").fetchall()
                self.commit_seq = m[1]
                if not self.cols:
                    self.cols = [d[0] for d in c.execute("SELECT * FROM user_sessions LIMIT 0").description]
                c.execute("COMMIT")
            finally:
                c.close()
        except sqlite3.OperationalError:
            return None, None
        return json.loads(m[0]), rows

    def committed(self):
        """The input offsets committed in the catalog."""
        try:
            c = sqlite3.connect(f"file:{self.catalog}?mode=ro", uri=True, timeout=5)
            try:
                rows = c.execute("SELECT input, position FROM positions WHERE product = 'user_sessions'").fetchall()
            finally:
                c.close()
        except sqlite3.OperationalError:
            return {}
        return {k: json.loads(v)["offset"] for k, v in rows if v}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("akili did not stop within 60 s of SIGTERM")
        self.err.close()
        with open(os.path.join(self.work, "akili.stderr")) as f:
            text = f.read()
        if "ERROR: AddressSanitizer" in text or "runtime error:" in text:
            raise Failure("sanitizer report:\n" + text[-3000:])
        if self.proc.returncode != 0:
            raise Failure(f"akili stopped with exit code {self.proc.returncode}:\n{text[-2000:]}")


def offset_of(inputs, name):
    p = (inputs or {}).get(name)
    return p.get("offset", 0) if isinstance(p, dict) else 0


def normalise(rows):
    out = []
    for r in rows:
        r = list(r)
        for i in (5, 6):  # session_start, session_end: microseconds in the store
            if r[i] is not None:
                r[i] = REF.fmt_ts(r[i])
        out.append(tuple(r))
    return sorted(out, key=repr)


def diff(got, want):
    g, w = set(got), set(want)
    lines = [f"  {len(got)} rows published, {len(want)} expected"]
    for r in sorted(w - g, key=repr)[:6]:
        lines.append(f"  missing   {r}")
    for r in sorted(g - w, key=repr)[:6]:
        lines.append(f"  unexpected {r}")
    return "\n".join(lines)


# ---- the lake table, read by independent readers ---------------------------

LAKE_EVERY = [0]  # --lake-every: batches between lake checks (0: after the last only; -1: never)
ICE_ROWS = os.path.join(ROOT, "tests/lake/ice_rows.mjs")
ICE_REF = os.path.join(ROOT, "tests/lake/ice_ref.py")


def lake_commit(table):
    """The serving commit number the lake table's current snapshot carries."""
    try:
        with open(os.path.join(table, "metadata", "version-hint.text")) as f:
            v = f.read().strip()
        with open(os.path.join(table, "metadata", f"v{v}.metadata.json")) as f:
            md = json.load(f)
    except (OSError, ValueError):
        return None
    cur = [s for s in md.get("snapshots", []) if s["snapshot-id"] == md.get("current-snapshot-id")]
    return int(cur[0]["summary"].get("akili.commit-seq", 0)) if cur else None


def lake_rows(cmd, cols, what):
    """Rows a reader prints (JSON lines) as the harness's tuples."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode:
        raise Failure(f"{what} could not read the lake table: {p.stderr[-2000:]}")
    out = []
    for line in p.stdout.splitlines():
        r = json.loads(line)
        t = []
        for i, c in enumerate(cols):
            v = r.get(c)
            if i in (5, 6) and v is not None:
                v = REF.fmt_ts(MAT.parse_ts(v))
            t.append(v)
        out.append(tuple(t))
    return sorted(out, key=repr)


def run_seed(args, seed, held):
    work = tempfile.mkdtemp(prefix=f"akili-stream-{seed}-")
    rng = random.Random(seed * 7919 + 1)
    ak = None
    stats = {"batches": 0, "lines": 0, "held": 0, "lake": 0, "moves": 0, "deleted": 0}
    try:
        logs = build(seed, args.events, args.users, work, null_users=not held)
        if held:
            # a NULL user blocks publishing until the event is deleted again
            at = len(logs.click) // 3
            bad = {"event_id": "blocker", "user_id": None, "page_url": "/x", "referrer_url": None,
                   "user_agent": "ua", "ip_address": "1", "event_time": "2026-11-02T00:00:00Z", "session_id": None}
            logs.click.insert(at, (json.dumps(bad), "c"))
            logs.click.insert(at + 40, (json.dumps({"op": "d", "before": bad, "after": None}), "d"))
        bs = batches(logs, rng, args.batch_max)
        ak = Akili(args.akili, work, held)
        sizes = {CLICK: 0, PROF: 0}
        written = {CLICK: [], PROF: []}    # (end offset, line) per file
        oracle = Oracle(work)              # over everything written so far

        def oracle_at(inputs):
            """The oracle over the lines up to the positions a table reflects."""
            o = Oracle(work)
            for fname, name in ((CLICK, "clickstream"), (PROF, "user_profiles")):
                upto = offset_of(inputs, name)
                for end, line in written[fname]:
                    if end > upto:
                        break
                    o.apply(fname, line)
            return o.rows()

        parts = {}  # (user, session_num) -> (day, country) at the last lake check

        def lake_check(ak, want, what, stats):
            """Once the lake has the serving table's commit: icebird and ice_ref
            (python3-avro + DuckDB) read the oracle's rows."""
            deadline = time.time() + 60
            while lake_commit(ak.lake) != ak.commit_seq:
                ak.alive()
                if time.time() > deadline:
                    raise Failure(f"{what}: the lake stayed at commit {lake_commit(ak.lake)}, the serving table is "
                                  f"at {ak.commit_seq}")
                time.sleep(0.01)
            for reader, cmd in (("icebird", ["node", ICE_ROWS, ak.lake]), ("ice_ref", ["/usr/bin/python3", ICE_REF, ak.lake])):
                got = lake_rows(cmd, ak.cols, reader)
                if got != want:
                    raise Failure(f"{what}: the lake table as {reader} reads it differs from the batch oracle\n" +
                                  diff(got, want) + f"\n  data kept in {work}")
            stats["lake"] += 1
            for r in want:
                key, part = (r[0], r[4]), ((r[5] or "")[:10], r[3])
                if key in parts and parts[key] != part:
                    stats["moves"] += 1
                parts[key] = part
            stats["deleted"] += sum(1 for k in list(parts) if k not in {(r[0], r[4]) for r in want})
            for k in [k for k in parts if k not in {(r[0], r[4]) for r in want}]:
                del parts[k]

        for bi, b in enumerate(bs):
            for fname, line in b:
                with open(os.path.join(ak.data, fname), "a") as f:
                    f.write(line + "\n")
                sizes[fname] = os.path.getsize(os.path.join(ak.data, fname))
                written[fname].append((sizes[fname], line))
                oracle.apply(fname, line)
            stats["batches"] += 1
            stats["lines"] += len(b)
            want = oracle.rows()
            blocked = held and any(r[0] is None for r in want)
            deadline = time.time() + 60
            while True:
                ak.alive()
                if blocked:
                    # nothing past the blocking event may be published: wait
                    # until akili committed the batch and had time to evaluate it,
                    # then check the table against what it says it reflects
                    c = ak.committed()
                    if c.get("clickstream") == sizes[CLICK] and c.get("user_profiles") == sizes[PROF]:
                        time.sleep(0.2)
                        inputs, rows = ak.published()
                        got = normalise(rows or [])
                        if any(r[0] is None for r in got):
                            raise Failure(f"seed {seed} batch {bi}: a NULL user was published past a critical check")
                        exp = oracle_at(inputs)
                        if got != exp:
                            raise Failure(f"seed {seed} batch {bi}: while blocked, the published table differs from "
                                          f"the oracle at the positions it reflects ({inputs})\n" + diff(got, exp))
                        stats["held"] += 1
                        break
                else:
                    inputs, rows = ak.published()
                    if (rows is not None and offset_of(inputs, "clickstream") == sizes[CLICK]
                            and offset_of(inputs, "user_profiles") == sizes[PROF]):
                        got = normalise(rows)
                        if got != want:
                            raise Failure(f"seed {seed} batch {bi} ({len(b)} lines, {stats['lines']} so far): the "
                                          f"published table differs from the batch oracle\n" + diff(got, want) +
                                          f"\n  data kept in {work}")
                        every = LAKE_EVERY[0]
                        if every >= 0 and (bi == len(bs) - 1 or (every and bi % every == every - 1)):
                            lake_check(ak, want, f"seed {seed} batch {bi}", stats)
                        break
                if time.time() > deadline:
                    raise Failure(f"seed {seed} batch {bi}: akili did not publish the micro-batch within 60 s "
                                  f"(published {inputs}, files {sizes})")
                time.sleep(0.003)
        ak.stop()
        ak = None
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return stats
    finally:
        if ak is not None:
            try:
                ak.proc.kill()
                ak.proc.wait()
            except Exception:
                pass
            print(f"  (data and logs kept in {work})", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--events", type=int, default=600)
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--batch-max", type=int, default=25)
    ap.add_argument("--held", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--akili", default=os.environ.get("AKILI", os.path.join(ROOT, "build/asan/akili")))
    ap.add_argument("--checkpoint-interval", help="passed to `run start` (seconds): checkpoints between batches")
    ap.add_argument("--lake-every", type=int, default=0,
                    help="read the lake table every N micro-batches (0: after the last one only; -1: never)")
    args = ap.parse_args()
    LAKE_EVERY[0] = args.lake_every
    if args.checkpoint_interval:
        RUN_ARGS.extend(["--checkpoint-interval", args.checkpoint_interval])
    passed = failed = 0
    runs = [(s, False) for s in range(args.first, args.first + args.seeds)]
    if args.held:
        runs.append((args.first + args.seeds, True))
    for seed, held in runs:
        t0 = time.time()
        try:
            st = run_seed(args, seed, held)
            passed += 1
            print(f"ok   seed {seed}{' (held changes)' if held else ''}: {st['batches']} micro-batches, "
                  f"{st['lines']} change records{', %d held' % st['held'] if held else ''}; lake read "
                  f"{st['lake']} times by icebird and ice_ref"
                  f"{' (%d partition moves, %d rows gone between reads)' % (st['moves'], st['deleted']) if st['lake'] > 1 else ''} "
                  f"({time.time() - t0:.1f} s)", flush=True)
        except Failure as e:
            failed += 1
            print(f"FAIL seed {seed}{' (held changes)' if held else ''}: {e}", flush=True)
    print(f"stream: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
