#!/usr/bin/env python3
"""test_lake.py - the flagship product (output.format: iceberg) publishes
each micro-batch to its Iceberg table as well as to the serving store.

    python3 tests/lake/test_lake.py [-k SUBSTRING] [--keep]

After every run the lake table's rows, read by icebird (tests/lake/
ice_rows.mjs: metadata, Avro manifests, Parquet, equality deletes) and by
`akili lake scan`, equal `akili query` over the serving table, which equals
the batch oracle.  A kill -9 between the serving commit and the lake commit
leaves the lake one publish behind; the restart commits exactly that
publish (never a second copy, never a gap in the commit numbers).  AKILI
(default build/asan/akili) is the binary under test.  Ends with "lake: N
passed, M failed"; exit status 1 on any failure.

`akili lake restore` rebuilds a deleted serving store from the lake; the
next run carries on from its checkpoint and ends equal to the oracle; an
older snapshot needs --force and the next run rebuilds its state.
"""
import datetime
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "pipeline"))
import test_pipeline as tp  # noqa: E402  (Env, gen, oracle_rows, run_once)

check = tp.check
Failure = tp.Failure
TESTS = []
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test(fn):
    TESTS.append(fn)
    return fn


def canon(lines):
    """Rows (JSON lines) as sorted tuples; timestamps as microseconds, so
    `...:00Z` and `...:00.000Z` compare equal."""
    out = []
    for line in lines:
        r = json.loads(line)
        row = []
        for k in sorted(r):
            v = r[k]
            if isinstance(v, str) and ISO.match(v):
                t = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
                v = ("ts", int(t.timestamp()) * 1000000 + t.microsecond)
            row.append((k, v))
        out.append(tuple(row))
    return sorted(out, key=repr)


def same(got, want, what):
    if got == want:
        return
    g, w = set(got), set(want)
    raise Failure(f"{what}: {len(got)} rows vs {len(want)}\n  only in the first: {sorted(g - w, key=repr)[:2]}\n"
                  f"  only in the second: {sorted(w - g, key=repr)[:2]}")


class Lake:
    def __init__(self, e, catalog_db=None):
        self.e = e
        self.dir = os.path.join(e.home, "lake", "analytics", "user_sessions")
        self.catalog_db = catalog_db  # a SQLite catalog: icebird reads the metadata file it records

    def env(self):
        if not self.catalog_db:
            return None
        loc = jdbc_location(self.catalog_db)[0]
        return dict(os.environ, ICE_METADATA=loc)

    def icebird(self, snapshot=None):
        p = subprocess.run(["node", os.path.join(HERE, "ice_rows.mjs"), self.dir] + ([str(snapshot)] if snapshot else []),
                           capture_output=True, text=True, timeout=120, env=self.env())
        if p.returncode:
            raise Failure(f"icebird could not read the table: {p.stderr[-2000:]}")
        return canon(p.stdout.splitlines())

    def scan(self, snapshot=None):
        args = ["lake", "scan", "user_sessions", "--format", "json"] + (["--snapshot", str(snapshot)] if snapshot else [])
        return canon(self.e.ak(*args).stdout.splitlines())

    def snapshots(self):
        """(id, operation, commit_seq) oldest first."""
        out = self.e.ak("lake", "snapshots", "user_sessions").stdout.splitlines()
        check(out and out[0].startswith("snapshot_id,"), f"lake snapshots prints a header: {out}")
        return [(int(x.split(",")[0]), x.split(",")[2], int(x.split(",")[3])) for x in out[1:]]

    def summary(self):
        p = subprocess.run(["node", os.path.join(HERE, "ice_rows.mjs"), self.dir], capture_output=True, text=True,
                           timeout=120, env=self.env())
        return json.loads(p.stderr.splitlines()[-1])["summary"]


def jdbc_location(db, name="user_sessions"):
    """(metadata_location, previous_metadata_location) of the table in a
    SQLite catalog laid out as the Iceberg JDBC catalog's iceberg_tables."""
    c = sqlite3.connect(db)
    try:
        r = c.execute("SELECT metadata_location, previous_metadata_location FROM iceberg_tables WHERE "
                      "catalog_name = 'lakehouse' AND table_namespace = 'analytics' AND table_name = ?",
                      (name,)).fetchall()
    finally:
        c.close()
    check(len(r) == 1, f"one iceberg_tables row for the table: {r}")
    return r[0]


