#!/usr/bin/env python3
"""sessions_ref.py - independent reference for the user_sessions transform.

A stdlib-Python evaluation of the flagship product's SQL
(tests/data/sql/user_sessions.sql, the seed's transform, verbatim), written
from the SQL's semantics and not from any engine, so it can check both DuckDB
(tests/oracle/duck.mjs) and akili.  On every dataset under tests/data its
output is byte-identical to duck.mjs's (tests/pipeline/oracle_selftest.sh).

usage:
  python3 tests/oracle/sessions_ref.py --clickstream FILE [--clickstream FILE ...]
          --profiles FILE [--profiles FILE ...] [--out FILE] [--offsets utc|drop]
  python3 tests/oracle/sessions_ref.py --data DIR [--out FILE] [--offsets utc|drop]
          (DIR/clickstream.ndjson and DIR/user_profiles.ndjson)

Inputs are NDJSON *plain rows* (run changelogs through materialize.py
first).  Only user_id, page_url, referrer_url, event_time (clickstream) and
user_id, username, account_type, country (profiles) are read; other keys are
ignored, a missing key is NULL.  Text columns take JSON strings (numbers and
booleans as their JSON text).  event_time must be NULL or an ISO-8601
string (YYYY-MM-DD[Thh:mm[:ss[.f]]][Z|UTC|+hh[:mm]]); anything else is an
error (exit 2).
  --offsets utc   (default, akili's semantics) a '+02:00' offset is applied:
                  the value is converted to UTC.
  --offsets drop  DuckDB's string->TIMESTAMP cast: the offset is ignored
                  (10:00+02:00 is read as 10:00).

Output: the result rows in akili's JSON-lines convention (see duck.mjs):
one object per line, keys in the SQL's select order, NULL as null, integers
as JSON integers, timestamps "YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]Z", lines
sorted bytewise by their UTF-8 text.

The semantics implemented (each checked against DuckDB 1.5.6):
  * partitions: one per user_id; all NULL user_id events form ONE partition
    (PARTITION BY groups NULLs together).
  * order: event_time ascending, NULL event_time LAST (DuckDB's default
    NULLS LAST).
  * is_new_session: 1 if LAG(event_time) is NULL, else 1 iff
    DATEDIFF('minute', prev, t) > 30, where DATEDIFF counts minute
    boundaries crossed: floor(t/60s) - floor(prev/60s).  A NULL event_time
    with a non-NULL prev gives DATEDIFF NULL -> CASE falls to ELSE -> 0.
  * session_num = SUM(is_new_session) OVER (PARTITION BY user_id ORDER BY
    event_time): the default frame is RANGE UNBOUNDED PRECEDING .. CURRENT
    ROW, so rows tied on event_time (peers) all get the sum through the last
    of them.  Hence:
      - ties: a group of events with the same event_time behaves as one
        event (LAG within the group is the same time -> 0); whatever order
        the engine picks inside the group, the result is the same.
      - k NULL-event_time events in a partition with S sessions among its
        non-NULL events are all peers and all get S + k - 1 (S > 0): the first
        of them (prev = the last non-NULL time) adds 0, each other one (prev
        NULL) adds 1.  So k = 1 joins the user's LAST session (counted in
        page_views, its page/referrer take part in MIN/MAX, event times are
        unaffected); k >= 2 forms session S + k - 1 - numbers S+1 .. S+k-2 are
        skipped - with NULL session_start/end/duration.  With no non-NULL
        events (S = 0) every one adds 1 and they all get session k.
  * LEFT JOIN user_profiles ON user_id: NULL never matches; a user with n
    profile rows joins n times (COUNT(*) multiplies, and rows differing in
    username/account_type/country become separate groups) - exactly SQL.
  * aggregates per (user_id, username, account_type, country, session_num):
    MIN/MAX(event_time) skip NULLs; DATEDIFF('second', MIN, MAX) =
    floor(max/1s) - floor(min/1s) (NULL if either is NULL); COUNT(*) counts
    every row; MIN/MAX(page_url) and MIN(referrer_url) skip NULLs and compare
    bytewise on UTF-8 (Python compares str by code point, which is the same
    order as UTF-8 bytes).
"""
import argparse
import json
import os
import re
import sys
from collections import Counter
from datetime import date

_EPOCH_ORD = date(1970, 1, 1).toordinal()
US_MIN = 60_000_000
US_SEC = 1_000_000
US_DAY = 86_400_000_000
_TS_RE = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r" ?(?:([Zz])|([Uu][Tt][Cc])|([+-])(\d{2})(?::?(\d{2})?)?)?\s*")


def parse_ts(s, apply_offset=True):
    """ISO-8601 text -> epoch microseconds, or None if not a timestamp."""
    m = _TS_RE.fullmatch(s)
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, _z, _utc, sign, oh, om = m.groups()
    try:
        days = date(int(y), int(mo), int(d)).toordinal() - _EPOCH_ORD
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
        if apply_offset:
            off = (oh * 3600 + om * 60) * US_SEC * (-1 if sign == "-" else 1)
    return days * US_DAY + ((hh * 60 + mi) * 60 + ss) * US_SEC + f - off


