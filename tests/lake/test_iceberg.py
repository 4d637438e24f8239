#!/usr/bin/env python3
"""tests/lake/test_iceberg.py - Iceberg tables written by akili's table layer,
read back by independent readers.

Parquet data and equality-delete files are written by DuckDB with field ids
(tests/lake/ice_data.mjs), committed by the C layer (build/asan/tests/
lake_ice_tool, built by `make unit`), then after every step:
  - icebird (JS) reads the table - metadata JSON via version-hint.text, Avro
    manifest list and manifests, Parquet, equality deletes - and its rows must
    equal this script's model of the table (tests/lake/ice_check.mjs);
  - avrocat (avro-c) and Apache's python3-avro (/usr/bin/python3) read every
    manifest and manifest list, which must carry the Iceberg metadata keys;
  - every metadata JSON parses and the current one says what happened.
Steps: append, second append, equality deletes, a row moved between
partitions, a compaction-style replace, snapshot reads by id, expiry, a
90-day-style partition drop; plus negative controls (a wrong expected set and
a damaged manifest must be caught).  Ends with `iceberg: N passed, M failed`.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests", "lake")
TOOL = os.path.join(ROOT, "build", "asan", "tests", "lake_ice_tool")
SYS_PY = "/usr/bin/python3"

passed = failed = 0
sizes = []  # (step, manifest bytes, list bytes, metadata bytes)


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}" + (f"\n{detail}" if detail else ""))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


AVRO_CHECK = r'''
import json, sys, warnings
import avro.datafile, avro.io
warnings.simplefilter("ignore")
REQUIRED = {"manifest_entry": ["schema", "schema-id", "partition-spec", "partition-spec-id", "format-version", "content"],
            "manifest_file": ["snapshot-id", "parent-snapshot-id", "sequence-number", "format-version"]}
bad = 0
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as fh:
            r = avro.datafile.DataFileReader(fh, avro.io.DatumReader())
            sch = json.loads(r.meta["avro.schema"])
            recs = list(r)
            missing = [k for k in REQUIRED.get(sch.get("name"), ["?"]) if k not in r.meta]
            ok = not missing and b"field-id" in r.meta["avro.schema"] and r.meta.get("format-version") == b"2"
            if sch.get("name") == "manifest_entry":
                spec = json.loads(r.meta["partition-spec"])
                ok = ok and [f["transform"] for f in spec] == ["day", "identity"]
                ok = ok and all(set(e["data_file"]["partition"]) == {"session_start_day", "country"} for e in recs)
            if not ok:
                bad += 1
                print(f"FAIL: {path}: missing {missing}")
    except Exception as e:
        bad += 1
        print(f"FAIL: {path}: {e}")
print(f"checked {len(sys.argv) - 1} files, {bad} bad")
sys.exit(1 if bad else 0)
'''


class Table:
    def __init__(self, work):
        self.wh = os.path.join(work, "wh")
        self.dir = os.path.join(self.wh, "db", "sessions")
        self.work = work
        self.rows = {}        # session_id -> row (the model)
        self.files = {}       # rel path -> (content, partition)
        self.n = 0

    def tool(self, *args):
        r = run([TOOL, self.wh, "db", "sessions", *args])
        if r.returncode != 0:
            raise RuntimeError(f"ice_tool {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    @staticmethod
    def part(row):
        ts = row["session_start"]
        return (ts[:10] if ts else None, row["country"])

    def new_path(self, part):
        return self.tool("path", part[0] or "\\N", part[1] if part[1] is not None else "\\N").strip()

    def write(self, specs):
        """specs: [(kind, part, rows)] -> [(rel, info)] after DuckDB wrote them."""
        job = {"files": []}
        rels = []
        for kind, part, rows in specs:
            rel = self.new_path(part)
            rels.append((rel, kind, part))
            job["files"].append({"path": os.path.join(self.dir, rel), "kind": kind, "rows": rows})
        jp, op = os.path.join(self.work, "job.json"), os.path.join(self.work, "out.json")
        with open(jp, "w") as f:
            json.dump(job, f)
        r = run(["node", os.path.join(HERE, "ice_data.mjs"), jp, op])
        if r.returncode != 0:
            raise RuntimeError("ice_data.mjs: " + r.stderr[-2000:])
        with open(op) as f:
            out = json.load(f)["files"]
        return [(rel, kind, part, info) for (rel, kind, part), info in zip(rels, out)]

    def commit(self, step, written, remove=(), op=None):
        lines = [f"op\t{op}"] if op else []
        for rel, kind, part, info in written:
            content = 0 if kind == "data" else 2
            eq = "1" if kind == "eqdel" else "-"
            lines.append("\t".join(["add", str(content), rel, str(info["rows"]), str(info["bytes"]), eq,
                                    part[0] or "\\N", part[1] if part[1] is not None else "\\N"]))
            for c in info["cols"]:
                lines.append("\t".join(["col", str(c["field_id"]), str(c["values"]), str(c["nulls"]),
                                        str(c["bytes"]), c["min"] if c["min"] is not None else "\\N",
                                        c["max"] if c["max"] is not None else "\\N"]))
            self.files[rel] = (content, part)
        for rel in remove:
            lines.append(f"remove\t{rel}")
            del self.files[rel]
        sp = os.path.join(self.work, "spec.tsv")
        with open(sp, "w") as f:
            f.write("\n".join(lines) + "\n")
        out = self.tool("commit", sp).split()
        st = dict(zip(out[1::2], out[2::2]))
        sizes.append((step, int(st["manifest_bytes"]), int(st["list_bytes"]), int(st["metadata_bytes"])))
        return st["snapshot"]

    def data_files(self, part=None, content=None):
        return [r for r, (c, p) in self.files.items() if (part is None or p == part) and (content is None or c == content)]

    def verify(self, step, snapshot=None, rows=None):
        rows = list((rows if rows is not None else self.rows).values())
        ep = os.path.join(self.work, "expected.json")
        with open(ep, "w") as f:
            json.dump(rows, f)
        r = run(["node", os.path.join(HERE, "ice_check.mjs"), self.dir, ep] + ([snapshot] if snapshot else []))
        check(r.returncode == 0, f"{step}: icebird reads the expected {len(rows)} rows", r.stdout[-3000:] + r.stderr[-2000:])
        md = os.path.join(self.dir, "metadata")
        avros = sorted(os.path.join(md, f) for f in os.listdir(md) if f.endswith(".avro"))
        bad = []
        for a in avros:
            c = run(["avrocat", a])
            if c.returncode != 0 or not c.stdout.strip():
                bad.append(f"{os.path.basename(a)}: {c.stderr.strip()[:200]}")
        check(not bad, f"{step}: avrocat reads all {len(avros)} manifests and lists", "\n".join(bad))
        c = run([SYS_PY, "-c", AVRO_CHECK, *avros])
        check(c.returncode == 0, f"{step}: python3-avro reads them with the Iceberg metadata keys", c.stdout[-2000:] + c.stderr[-1000:])
        metas = [f for f in os.listdir(md) if f.endswith(".metadata.json")]
        okj = True
        for m in metas:
            try:
                with open(os.path.join(md, m)) as f:
                    json.load(f)
            except ValueError:
                okj = False
        check(okj and metas, f"{step}: {len(metas)} metadata JSON files parse")

    def current_meta(self):
        with open(os.path.join(self.dir, "metadata", "version-hint.text")) as f:
            v = f.read().strip()
        with open(os.path.join(self.dir, "metadata", f"v{v}.metadata.json")) as f:
            return json.load(f)


def row(sid, user, start, country, events, revenue):
    return {"session_id": sid, "user_id": user, "session_start": start, "country": country, "events": events,
            "revenue": revenue}


def group(rows):
    parts = {}
    for r in rows:
        parts.setdefault(Table.part(r), []).append(r)
    return parts


def main():
    if not os.path.exists(TOOL):
        r = run(["make", "-C", ROOT, "--no-print-directory", "build/asan/tests/lake_ice_tool"])
        if r.returncode != 0:
            print(r.stdout[-2000:] + r.stderr[-2000:])
    if not os.path.isdir(os.path.join(ROOT, "tests", "oracle", "node_modules", "icebird")):
        run([os.path.join(ROOT, "tests", "oracle", "setup.sh")])
    for need, what in ((TOOL, "make unit"), (os.path.join(ROOT, "tests", "oracle", "node_modules", "icebird"),
                                              "tests/oracle/setup.sh"), (shutil.which("avrocat"), "apt-get install avro-bin")):
        if not need or not os.path.exists(need):
            check(False, f"missing {need or 'avrocat'}: run {what}")
            print(f"iceberg: {passed} passed, {failed} failed")
            return 1
    work = tempfile.mkdtemp(prefix="ak_ice_lake_")
    try:
        run_steps(Table(work))
    except Exception as e:  # a step that cannot run counts as a failure
        check(False, f"step raised: {e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("metadata bytes per snapshot (manifests written + manifest list + metadata JSON):")
    for step, m, l, j in sizes:
        print(f"  {step:<28} {m:>6} + {l:>5} + {j:>6} = {m + l + j:>6}")
    print(f"iceberg: {passed} passed, {failed} failed")
    return 1 if failed else 0


def sqlite_catalog(t, written):
    import sqlite3
    db = os.path.join(t.work, "catalog.db")
    env = dict(os.environ, ICE_CATALOG_DB=db)
    r = run([TOOL, t.wh, "db", "sessions_sql", "create"], env=env)
    check(r.returncode == 0, "sqlite catalog: create", r.stderr)
    lines = []
    for rel, _, part, info in written:
        lines.append("\t".join(["add", "0", os.path.join(t.dir, rel), str(info["rows"]), str(info["bytes"]), "-",
                                part[0] or "\\N", part[1] if part[1] is not None else "\\N"]))
    sp = os.path.join(t.work, "spec_sql.tsv")
    with open(sp, "w") as f:
        f.write("\n".join(lines) + "\n")
    with sqlite3.connect(db) as c:
        first = c.execute("SELECT metadata_location FROM iceberg_tables WHERE catalog_name = 'akili' "
                          "AND table_namespace = 'db' AND table_name = 'sessions_sql'").fetchone()
    r = run([TOOL, t.wh, "db", "sessions_sql", "commit", sp], env=env)
    check(r.returncode == 0, "sqlite catalog: commit", r.stderr)
    with sqlite3.connect(db) as c:
        cur, prev = c.execute("SELECT metadata_location, previous_metadata_location FROM iceberg_tables "
                              "WHERE table_name = 'sessions_sql'").fetchone()
    check(first and prev == first[0] and cur != prev and os.path.exists(cur[len("file://"):]),
          "sqlite catalog: metadata_location moved, previous kept", f"{first} {cur} {prev}")
    with open(cur[len("file://"):]) as f:
        md = json.load(f)
    check(md["snapshots"][0]["summary"]["total-records"] == "8", "sqlite catalog: the snapshot is there")


def run_steps(t):
    out = t.tool("create")
    check("snapshot -1" in out, "create: a new table has no snapshot")
    check(os.path.exists(os.path.join(t.dir, "metadata", "v1.metadata.json")), "create: v1.metadata.json")

    # 1. append: three days (one 100 days old), two countries, NULL country and NULL start
    first = [row(1, "u1", "2026-11-01T10:00:00.000Z", "KE", 3, 1.5), row(2, "u2", "2026-11-01T11:30:00.000Z", "KE", 1, 0.0),
             row(3, "u3", "2026-11-01T12:00:00.000Z", "KE", 7, 9.25), row(4, "u1", "2026-11-02T08:00:00.000Z", "UG", 2, None),
             row(5, "u4", "2026-11-02T09:00:00.000Z", None, 5, 2.5), row(6, "u5", None, "KE", 1, 1.0),
             row(7, "u6", "2026-08-01T10:00:00.000Z", "KE", 4, 4.0), row(8, "u7", "2026-08-02T10:00:00.000Z", "UG", 6, 6.5)]
    w = t.write([("data", p, rs) for p, rs in group(first).items()])
    s1 = t.commit("append", w)
    t.rows.update({r["session_id"]: r for r in first})
    t.verify("append")
    md = t.current_meta()
    snap = [s for s in md["snapshots"] if str(s["snapshot-id"]) == s1][0]
    check(snap["summary"]["operation"] == "append" and snap["summary"]["added-records"] == "8"
          and snap["summary"]["total-records"] == "8", "append: summary", json.dumps(snap["summary"]))
    check([f["transform"] for f in md["partition-specs"][0]["fields"]] == ["day", "identity"], "append: spec day + identity")
    check(int(s1) < 2 ** 53, "append: snapshot id below 2^53")

    # the SQLite catalog (the Iceberg JDBC catalog's iceberg_tables): the same files in a second table
    sqlite_catalog(t, w)

    # 2. second append, into existing and new partitions
    second = [row(9, "u8", "2026-11-01T13:00:00.000Z", "KE", 2, 3.0), row(10, "u9", "2026-11-03T00:00:00.000Z", "TZ", 8, 8.0),
              row(11, "u1", "2026-11-02T10:00:00.000Z", "UG", 1, 0.5), row(12, "u2", None, None, 0, None)]
    s2 = t.commit("second append", t.write([("data", p, rs) for p, rs in group(second).items()]))
    t.rows.update({r["session_id"]: r for r in second})
    t.verify("second append")
    rows_s2 = dict(t.rows)

    # 3. equality deletes on the output key, in the partitions of the deleted rows
    gone = [2, 9, 11]
    dels = {}
    for k in gone:
        dels.setdefault(Table.part(t.rows[k]), []).append({"session_id": k})
    s3 = t.commit("equality deletes", t.write([("eqdel", p, rs) for p, rs in dels.items()]))
    for k in gone:
        del t.rows[k]
    t.verify("equality deletes")
    rows_s3 = dict(t.rows)
    md = t.current_meta()
    summ = [s for s in md["snapshots"] if str(s["snapshot-id"]) == s3][0]["summary"]
    check(summ["operation"] == "delete" and summ.get("added-equality-deletes") == "3"
          and summ.get("total-delete-files") == str(len(dels)), "equality deletes: summary", json.dumps(summ))

    # 4. a row moves between partitions: delete in the old one + the new row, one snapshot
    old = t.rows[3]
    moved = dict(old, session_start="2026-11-02T12:00:00.000Z", country="UG", events=8)
    w = t.write([("eqdel", Table.part(old), [{"session_id": 3}]), ("data", Table.part(moved), [moved])])
    s4 = t.commit("move between partitions", w)
    t.rows[3] = moved
    t.verify("move between partitions")
    summ = [s for s in t.current_meta()["snapshots"] if str(s["snapshot-id"]) == s4][0]["summary"]
    check(summ["operation"] == "overwrite", "move: an overwrite snapshot", json.dumps(summ))

    # 5. compaction-style replace of one partition: its data and delete files become one file
    p = ("2026-11-01", "KE")
    live = [r for r in t.rows.values() if Table.part(r) == p]
    old_files = t.data_files(part=p)
    w = t.write([("data", p, live)])
    s5 = t.commit("compaction replace", w, remove=old_files, op="replace")
    t.verify("compaction replace")
    summ = [s for s in t.current_meta()["snapshots"] if str(s["snapshot-id"]) == s5][0]["summary"]
    check(summ["operation"] == "replace" and summ.get("removed-delete-files") == "2", "replace: summary", json.dumps(summ))
    scan = t.tool("scan").splitlines()
    check(sum(1 for l in scan if l.split("\t")[5:7] == list(p)) == 1, "replace: one live file left in the partition",
          "\n".join(scan))

    # 6. time travel: earlier snapshots by id still read as they were
    t.verify("snapshot by id (2nd append)", snapshot=s2, rows=rows_s2)
    t.verify("snapshot by id (deletes)", snapshot=s3, rows=rows_s3)

    # 7. expiry: keep only the current snapshot; the compacted-away files go
    removed = [os.path.join(t.dir, f) for f in old_files]
    check(all(os.path.exists(f) for f in removed), "expiry: replaced files still there before expiry")
    out = t.tool("expire", str(2 ** 62), "1", "1").split()
    st = dict(zip(out[1::2], out[2::2]))
    check(st["expired"] == "4", "expiry: 4 snapshots expired", " ".join(out))
    check(not any(os.path.exists(f) for f in removed), "expiry: files of expired snapshots only are deleted")
    referenced = {l.split("\t")[1] for l in t.tool("scan").splitlines()}
    on_disk = {os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(t.dir, "data")) for f in fs}
    check(on_disk == referenced, "expiry: every data file left is live and every live file exists",
          f"orphans {sorted(on_disk - referenced)}\nmissing {sorted(referenced - on_disk)}")
    md = t.current_meta()
    check(len(md["snapshots"]) == 1 and len(md["metadata-log"]) <= 1, "expiry: one snapshot, metadata log trimmed")
    mdfiles = [f for f in os.listdir(os.path.join(t.dir, "metadata")) if f.endswith(".metadata.json")]
    check(len(mdfiles) == 2, f"expiry: 2 metadata files kept ({len(mdfiles)})")
    t.verify("expiry")
    r = run(["node", os.path.join(HERE, "ice_check.mjs"), t.dir, os.path.join(t.work, "expected.json"), s2])
    check(r.returncode != 0, "expiry: the expired snapshot is no longer readable")

    # 8. retention 90 days, policy delete: partitions older than the horizon dropped by metadata only
    out = t.tool("drop", "2026-09-01T00:00:00Z").split()
    st = dict(zip(out[1::2], out[2::2]))
    sizes.append(("partition drop", int(st["manifest_bytes"]), int(st["list_bytes"]), int(st["metadata_bytes"])))
    check(st["snapshot"] != "-1", "drop: a snapshot was committed")
    t.rows = {k: r for k, r in t.rows.items() if not (r["session_start"] and r["session_start"] < "2026-09-01")}
    check(len(t.rows) == 7, f"drop: 7 rows stay ({len(t.rows)})")
    t.verify("partition drop")
    md = t.current_meta()
    summ = [s for s in md["snapshots"] if str(s["snapshot-id"]) == st["snapshot"]][0]["summary"]
    check(summ["operation"] == "delete" and summ["deleted-data-files"] == "2" and "added-data-files" not in summ,
          "drop: a delete snapshot removing 2 files, adding none", json.dumps(summ))
    days = {l.split("\t")[5] for l in t.tool("scan").splitlines()}
    check(not any(d != "\\N" and d < "2026-09-01" for d in days), "drop: no old partition is live", str(days))
    out = t.tool("drop", "2026-09-01T00:00:00Z").split()
    check(out[2] == "-1", "drop: nothing left to drop, no snapshot")

    # negative controls: the checks can fail
    wrong = dict(t.rows)
    wrong.pop(next(iter(wrong)))
    ep = os.path.join(t.work, "wrong.json")
    with open(ep, "w") as f:
        json.dump(list(wrong.values()), f)
    r = run(["node", os.path.join(HERE, "ice_check.mjs"), t.dir, ep])
    check(r.returncode != 0 and "FAIL" in r.stdout, "negative control: a missing row is reported")
    md_dir = os.path.join(t.dir, "metadata")
    man = sorted((f for f in os.listdir(md_dir) if f.endswith("-m0.avro") or "-m" in f and f.endswith(".avro")
                  and not f.startswith("snap-")), key=lambda f: os.path.getmtime(os.path.join(md_dir, f)))[-1]
    mp = os.path.join(md_dir, man)
    with open(mp, "rb") as f:
        orig = f.read()
    with open(mp, "wb") as f:
        f.write(orig[: len(orig) - 40])
    r1 = run(["avrocat", mp])
    r2 = run([TOOL, t.wh, "db", "sessions", "scan"])
    check(r2.returncode != 0 and "Avro" in r2.stderr, "negative control: a truncated manifest fails the scan cleanly",
          r2.stderr[-500:])
    check(r1.returncode != 0 or "rror" in r1.stderr, "negative control: avrocat notices the truncated manifest",
          r1.stdout[-300:] + r1.stderr[-300:])
    with open(mp, "wb") as f:
        f.write(orig)


if __name__ == "__main__":
    sys.exit(main())