def serving_commit(e):
    c = sqlite3.connect(os.path.join(e.home, "serving", "analytics.db"))
    try:
        return c.execute("SELECT commit_seq FROM _akili_tables WHERE name = 'user_sessions'").fetchone()[0]
    finally:
        c.close()


def now_for(click):
    return tp.plus_minutes(tp.last_event_time(click), 5)


def all_equal(e, lake, click, prof, what, oracle=True):
    """icebird == akili lake scan == akili query (== the oracle)."""
    now = {"AKILI_NOW": now_for(click)}
    served = canon(e.rows(env=now))
    check(len(served) > 0, f"{what}: the serving table has rows")
    same(lake.icebird(), served, f"{what}: icebird vs akili query")
    same(lake.scan(), served, f"{what}: akili lake scan vs akili query")
    if oracle:
        same(served, canon(tp.oracle_rows([click], [prof], e.dir)), f"{what}: akili query vs the oracle")
    return served


def seqs_ok(e, lake, what):
    """Commit numbers of the lake's snapshots: 1, 2, ... with no gap or
    repeat, the last one the serving table's."""
    s = [x[2] for x in lake.snapshots() if x[1] != "replace"]  # (a compaction repeats its publish's number)
    check(s == list(range(s[0], s[0] + len(s))) if s else False, f"{what}: lake commit numbers consecutive: {s}")
    check(s[-1] == serving_commit(e), f"{what}: lake at commit {s[-1]}, serving table at {serving_commit(e)}")
    return s


def staged_data(e, seed):
    """A data set split in two: the first part of the clickstream and half
    the profiles, then the rest (late events among them) and profile updates
    that move users to other countries (their sessions change partition)."""
    src = os.path.join(e.dir, "src")
    tp.gen(src, 12000, 500, seed, ["--null-user-fraction", "0"])
    with open(os.path.join(src, "clickstream.ndjson"), encoding="utf-8") as f:
        lines = f.readlines()
    with open(os.path.join(src, "user_profiles.ndjson"), encoding="utf-8") as f:
        profs = f.readlines()
    updates = []
    for line in profs[:: 7]:
        p = json.loads(line)
        p["country"] = "ZZ" if p.get("country") != "ZZ" else "YY"
        p["account_type"] = "enterprise"
        p["updated_at"] = "2026-10-30T00:00:00Z"
        updates.append(json.dumps(p) + "\n")
    cut = len(lines) * 6 // 10
    return (lines[:cut], profs), (lines[cut:], updates)


def first_part(e, seed):
    """staged_data's first part fed and the product deployed: (lake, click,
    prof, second part)."""
    (c1, p1), second = staged_data(e, seed)
    click = os.path.join(e.data, "clickstream.ndjson")
    prof = os.path.join(e.data, "user_profiles.ndjson")
    feed(click, c1)
    feed(prof, p1)
    e.setup()
    return Lake(e), click, prof, second


def feed(path, lines):
    with open(path, "a", encoding="utf-8") as f:
        f.writelines(lines)


def run(e, click, env=None):
    env = dict(env or {}, AKILI_NOW=now_for(click))
    return tp.run_once(e, env=env)


