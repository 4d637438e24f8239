#!/usr/bin/env python3
"""test_lake_maint.py - keeping the flagship's Iceberg table small and
within its retention, at the product level.

    python3 tests/lake/test_lake_maint.py [-k SUBSTRING] [--keep]

- retention (`days: 90, policy: delete`, events over 130 days): the
  partitions of days wholly older than the horizon leave the table by
  metadata alone (no equality delete written in them, nothing rewritten),
  every other partition stays, and the rows icebird reads equal the serving
  table and the oracle's rows within the horizon;
- 100 publishes with compaction and expiry (compact_files 4, keep 5
  snapshots): a bounded number of files on disk, far fewer than the
  publishes wrote, the compacted files recorded in the table's sort order
  (the serving sort key), and the rows still equal;
- `compression: snappy` writes snappy files (zstd by default), as DuckDB's
  parquet_metadata sees them;
- files a kill left between writing and committing (a data file before the
  snapshot, a compacted file before the replace) are removed at restart.

Table contents are read by icebird (tests/lake/ice_rows.mjs) and the files
the metadata references by python3-avro (tests/lake/ice_files.py).  Ends
with "lake-maint: N passed, M failed".
"""
import datetime
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "pipeline"))
sys.path.insert(0, HERE)
import test_pipeline as tp  # noqa: E402
import test_lake as tl  # noqa: E402  (Lake, canon, same)

check = tp.check
Failure = tp.Failure
TESTS = []
DAY = datetime.timedelta(days=1)
T0 = datetime.datetime(2026, 5, 1, tzinfo=datetime.timezone.utc)


def test(fn):
    TESTS.append(fn)
    return fn


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def files(lake):
    p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "ice_files.py"), lake.dir], capture_output=True,
                       text=True, timeout=120)
    if p.returncode:
        raise Failure(f"ice_files.py could not read {lake.dir}: {p.stderr[-2000:]}")
    return json.loads(p.stdout)


def on_disk(lake, sub):
    out = []
    for root, _, names in os.walk(os.path.join(lake.dir, sub)):
        out += [os.path.join(root, n) for n in names if n.endswith((".parquet", ".avro"))]
    return out


def day_of(part):
    """The day (a date) of a manifest partition tuple's session_start_day."""
    v = part["session_start_day"]
    if isinstance(v, int):
        return (datetime.datetime(1970, 1, 1) + datetime.timedelta(days=v)).date()
    return datetime.date.fromisoformat(str(v)[:10])


def events(users, days, hours, tag):
    """One event per (user, day, hour): sessions of one event each, hours
    apart, so every (day, hour) is its own session."""
    out = []
    for d in days:
        for h in hours:
            for u in users:
                t = T0 + d * DAY + datetime.timedelta(hours=h, seconds=users.index(u))
                out.append(json.dumps({"event_id": f"{tag}-{u}-{d}-{h}", "user_id": u, "page_url": f"/p{d % 7}",
                                       "referrer_url": None, "user_agent": "ua", "ip_address": "10.0.0.1",
                                       "event_time": iso(t), "session_id": None}) + "\n")
    return out


def profiles(users):
    countries = ["KE", "DE", None, "US"]
    return [json.dumps({"user_id": u, "username": u, "account_type": "free", "signup_date": "2026-01-01",
                        "country": countries[i % len(countries)], "updated_at": "2026-01-01T00:00:00Z"}) + "\n"
            for i, u in enumerate(users)]


def inputs(e, nusers):
    """nusers users with profiles; the two input files."""
    users = [f"u{i}" for i in range(nusers)]
    click = os.path.join(e.data, "clickstream.ndjson")
    prof = os.path.join(e.data, "user_profiles.ndjson")
    tl.feed(prof, profiles(users))
    return users, click, prof


def now(click):
    return {"AKILI_NOW": tp.plus_minutes(tp.last_event_time(click), 5)}


def setup(e, lake_opts=None):
    """The flagship's manifests with an output.lake section."""
    lake = "".join(f"    {k}: {v}\n" for k, v in (lake_opts or {}).items())
    man = tp.manifests_with(e, "output.yaml", "format: iceberg\n",
                            "format: iceberg\n" + ("  lake:\n" + lake if lake else ""))
    e.setup(manifests=man)
    return tl.Lake(e)


def equal_all(e, lake, click, prof, horizon, what):
    served = tl.canon(e.rows(env=now(click)))
    every = tp.oracle_rows([click], [prof], e.dir)
    want = [r for r in every if horizon is None or ts(json.loads(r)["session_start"]) >= horizon]
    tl.same(served, tl.canon(want), f"{what}: akili query vs the oracle within the retention")
    tl.same(lake.icebird(), served, f"{what}: icebird vs akili query")
    return served