def fmt_ts(us):
    days, rem = divmod(us, US_DAY)
    d = date.fromordinal(days + _EPOCH_ORD)
    secs, frac = divmod(rem, US_SEC)
    s = f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    if frac:
        s += f".{frac:06d}" if frac % 1000 else f".{frac // 1000:03d}"
    return s + "Z"


def text(v):
    """A JSON value read into a VARCHAR column."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def read_ndjson(paths):
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                o = json.loads(line)
                if not isinstance(o, dict):
                    sys.exit(f"sessions_ref.py: {p}:{n}: not a JSON object")
                yield p, n, o


def sessions(click_paths, profile_paths, apply_offset=True):
    """Returns the result rows as tuples in the SQL's column order."""
    profiles = {}
    for _p, _n, o in read_ndjson(profile_paths):
        uid = text(o.get("user_id"))
        if uid is None:
            continue                                   # NULL never joins
        profiles.setdefault(uid, Counter())[
            (text(o.get("username")), text(o.get("account_type")), text(o.get("country")))] += 1

    parts = {}                                         # user_id (None too) -> [timed, untimed]
    for p, n, o in read_ndjson(click_paths):
        et = o.get("event_time")
        if et is None:
            t = None
        elif isinstance(et, str):
            t = parse_ts(et, apply_offset)
            if t is None:
                sys.exit(f"sessions_ref.py: {p}:{n}: event_time {et!r} is not a timestamp")
        else:
            sys.exit(f"sessions_ref.py: {p}:{n}: event_time {et!r} is not a string")
        part = parts.get(text(o.get("user_id")))
        if part is None:
            part = parts[text(o.get("user_id"))] = ([], [])
        ev = (t, text(o.get("page_url")), text(o.get("referrer_url")))
        (part[0] if t is not None else part[1]).append(ev)

    no_profile = Counter({(None, None, None): 1})
    out = []
    for uid, (timed, untimed) in parts.items():
        timed.sort(key=lambda e: e[0])
        agg = {}                                       # session_num -> [min_t, max_t, n, min_p, max_p, min_r]
        s = 0
        prev = None
        for t, page, ref in timed:
            if prev is None or t // US_MIN - prev // US_MIN > 30:
                s += 1
            prev = t
            a = agg.get(s)
            if a is None:
                agg[s] = [t, t, 1, page, page, ref]
                continue
            a[1] = t                                   # sorted: t is the max so far
            a[2] += 1
            _minmax(a, page, ref)
        if untimed:
            k = len(untimed)
            num = s + k - 1 if s > 0 else k
            a = agg.get(num)
            if a is None:
                a = agg[num] = [None, None, 0, None, None, None]
            for _t, page, ref in untimed:
                a[2] += 1
                _minmax(a, page, ref)
        profs = profiles.get(uid, no_profile) if uid is not None else no_profile
        for num, (t0, t1, cnt, pmin, pmax, rmin) in agg.items():
            dur = None if t0 is None else t1 // US_SEC - t0 // US_SEC
            st = None if t0 is None else fmt_ts(t0)
            en = None if t1 is None else fmt_ts(t1)
            for (uname, acct, country), mult in profs.items():
                out.append((uid, uname, acct, country, num, st, en, dur, cnt * mult, pmin, pmax, rmin))
    return out


def _minmax(a, page, ref):
    if page is not None:
        if a[3] is None or page < a[3]:
            a[3] = page
        if a[4] is None or page > a[4]:
            a[4] = page
    if ref is not None and (a[5] is None or ref < a[5]):
        a[5] = ref


COLUMNS = ("user_id", "username", "account_type", "country", "session_num", "session_start",
           "session_end", "session_duration_seconds", "page_views", "landing_page", "exit_page",
           "entry_referrer")


def to_lines(rows):
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    keys = [dumps(c) + ":" for c in COLUMNS]
    lines = []
    for r in rows:
        lines.append(("{" + ",".join(k + dumps(v) for k, v in zip(keys, r)) + "}\n").encode("utf-8"))
    lines.sort()
    return b"".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clickstream", action="append", default=[])
    ap.add_argument("--profiles", action="append", default=[])
    ap.add_argument("--data")
    ap.add_argument("--out")
    ap.add_argument("--offsets", choices=("utc", "drop"), default="utc")
    a = ap.parse_args()
    if a.data:
        a.clickstream.append(os.path.join(a.data, "clickstream.ndjson"))
        a.profiles.append(os.path.join(a.data, "user_profiles.ndjson"))
    if not a.clickstream:
        ap.error("give --clickstream FILE (and --profiles FILE) or --data DIR")
    try:
        data = to_lines(sessions(a.clickstream, a.profiles, a.offsets == "utc"))
    except (OSError, ValueError) as e:
        sys.exit(f"sessions_ref.py: {e}")
    if a.out:
        with open(a.out, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)


if __name__ == "__main__":
    main()
