#!/usr/bin/python3
"""ice_files.py TABLE_DIR - what an Iceberg table's metadata references,
read with Apache's python3-avro (Debian's /usr/bin/python3), as one JSON
object on stdout:

  {"metadata": FILE, "current": ID, "snapshots": [{"id", "operation", "summary"}...],
   "sort_orders": [...], "default_sort_order_id": N,
   "live": [{"content", "path", "partition", "rows", "bytes", "seq", "snapshot_id",
             "sort_order_id", "status"}...],            # the current snapshot's live files
   "added": {SNAPSHOT_ID: [same fields]...},          # files each kept snapshot added
   "referenced": [PATH...]}                            # every file any kept snapshot needs

Data sequence numbers of ADDED entries are inherited from their manifest
as the v2 spec says.
"""
import json
import os
import sys
import warnings

import avro.datafile
import avro.io

warnings.simplefilter("ignore")


def local(uri):
    return uri[len("file://"):] if uri.startswith("file://") else uri


def records(path):
    with open(local(path), "rb") as fh:
        return list(avro.datafile.DataFileReader(fh, avro.io.DatumReader()))


def entries(mf):
    out = []
    for e in records(mf["manifest_path"]):
        d = e["data_file"]
        seq = e.get("sequence_number")
        if seq is None:
            seq = mf["sequence_number"]
        out.append({"content": d["content"], "path": local(d["file_path"]), "partition": d["partition"],
                    "rows": d["record_count"], "bytes": d["file_size_in_bytes"], "seq": seq,
                    "snapshot_id": e.get("snapshot_id") or mf["added_snapshot_id"],
                    "sort_order_id": d.get("sort_order_id"), "status": e["status"],
                    "equality_ids": d.get("equality_ids")})
    return out


def table_files(table):
    """The object described above, for a table folder."""
    table = os.path.abspath(table)
    md_dir = os.path.join(table, "metadata")
    with open(os.path.join(md_dir, "version-hint.text")) as f:
        v = f.read().strip()
    meta_file = os.path.join(md_dir, f"v{v}.metadata.json")
    with open(meta_file) as f:
        md = json.load(f)
    cur = md.get("current-snapshot-id")
    cur = None if cur in (None, -1) else cur
    out = {"metadata": meta_file, "current": cur, "snapshots": [], "live": [], "added": {}, "referenced": [],
           "sort_orders": md.get("sort-orders", []), "default_sort_order_id": md.get("default-sort-order-id")}
    refs = set()
    for s in md.get("snapshots", []):
        out["snapshots"].append({"id": s["snapshot-id"], "operation": s["summary"]["operation"],
                                 "summary": s["summary"]})
        refs.add(local(s["manifest-list"]))
        live, added = [], []
        for mf in records(s["manifest-list"]):
            refs.add(local(mf["manifest_path"]))
            for e in entries(mf):
                if e["status"] != 2:
                    live.append(e)
                    refs.add(e["path"])
                if e["status"] == 1 and e["snapshot_id"] == s["snapshot-id"]:
                    added.append(e)
        out["added"][str(s["snapshot-id"])] = added
        if s["snapshot-id"] == cur:
            out["live"] = live
    out["referenced"] = sorted(refs)
    return out


if __name__ == "__main__":
    json.dump(table_files(sys.argv[1]), sys.stdout, default=str)