@test
def retention_drops_exactly_the_partitions_older_than_90_days():
    e = tp.Env("lake-retention")
    try:
        users, click, prof = inputs(e, 8)
        # days 0..59, then 60..129 with the last event at day 129 12:00: the
        # horizon is day 39 12:00, so days 0..38 expire whole and day 39
        # loses its 06:00 sessions only
        tl.feed(click, events(users, range(0, 60), [6, 18], "a"))
        lake = setup(e)
        tp.run_once(e, env=now(click))
        before = files(lake)
        days_before = {day_of(f["partition"]) for f in before["live"]}
        check(len(days_before) == 60, f"60 day partitions after the first run: {len(days_before)}")
        tl.feed(click, events(users, range(60, 129), [6, 18], "b") + events(users, [129], [6, 12], "b"))
        tp.run_once(e, env=now(click))
        horizon = ts(tp.last_event_time(click)) - 90 * DAY
        check(horizon == T0 + 39 * DAY + datetime.timedelta(hours=12, seconds=7), f"horizon {horizon}")
        served = equal_all(e, lake, click, prof, horizon, "after the horizon moved")
        after = files(lake)
        live_days = {day_of(f["partition"]) for f in after["live"]}
        first = (T0 + 39 * DAY).date()
        check(min(live_days) == first, f"the oldest live partition is day 39 ({first}), not {min(live_days)}")
        check(live_days == {(T0 + d * DAY).date() for d in range(39, 130)}, "every partition from day 39 on stays")
        served_parts = {(day_of({"session_start_day": dict(r)["session_start"][1] // 86400000000}),
                         dict(r)["country"]) for r in served}
        live_parts = {(day_of(f["partition"]), f["partition"]["country"]) for f in after["live"]
                      if f["content"] == 0}
        check(served_parts <= live_parts, "every partition with served rows has its data files")
        # the second run's snapshot: no delete file and no data file in a dropped partition
        last = str(after["current"])
        added = after["added"][last]
        check(not [f for f in added if day_of(f["partition"]) < first],
              f"nothing written in the dropped partitions: {[f['path'] for f in added if day_of(f['partition']) < first][:3]}")
        dels39 = [f for f in added if f["content"] == 2 and day_of(f["partition"]) == first]
        check(dels39, "the 06:00 sessions of day 39 (before the horizon) leave by equality deletes")
        sm = after["snapshots"][-1]["summary"]
        dropped = [f for f in before["live"] if day_of(f["partition"]) < first]
        check(int(sm.get("deleted-data-files", 0)) == len(dropped),
              f"the snapshot removes the {len(dropped)} files of days 0..38: {sm}")
    finally:
        e.close()


@test
def hundred_publishes_with_compaction_and_expiry_keep_files_bounded():
    e = tp.Env("lake-compact")
    try:
        users, click, prof = inputs(e, 6)
        tl.feed(click, events(users, [0, 1], [1], "x"))
        lake = setup(e, {"compact_files": 4, "snapshot_retention": "0s", "keep_snapshots": 5,
                         "expire_interval": "0s"})
        written = 0
        for k in range(100):
            # each run extends sessions on three days (deleting their old rows) and adds new ones
            more = events(users, [k % 3, 3 + k % 2], [1], f"r{k}")
            for i, line in enumerate(more):
                r = json.loads(line)
                r["event_time"] = iso(ts(r["event_time"]) + datetime.timedelta(minutes=1 + k % 20, seconds=k))
                more[i] = json.dumps(r) + "\n"
            tl.feed(click, more)
            tp.run_once(e, env=now(click))
            written = max(written, len(on_disk(lake, "data")))
        fs = files(lake)
        check(len(fs["snapshots"]) <= 5, f"expiry keeps 5 snapshots: {len(fs['snapshots'])}")
        parts = {(str(f["partition"]["session_start_day"]), f["partition"]["country"]) for f in fs["live"]}
        data = on_disk(lake, "data")
        meta = os.listdir(os.path.join(lake.dir, "metadata"))
        check(len(fs["live"]) <= len(parts) * 4, f"{len(fs['live'])} live files in {len(parts)} partitions")
        check(len(data) <= len(parts) * 4 * 2, f"{len(data)} files in data/ for {len(parts)} partitions")
        kinds = {k: sum(1 for m in meta if m.endswith(k)) for k in (".metadata.json", ".avro", ".text")}
        print(f"  metadata/: {kinds}, snapshots {len(fs['snapshots'])}")
        # 10 previous metadata files and the current one; per kept snapshot a
        # manifest list and its new manifests, plus at most 2 x 8 carried ones
        # (merged from 8 on)
        n = len(fs["snapshots"])
        check(kinds[".metadata.json"] <= 11 and kinds[".avro"] <= n + 2 * n + 16, f"files in metadata/: {kinds}")
        check(set(data) <= set(fs["referenced"]), "every file in data/ is one a snapshot refers to")
        sorted_ids = {f["sort_order_id"] for f in fs["live"] if f["content"] == 0}
        order = [o for o in fs["sort_orders"] if o["order-id"] == fs["default_sort_order_id"]]
        check(order and len(order[0]["fields"]) == 2, f"the table's sort order is the serving sort key: {order}")
        check(fs["default_sort_order_id"] in sorted_ids, f"compacted files carry the sort order: {sorted_ids}")
        equal_all(e, lake, click, prof, None, "after 100 publishes")
        commits = [x[2] for x in lake.snapshots()]
        check(commits and commits[-1] == tl.serving_commit(e), f"the lake follows the serving table: {commits}")
        print(f"  100 publishes: {len(data)} data files on disk ({len(fs['live'])} live, {len(parts)} partitions), "
              f"{len(meta)} metadata files, {len(fs['snapshots'])} snapshots")
    finally:
        e.close()


@test
def snappy_on_request_zstd_by_default():
    for codec in ("snappy", None):
        e = tp.Env(f"lake-codec-{codec}")
        try:
            users, click, prof = inputs(e, 4)
            tl.feed(click, events(users, [0, 1], [1, 5], "c"))
            lake = setup(e, {"compression": codec} if codec else None)
            tp.run_once(e, env=now(click))
            data = on_disk(lake, "data")
            p = subprocess.run(["node", os.path.join(HERE, "pq_codecs.mjs")] + data, capture_output=True, text=True,
                               timeout=120)
            check(p.returncode == 0, f"DuckDB reads the files' metadata: {p.stderr[-1000:]}")
            codecs = {c for line in p.stdout.splitlines() for c in json.loads(line)["codecs"]}
            want = (codec or "zstd").upper()
            check(codecs == {want}, f"compression {codec}: DuckDB sees {codecs}")
            equal_all(e, lake, click, prof, None, f"compression {codec}")
        finally:
            e.close()


def crash_leaves_no_orphans(point, lake_opts):
    e = tp.Env(f"lake-orphan-{point}")
    try:
        users, click, prof = inputs(e, 6)
        tl.feed(click, events(users, [0, 1, 2], [1], "x"))
        lake = setup(e, lake_opts)
        for k in range(3):
            tl.feed(click, events(users, [0, 1, 2], [2 + k], f"y{k}"))
            tp.run_once(e, env=now(click))
        tl.feed(click, events(users, [0, 1, 2], [9], "z"))
        env = dict(e.env, AKILI_CRASH_AT=point, **now(click))
        p = subprocess.run([e.bin, "run", "start", "user_sessions", "--once"], env=env, capture_output=True,
                           text=True, timeout=300)
        check(p.returncode == -9, f"killed at {point} (exit {p.returncode}): {p.stderr[-1500:]}")
        stray = set(on_disk(lake, "data")) - set(files(lake)["referenced"])
        check(stray, f"the kill at {point} left files no snapshot refers to")
        tp.run_once(e, env=now(click))
        fs = files(lake)
        left = set(on_disk(lake, "data")) & stray
        check(not left, f"the restart removed the {len(stray)} unreferenced files: {sorted(left)[:3]}")
        check(set(on_disk(lake, "data")) <= set(fs["referenced"]), "no unreferenced file after the restart")
        equal_all(e, lake, click, prof, None, f"after a kill at {point}")
    finally:
        e.close()


@test
def files_of_a_kill_before_the_lake_snapshot_are_removed():
    crash_leaves_no_orphans("lake-commit", {"compaction": "false"})


@test
def files_of_a_kill_before_the_compaction_commit_are_removed():
    crash_leaves_no_orphans("lake-compact", {"compact_files": 2})


if __name__ == "__main__":
    if not os.path.isdir(os.path.join(ROOT, "tests", "oracle", "node_modules", "icebird")):
        print("test_lake_maint: tests/oracle/node_modules missing (run tests/oracle/setup.sh)")
        print("lake-maint: 0 passed, 1 failed")
        sys.exit(1)
    passed, failed = tp.run_tests(TESTS)
    print(f"lake-maint: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