@test
def lake_follows_serving_through_late_events_and_profile_moves():
    e = tp.Env("lake")
    try:
        lake, click, prof, (c2, p2) = first_part(e, 21)
        run(e, click)
        all_equal(e, lake, click, prof, "first run")
        s1 = lake.snapshots()
        check(len(s1) == 1 and s1[0][1] == "append", f"one append snapshot after the first run: {s1}")
        parts = set()
        for root, _, files in os.walk(os.path.join(lake.dir, "data")):
            if any(f.endswith(".parquet") for f in files):
                parts.add(os.path.relpath(root, os.path.join(lake.dir, "data")))
        check(any(p.startswith("session_start_day=") and "/country=" in p for p in parts),
              f"data files partitioned by day(session_start) and country: {sorted(parts)[:3]}")
        feed(click, c2)
        feed(prof, p2)
        run(e, click)
        all_equal(e, lake, click, prof, "second run")
        s2 = lake.snapshots()
        check(len(s2) == 2 and s2[1][1] == "overwrite", f"the second run adds one overwrite snapshot: {s2}")
        sm = lake.summary()
        check(int(sm.get("added-equality-delete-files", 0)) > 0 and int(sm.get("added-data-files", 0)) > 0,
              f"changed sessions are equality deletes plus new data files: {sm}")
        check(sm.get("akili.commit-seq") == str(serving_commit(e)), f"the summary carries the commit number: {sm}")
        seqs_ok(e, lake, "after two runs")
        # an older snapshot still reads as the first run's table
        same(lake.icebird(s1[0][0]), lake.scan(s1[0][0]), "first snapshot: icebird vs lake scan")
        # nothing new: one snapshot per serving publish, if any (no data files)
        sc = serving_commit(e)
        run(e, click)
        s3 = lake.snapshots()
        check(len(s3) == 2 + serving_commit(e) - sc, f"a run with nothing new: {s3}, serving commit {sc} -> "
                                                   f"{serving_commit(e)}")
        seqs_ok(e, lake, "a run with nothing new")
    finally:
        e.close()


def crash_and_restart(point):
    e = tp.Env(f"lake-crash-{point}")
    try:
        lake, click, prof, (c2, p2) = first_part(e, 22)
        run(e, click)
        feed(click, c2)
        feed(prof, p2)
        env = dict(e.env, AKILI_NOW=now_for(click), AKILI_CRASH_AT=point)
        p = subprocess.run([e.bin, "run", "start", "user_sessions", "--once"], env=env, capture_output=True,
                           text=True, timeout=300)
        check(p.returncode == -9, f"killed at {point} (exit {p.returncode}): {p.stderr[-1500:]}")
        sc = serving_commit(e)
        ls = [x[2] for x in lake.snapshots()]
        check(ls and ls[-1] == sc - 1, f"killed after the serving commit {sc}: the lake is at {ls}")
        run(e, click)
        seqs_ok(e, lake, f"restart after a kill at {point}")
        all_equal(e, lake, click, prof, f"restart after a kill at {point}")
        check(serving_commit(e) >= sc, "the serving table kept its publish")
        # and the next publish follows on
        more = [json.dumps({"event_id": f"x{i}", "user_id": "user-1", "page_url": "/late", "referrer_url": None,
                            "event_time": tp.last_event_time(click)}) + "\n" for i in range(2)]
        feed(click, more)
        run(e, click)
        seqs_ok(e, lake, f"the publish after the restart ({point})")
        all_equal(e, lake, click, prof, f"the publish after the restart ({point})", oracle=False)
    finally:
        e.close()


@test
def kill_between_serving_and_lake_commit_neither_misses_nor_doubles():
    crash_and_restart("lake-commit")


@test
def kill_right_after_serving_commit_neither_misses_nor_doubles():
    crash_and_restart("sink-committed")


@test
def table_replaced_whole_replaces_lake_files():
    e = tp.Env("lake-replace")
    try:
        (c1, p1), (c2, p2) = staged_data(e, 23)
        click = os.path.join(e.data, "clickstream.ndjson")
        prof = os.path.join(e.data, "user_profiles.ndjson")
        feed(click, c1 + c2)
        feed(prof, p1 + p2)
        e.setup()
        lake = Lake(e)
        run(e, click)
        before = lake.summary()
        e.ak("run", "reset", "user_sessions")
        run(e, click)
        sm = lake.summary()
        check(sm["operation"] == "overwrite" and sm.get("deleted-data-files") == before.get("total-data-files"),
              f"the rebuilt table removes every live file: {sm} (before: {before})")
        check(sm.get("total-data-files") == sm.get("added-data-files"), f"only the new files are live: {sm}")
        seqs_ok(e, lake, "after a rebuild")
        all_equal(e, lake, click, prof, "after a rebuild")
    finally:
        e.close()


