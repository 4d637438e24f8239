#!/usr/bin/env python3
"""memory_soak.py - a long run with a steady key set: does memory stay flat?

    python3 bench/memory_soak.py [--users 20000] [--days 14] [--per-day 150000]
                                 [--retention-days 1] [--no-retention] [--data DIR]

The flagship product (retention shortened to --retention-days, so event time
moves past it many times) runs continuously (`akili run start`, release
build) while the clickstream file grows one day of event time at a time: the
same --users users every day, at random times, 1% of events up to three
minutes late.  After each day is visible in the serving table it samples the
process's RSS and the state akili reports (`state inspect`: the input table's
rows, the session window's rows, total bytes).  With retention (and so state
compaction) RSS should level off after the first retention period; with
--no-retention (the retention block removed, so nothing may be forgotten)
it grows with the history.  Figures go to stdout and build/bench/soak.md.
"""
import argparse
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stream  # noqa: E402  (the streaming benchmark's helpers)

BASE = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
PAGES = [f"https://shop.example.com/{p}" for p in ("", "category/outdoor", "blog/lookbook", "search?q=boots")] + [
    f"https://shop.example.com/products/item-{i}" for i in range(120)]
REFS = [None, "https://search.example.org/?q=shoes", "https://mail.example.com/campaign", "https://news.example.org/a"]


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def day_events(rng, day, users, n):
    """One day of events, in arrival order (a few late ones)."""
    start = BASE + datetime.timedelta(days=day)
    out = []
    for i in range(n):
        t = start + datetime.timedelta(seconds=rng.random() * 86400)
        arrive = t + datetime.timedelta(seconds=rng.random() * 180) if rng.random() < 0.01 else t
        u = rng.randrange(users)
        out.append((arrive, {"event_id": f"e{day}-{i}", "user_id": f"user-{u}", "page_url": rng.choice(PAGES),
                             "referrer_url": rng.choice(REFS), "user_agent": "Mozilla/5.0", "ip_address": "10.0.0.1",
                             "event_time": iso(t), "session_id": f"s{u}"}))
    out.sort(key=lambda x: x[0])
    return [json.dumps(e) + "\n" for _, e in out]


def profiles(users):
    countries = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "KE", "TZ", "SE"]
    return "".join(json.dumps({"user_id": f"user-{u}", "username": f"name_{u}", "account_type": ("free", "pro")[u % 2],
                               "signup_date": "2025-01-01", "country": countries[u % len(countries)],
                               "updated_at": "2026-01-01T00:00:00Z"}) + "\n" for u in range(users))


def state_figures(env):
    p = subprocess.run([stream.AKILI, "state", "inspect", "user_sessions", "--format", "json"], env=env,
                       capture_output=True, text=True)
    if p.returncode:
        return {}
    rep = json.loads(p.stdout)
    h = {x["name"]: x for x in rep["holders"]}
    m = re.search(r"partitions, (\d+) rows", h.get("#1 session", {}).get("what", ""))
    return {"table_rows": h.get("input clickstream", {}).get("keys", 0), "session_rows": int(m.group(1)) if m else 0,
            "state_mb": sum(x.get("bytes", 0) for x in rep["holders"]) / 1048576.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--per-day", type=int, default=150000)
    ap.add_argument("--retention-days", type=int, default=1)
    ap.add_argument("--no-retention", action="store_true")
    ap.add_argument("--data", default=None, help="work directory (default: a temporary one, removed)")
    a = ap.parse_args()
    if not os.path.exists(stream.AKILI):
        sys.exit(f"{stream.AKILI} is missing: run `make release` first")
    work = a.data or tempfile.mkdtemp(prefix="akili-soak-")
    shutil.rmtree(work, ignore_errors=True)
    data, home = os.path.join(work, "data"), os.path.join(work, "home")
    os.makedirs(data)
    os.makedirs(home)
    man = os.path.join(work, "manifests")
    shutil.copytree(stream.EXAMPLE, man)
    out_yaml = os.path.join(man, "output.yaml")
    with open(out_yaml) as f:
        text = f.read()
    if a.no_retention:
        text = re.sub(r"  retention:\n(    .*\n)+", "", text)
    else:
        text = text.replace("days: 90", f"days: {a.retention_days}")
    with open(out_yaml, "w") as f:
        f.write(text)
    stream.warn_freshness(man)
    with open(os.path.join(data, stream.PROF), "w") as f:
        f.write(profiles(a.users))
    open(os.path.join(data, stream.CLICK), "w").close()
    now = iso(BASE + datetime.timedelta(days=a.days + 1))
    env = stream.setup(home, data, now, man)
    log = open(os.path.join(work, "akili.log"), "w")
    proc = subprocess.Popen([stream.AKILI, "run", "start", "user_sessions", "--checkpoint-interval", "2"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    store = stream.Store(os.path.join(home, "serving", "analytics.db"))
    rng = random.Random(7)
    rows = []
    click = os.path.join(data, stream.CLICK)
    prof_size = os.path.getsize(os.path.join(data, stream.PROF))
    mode = "no retention" if a.no_retention else f"retention {a.retention_days} day(s)"
    print(f"memory soak: {a.users:,} users, {a.per_day:,} events a day for {a.days} days, {mode}", flush=True)
    print(f"{'day':>4} {'events':>10} {'RSS MB':>8} {'state MB':>9} {'table rows':>11} {'session rows':>13}",
          flush=True)
    try:
        total = 0
        for day in range(a.days):
            lines = day_events(rng, day, a.users, a.per_day)
            with open(click, "a") as f:
                f.writelines(lines)
            total += len(lines)
            stream.wait_visible(store, (os.path.getsize(click), prof_size), proc)
            time.sleep(2.5)  # a checkpoint (its state report) after the day
            mem = stream.rss(proc.pid)
            st = state_figures(env)
            r = (day + 1, total, mem.get("VmRSS", 0), st.get("state_mb", 0.0), st.get("table_rows", 0),
                 st.get("session_rows", 0))
            rows.append(r)
            print(f"{r[0]:>4} {r[1]:>10,} {r[2]:>8} {r[3]:>9.1f} {r[4]:>11,} {r[5]:>13,}", flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    settle = min(len(rows) - 1, (0 if a.no_retention else a.retention_days) + 2)
    first, last = rows[settle], rows[-1]
    growth = last[2] / first[2] if first[2] else float("nan")
    summary = (f"RSS day {first[0]} {first[2]} MB -> day {last[0]} {last[2]} MB ({growth:.2f}x) while the events "
               f"consumed grew {last[1] / first[1]:.1f}x; peak RSS {max(r[2] for r in rows)} MB")
    print(summary)
    os.makedirs(os.path.join(stream.ROOT, "build", "bench"), exist_ok=True)
    with open(os.path.join(stream.ROOT, "build", "bench", "soak.md"), "w") as f:
        f.write(f"memory soak ({mode}), {time.strftime('%Y-%m-%d')}\n\n| day | events | RSS MB | state MB | "
                f"table rows | session rows |\n|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r[0]} | {r[1]:,} | {r[2]} | {r[3]:.1f} | {r[4]:,} | {r[5]:,} |\n")
        f.write(f"\n{summary}\n")
    if not a.data:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
