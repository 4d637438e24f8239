#!/usr/bin/env python3
"""materialize.py - the current table described by a changelog (stdlib only).

Turns input files - NDJSON lines that are plain JSON rows or Debezium change
events, or CSV - into the table they describe *now*, written as plain NDJSON
(one JSON object per line), so a batch engine (tests/oracle/duck.mjs) or
tests/oracle/sessions_ref.py can evaluate the transform over it.  This is the
"everything consumed so far" side of akili's correctness contract.

usage:
  python3 tests/oracle/materialize.py [--key COL[,COL...]] [--cursor COL]
          [--columns COLSPEC] [--csv] [--out FILE] [--dead-letters FILE]
          [--stats] [--quiet] FILE [FILE ...]

  FILE ...          read in the order given, each line in file order (that is
                    the arrival order).  A FILE ending in .csv (or every FILE
                    with --csv) is CSV with a header line; an empty field is
                    NULL; every CSV row is a plain row.
  --key COLS        the input is keyed (a table): the result has the latest
                    row per key.  Without --key it is keyless (an event
                    stream): a multiset of rows.
  --cursor COL      keyed only: a *plain* row replaces the stored row of its
                    key only if its COL value is >= the stored one (so a
                    later line with an equal cursor wins, an older one is
                    ignored).  If either cursor is NULL the later line wins.
                    Debezium events are applied in log order regardless.
  --columns COLSPEC the input's columns and types, as for duck.mjs:
                    "user_id:VARCHAR,updated_at:TIMESTAMP,...".  Values are
                    type-checked (a line that fails goes to the dead letters),
                    cursors and keyless deletes compare typed values, and the
                    output rows have exactly these columns, in this order
                    (absent -> null).  Without it rows are passed through
                    as they are and nothing is type-checked.
  --out FILE        write the table there (default stdout).
  --dead-letters F  write each rejected line as {"file","line","reason","raw"}.
  --stats           print {"rows":..,"bad":..,...} as the last stderr line.
  --quiet           do not list the rejected lines on stderr.

Line forms (NDJSON):
  * `null`, or an empty line: a Kafka tombstone / nothing; skipped, counted
    as "tombstones" (not bad).
  * {"schema": ..., "payload": X}: the Kafka Connect JSON wrapper; X is used
    (X null = tombstone).
  * an object with a string "op" and a "before", "after" or "source" key: a
    Debezium envelope (op c/r/u/d/t; any other op is a bad line).  c, r = insert (after); u = update; d = delete
    (before); t = truncate (the table becomes empty).
      keyed:   c/r/u upsert `after` (u whose key changed also deletes the
               `before` key); d deletes the key of `before`.
      keyless: c/r insert `after`; d deletes ONE stored row whose values
               equal all fields present in `before`; u = delete(before) +
               insert(after).  A delete that matches nothing is counted
               ("unmatched_deletes") and ignored.
  * any other object: a plain row (keyed: upsert by key subject to --cursor;
    keyless: insert).
  * anything else - broken JSON, an array/number/string, an envelope with an
    unknown op or a non-object after/before, a keyed row without (or with a
    NULL) key column, a value of the wrong type (with --columns) - is a bad
    line: skipped, counted, listed on stderr (akili sends these to its
    dead-letter store and keeps going).

Types accepted with --columns (the rule akili's decoder follows; NULL is
always accepted except for key columns):
  VARCHAR/TEXT/STRING  any JSON scalar (numbers/booleans as their JSON text
                       when compared); objects/arrays are bad
  TIMESTAMP[TZ]        a string: YYYY-MM-DD[(T|t| )HH:MM[:SS[(.|,)f...]]]
                       [ ][Z|UTC|+HH[:MM]|-HHMM...]; fraction truncated to
                       microseconds; an offset is applied (UTC)
  DATE                 a string YYYY-MM-DD (or a full timestamp string)
  BIGINT/INTEGER/...   a JSON integer (CSV: an integer literal)
  DOUBLE/FLOAT/DECIMAL a JSON number (CSV: a number literal)
  BOOLEAN              true/false (CSV: true/false, case-insensitive)

Exit status: 0 (bad lines do not fail the run), 2 on usage/IO errors.
"""
import argparse
import csv
import json
import re
import sys
from datetime import date

