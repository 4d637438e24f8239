#!/usr/bin/env python3
"""sustained.py - continuous ingestion at full speed, with checkpoints every 10 s.

    python3 bench/sustained.py [--size 5m] [--seconds 60] [--chunk 100000]
                               [--checkpoint-interval 10] [--data DIR]

One continuous `akili run start user_sessions --checkpoint-interval 10`
(release build, the seed's manifests, its freshness check a warning) reads a clickstream file that a
producer keeps appending to: --chunk events at a time, from the engines
benchmark's data set (bench/engines.py, generated once), whenever fewer than
two chunks are waiting, so the engine never waits for data and never has
more than two chunks of backlog.  For --seconds (or until the data set is
used up) it measures events made visible in the serving store (the input
positions recorded with the published table), the process's CPU time
(/proc, user + system, every thread), checkpoints written (from akili's
log: kind, size, time), and RSS.  Events per CPU-second is the "per core"
rate.  Figures go to stdout and build/bench/sustained.md.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines  # noqa: E402
import stream  # noqa: E402

ROOT = stream.ROOT
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def chunks(path, n):
    """(bytes, events) of the source file, n lines at a time."""
    with open(path, "rb") as f:
        while True:
            lines = [line for _, line in zip(range(n), f)]
            if not lines:
                return
            yield b"".join(lines), len(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="5m", choices=sorted(engines.SIZES))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--chunk", type=int, default=100_000)
    ap.add_argument("--checkpoint-interval", default="10")
    ap.add_argument("--data", default=os.environ.get("AKILI_BENCH_DATA", "/tmp/akili-bench-data"))
    a = ap.parse_args()
    subprocess.run(["make", "--no-print-directory", "-s", "-j2", "release"], cwd=ROOT, check=True)
    src, now = engines.ensure_data(a.data, a.size)
    work = tempfile.mkdtemp(prefix="akili-sustained-")
    proc = None
    try:
        data = os.path.join(work, "data")
        os.makedirs(data)
        shutil.copy(os.path.join(src, stream.PROF), data)
        click = os.path.join(data, stream.CLICK)
        open(click, "wb").close()
        # freshness a warning (as in stream.py): the first chunks are older than the clock
        env = stream.setup(os.path.join(work, "home"), data, now)
        store = stream.Store(os.path.join(work, "home", "serving", "analytics.db"))
        errpath = os.path.join(work, "akili.stderr")
        err = open(errpath, "w")
        proc = subprocess.Popen([engines.AKILI, "-v", "run", "start", "user_sessions", "--checkpoint-interval",
                                 a.checkpoint_interval], env=env, stdout=subprocess.DEVNULL, stderr=err)
        marks = [(0, 0)]  # (bytes appended, events appended) after each chunk
        pending = []
        it = chunks(os.path.join(src, stream.CLICK), a.chunk)
        t0 = time.monotonic()
        cpu0 = cpu_seconds(proc.pid)
        end = t0 + a.seconds
        peak_rss = 0
        visible = 0
        exhausted = False
        with open(click, "ab") as out:
            while time.monotonic() < end:
                if proc.poll() is not None:
                    sys.exit(f"akili exited with {proc.returncode}; see {errpath}")
                o = store.offsets()
                published = o[0] if o else 0
                waiting = sum(1 for b, _ in marks if b > published)
                if waiting < 2 and not exhausted:
                    nxt = next(it, None)
                    if nxt is None:
                        exhausted = True
                    else:
                        out.write(nxt[0])
                        out.flush()
                        marks.append((marks[-1][0] + len(nxt[0]), marks[-1][1] + nxt[1]))
                        continue
                if exhausted and published >= marks[-1][0]:
                    break
                visible = max(e for b, e in marks if b <= published)
                peak_rss = max(peak_rss, stream.rss(proc.pid).get("VmRSS", 0))
                time.sleep(0.002)
        o = store.offsets()
        published = o[0] if o else 0
        visible = max(e for b, e in marks if b <= published)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        peak_rss = max(peak_rss, stream.rss(proc.pid).get("VmHWM", 0))
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=600)
        err.close()
        with open(errpath, errors="replace") as f:
            log = f.read()
        cks = [m.groupdict() for m in stream.CKPT.finditer(log)]
        rate = visible / wall
        per_cpu = visible / cpu if cpu else 0
        lines = [f"# akili: sustained continuous ingestion ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs)", "",
                 f"{visible:,} events visible in {wall:.1f} s ({a.size} data set, appended {a.chunk:,} at a time, "
                 f"checkpoints every {a.checkpoint_interval} s): **{rate:,.0f} events/s**; the process used "
                 f"{cpu:.1f} CPU-s ({cpu / wall:.2f} cores): **{per_cpu:,.0f} events per CPU-second**. "
                 f"Peak RSS {peak_rss:,} MB.", "",
                 f"{len(cks)} checkpoints (the last on stop):", "",
                 "| # | kind | records | MB written | ms | state on disk MB |", "|---|---|---|---|---|---|"]
        for i, c in enumerate(cks):
            lines.append(f"| {i + 1} | {c['kind']} | {int(c['records']):,} | {float(c['kb']) / 1024:,.1f} | "
                         f"{float(c['ms']):,.0f} | {float(c['disk']):,.1f} |")
        batches = stream.batch_lines(errpath)
        if batches:
            tot = {k: sum(b[k] for b in batches) / 1e3 for k in ("read", "commit", "step", "checks", "publish")}
            lines += ["", f"{len(batches)} micro-batches, median {sorted(b['records'] for b in batches)[len(batches) // 2]:,} "
                          "records each; their time summed: " + ", ".join(f"{k} {v:.1f} s" for k, v in tot.items()) +
                      f" (read: decode, input logs, tables and the operators run while reading; step: the rest "
                      f"of the operators); checkpoints {sum(float(c['ms']) for c in cks) / 1e3:.1f} s from begin "
                      "to durable, their holders serialized during the publish."]
        for line in lines:
            stream.log(line)
        os.makedirs(os.path.join(ROOT, "build", "bench"), exist_ok=True)
        with open(os.path.join(ROOT, "build", "bench", "sustained.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        return 0
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
