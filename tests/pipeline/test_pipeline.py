#!/usr/bin/env python3
"""test_pipeline.py - whole products run by the real `akili` binary on files,
compared with the batch oracle (tests/oracle), plus the CLI's surface.

    python3 tests/pipeline/test_pipeline.py [-k SUBSTRING] [--keep]

AKILI (default build/asan/akili) is the binary under test; AKILI_RELEASE
(default build/release/akili) runs the 1M-event check, which would take
minutes under the sanitizers.  Every test works in its own temporary
directory.  Ends with "pipeline: N passed, M failed"; exit status 1 on any
failure.
"""
import json
import os
import re
import shutil
import sqlite3
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AKILI = os.environ.get("AKILI", os.path.join(ROOT, "build/asan/akili"))
SANITIZER = re.compile(r"ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error: ")
AKILI_RELEASE = os.environ.get("AKILI_RELEASE", os.path.join(ROOT, "build/release/akili"))
EXAMPLE = os.path.join(ROOT, "examples/user_sessions")
DATA = os.path.join(ROOT, "tests/data")
ORACLE = os.path.join(ROOT, "tests/oracle")
GEN = os.path.join(DATA, "gen.py")
BIG = os.environ.get("AKILI_BENCH_DATA", "/tmp/akili-bench-data")
EV = ("event_id:VARCHAR,user_id:VARCHAR,page_url:VARCHAR,referrer_url:VARCHAR,user_agent:VARCHAR,"
      "ip_address:VARCHAR,event_time:TIMESTAMP,session_id:VARCHAR")
UP = "user_id:VARCHAR,username:VARCHAR,account_type:VARCHAR,signup_date:DATE,country:VARCHAR,updated_at:TIMESTAMP"
FILES_MAP = {"clickstream.page-views": "clickstream.ndjson", "public.users": "user_profiles.ndjson"}
KEEP = "--keep" in sys.argv

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Env:
    """One AKILI_HOME and a data directory."""

    def __init__(self, name, binary=None):
        self.dir = tempfile.mkdtemp(prefix=f"akili-{name}-")
        self.home = os.path.join(self.dir, "home")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        self.bin = binary or AKILI
        self.env = dict(os.environ, AKILI_HOME=self.home)
        self.env.pop("AKILI_NOW", None)

    def ak(self, *args, ok=True, code=None, env=None, stdin=None, timeout=600):
        e = dict(self.env)
        if env:
            e.update(env)
        # bytes in, text out without newline translation (CSV lines end in CRLF)
        p = subprocess.run([self.bin, *args], capture_output=True, env=e, input=stdin, timeout=timeout)
        p.stdout = p.stdout.decode("utf-8", "replace")
        p.stderr = p.stderr.decode("utf-8", "replace")
        # a run expected to fail must fail by itself, not by a sanitizer or a signal
        if SANITIZER.search(p.stderr) or p.returncode < 0:
            raise Failure(f"akili {' '.join(args)} crashed ({p.returncode}):\n{p.stderr[-3000:]}")
        want = code if code is not None else (0 if ok else None)
        if want is not None and p.returncode != want:
            raise Failure(f"akili {' '.join(args)} exited {p.returncode} (wanted {want})\n"
                          f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
        return p

    def setup(self, data_dir=None, files_map=True, manifests=EXAMPLE, version="1.0.0"):
        cfg = {"path": data_dir or self.data}
        if files_map:
            cfg["files"] = FILES_MAP
        self.ak("connection", "create", "--name", "production-events", "--connector-type", "file",
                "--config", json.dumps(cfg))
        self.ak("connection", "create", "--name", "production-db", "--connector-type", "file",
                "--config", json.dumps(cfg))
        self.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics", "--archetype", "source")
        self.ak("product", "deploy", "user_sessions", "--version", version, "--dir", manifests)

    def generated(self, events, users, seed, extra=()):
        """Generates a data set beside the data directory, copies its profiles
        in, and returns its clickstream lines (for the test to feed)."""
        src = os.path.join(self.dir, "src")
        gen(src, events, users, seed, extra)
        shutil.copy(os.path.join(src, "user_profiles.ndjson"), self.data)
        with open(os.path.join(src, "clickstream.ndjson")) as f:
            return f.readlines()

    def rows(self, candidate=False, env=None, sql="SELECT * FROM analytics.user_sessions"):
        args = ["query", "--format", "json"] + (["--candidate"] if candidate else []) + [sql]
        out = self.ak(*args, env=env).stdout
        return sorted(out.splitlines(keepends=True), key=lambda s: s.encode())

    def close(self):
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)


def gen(out, events, users, seed, extra=()):
    subprocess.run([sys.executable, GEN, "--events", str(events), "--users", str(users), "--seed", str(seed),
                    "--out", out, *extra], check=True, capture_output=True)


def materialize(files, keyed, out):
    args = [sys.executable, os.path.join(ORACLE, "materialize.py"), "--quiet", "--out", out]
    if keyed:
        args += ["--key", "user_id", "--cursor", "updated_at", "--columns", UP]
    else:
        args += ["--columns", EV]
    subprocess.run(args + list(files), check=True, capture_output=True)


def oracle_rows(click_files, profile_files, work, duck=False):
    """The seed SQL as a batch over the files (changelogs allowed)."""
    c = os.path.join(work, "oracle_click.ndjson")
    p = os.path.join(work, "oracle_prof.ndjson")
    materialize(click_files, False, c)
    materialize(profile_files, True, p)
    out = os.path.join(work, "oracle.ndjson")
    if duck:
        subprocess.run(["node", os.path.join(ORACLE, "duck.mjs"), "--table", f"clickstream={c}:{EV}",
                        "--table", f"user_profiles={p}:{UP}", "--sql", os.path.join(DATA, "sql/user_sessions.sql"),
                        "--out", out], check=True, capture_output=True)
    else:
        subprocess.run([sys.executable, os.path.join(ORACLE, "sessions_ref.py"), "--clickstream", c,
                        "--profiles", p, "--out", out], check=True, capture_output=True)
    with open(out, encoding="utf-8") as f:
        return sorted(f.read().splitlines(keepends=True), key=lambda s: s.encode())


def same_rows(got, want, what):
    if got == want:
        return
    gs, ws = set(got), set(want)
    only_got = sorted(gs - ws)[:3]
    only_want = sorted(ws - gs)[:3]
    raise Failure(f"{what}: {len(got)} rows from akili, {len(want)} from the oracle\n"
                  f"  only in akili: {''.join(only_got)}  only in oracle: {''.join(only_want)}")


def last_event_time(path):
    best = ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                t = json.loads(line)
            except ValueError:
                continue
            t = t.get("event_time") if isinstance(t, dict) else None
            if isinstance(t, str) and t > best:
                best = t
    return best