_EPOCH_ORD = date(1970, 1, 1).toordinal()
_TS_RE = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r" ?(?:([Zz])|([Uu][Tt][Cc])|([+-])(\d{2})(?::?(\d{2})?)?)?\s*")


def parse_ts(s):
    """ISO-8601 text -> epoch microseconds (UTC), or None if invalid.
    Mirrors akili's ak_ts_parse: offsets are applied."""
    m = _TS_RE.fullmatch(s)
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, _z, _utc, sign, oh, om = m.groups()
    y, mo, d = int(y), int(mo), int(d)
    try:
        days = date(y, mo, d).toordinal() - _EPOCH_ORD
    except ValueError:
        return None
    hh, mi, ss = int(hh or 0), int(mi or 0), int(ss or 0)
    if hh > 23 or mi > 59 or ss > 59:
        return None
    f = int((frac + "000000")[:6]) if frac else 0
    off = 0
    if sign:
        oh, om = int(oh), int(om or 0)
        if oh > 18 or om > 59:
            return None
        off = (oh * 3600 + om * 60) * 1_000_000 * (-1 if sign == "-" else 1)
    return days * 86_400_000_000 + ((hh * 60 + mi) * 60 + ss) * 1_000_000 + f - off


def parse_colspec(cs):
    cols, depth, cur = [], 0, ""
    for ch in cs + ",":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            t = cur.strip()
            cur = ""
            if not t:
                continue
            name, sep, ty = t.partition(":")
            if not sep or not name.strip() or not ty.strip():
                raise SystemExit(f"materialize.py: bad column spec {t!r} (want name:TYPE)")
            cols.append((name.strip(), ty.strip().upper()))
        else:
            cur += ch
    return cols


