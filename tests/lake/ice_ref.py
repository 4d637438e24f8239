#!/usr/bin/python3
"""ice_ref.py TABLE_DIR - the rows of an Iceberg table at its current
snapshot, read without icebird and without akili: the metadata JSON and the
Avro manifest list and manifests with Apache's python3-avro (ice_files.py),
the Parquet data and delete files with DuckDB (pq_rows.mjs), and the v2
spec's equality deletes applied here: a delete file's row removes the rows
of data files in the same partition with a smaller data sequence number
that equal it on the delete file's equality field ids.  Prints the live
rows as JSON lines, like ice_rows.mjs.  Run with /usr/bin/python3 (python3-avro).
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ice_files  # noqa: E402


def main():
    table = sys.argv[1]
    out = ice_files.table_files(table)
    with open(out["metadata"]) as f:
        md = json.load(f)
    schema = next(s for s in md["schemas"] if s["schema-id"] == md["current-schema-id"])
    name_of = {fl["id"]: fl["name"] for fl in schema["fields"]}
    live = out["live"]
    paths = [f["path"] for f in live]
    rows = {p: [] for p in paths}
    if paths:
        p = subprocess.run(["node", os.path.join(HERE, "pq_rows.mjs")] + paths, capture_output=True, text=True,
                           timeout=300)
        if p.returncode:
            sys.exit(f"ice_ref: DuckDB could not read the files: {p.stderr[-2000:]}")
        for line in p.stdout.splitlines():
            r = json.loads(line)
            rows[r["file"]].append(r["row"])
    part = lambda f: json.dumps(f["partition"], sort_keys=True, default=str)  # noqa: E731
    deletes = []  # (partition, seq, column names, set of value tuples)
    for f in live:
        if f["content"] == 1:
            sys.exit("ice_ref: position deletes are not read here")
        if f["content"] == 2:
            cols = [name_of[i] for i in f["equality_ids"]]
            deletes.append((part(f), f["seq"], cols, {tuple(r[c] for c in cols) for r in rows[f["path"]]}))
    for f in live:
        if f["content"] != 0:
            continue
        mine = [d for d in deletes if d[0] == part(f) and d[1] > f["seq"]]
        for r in rows[f["path"]]:
            if not any(tuple(r[c] for c in cols) in keys for _, _, cols, keys in mine):
                print(json.dumps(r))


if __name__ == "__main__":
    main()