def plus_minutes(iso, minutes):
    import datetime
    t = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")) + datetime.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def manifests_with(e, name, old, new):
    """A copy of the example manifests with one text replaced in one file."""
    man = os.path.join(e.dir, "manifests")
    shutil.copytree(EXAMPLE, man)
    path = os.path.join(man, name)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    check(old in text, f"{name} has {old!r}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))
    return man


def run_once(e, ok=True, env=None):
    p = e.ak("run", "start", "user_sessions", "--once", ok=False, env=env)
    if ok is True and p.returncode != 0:
        raise Failure(f"run failed ({p.returncode}):\n{p.stdout}\n{p.stderr[-3000:]}")
    return p


def runs(e):
    """run list as dicts (parsed from the grid)."""
    out = e.ak("run", "list", "user_sessions").stdout.splitlines()
    return out


# ---------------------------------------------------------------- the transform

@test
def generated_data_equals_duckdb():
    """Generated clickstream with NULL users and late events: the (blocked)
    candidate equals DuckDB's result, for several seeds."""
    for seed in (1, 2, 3):
        e = Env(f"gen{seed}")
        try:
            gen(e.data, 15000, 800, seed)
            e.setup()
            p = run_once(e, ok=False)
            check(p.returncode == 1, f"seed {seed}: expected publish to be blocked, got exit {p.returncode}")
            check("no_null_users" in p.stdout, "the blocking check is named in the run's message")
            got = e.rows(candidate=True)
            want = oracle_rows([os.path.join(e.data, "clickstream.ndjson")],
                               [os.path.join(e.data, "user_profiles.ndjson")], e.dir, duck=(seed == 1))
            same_rows(got, want, f"seed {seed}")
        finally:
            e.close()


@test
def clean_data_publishes_and_equals_oracle():
    """No NULL users and the clock pinned 5 minutes after the last event:
    every critical check passes, the published table equals the oracle."""
    e = Env("clean")
    try:
        gen(e.data, 12000, 600, 11, ["--null-user-fraction", "0"])
        now = plus_minutes(last_event_time(os.path.join(e.data, "clickstream.ndjson")), 5)
        e.setup()
        p = run_once(e, env={"AKILI_NOW": now})
        check(p.returncode == 0 and "succeeded" in p.stdout, f"run should succeed: {p.stdout}")
        got = e.rows(env={"AKILI_NOW": now})
        want = oracle_rows([os.path.join(e.data, "clickstream.ndjson")], [os.path.join(e.data, "user_profiles.ndjson")],
                           e.dir)
        same_rows(got, want, "published table")
        q = e.ak("governance", "quality", "user_sessions").stdout
        check("FAIL" not in q and "freshness" in q, f"all critical checks pass:\n{q}")
        s = e.ak("governance", "sla", "user_sessions", "--check", env={"AKILI_NOW": now}).stdout
        check("OK" in s and "threshold 15" in s, f"sla reports freshness within 15 minutes:\n{s}")
        later = {"AKILI_NOW": plus_minutes(now, 60)}
        s = e.ak("governance", "sla", "user_sessions", env=later).stdout
        check("BREACHED" in s, f"an hour later freshness is breached:\n{s}")
        e.ak("governance", "sla", "user_sessions", "--check", env=later, code=1)
    finally:
        e.close()


@test
def edge_cases_match_expected():
    """Every hand-made edge case (boundaries, ties, NULLs, offsets, unicode,
    Debezium envelopes, ...) gives exactly its expected rows."""
    import datetime
    cases = sorted(os.listdir(os.path.join(DATA, "edge")))
    check(len(cases) >= 8, "edge cases present")
    for case in cases:
        d = os.path.join(DATA, "edge", case)
        e = Env(f"edge-{case}")
        try:
            # the transform's semantics: without the seed's 90-day retention ...
            man = manifests_with(e, "output.yaml", "  retention:\n    days: 90\n    policy: delete\n", "")
            e.setup(data_dir=d, manifests=man, version="0.9.0")
            run_once(e, ok=False)
            with open(os.path.join(d, "expected.ndjson"), encoding="utf-8") as f:
                want = sorted(f.read().splitlines(keepends=True), key=lambda s: s.encode())
            same_rows(e.rows(candidate=True), want, f"edge case {case}")
            # ... and with it: the same rows cut 90 days before the newest event
            e.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", EXAMPLE)
            run_once(e, ok=False)
            def when(s):
                try:
                    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
                except (AttributeError, ValueError):
                    return None
            times = []
            with open(os.path.join(d, "clickstream.ndjson"), encoding="utf-8") as f:
                for line in f:
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    t = when(ev.get("event_time")) if isinstance(ev, dict) else None
                    if t and t.tzinfo:
                        times.append(t)
            if times:
                cut = max(times) - datetime.timedelta(days=90)
                def start(r):  # (a line split at U+2028 and the like is not a row on its own)
                    try:
                        return when(json.loads(r)["session_start"])
                    except ValueError:
                        return None
                want = [r for r in want if not start(r) or start(r) >= cut]
            same_rows(e.rows(candidate=True), want, f"edge case {case} with retention")
        finally:
            e.close()


@test
def bad_lines_go_to_dead_letters():
    """Malformed lines, wrong types and a missing key are dead-lettered with
    reason, position and raw bytes; the rest is processed."""
    d = os.path.join(DATA, "bad")
    e = Env("bad")
    try:
        e.setup(data_dir=d)
        p = run_once(e, ok=False)
        check("9 dead letters" in p.stdout, f"9 dead letters reported: {p.stdout}")
        with open(os.path.join(d, "expected.ndjson"), encoding="utf-8") as f:
            want = sorted(f.read().splitlines(keepends=True), key=lambda s: s.encode())
        same_rows(e.rows(candidate=True), want, "bad-input case")
        dl = [json.loads(x) for x in e.ak("deadletter", "list", "user_sessions", "--format", "json").stdout.splitlines()]
        check(len(dl) == 9, f"9 dead letters listed, got {len(dl)}")
        check(all(x["reason"] and x["position"] and "line" in x["position"] for x in dl), "reasons and positions")
        check(any("yesterday" in x["raw"] for x in dl), "raw bytes kept")
        check(any(x["input"] == "user_profiles" and "user_id" in x["reason"] for x in dl), "missing key named")
        check(" 9 " in "\n".join(runs(e)), "run list shows the dead-letter count")
    finally:
        e.close()


@test
def dead_letters_replay_exactly_once():
    """`deadletter replay` queues dead letters; the next run reads them again:
    those that still fail stay (with the new reason), one that now decodes
    joins the input once and leaves the list, also across a kill -9."""
    d = os.path.join(DATA, "bad")
    e = Env("replay")
    try:
        e.setup(data_dir=d)
        run_once(e, ok=False)
        dl = [json.loads(x) for x in e.ak("deadletter", "list", "user_sessions", "--format", "json").stdout.splitlines()]
        check(len(dl) == 9, f"9 dead letters, got {len(dl)}")
        # a record that failed under an earlier definition and reads now
        ev = {"event_id": "replayed-1", "user_id": "replay-user", "page_url": "/again", "referrer_url": None,
              "user_agent": "ua", "ip_address": "10.0.0.1", "event_time": "2026-11-18T10:00:00Z", "session_id": "s"}
        c = sqlite3.connect(os.path.join(e.home, "catalog.db"))
        c.execute("INSERT INTO deadletters(product, run_id, input, position, reason, raw, at_us) VALUES "
                  "('user_sessions', 1, 'clickstream', 'line 999', 'an earlier definition', ?, 0)",
                  (json.dumps(ev).encode(),))
        c.commit()
        c.close()
        e.ak("deadletter", "replay", "user_sessions", "--id", "999999", code=1)
        out = e.ak("deadletter", "replay", "user_sessions").stdout
        check("10 dead letters queued" in out, out)
        # killed while reading them: nothing is lost or doubled
        proc = subprocess.Popen([e.bin, "run", "start", "user_sessions", "--once"], env=dict(e.env, AKILI_CRASH_AT="positions-committed"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc.wait(timeout=120)
        run_once(e, ok=False)
        dl = [json.loads(x) for x in e.ak("deadletter", "list", "user_sessions", "--format", "json").stdout.splitlines()]
        check(len(dl) == 9 and all(x["reason"].startswith("read again: ") for x in dl),
              f"the 9 bad records stay, read again: {dl}")
        with open(os.path.join(d, "expected.ndjson"), encoding="utf-8") as f:
            base = f.read().splitlines(keepends=True)
        rows = e.rows(candidate=True)
        mine = [r for r in rows if "replay-user" in r]
        check(len(mine) == 1 and '"page_views":1' in mine[0], f"the replayed event, once: {mine}")
        same_rows([r for r in rows if "replay-user" not in r], sorted(base, key=lambda s: s.encode()), "the rest")
    finally:
        e.close()


@test
def csv_dead_letters_replay_with_their_header():
    """A CSV line's dead letter keeps the header of its file: replayed, it is
    read with that header (columns in that file's order), not the current
    file's; one that still fails stays with the new reason."""
    e = Env("csvreplay")
    try:
        gen(e.data, 600, 40, 23)
        click = os.path.join(e.data, "clickstream.csv")
        with open(click, encoding="utf-8") as f:
            header = f.readline().rstrip("\r\n")
        with open(click, "a", encoding="utf-8") as f:
            f.write("bad-1,user-1\n")  # too few fields
        e.setup(files_map=False)
        os.symlink(click, os.path.join(e.data, "clickstream.page-views.csv"))
        os.symlink(os.path.join(e.data, "user_profiles.csv"), os.path.join(e.data, "public.users.csv"))
        run_once(e, ok=False)
        dl = [json.loads(x) for x in e.ak("deadletter", "list", "user_sessions", "--format", "json").stdout.splitlines()]
        check(len(dl) == 1 and dl[0]["raw"] == "bad-1,user-1" and dl[0].get("header") == header,
              f"the bad line, with its file's header: {dl}")
        # a line from a file whose columns came in another order
        c = sqlite3.connect(os.path.join(e.home, "catalog.db"))
        c.execute("INSERT INTO deadletters(product, run_id, input, position, reason, raw, at_us, header) VALUES "
                  "('user_sessions', 1, 'clickstream', 'old.csv line 2', 'an earlier definition', ?, 0, ?)",
                  (b'replay-user,"2026-11-18T10:00:00Z",/again,replayed-1', b"user_id,event_time,page_url,event_id"))
        c.commit()
        c.close()
        out = e.ak("deadletter", "replay", "user_sessions").stdout
        check("2 dead letters queued" in out, out)
        run_once(e, ok=False)
        dl = [json.loads(x) for x in e.ak("deadletter", "list", "user_sessions", "--format", "json").stdout.splitlines()]
        check(len(dl) == 1 and dl[0]["reason"].startswith("read again: ") and "field" in dl[0]["reason"],
              f"the bad line stays, read again: {dl}")
        rows = e.rows(candidate=True)
        mine = [json.loads(r) for r in rows if "replay-user" in r]
        check(len(mine) == 1 and mine[0]["page_views"] == 1 and mine[0]["landing_page"] == "/again" and
              mine[0]["session_start"].startswith("2026-11-18T10:00:00"), f"the replayed line, once: {mine}")
        want = oracle_rows([os.path.join(e.data, "clickstream.ndjson")], [os.path.join(e.data, "user_profiles.ndjson")],
                           e.dir)
        same_rows([r for r in rows if "replay-user" not in r], want, "the rest")
    finally:
        e.close()


@test
def second_run_reads_only_appended_data():
    """Files grow between runs: each run reads only the new lines, and the
    result is always the batch SQL over everything read so far."""
    e = Env("append")
    src = os.path.join(e.dir, "src")
    try:
        gen(src, 9000, 500, 5)
        with open(os.path.join(src, "clickstream.ndjson"), encoding="utf-8") as f:
            lines = f.readlines()
        with open(os.path.join(src, "user_profiles.ndjson"), encoding="utf-8") as f:
            profs = f.readlines()
        click = os.path.join(e.data, "clickstream.ndjson")
        prof = os.path.join(e.data, "user_profiles.ndjson")
        with open(prof, "w", encoding="utf-8") as f:
            f.writelines(profs[: len(profs) // 2])
        open(click, "w").close()
        e.setup()
        cuts = [0, 3000, 3001, 7000, len(lines)]
        for i in range(1, len(cuts)):
            with open(click, "a", encoding="utf-8") as f:
                f.writelines(lines[cuts[i - 1]:cuts[i]])
            if i == 3:
                with open(prof, "a", encoding="utf-8") as f:
                    f.writelines(profs[len(profs) // 2:])
            p = run_once(e, ok=False)
            read = int(p.stdout.split(" record")[0].split()[-1])
            expect = cuts[i] - cuts[i - 1] + (len(profs) // 2 if i == 1 else 0) + \
                (len(profs) - len(profs) // 2 if i == 3 else 0)
            check(read == expect, f"run {i} read {read} records, expected {expect}")
            same_rows(e.rows(candidate=True), oracle_rows([click], [prof], e.dir), f"after run {i}")
        p = run_once(e, ok=False)
        check(" 0 records read" in p.stdout, f"nothing new, nothing read: {p.stdout}")
    finally:
        e.close()


@test
def profile_updates_newer_wins():
    """A newer profile row re-enriches the user's sessions; an older row that
    arrives later is ignored (newer updated_at wins)."""
    e = Env("profiles")
    try:
        with open(os.path.join(e.data, "clickstream.ndjson"), "w") as f:
            for i, t in enumerate(["10:00:00", "10:05:00", "12:00:00"]):
                f.write(json.dumps({"event_id": f"e{i}", "user_id": "u1", "page_url": f"/p{i}",
                                    "referrer_url": None, "event_time": f"2026-11-01T{t}Z"}) + "\n")
        prof = os.path.join(e.data, "user_profiles.ndjson")
        with open(prof, "w") as f:
            f.write(json.dumps({"user_id": "u1", "username": "ann", "account_type": "free", "country": "DE",
                                "updated_at": "2026-10-01T00:00:00Z"}) + "\n")
        e.setup()
        run_once(e, ok=False)
        r = [json.loads(x) for x in e.rows(candidate=True)]
        check(len(r) == 2 and all(x["country"] == "DE" for x in r), f"two sessions in DE: {r}")
        with open(prof, "a") as f:
            f.write(json.dumps({"user_id": "u1", "username": "ann", "account_type": "pro", "country": "KE",
                                "updated_at": "2026-10-05T00:00:00Z"}) + "\n")
            f.write(json.dumps({"user_id": "u1", "username": "old", "account_type": "free", "country": "US",
                                "updated_at": "2026-09-01T00:00:00Z"}) + "\n")
        run_once(e, ok=False)
        r = [json.loads(x) for x in e.rows(candidate=True)]
        check(len(r) == 2 and all(x["country"] == "KE" and x["account_type"] == "pro" for x in r),
              f"re-enriched with the newer profile only: {r}")
        same_rows(e.rows(candidate=True), oracle_rows([os.path.join(e.data, "clickstream.ndjson")], [prof], e.dir),
                  "profiles")
    finally:
        e.close()


@test
def seed_inputs_verbatim_key_profiles_by_user_id():
    """The seed's inputs as written (no primary_key): the incremental
    user_profiles input is keyed by user_id, so updates replace rows."""
    e = Env("nokey")
    try:
        man = os.path.join(e.dir, "manifests")
        shutil.copytree(EXAMPLE, man)
        with open(os.path.join(man, "inputs.yaml"), encoding="utf-8") as f:
            text = f.read()
        check("primary_key: user_id" in text, "the example declares the key")
        with open(os.path.join(man, "inputs.yaml"), "w", encoding="utf-8") as f:
            f.write(text.replace("    primary_key: user_id\n", ""))
        gen(e.data, 4000, 300, 31)
        prof = os.path.join(e.data, "user_profiles.ndjson")
        with open(prof, encoding="utf-8") as f:
            first = [json.loads(x) for x in f.readlines()[:50]]
        for p_ in first:  # newer rows for 50 users
            p_["country"] = "ZZ"
            p_["updated_at"] = "2026-11-30T00:00:00.000Z"
        write_events(prof, first)
        e.ak("connection", "create", "--name", "production-events", "--connector-type", "file", "--config",
             json.dumps({"path": e.data, "files": FILES_MAP}))
        e.ak("connection", "create", "--name", "production-db", "--connector-type", "file", "--config",
             json.dumps({"path": e.data, "files": FILES_MAP}))
        e.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics")
        d = e.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", man).stdout
        check("keyed by `user_id`" in d, d)
        run_once(e, ok=False)
        same_rows(e.rows(candidate=True), oracle_rows([os.path.join(e.data, "clickstream.ndjson")], [prof], e.dir),
                  "seed inputs verbatim")
    finally:
        e.close()


@test
def csv_input_equals_ndjson_input():
    """The same data as CSV files gives the same table."""
    e = Env("csv")
    try:
        gen(e.data, 6000, 400, 21)
        e.setup(files_map=False)
        # resources resolve to RESOURCE.csv when only the CSV exists
        os.symlink(os.path.join(e.data, "clickstream.csv"), os.path.join(e.data, "clickstream.page-views.csv"))
        os.symlink(os.path.join(e.data, "user_profiles.csv"), os.path.join(e.data, "public.users.csv"))
        run_once(e, ok=False)
        want = oracle_rows([os.path.join(e.data, "clickstream.ndjson")], [os.path.join(e.data, "user_profiles.ndjson")],
                           e.dir)
        same_rows(e.rows(candidate=True), want, "CSV input")
    finally:
        e.close()


# ---------------------------------------------------------------- quality gates

def write_events(path, events, mode="a"):
    with open(path, mode, encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps(ev) + "\n")


@test
def critical_check_blocks_and_keeps_old_version():
    """A NULL user_id session blocks publishing: the previous version stays
    readable, the candidate is inspectable, nothing is lost, and once the bad
    events are deleted (CDC) the next run publishes everything."""
    e = Env("gate")
    try:
        click = os.path.join(e.data, "clickstream.ndjson")
        prof = os.path.join(e.data, "user_profiles.ndjson")
        good = [{"event_id": f"g{i}", "user_id": f"u{i % 3}", "page_url": "/a", "referrer_url": None,
                 "event_time": f"2026-11-18T10:{i:02d}:00Z"} for i in range(6)]
        write_events(click, good, "w")
        write_events(prof, [{"user_id": "u0", "username": "a", "account_type": "free", "country": "US",
                             "updated_at": "2026-11-01T00:00:00Z"}], "w")
        now = {"AKILI_NOW": "2026-11-18T10:10:00Z"}
        e.setup()
        run_once(e, env=now)
        v1 = e.rows(env=now)
        check(len(v1) == 3, f"three sessions published: {v1}")
        bad = [{"event_id": f"n{i}", "user_id": None, "page_url": "/x", "referrer_url": None,
                "event_time": f"2026-11-18T10:0{i}:30Z"} for i in range(2)]
        more = [{"event_id": "g9", "user_id": "u9", "page_url": "/b", "referrer_url": None,
                 "event_time": "2026-11-18T10:09:00Z"}]
        write_events(click, bad + more)
        p = run_once(e, ok=False, env=now)
        check(p.returncode == 1 and "blocked" in p.stdout and "no_null_users" in p.stdout and "value 1" in p.stdout,
              f"blocked by no_null_users with its value: {p.stdout}")
        check(e.rows(env=now) == v1, "the previous version stays published")
        cand = e.rows(candidate=True, env=now)
        check(len(cand) == 5, f"the candidate holds the new rows: {cand}")
        q = e.ak("governance", "quality", "user_sessions").stdout
        check("no_null_users" in q and "FAIL" in q, f"quality shows the failure:\n{q}")
        check("blocked" in "\n".join(runs(e)), "run list shows the blocked run")
        # delete the NULL-user events with CDC deletes: the next run publishes all
        write_events(click, [{"op": "d", "before": b, "after": None, "ts_ms": 1} for b in bad])
        run_once(e, env=now)
        pub = e.rows(env=now)
        check(len(pub) == 4 and any('"u9"' in r for r in pub), f"everything published, u9 included: {pub}")
        check(e.rows(candidate=True, env=now) == pub, "no candidate left once published")
    finally:
        e.close()


@test
def warning_check_records_and_publishes():
    """A bot-like session of more than 10,000 page views is recorded as a
    warning and still published."""
    e = Env("bot")
    try:
        click = os.path.join(e.data, "clickstream.ndjson")
        with open(click, "w") as f:
            base = 1793700000  # 2026-11-03T...
            import datetime
            for i in range(10050):
                t = datetime.datetime.fromtimestamp(base + i, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                f.write(f'{{"event_id":"b{i}","user_id":"bot","page_url":"/p{i % 7}","referrer_url":null,'
                        f'"event_time":"{t}"}}\n')
        write_events(os.path.join(e.data, "user_profiles.ndjson"), [], "w")
        e.setup()
        now = {"AKILI_NOW": "2026-11-03T11:00:00Z"}
        p = run_once(e, env=now)
        check("succeeded" in p.stdout, f"published despite the warning: {p.stdout}")
        r = [json.loads(x) for x in e.rows(env=now)]
        check(len(r) == 1 and r[0]["page_views"] == 10050, f"one bot session: {r}")
        q = e.ak("governance", "quality", "user_sessions").stdout
        line = [x for x in q.splitlines() if x.startswith("reasonable_page_views")]
        check(line and "warn" in line[0] and " 1 " in line[0], f"warning recorded with value 1:\n{q}")
    finally:
        e.close()


# ---------------------------------------------------------------- CLI surface

@test
def help_everywhere_and_exit_codes():
    e = Env("cli")
    try:
        groups = {"connection": ["create", "test", "list", "show", "delete"],
                  "product": ["create", "deploy", "list", "show"],
                  "run": ["start", "list", "reset"], "governance": ["quality", "sla"],
                  "deadletter": ["list", "replay"], "state": ["inspect"]}
        check("usage" in e.ak("--help").stdout, "akili --help")
        for g, subs in groups.items():
            check("subcommands" in e.ak(g, "--help").stdout, f"akili {g} --help")
            for s in subs:
                out = e.ak(g, s, "--help").stdout
                check(out.startswith("usage: akili"), f"akili {g} {s} --help: {out[:80]}")
        for c in ("query", "explain"):
            check(e.ak(c, "--help").stdout.startswith("usage"), f"akili {c} --help")
        e.ak("nonsense", code=2)
        e.ak("connection", "crate", code=2)
        e.ak("connection", "create", "--name", "x", code=2)
        e.ak("product", "create", "--name", "Bad-Name", "--namespace", "a", code=2)
        e.ak("run", "start", code=2)
        e.ak("query", "--format", "xml", "SELECT 1", code=2)
        e.ak("run", "list", "nope", code=1)
        e.ak("product", "show", "nope", code=1)
        e.ak("state", "inspect", "nope", code=1)
        e.ak("state", "inspect", code=2)
        p = e.ak("query", "SELECT * FROM analytics.nothing", code=1)
        check("not found" in p.stderr or "no table" in p.stderr, p.stderr)
        p = e.ak("query", "SELEC 1", code=1)
        check("query:1:1" in p.stderr, f"error position: {p.stderr}")
    finally:
        e.close()


@test
def seed_cli_session_as_written():
    """The seed's terminal session, verbatim, run from a directory holding
    the product's manifests in ./examples/user_sessions."""
    e = Env("seedcli")
    try:
        cwd = os.path.join(e.dir, "project")
        os.makedirs(os.path.join(cwd, "examples"))
        shutil.copytree(EXAMPLE, os.path.join(cwd, "examples", "user_sessions"))

        def ak(*args, code=0):
            p = subprocess.run([e.bin, *args], capture_output=True, text=True, env=e.env, cwd=cwd)
            check(p.returncode == code, f"akili {' '.join(args)}: exit {p.returncode}, wanted {code}\n{p.stderr}")
            return p

        ak("connection", "create", "--name", "production-events", "--connector-type", "redpanda",
           "--config", '{"brokers": ["broker-1:9092"], "security_protocol": "SASL_SSL"}')
        ak("connection", "create", "--name", "production-db", "--connector-type", "postgres",
           "--config", '{"host": "db.example.com", "port": 5432, "database": "app"}')
        check("SASL_SSL needs sasl_mechanism" in ak("connection", "test", "production-events", code=1).stderr,
              "redpanda test")
        check("db.example.com:5432" in ak("connection", "test", "production-db", code=1).stderr, "postgres test")
        ak("product", "create", "--name", "user_sessions", "--namespace", "analytics", "--archetype", "source")
        ak("product", "deploy", "user_sessions", "--version", "1.0.0")
        check("no runs" in ak("run", "list", "user_sessions").stdout, "run list")
        ak("governance", "quality", "user_sessions")
        check("never" in ak("governance", "sla", "user_sessions").stdout, "sla before any publish")
        p = ak("query", "\nSELECT country, COUNT(*) AS sessions, AVG(session_duration_seconds) AS avg_duration\n"
                        "FROM analytics.user_sessions\nWHERE session_start >= CURRENT_DATE()\nGROUP BY country\n"
                        "ORDER BY sessions DESC\nLIMIT 10\n", code=1)
        check("has not been published yet" in p.stderr, p.stderr)
    finally:
        e.close()


@test
def connections_list_show_delete_and_test_errors():
    e = Env("conns")
    try:
        e.ak("connection", "create", "--name", "production-events", "--connector-type", "redpanda", "--config",
             '{"brokers": ["broker-1:9092"], "security_protocol": "SASL_SSL"}')
        e.ak("connection", "create", "--name", "production-db", "--connector-type", "postgres", "--config",
             '{"host": "db.example.com", "port": 5432, "database": "app", "password": "hunter2"}')
        e.ak("connection", "create", "--name", "payments", "--connector-type", "nats", "--config",
             '{"url": "nats://localhost:4222", "stream": "CDC", "subjects": ["cdc.payments.*"]}')
        e.ak("connection", "create", "--name", "k", "--connector-type", "kafka", "--config", '{"brokers": "b:9092"}')
        p = e.ak("connection", "create", "--name", "x", "--connector-type", "redpanda", "--config", '{"brokerz": []}', code=1)
        check("did you mean `brokers`" in p.stderr, p.stderr)
        p = e.ak("connection", "test", "production-events", code=1)
        check("SASL_SSL needs sasl_mechanism" in p.stderr, p.stderr)
        p = e.ak("connection", "test", "k", code=1)
        check("cannot reach the Kafka brokers (tried b:9092)" in p.stderr, p.stderr)
        # postgres and nats are built: they really connect, and say where they tried
        p = e.ak("connection", "test", "production-db", code=1)
        check("db.example.com:5432" in p.stderr and "hunter2" not in p.stderr, p.stderr)
        p = e.ak("connection", "test", "payments", code=1)
        check("nats://localhost:4222" in p.stderr and "not built" not in p.stderr, p.stderr)
        lst = e.ak("connection", "list").stdout
        check("hunter2" not in lst and "****" in lst, f"secrets masked:\n{lst}")
        show = e.ak("connection", "show", "production-db").stdout
        check("hunter2" not in show and "db.example.com" in show, show)
        e.ak("connection", "create", "--name", "payments", "--connector-type", "nats", "--config", '{"stream": "S"}',
             code=1)
        e.ak("connection", "delete", "payments")
        e.ak("connection", "show", "payments", code=1)
        # a product deploys on connections it cannot reach; its run fails saying why
        e.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics", "--archetype", "source")
        e.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", EXAMPLE)
        p = e.ak("run", "start", "user_sessions", "--once", code=1)
        check("SASL_SSL needs sasl_mechanism" in p.stderr and "hunter2" not in p.stderr, p.stderr)
        lst = e.ak("product", "list").stdout
        check("analytics.user_sessions" in lst and "1.0.0" in lst, lst)
        check("failed" in "\n".join(runs(e)), "the failed run is recorded")
    finally:
        e.close()


@test
def env_references_resolved_at_use_never_printed():
    e = Env("envref")
    try:
        gen(e.data, 2000, 100, 3)
        cfg = json.dumps({"path": "${AK_TEST_DATA_DIR}", "files": FILES_MAP})
        e.ak("connection", "create", "--name", "production-events", "--connector-type", "file", "--config", cfg)
        e.ak("connection", "create", "--name", "production-db", "--connector-type", "file", "--config", cfg)
        e.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics")
        e.ak("product", "deploy", "user_sessions", "--version", "1", "--dir", EXAMPLE)
        p = e.ak("run", "start", "user_sessions", "--once", code=1)
        check("AK_TEST_DATA_DIR" in p.stderr, f"a missing variable is named: {p.stderr}")
        p = run_once(e, ok=False, env={"AK_TEST_DATA_DIR": e.data})
        check("2000 records" not in p.stdout and "records read" in p.stdout, p.stdout)
        show = e.ak("connection", "show", "production-events", env={"AK_TEST_DATA_DIR": e.data}).stdout
        check("${AK_TEST_DATA_DIR}" in show and e.data not in show, f"reference shown, not its value:\n{show}")
    finally:
        e.close()


@test
def query_formats_csv_json_table():
    e = Env("formats")
    try:
        write_events(os.path.join(e.data, "clickstream.ndjson"), [
            {"event_id": "1", "user_id": "a,b", "page_url": 'say "hi"', "referrer_url": "", "event_time": "2026-11-18T10:00:00.123456Z"},
            {"event_id": "2", "user_id": "c", "page_url": "line\nbreak", "referrer_url": None, "event_time": "2026-11-18T10:00:00Z"},
        ], "w")
        write_events(os.path.join(e.data, "user_profiles.ndjson"), [], "w")
        e.setup()
        now = {"AKILI_NOW": "2026-11-18T10:05:00Z"}
        run_once(e, env=now)
        csv = e.ak("query", "--format", "csv", "SELECT user_id, landing_page, entry_referrer, session_start, page_views "
                   "FROM analytics.user_sessions ORDER BY user_id", env=now).stdout
        want = ('user_id,landing_page,entry_referrer,session_start,page_views\r\n'
                '"a,b","say ""hi""","",2026-11-18T10:00:00.123456Z,1\r\n'
                'c,"line\nbreak",,2026-11-18T10:00:00Z,1\r\n')
        check(csv == want, f"CSV:\n{csv!r}\nwanted\n{want!r}")
        js = e.ak("query", "--format", "json", "SELECT user_id, entry_referrer, country, AVG(page_views) AS a "
                  "FROM user_sessions GROUP BY ALL ORDER BY 1", env=now).stdout.splitlines()
        check(js[0] == '{"user_id":"a,b","entry_referrer":"","country":null,"a":1}', js[0])
        check(js[1] == '{"user_id":"c","entry_referrer":null,"country":null,"a":1}', js[1])
        tab = e.ak("query", "SELECT user_id, entry_referrer FROM analytics.user_sessions ORDER BY 1", env=now).stdout
        check("NULL" in tab and "(2 rows)" in tab, tab)
        # the seed's two queries, verbatim
        seed_q1 = ("\nSELECT country, COUNT(*) AS sessions, AVG(session_duration_seconds) AS avg_duration\n"
                   "FROM analytics.user_sessions\nWHERE session_start >= CURRENT_DATE()\nGROUP BY country\n"
                   "ORDER BY sessions DESC\nLIMIT 10\n")
        out = e.ak("query", "--format", "json", seed_q1, env=now).stdout
        check(out == '{"country":null,"sessions":2,"avg_duration":0}\n', out)
        seed_q2 = ("\nSELECT session_start, session_end, page_views, landing_page\nFROM analytics.user_sessions\n"
                   "WHERE user_id = 'c'\nORDER BY session_start DESC\nLIMIT 5\n")
        out = e.ak("query", "--format", "json", seed_q2, env=now).stdout
        check(out == '{"session_start":"2026-11-18T10:00:00Z","session_end":"2026-11-18T10:00:00Z","page_views":1,'
                     '"landing_page":"line\\nbreak"}\n', out)
    finally:
        e.close()


@test
def manifest_errors_point_at_file_line_column():
    e = Env("manifest")
    try:
        bad = os.path.join(e.dir, "bad")
        shutil.copytree(EXAMPLE, bad)
        with open(os.path.join(bad, "inputs.yaml"), encoding="utf-8") as f:
            text = f.read()
        with open(os.path.join(bad, "inputs.yaml"), "w", encoding="utf-8") as f:
            f.write(text.replace("cursor_field: event_time", "cursor_feild: event_time"))
        gen(e.data, 100, 10, 1)
        e.setup()
        p = e.ak("product", "deploy", "user_sessions", "--version", "2.0.0", "--dir", bad, code=1)
        check("inputs.yaml:" in p.stderr and "did you mean `cursor_field`" in p.stderr, p.stderr)
        with open(os.path.join(bad, "inputs.yaml"), "w", encoding="utf-8") as f:
            f.write(text)
        with open(os.path.join(bad, "transform.sql"), encoding="utf-8") as f:
            sql = f.read()
        with open(os.path.join(bad, "transform.sql"), "w", encoding="utf-8") as f:
            f.write(sql.replace("e.page_url,", "e.page_urll,"))
        p = e.ak("product", "deploy", "user_sessions", "--version", "2.0.0", "--dir", bad, code=1)
        check("transform.sql:" in p.stderr and "did you mean `page_url`" in p.stderr, p.stderr)
        # the deployed version is untouched, and redeploying it identically is fine
        e.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", EXAMPLE)
        with open(os.path.join(bad, "transform.sql"), "w", encoding="utf-8") as f:
            f.write("-- changed\n" + sql)
        p = e.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", bad, code=1)
        check("already deployed with different manifests" in p.stderr, p.stderr)
        check("1.0.0" in e.ak("product", "show", "user_sessions").stdout, "show")
        expl = e.ak("explain", "user_sessions").stdout
        check("WINDOW" in expl and "LEFT JOIN" in expl and "columns kept" in expl, expl)
    finally:
        e.close()


@test
def generator_connector_publishes_fresh_data():
    e = Env("generator")
    try:
        e.ak("connection", "create", "--name", "production-events", "--connector-type", "generator", "--config",
             '{"events": 3000, "users": 200, "seed": 4}')
        e.ak("connection", "create", "--name", "production-db", "--connector-type", "generator", "--config",
             '{"users": 200, "seed": 4}')
        check("ready" in e.ak("connection", "test", "production-events").stdout, "generator test")
        e.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics")
        e.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", EXAMPLE)
        p = run_once(e)
        check("succeeded" in p.stdout and "3000 records" not in p.stdout, p.stdout)
        n = e.ak("query", "--format", "csv", "SELECT COUNT(*) AS n, COUNT(DISTINCT country) AS c FROM analytics.user_sessions").stdout
        check(int(n.splitlines()[1].split(",")[0]) > 50, n)
        p = run_once(e)
        check(" 0 records read" in p.stdout, f"a second run has nothing new: {p.stdout}")
    finally:
        e.close()


@test
def continuous_run_follows_and_stops_on_signal():
    """`run start` without --once follows appended data; SIGTERM finishes the
    batch and exits 0; the result equals the oracle over everything."""
    e = Env("cont")
    try:
        lines = e.generated(6000, 300, 8)
        click = os.path.join(e.data, "clickstream.ndjson")
        with open(click, "w") as f:
            f.writelines(lines[:2000])
        e.setup()
        proc = subprocess.Popen([e.bin, "run", "start", "user_sessions", "--interval", "0.2"], env=e.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(2.5)
            with open(click, "a") as f:
                f.writelines(lines[2000:])
            deadline = time.time() + 60
            want = oracle_rows([click], [os.path.join(e.data, "user_profiles.ndjson")], e.dir)
            while time.time() < deadline:
                if e.rows(candidate=True) == want:
                    break
                time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        check(proc.returncode == 0, f"exit {proc.returncode}: {err[-2000:]}")
        check("stopped" in out, out)
        # the stop made the state durable: the next start restores it
        last = err[err.rfind("batch "):]
        check("checkpoint" in last, f"no checkpoint after the last batch:\n{err[-1500:]}")
        p = e.ak("run", "start", "user_sessions", "--once", ok=False)
        check("state restored from checkpoint" in p.stderr and " 0 records read" in p.stdout, p.stderr[-1500:])
        same_rows(e.rows(candidate=True), want, "continuous run")
    finally:
        e.close()


@test
def killed_run_recovers_without_loss():
    """kill -9 in the middle of a run: the next run finishes the job and the
    result equals the oracle (uncommitted log tail discarded, nothing doubled)."""
    e = Env("kill")
    try:
        gen(e.data, 60000, 2000, 13)
        e.setup()
        for delay in (0.3, 0.8):
            proc = subprocess.Popen([e.bin, "run", "start", "user_sessions", "--once"], env=e.env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            proc.kill()
            proc.wait()
        run_once(e, ok=False)
        want = oracle_rows([os.path.join(e.data, "clickstream.ndjson")], [os.path.join(e.data, "user_profiles.ndjson")],
                           e.dir)
        same_rows(e.rows(candidate=True), want, "after kills")
        lst = "\n".join(runs(e))
        check("failed" in lst or "blocked" in lst, lst)
    finally:
        e.close()


@test
def faults_fail_cleanly_and_the_next_run_recovers():
    """The Nth allocation, write or fsync fails (AKILI_FAIL_ALLOC / _WRITE /
    _FSYNC) while runs read new data, restore and write checkpoints: each
    such run fails with an error (no crash, no sanitizer report) or finishes,
    and a run without faults ends with the result equal to the oracle."""
    e = Env("faults")
    try:
        lines = e.generated(24000, 900, 31)
        click = os.path.join(e.data, "clickstream.ndjson")
        open(click, "w").close()
        e.setup()
        faults = [("AKILI_FAIL_WRITE", n) for n in (1, 2, 5, 20, 200)] + \
                 [("AKILI_FAIL_FSYNC", n) for n in (1, 2, 3, 4, 6)] + \
                 [("AKILI_FAIL_ALLOC", n) for n in (50, 3000, 40000, 150000, 400000)]
        chunk = len(lines) // (len(faults) + 1)
        failed = 0
        for i, (var, n) in enumerate([(None, 0)] + faults):
            with open(click, "a") as f:
                f.writelines(lines[i * chunk:(i + 1) * chunk])
            p = run_once(e, ok=False, env={var: str(n)} if var else None)
            text = p.stdout + p.stderr
            check("AddressSanitizer" not in text and "runtime error" not in text and "LeakSanitizer" not in text,
                  f"{var}={n}: sanitizer report\n{text[-3000:]}")
            check(p.returncode in (0, 1), f"{var}={n}: exit {p.returncode}\n{text[-2000:]}")
            if "akili: error:" in p.stderr:  # (exit 1 without it: the seed's critical checks hold the changes)
                check(var is not None and p.returncode == 1, f"{var}={n}: exit {p.returncode}\n{p.stderr[-2000:]}")
                failed += 1
        check(failed >= 8, f"only {failed} of {len(faults)} injected faults made a run fail")
        with open(click, "a") as f:
            f.writelines(lines[(len(faults) + 1) * chunk:])
        p = run_once(e, ok=False)
        check("akili: error:" not in p.stderr, p.stderr[-2000:])
        want = oracle_rows([click], [os.path.join(e.data, "user_profiles.ndjson")], e.dir)
        same_rows(e.rows(candidate=True), want, "after injected faults")
    finally:
        e.close()


@test
def transient_errors_retry_with_backoff():
    """Source reads that fail for a while (AKILI_FAIL_READ=N:K) and a serving
    store locked by another process are retried with backoff and the run
    succeeds; an outage longer than compute.retries fails the run loudly, and
    the next run ends with the published table equal to the oracle."""
    import sqlite3
    import threading
    e = Env("retries")
    try:
        lines = e.generated(9000, 400, 37, ["--null-user-fraction", "0"])
        click = os.path.join(e.data, "clickstream.ndjson")
        man = manifests_with(e, "compute.yaml", "retries: 3", "retries: 2")
        e.setup(manifests=man)
        third = len(lines) // 3

        def want():
            rows = oracle_rows([click], [os.path.join(e.data, "user_profiles.ndjson")], e.dir)
            check(len(rows) > 100, f"only {len(rows)} sessions")
            return rows

        def append(part, mode="a"):
            with open(click, mode, encoding="utf-8") as f:
                f.writelines(part)
            return {"AKILI_NOW": plus_minutes(last_event_time(click), 5)}  # the checks' clock: fresh

        # 1. two reads in a row fail: retried after 1 s and 2 s, nothing lost
        now = append(lines[:third], "w")
        p = run_once(e, env=dict(now, AKILI_FAIL_READ="2:2"))
        check("retry 1 of 2 in 1 s" in p.stderr and "retry 2 of 2 in 2 s" in p.stderr,
              f"backoff logged:\n{p.stderr[-1500:]}")
        same_rows(e.rows(env=now), want(), "after a transient read outage")
        # 2. an outage longer than the retries fails loudly
        now = append(lines[third:2 * third])
        p = run_once(e, ok=False, env=dict(now, AKILI_FAIL_READ="1:50"))
        check(p.returncode == 1 and "reading input" in p.stderr and "failed 3 times in a row (compute.retries is 2)"
              in p.stderr, f"gave up loudly:\n{p.stderr[-1500:]}")
        check("failed" in "\n".join(runs(e)), "recorded as failed")
        # 3. the serving store is locked by another writer for ~2.5 s
        now = append(lines[2 * third:])
        db = os.path.join(e.home, "serving", "analytics.db")
        locked, release = threading.Event(), threading.Event()

        def hold():
            c = sqlite3.connect(db, timeout=30, isolation_level=None)
            c.execute("BEGIN EXCLUSIVE")
            locked.set()
            release.wait(2.5)
            c.execute("ROLLBACK")
            c.close()
        t = threading.Thread(target=hold)
        t.start()
        locked.wait(30)
        try:
            p = run_once(e, env=dict(now, AKILI_SQLITE_BUSY_MS="100"))
        finally:
            release.set()
            t.join()
        check("publishing to the serving store failed" in p.stderr and "retry 1 of 2" in p.stderr,
              f"publish retried:\n{p.stderr[-1500:]}")
        same_rows(e.rows(env=now), want(), "after a locked store")
    finally:
        e.close()


@test
def state_inspect_shows_holders_and_oldest_key():
    """`state inspect` reports, as of the last checkpoint, every holder of
    state with its size and keys, and the oldest key: for the session
    operator, the user whose newest event is the oldest (computed here from
    the data)."""
    e = Env("inspect")
    try:
        gen(e.data, 15000, 300, 41)
        e.setup()
        out = e.ak("state", "inspect", "user_sessions").stdout
        check("no state yet" in out, out)
        run_once(e, ok=False)
        newest = {}
        with open(os.path.join(e.data, "clickstream.ndjson"), encoding="utf-8") as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                u, t = ev.get("user_id"), ev.get("event_time")
                if u is not None and isinstance(t, str) and t > newest.get(u, ""):
                    newest[u] = t
        idle = min(newest.values())
        rep = json.loads(e.ak("state", "inspect", "user_sessions", "--format", "json").stdout)
        holders = {h["name"]: h for h in rep["holders"]}
        check(rep["checkpoint"] >= 1 and rep["disk_bytes"] > 0, f"checkpoint figures: {rep}")
        sess = holders.get("#1 session")
        # (events without a user form one more partition)
        check(sess and sess["keys"] in (len(newest), len(newest) + 1),
              f"session keys: {sess and sess['keys']} for {len(newest)} users")
        who = [u for u, t in newest.items() if t == idle]
        check(any(sess["oldest"].startswith(f"user_id={u} ") for u in who) and idle[:19] in sess["oldest"],
              f"oldest key {sess['oldest']!r}, expected one of {who} at {idle}")
        check(holders["input clickstream"]["keys"] > 14000 and holders["serving sink"]["bytes"] > 0, str(holders))
        table = e.ak("state", "inspect", "user_sessions").stdout
        check("OLDEST KEY" in table and "#1 session" in table and sess["oldest"] in table, table)
    finally:
        e.close()


@test
def retention_deletes_expired_rows_everywhere():
    """output.retention (1 day here): after every run the published table
    equals the oracle's rows whose session_start is at most a day before the
    newest event_time consumed; rows expire from the table (and from the
    state) as the data moves on, across restarts and a rebuild."""
    import datetime
    e = Env("retention")
    try:
        lines = e.generated(12000, 500, 43, ["--null-user-fraction", "0"])
        lines.sort(key=lambda l: json.loads(l).get("event_time") or "")  # the data moves on in time
        cut = plus_minutes(json.loads(lines[0])["event_time"], 3 * 24 * 60)
        lines = [l for l in lines if json.loads(l)["event_time"] < cut]  # (not the generator's far stragglers)
        third = len(lines) // 3
        click = os.path.join(e.data, "clickstream.ndjson")
        man = manifests_with(e, "output.yaml", "days: 90", "days: 1")
        e.setup(manifests=man)

        def ts(s):
            return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))

        expired_before = None
        for k, part in enumerate((lines[:third], lines[third:2 * third], lines[2 * third:])):
            with open(click, "a", encoding="utf-8") as f:
                f.writelines(part)
            now = {"AKILI_NOW": plus_minutes(last_event_time(click), 5)}
            run_once(e, env=now)
            horizon = ts(last_event_time(click)) - datetime.timedelta(days=1)
            every = oracle_rows([click], [os.path.join(e.data, "user_profiles.ndjson")], e.dir)
            want = [r for r in every if ts(json.loads(r)["session_start"]) >= horizon]
            check(len(want) > 50, f"part {k}: only {len(want)} sessions retained")
            if k == 2:
                check(len(want) < len(every) * 0.8, f"too little expires: {len(want)} of {len(every)}")
            same_rows(e.rows(env=now), want, f"retained rows after part {k}")
            rep = json.loads(e.ak("state", "inspect", "user_sessions", "--format", "json").stdout)
            ret = {h["name"]: h for h in rep["holders"]}["retention"]
            check(ret["keys"] == len(want), f"retention state holds {ret['keys']} rows for {len(want)} retained")
            expired_before = ret
        check("expired so far" in expired_before["what"] and " 0 expired" not in expired_before["what"],
              expired_before["what"])
        # a new version rebuilds from the logs: the same rows
        e.ak("product", "deploy", "user_sessions", "--version", "1.1.0", "--dir", man)
        run_once(e, env=now)
        same_rows(e.rows(env=now), want, "retained rows after a rebuild")
    finally:
        e.close()


@test
def compaction_bounds_state_and_applies_late_changes_exactly():
    """With a 1-day retention, the state of sessions behind the horizon is
    compacted: the input table and the session window hold about a day of
    events, not the history.  A late event behind the horizon (opening a
    session, so the user's later sessions are renumbered), a CDC delete of a
    compacted event, and a late event read by a run that crashed before its
    checkpoint, are each applied exactly by a rebuild from the logs."""
    import datetime
    e = Env("compaction")
    try:
        evs = [json.loads(l) for l in e.generated(16000, 300, 47, ["--null-user-fraction", "0"])]
        evs.sort(key=lambda v: v.get("event_time") or "")
        cut = plus_minutes(evs[0]["event_time"], 4 * 24 * 60)
        evs = [v for v in evs if v["event_time"] < cut]
        click = os.path.join(e.data, "clickstream.ndjson")
        prof = [os.path.join(e.data, "user_profiles.ndjson")]
        man = manifests_with(e, "output.yaml", "days: 90", "days: 1")
        e.setup(manifests=man)

        def ts(s):
            return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))

        def iso(t):
            return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

        def compare(what):
            now = {"AKILI_NOW": plus_minutes(last_event_time(click), 5)}
            horizon = ts(last_event_time(click)) - datetime.timedelta(days=1)
            want = [r for r in oracle_rows([click], prof, e.dir) if ts(json.loads(r)["session_start"]) >= horizon]
            same_rows(e.rows(env=now), want, what)
            return now, want

        def holders():
            rep = json.loads(e.ak("state", "inspect", "user_sessions", "--format", "json").stdout)
            return {h["name"]: h for h in rep["holders"]}

        quarter = len(evs) // 4
        for k in range(4):
            write_events(click, evs[k * quarter:(k + 1) * quarter if k < 3 else len(evs)])
            run_once(e, env={"AKILI_NOW": plus_minutes(last_event_time(click), 5)})
            now, want = compare(f"after part {k}")
        h = holders()
        consumed = len(evs)
        table, sess = h["input clickstream"], h["#1 session"]
        check(table["keys"] < consumed * 0.45, f"the input table holds {table['keys']} of {consumed} events")
        forgotten = int(re.search(r"\((\d+) rows forgotten\)", sess["what"]).group(1))
        rows = int(re.search(r"partitions, (\d+) rows", sess["what"]).group(1))
        check(forgotten > consumed * 0.4 and rows < consumed * 0.6, f"session window: {sess['what']}")
        check("0 rebuilds" in table["what"], table["what"])

        # a late event 30 hours behind the newest, in a gap of its user's
        # events: a new session, so that user's retained sessions renumber
        newest = ts(last_event_time(click))
        late_t = newest - datetime.timedelta(hours=30)
        by_user = {}
        for v in evs:
            by_user.setdefault(v["user_id"], []).append(ts(v["event_time"]))
        user = next(u for u, times in sorted(by_user.items())
                    if all(abs((t - late_t).total_seconds()) > 3600 for t in times)
                    and any(t > newest - datetime.timedelta(hours=20) for t in times))
        before = [r for r in want if json.loads(r)["user_id"] == user]

        def commit_seq():
            c = sqlite3.connect(os.path.join(e.home, "serving", "analytics.db"))
            try:
                return c.execute("SELECT commit_seq FROM _akili_tables WHERE name = 'user_sessions'").fetchone()[0]
            finally:
                c.close()

        seq = commit_seq()
        write_events(click, [{"event_id": "late-1", "user_id": user, "page_url": "/late", "referrer_url": None,
                              "user_agent": "ua", "ip_address": "10.0.0.1", "event_time": iso(late_t),
                              "session_id": "s"}])
        p = run_once(e, env=now)
        now, want = compare("after a late event behind the horizon")
        check("rebuilding the state from the input logs" in p.stderr, f"a rebuild: {p.stderr[-1500:]}")
        after = [r for r in want if json.loads(r)["user_id"] == user]
        check(before and after and before != after, f"{user}'s retained sessions renumbered: {before} {after}")
        check("1 rebuild " in holders()["input clickstream"]["what"], "one rebuild counted")
        check(commit_seq() > seq, f"commit numbers go on after a rebuild: {seq} -> {commit_seq()}")

        # a CDC delete of an event compacted away
        old = next(v for v in evs if ts(v["event_time"]) < newest - datetime.timedelta(hours=40))
        write_events(click, [{"op": "d", "before": old, "after": None, "ts_ms": 1}])
        p = run_once(e, env=now)
        compare("after a delete behind the horizon")
        check("rebuilding the state" in p.stderr, f"a rebuild for the delete: {p.stderr[-1500:]}")

        # a crash after the late event is committed: the restart rebuilds
        write_events(click, [{"event_id": "late-2", "user_id": user, "page_url": "/later", "referrer_url": None,
                              "user_agent": "ua", "ip_address": "10.0.0.1",
                              "event_time": iso(late_t - datetime.timedelta(hours=3)), "session_id": "s"}])
        proc = subprocess.Popen([e.bin, "run", "start", "user_sessions", "--once"],
                                env=dict(e.env, AKILI_CRASH_AT="positions-committed", **now),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc.wait(timeout=300)
        check(proc.returncode != 0, "the crash point was reached")
        p = run_once(e, env=now)
        compare("after a crash with a late event in the log")
        check("rebuilding the state" in p.stderr, f"the restart rebuilds: {p.stderr[-1500:]}")
        # and the state is compacted again
        run_once(e, env=now)
        compare("after the next run")
        check(holders()["input clickstream"]["keys"] < consumed * 0.45, "compacted again")
    finally:
        e.close()


@test
def timeout_fails_loudly_and_loses_nothing():
    """A --once run longer than compute.timeout fails loudly; what it read is
    committed, and a later run ends with the result equal to the oracle."""
    e = Env("timeout")
    try:
        gen(e.data, 150000, 4000, 23)
        man = manifests_with(e, "compute.yaml", "timeout: 240", "timeout: 1")
        e.setup(manifests=man)
        p = run_once(e, ok=False)
        check(p.returncode == 1 and "compute.timeout" in p.stderr, f"timed out loudly: {p.stderr[-800:]}")
        check("failed" in "\n".join(runs(e)), "recorded as failed")
        # with a generous timeout the next version's run completes, nothing lost
        e.ak("product", "deploy", "user_sessions", "--version", "1.1.0", "--dir", EXAMPLE)
        run_once(e, ok=False)
        want = oracle_rows([os.path.join(e.data, "clickstream.ndjson")], [os.path.join(e.data, "user_profiles.ndjson")],
                           e.dir)
        same_rows(e.rows(candidate=True), want, "after timeouts")
    finally:
        e.close()


def payments_changelog(path, n, seed):
    """Debezium changes of a payments table: creates, status/amount updates,
    deletes (some through the Connect wrapper), tombstones, out of order."""
    import random
    rnd = random.Random(seed)
    base = 1795334400000  # ms: 2026-11-22T08:00Z; with now = 2026-11-23T12:00Z, some are older than 24 h
    rows, lines = {}, []
    for i in range(n):
        pid = f"p{i}"
        t = base + rnd.randint(0, 30 * 3600 * 1000)
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 1000)) + f".{t % 1000:03d}Z"
        row = {"payment_id": pid, "customer_id": f"c{rnd.randint(1, n // 4 + 1)}", "amount": rnd.randint(100, 90000),
               "currency": rnd.choice(["EUR", "USD", "KES", "NGN"]), "status": rnd.choice(["pending", "succeeded", "failed"]),
               "created_at": ts}
        rows[pid] = row
        lines.append({"before": None, "after": row, "op": "c", "ts_ms": t, "source": {"table": "payments"}})
        r = rnd.random()
        if r < 0.3:
            new = dict(row, status="succeeded", amount=row["amount"] + rnd.randint(-50, 50))
            lines.append({"before": row, "after": new, "op": "u", "ts_ms": t + 1})
            rows[pid] = new
        elif r < 0.38:
            env = {"before": row, "after": None, "op": "d", "ts_ms": t + 2}
            lines.append({"schema": {"type": "struct"}, "payload": env} if rnd.random() < 0.5 else env)
            lines.append(None)  # tombstone
            del rows[pid]
    # mostly in order, with some disorder
    for k in range(len(lines) // 20):
        a = rnd.randrange(len(lines) - 1)
        if lines[a] and lines[a + 1] and lines[a].get("after", {}) and lines[a + 1].get("after", {}) and \
                lines[a]["after"]["payment_id"] != lines[a + 1]["after"]["payment_id"]:
            lines[a], lines[a + 1] = lines[a + 1], lines[a]
    with open(path, "w", encoding="utf-8") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")


def payment_metrics_oracle(work, changelogs, now, keyed=True):
    """examples/payment_metrics' transform as a batch (DuckDB) over the
    table the changelog files describe, with NOW() = now."""
    spec = "payment_id:VARCHAR,customer_id:VARCHAR,amount:BIGINT,currency:VARCHAR,status:VARCHAR,created_at:TIMESTAMP"
    mat = os.path.join(work, "payments.ndjson")
    subprocess.run([sys.executable, os.path.join(ORACLE, "materialize.py"), "--quiet"] +
                   (["--key", "payment_id"] if keyed else []) + ["--columns", spec, "--out", mat] + list(changelogs),
                   check=True)
    with open(os.path.join(ROOT, "examples/payment_metrics/transform.sql"), encoding="utf-8") as f:
        sql = f.read().replace("NOW()", f"TIMESTAMP '{now[:-1]}'")
    qf = os.path.join(work, "q.sql")
    with open(qf, "w", encoding="utf-8") as f:
        f.write(sql)
    out = os.path.join(work, "duck.ndjson")
    subprocess.run(["node", os.path.join(ORACLE, "duck.mjs"), "--table", f"payments_realtime={mat}:{spec}",
                    "--sql", qf, "--out", out], check=True, capture_output=True)
    with open(out, encoding="utf-8") as f:
        return sorted(f.read().splitlines(keepends=True), key=lambda s: s.encode())


@test
def payment_metrics_cdc_windows_equal_duckdb():
    """The second pattern: payment CDC (updates, deletes, wrapper,
    tombstones) into 1-minute windows with COUNT(DISTINCT) and a FLOAT ratio
    over the last 24 hours; equal to DuckDB over the materialized table, and
    the reconciliation check passes."""
    e = Env("payments")
    try:
        payments_changelog(os.path.join(e.data, "cdc.payments.ndjson"), 3000, 9)
        e.ak("connection", "create", "--name", "payments-cdc", "--connector-type", "file", "--config",
             json.dumps({"path": e.data}))
        e.ak("product", "create", "--name", "payment_metrics", "--namespace", "realtime")
        e.ak("product", "deploy", "payment_metrics", "--version", "1.0.0", "--dir",
             os.path.join(ROOT, "examples/payment_metrics"))
        now = "2026-11-23T12:00:00Z"
        p = e.ak("run", "start", "payment_metrics", "--once", env={"AKILI_NOW": now})
        check("succeeded" in p.stdout, p.stdout)
        want = payment_metrics_oracle(e.dir, [os.path.join(e.data, "cdc.payments.ndjson")], now)
        got = e.rows(sql="SELECT * FROM realtime.payment_metrics", env={"AKILI_NOW": now})
        check(len(want) > 100, f"{len(want)} windows")
        same_rows(got, want, "payment metrics")
        q = e.ak("governance", "quality", "payment_metrics").stdout
        check("counts_reconcile" in q and "FAIL" not in q, q)
        # the API query of the seed over the view
        api = ("SELECT minute_window, SUM(transaction_count) AS transactions, SUM(total_amount) AS revenue, "
               "AVG(success_rate) AS avg_success_rate FROM realtime.mv_payment_metrics WHERE minute_window >= "
               "NOW() - INTERVAL '1 hour' GROUP BY minute_window ORDER BY minute_window DESC")
        e.ak("query", api.replace("realtime.mv_payment_metrics", "realtime.payment_metrics"), env={"AKILI_NOW": now})
    finally:
        e.close()


# ---------------------------------------------------------------- SQL vs DuckDB

OUT_SPEC = ("user_id:VARCHAR,username:VARCHAR,account_type:VARCHAR,country:VARCHAR,session_num:BIGINT,"
            "session_start:TIMESTAMP,session_end:TIMESTAMP,session_duration_seconds:BIGINT,page_views:BIGINT,"
            "landing_page:VARCHAR,exit_page:VARCHAR,entry_referrer:VARCHAR")


def value_rows(text):
    """JSON lines -> sorted list of value tuples (column names differ between engines)."""
    rows = []
    for line in text.splitlines():
        if line.strip():
            obj = json.loads(line, object_pairs_hook=list)
            rows.append(json.dumps([v for _, v in obj]))
    return sorted(rows)


@test
def sql_queries_equal_duckdb():
    """tests/sql/queries.sql: aggregates, windows, joins, subqueries, set
    operations, dates, strings, casts: akili's answers equal DuckDB's."""
    e = Env("sql")
    try:
        gen(e.data, 8000, 300, 17)
        e.setup()
        now = {"AKILI_NOW": "2026-11-10T00:00:00Z"}
        run_once(e, ok=False, env=now)
        dump = os.path.join(e.dir, "user_sessions.ndjson")
        with open(dump, "w", encoding="utf-8") as f:
            f.write(e.ak("query", "--candidate", "--format", "json", "SELECT * FROM analytics.user_sessions").stdout)
        with open(os.path.join(ROOT, "tests/sql/queries.sql"), encoding="utf-8") as f:
            text = f.read()
        queries = [q.strip() for q in text.split("\n;\n") if q.strip()]
        queries = [q for q in ("\n".join(l for l in q.splitlines() if not l.startswith("--")).strip()
                               for q in queries) if q]
        check(len(queries) >= 30, f"{len(queries)} queries")
        bad = []
        for i, q in enumerate(queries):
            got = e.ak("query", "--candidate", "--format", "json", q, ok=False, env=now)
            qf = os.path.join(e.dir, f"q{i}.sql")
            with open(qf, "w", encoding="utf-8") as f:
                f.write(q)
            out = os.path.join(e.dir, f"q{i}.duck")
            d = subprocess.run(["node", os.path.join(ORACLE, "duck.mjs"), "--table", f"user_sessions={dump}:{OUT_SPEC}",
                                "--sql", qf, "--out", out], capture_output=True, text=True)
            if got.returncode != 0 or d.returncode != 0:
                bad.append(f"query {i + 1}: akili exit {got.returncode} {got.stderr.strip()[:300]} / duckdb exit "
                           f"{d.returncode} {d.stderr.strip()[-300:]}\n  {q[:120]}")
                continue
            with open(out, encoding="utf-8") as f:
                want = value_rows(f.read())
            have = value_rows(got.stdout)
            if have != want:
                diff_a = sorted(set(have) - set(want))[:2]
                diff_d = sorted(set(want) - set(have))[:2]
                bad.append(f"query {i + 1}: {len(have)} vs {len(want)} rows\n  {q[:160]}\n  akili only: {diff_a}\n"
                           f"  duckdb only: {diff_d}")
        check(not bad, "\n".join(bad))
    finally:
        e.close()


# ---------------------------------------------------------------- the 1M-event set

def ensure_big(name, extra):
    d = os.path.join(BIG, name)
    if not os.path.exists(os.path.join(d, "manifest.json")):
        gen(d, 1000000, 50000, 42, extra)
    return d


@test
def one_million_events_equal_duckdb():
    """gen.py --events 1000000 --users 50000 --seed 42: 209,745 sessions equal
    to DuckDB's; with NULL users publishing is blocked (no_null_users,
    freshness) while the candidate equals DuckDB; without them and the clock
    pinned 5 minutes after the last event it publishes."""
    if not os.path.exists(AKILI_RELEASE):
        raise Failure(f"{AKILI_RELEASE} not built")
    for name, extra in (("1m", []), ("1m-nonull", ["--null-user-fraction", "0"])):
        d = ensure_big(name, extra)
        e = Env(f"big-{name}", binary=AKILI_RELEASE)
        try:
            e.setup(data_dir=d)
            env = {}
            if extra:
                env["AKILI_NOW"] = plus_minutes(last_event_time(os.path.join(d, "clickstream.ndjson")), 5)
            t0 = time.time()
            p = run_once(e, ok=False, env=env)
            secs = time.time() - t0
            got = e.rows(candidate=not extra, env=env)
            if extra:
                check(p.returncode == 0, f"clean 1M publishes: {p.stdout}{p.stderr[-1500:]}")
            else:
                check(p.returncode == 1 and "no_null_users" in p.stdout and "freshness" in p.stdout,
                      f"1M with NULL users is blocked by no_null_users and freshness: {p.stdout}")
                check(len(got) == 209745, f"209,745 sessions, got {len(got)}")
            want = oracle_rows([os.path.join(d, "clickstream.ndjson")], [os.path.join(d, "user_profiles.ndjson")],
                               e.dir, duck=True)
            same_rows(got, want, f"1M ({name})")
            print(f"     1M {name}: run {secs:.1f} s, {len(got)} rows", flush=True)
        finally:
            e.close()


def run_tests(tests):
    """Runs the tests whose name contains the argument of -k (all without
    one), printing a line per test; returns (passed, failed).  Shared by the
    test drivers of tests/sources and tests/lake."""
    only = sys.argv[sys.argv.index("-k") + 1] if "-k" in sys.argv else None
    passed = failed = 0
    for t in tests:
        if only and only not in t.__name__:
            continue
        t0 = time.time()
        try:
            t()
            passed += 1
            print(f"ok   {t.__name__} ({time.time() - t0:.1f} s)", flush=True)
        except Failure as ex:
            failed += 1
            print(f"FAIL {t.__name__}: {ex}", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {t.__name__}: {traceback.format_exc()}", flush=True)
    return passed, failed


def main():
    passed, failed = run_tests(TESTS)
    print(f"pipeline: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