def type_class(ty):
    base = re.split(r"[\s(]", ty, 1)[0]
    if base in ("VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "UUID"):
        return "text"
    if base in ("TIMESTAMP", "TIMESTAMPTZ", "DATETIME", "TIMESTAMP_S", "TIMESTAMP_MS",
                "TIMESTAMP_NS") or ty.startswith("TIMESTAMP WITH TIME ZONE"):
        return "ts"
    if base == "DATE":
        return "date"
    if base in ("TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "LONG",
                "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "INT4", "INT8", "INT2"):
        return "int"
    if base in ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC", "FLOAT8", "FLOAT4"):
        return "num"
    if base in ("BOOLEAN", "BOOL"):
        return "bool"
    return "any"


class Bad(Exception):
    pass


def typed(cls, v, from_csv):
    """Checks one value; returns its comparison form (raises Bad)."""
    if v is None:
        return None
    if cls == "text":
        if isinstance(v, (dict, list)):
            raise Bad("object/array for a text column")
        return v if isinstance(v, str) else json.dumps(v)
    if cls == "ts" or cls == "date":
        if not isinstance(v, str):
            raise Bad(f"{type(v).__name__} for a {cls} column")
        us = parse_ts(v)
        if us is None:
            raise Bad(f"not a timestamp: {v!r}" if cls == "ts" else f"not a date: {v!r}")
        return us
    if cls == "int":
        if from_csv and isinstance(v, str) and re.fullmatch(r"\s*[+-]?\d+\s*", v):
            return int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise Bad(f"not an integer: {v!r}")
        return v
    if cls == "num":
        if from_csv and isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                raise Bad(f"not a number: {v!r}") from None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Bad(f"not a number: {v!r}")
        return float(v)
    if cls == "bool":
        if from_csv and isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        if not isinstance(v, bool):
            raise Bad(f"not a boolean: {v!r}")
        return v
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v


def csv_value(cls, v):
    """A CSV field as it should appear in the NDJSON output."""
    if v is None:
        return None
    if cls == "int":
        return int(v)
    if cls == "num":
        f = float(v)
        return int(f) if f.is_integer() and re.fullmatch(r"\s*[+-]?\d+\s*", v) else f
    if cls == "bool":
        return v.lower() == "true"
    return v


class Table:
    def __init__(self, a):
        self.key = [k.strip() for k in a.key.split(",")] if a.key else None
        self.cursor = a.cursor
        self.cols = parse_colspec(a.columns) if a.columns else None
        self.cls = {n: type_class(t) for n, t in self.cols} if self.cols else {}
        self.keyed = {}        # key tuple -> (row, cursor value)
        self.rows = []         # keyless: rows (None = deleted)
        self.index = {}        # keyless: typed full tuple -> [positions]
        self.stats = {"rows": 0, "bad": 0, "tombstones": 0, "unmatched_deletes": 0,
                      "ignored_older": 0, "truncates": 0}

    # -- typing ---------------------------------------------------------------
    def check(self, row, from_csv=False):
        """Type-checks a row; returns {col: comparison value} for present cols."""
        out = {}
        for k, v in row.items():
            cls = self.cls.get(k, "any") if self.cols else "any"
            out[k] = typed(cls, v, from_csv)
        return out

    def keyof(self, row, trow):
        vals = []
        for k in self.key:
            if k not in row or row[k] is None:
                raise Bad(f"key column {k!r} missing or null")
            vals.append(trow[k])
        return tuple(vals)

    # -- operations -----------------------------------------------------------
    def upsert(self, row, trow, plain):
        if self.key:
            k = self.keyof(row, trow)
            cur = trow.get(self.cursor) if self.cursor else None
            if isinstance(cur, str) and not self.cols:     # untyped: a timestamp if it parses
                us = parse_ts(cur)
                cur = ("ts", us) if us is not None else ("text", cur)
            old = self.keyed.get(k)
            if plain and self.cursor and old is not None and cur is not None \
                    and old[1] is not None:
                try:
                    older = cur < old[1]
                except TypeError:                          # incomparable: arrival order
                    older = False
                if older:
                    self.stats["ignored_older"] += 1
                    return
            if old is not None:
                del self.keyed[k]          # re-insert at the end: arrival order
            self.keyed[k] = (row, cur)
        else:
            full = self.full_tuple(trow)
            self.index.setdefault(full, []).append(len(self.rows))
            self.rows.append((row, trow))

    def full_tuple(self, trow):
        names = [n for n, _ in self.cols] if self.cols else sorted(trow)
        return tuple((n, _hashable(trow.get(n))) for n in names)

    def delete(self, row, trow):
        if self.key:
            k = self.keyof(row, trow)
            if self.keyed.pop(k, None) is None:
                self.stats["unmatched_deletes"] += 1
            return
        # keyless: one row equal on every field present in `before`
        want = {n: _hashable(v) for n, v in trow.items()}
        names = [n for n, _ in self.cols] if self.cols else None
        if names is not None and set(want) >= set(names):
            full = tuple((n, want[n]) for n in names)
            for pos in self.index.get(full, ()):
                if self.rows[pos] is not None:
                    self.remove_at(pos)
                    return
        else:
            for pos, r in enumerate(self.rows):
                if r is not None and all(_hashable(r[1].get(n)) == v for n, v in want.items()):
                    self.remove_at(pos)
                    return
        self.stats["unmatched_deletes"] += 1

    def remove_at(self, pos):
        row, trow = self.rows[pos]
        self.index[self.full_tuple(trow)].remove(pos)
        self.rows[pos] = None

    def truncate(self):
        self.keyed.clear()
        self.rows.clear()
        self.index.clear()
        self.stats["truncates"] += 1

    def result(self):
        rows = [r for r, _ in self.keyed.values()] if self.key else \
               [r[0] for r in self.rows if r is not None]
        self.stats["rows"] = len(rows)
        return rows


def _hashable(v):
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v


def apply_line(t, raw):
    s = raw.strip()
    if not s or s == "null":
        t.stats["tombstones"] += 1
        return
    try:
        o = json.loads(s)
    except ValueError as e:
        raise Bad(f"not JSON: {e}") from None
    if isinstance(o, dict) and "payload" in o and "schema" in o:
        o = o["payload"]
        if o is None:
            t.stats["tombstones"] += 1
            return
    if not isinstance(o, dict):
        raise Bad(f"a JSON {type(o).__name__}, not an object")
    if isinstance(o.get("op"), str) and ("after" in o or "before" in o or "source" in o):
        op = o["op"]
        before, after = o.get("before"), o.get("after")
        for name, v in (("before", before), ("after", after)):
            if v is not None and not isinstance(v, dict):
                raise Bad(f"envelope {name} is not an object")
        if op in ("c", "r"):
            if after is None:
                raise Bad(f"op {op} without after")
            t.upsert(after, t.check(after), plain=False)
        elif op == "u":
            if after is None:
                raise Bad("op u without after")
            ta = t.check(after)
            tb = t.check(before) if before is not None else None
            if t.key:
                ka = t.keyof(after, ta)
                if before is not None and all(k in before and before[k] is not None for k in t.key):
                    kb = t.keyof(before, tb)
                    if kb != ka:
                        t.delete(before, tb)
                t.upsert(after, ta, plain=False)
            else:
                if before is not None:
                    t.delete(before, tb)
                t.upsert(after, ta, plain=False)
        elif op == "d":
            if before is None:
                raise Bad("op d without before")
            tb = t.check(before)
            t.delete(before, tb)
        elif op == "t":
            t.truncate()
        else:
            raise Bad(f"unknown op {op!r}")
        return
    tr = t.check(o)
    t.upsert(o, tr, plain=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--key")
    ap.add_argument("--cursor")
    ap.add_argument("--columns")
    ap.add_argument("--csv", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--dead-letters")
    ap.add_argument("--stats", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if a.cursor and not a.key:
        ap.error("--cursor needs --key")
    t = Table(a)
    dl = open(a.dead_letters, "w", encoding="utf-8") if a.dead_letters else None

    def bad(fname, lineno, reason, raw):
        t.stats["bad"] += 1
        if not a.quiet:
            print(f"materialize.py: {fname}:{lineno}: {reason}", file=sys.stderr)
        if dl:
            dl.write(json.dumps({"file": fname, "line": lineno, "reason": reason,
                                 "raw": raw.rstrip("\n")}, ensure_ascii=False) + "\n")

    for fname in a.files:
        try:
            f = open(fname, encoding="utf-8", errors="surrogateescape", newline="")
        except OSError as e:
            raise SystemExit(f"materialize.py: {e}")
        with f:
            if a.csv or fname.lower().endswith(".csv"):
                rd = csv.reader(f)
                header = next(rd, None)
                if header is None:
                    continue
                for row in rd:
                    lineno = rd.line_num
                    if len(row) != len(header):
                        bad(fname, lineno, f"{len(row)} fields, header has {len(header)}",
                            ",".join(row))
                        continue
                    o = {}
                    for h, v in zip(header, row):
                        o[h] = None if v == "" else v
                    try:
                        tr = t.check(o, from_csv=True)
                        out = {h: csv_value(t.cls.get(h, "any"), v) for h, v in o.items()}
                        t.upsert(out, tr, plain=True)
                    except Bad as e:
                        bad(fname, lineno, str(e), ",".join(row))
                continue
            for lineno, raw in enumerate(f, 1):
                try:
                    raw.encode("utf-8")
                except UnicodeEncodeError:
                    bad(fname, lineno, "invalid UTF-8", raw.encode("utf-8", "surrogateescape")
                        .decode("utf-8", "replace"))
                    continue
                try:
                    apply_line(t, raw)
                except Bad as e:
                    bad(fname, lineno, str(e), raw)
    if dl:
        dl.close()

    rows = t.result()
    out = open(a.out, "w", encoding="utf-8") if a.out else sys.stdout
    names = [n for n, _ in t.cols] if t.cols else None
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for r in rows:
        if names:
            r = {n: r.get(n) for n in names}
        out.write(dumps(r) + "\n")
    if a.out:
        out.close()
    if a.stats or t.stats["bad"]:
        print(json.dumps(t.stats), file=sys.stderr)


if __name__ == "__main__":
    main()