@test
def sqlite_catalog_records_every_snapshot_in_iceberg_tables():
    """output.lake.catalog: sqlite (a jdbc:sqlite: URI, a catalog name):
    each commit swaps metadata_location in iceberg_tables (the previous one
    kept), no version-hint.text is written, icebird reads the table through
    the recorded file and equals akili lake scan, query and the oracle; the
    same folder opened through the file-system catalog is refused rather
    than taken for a new table."""
    e = tp.Env("lake-sqlcat")
    try:
        (c1, p1), (c2, p2) = staged_data(e, 25)
        click = os.path.join(e.data, "clickstream.ndjson")
        prof = os.path.join(e.data, "user_profiles.ndjson")
        feed(click, c1)
        feed(prof, p1)
        db = os.path.join(e.dir, "catalog", "iceberg.db")
        os.makedirs(os.path.dirname(db))
        opts = f"  lake:\n    catalog: sqlite\n    catalog_db: jdbc:sqlite:file:{db}\n    catalog_name: lakehouse\n"
        man = tp.manifests_with(e, "output.yaml", "format: iceberg\n", "format: iceberg\n" + opts)
        e.setup(manifests=man)
        lake = Lake(e, db)
        run(e, click)
        loc1, prev1 = jdbc_location(db)
        check(re.search(r"/metadata/\d{5}-[0-9a-f-]{36}\.metadata\.json$", loc1) and prev1,
              f"the catalog records a numbered metadata file and the previous one: {loc1}, {prev1}")
        check(not os.path.exists(os.path.join(lake.dir, "metadata", "version-hint.text")),
              "no version-hint.text beside a SQLite catalog")
        all_equal(e, lake, click, prof, "sqlite catalog, first run")
        feed(click, c2)
        feed(prof, p2)
        run(e, click)
        loc2, prev2 = jdbc_location(db)
        check(loc2 != loc1 and os.path.exists(loc2.replace("file:", "", 1)),
              f"the second run moved the catalog to a new metadata file: {loc1} -> {loc2}")
        all_equal(e, lake, click, prof, "sqlite catalog, second run")
        seqs_ok(e, lake, "sqlite catalog")
        # the file-system catalog finds no table there, and must not make one
        e2 = tp.Env("lake-sqlcat-fs")
        try:
            e2.setup(manifests=tp.manifests_with(e2, "output.yaml", "format: iceberg\n",
                                                 f"format: iceberg\n  warehouse: {os.path.join(e.home, 'lake')}\n"))
            shutil.copy(click, e2.data)
            shutil.copy(prof, e2.data)
            p = tp.run_once(e2, env={"AKILI_NOW": now_for(click)})
            check("committed through another catalog" in p.stderr and "output.lake.catalog" in p.stderr,
                  f"a folder holding another catalog's table is refused with what to do: {p.stderr[-1500:]}")
            check(jdbc_location(db)[0] == loc2, "and the SQLite catalog's table is untouched")
            all_equal(e, lake, click, prof, "after the refused open")
        finally:
            e2.close()
    finally:
        e.close()


@test
def lake_cli_help_and_errors():
    e = tp.Env("lake-cli")
    try:
        out = e.ak("lake", "scan", "--help").stdout
        check("--snapshot" in out and "--format" in out, f"lake scan --help: {out}")
        e.ak("lake", "scan", code=2)
        e.ak("lake", "scan", "user_sessions", "--snapshot", "x", code=2)
        e.ak("lake", "frob", code=2)
        p = e.ak("lake", "scan", "nosuch", code=1)
        check("nosuch" in p.stderr, f"an unknown product is named: {p.stderr}")
    finally:
        e.close()


def serving_db(e):
    return os.path.join(e.home, "serving", "analytics.db")


@test
def restore_rebuilds_a_lost_serving_table_and_the_next_run_carries_on():
    e = tp.Env("lake-restore")
    try:
        lake, click, prof, (c2, p2) = first_part(e, 24)
        run(e, click)
        before = canon(e.rows(env={"AKILI_NOW": now_for(click)}))
        sc = serving_commit(e)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(serving_db(e) + suffix):
                os.remove(serving_db(e) + suffix)
        out = e.ak("lake", "restore", "user_sessions").stdout
        check(f"{len(before)} rows" in out and f"commit {sc}" in out, f"restore says what it did: {out}")
        same(canon(e.rows(env={"AKILI_NOW": now_for(click)})), before, "the restored table vs the lost one")
        check(serving_commit(e) == sc, f"the restored table is at commit {serving_commit(e)}, the lake's is {sc}")
        feed(click, c2)
        feed(prof, p2)
        p = run(e, click)
        check("state restored from checkpoint" in p.stderr and "rebuilding the state" not in p.stderr,
              f"the run after the restore carries on from its checkpoint: {p.stderr[-1500:]}")
        all_equal(e, lake, click, prof, "the run after a restore")
        seqs_ok(e, lake, "the run after a restore")
    finally:
        e.close()


@test
def restore_an_older_snapshot_needs_force_and_the_next_run_rebuilds():
    e = tp.Env("lake-restore-old")
    try:
        lake, click, prof, (c2, p2) = first_part(e, 25)
        run(e, click)
        feed(click, c2)
        feed(prof, p2)
        run(e, click)
        first = lake.snapshots()[0][0]
        p = e.ak("lake", "restore", "user_sessions", "--snapshot", str(first), code=1)
        check("--force" in p.stderr and "newer" in p.stderr, f"an older snapshot needs --force: {p.stderr}")
        e.ak("lake", "restore", "user_sessions", "--snapshot", str(first), "--force")
        same(canon(e.rows(env={"AKILI_NOW": now_for(click)})), lake.scan(first), "the table is the first snapshot's")
        p = run(e, click)
        check("rebuilding the state" in p.stderr, f"a table behind the checkpoint: the state is rebuilt: {p.stderr[-1500:]}")
        all_equal(e, lake, click, prof, "the run after restoring an older snapshot")
    finally:
        e.close()


@test
def restore_errors():
    e = tp.Env("lake-restore-errors")
    try:
        out = e.ak("lake", "restore", "--help").stdout
        check("--snapshot" in out and "--force" in out, f"lake restore --help: {out}")
        e.ak("lake", "restore", code=2)
        e.ak("lake", "restore", "user_sessions", "--snapshot", "x", code=2)
        p = e.ak("lake", "restore", "nosuch", code=1)
        check("nosuch" in p.stderr, f"an unknown product is named: {p.stderr}")
        _, click, _, _ = first_part(e, 26)
        p = e.ak("lake", "restore", "user_sessions", code=1)
        check("no snapshot" in p.stderr or "does not exist" in p.stderr or "no such" in p.stderr.lower(),
              f"no lake table yet: {p.stderr}")
        run(e, click)
        p = e.ak("lake", "restore", "user_sessions", "--snapshot", "12345", code=1)
        check("12345" in p.stderr, f"an unknown snapshot is named: {p.stderr}")
        # a run in progress holds the product (once it has published: started)
        env = dict(e.env, AKILI_NOW=now_for(click))
        log = os.path.join(e.dir, "run.log")
        with open(log, "w") as lf:
            ak = subprocess.Popen([e.bin, "run", "start", "user_sessions"], env=env, stdout=lf, stderr=lf)
        try:
            deadline = time.time() + 60
            while time.time() < deadline and ak.poll() is None:
                with open(log) as lf:
                    if "records" in lf.read():
                        break
                time.sleep(0.1)
            p = e.ak("lake", "restore", "user_sessions", ok=False)
            check(ak.poll() is None and p.returncode == 1 and "in progress" in p.stderr,
                  f"refused while a run is in progress: {p.returncode} {p.stdout} {p.stderr}")
        finally:
            ak.send_signal(signal.SIGTERM)
            ak.wait(timeout=60)
        man = tp.manifests_with(e, "output.yaml", "format: iceberg", "format: table")
        e.ak("product", "deploy", "user_sessions", "--version", "2.0.0", "--dir", man)
        p = e.ak("lake", "restore", "user_sessions", code=1)
        check("does not publish to the lake" in p.stderr, f"a product without a lake: {p.stderr}")
    finally:
        e.close()


def main():
    if not os.path.isdir(os.path.join(ROOT, "tests", "oracle", "node_modules", "icebird")):
        print("test_lake: tests/oracle/node_modules missing (run tests/oracle/setup.sh)")
        print("lake: 0 passed, 1 failed")
        return 1
    passed, failed = tp.run_tests(TESTS)
    print(f"lake: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
