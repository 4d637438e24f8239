#!/usr/bin/env python3
"""crash.py - kill -9 at any moment loses nothing and doubles nothing.

For each seed: the streaming harness's data (tests/stream/harness.py:
random arrival order, Debezium updates and deletes, late events, profile
changes, undecodable lines) is appended in random micro-batches to the files
a continuous `akili run start user_sessions` follows, with checkpoints every
0.1 s.  Now and then akili is killed: by SIGKILL after a random delay
(wherever it is: reading, committing, stepping, publishing, writing a
checkpoint), or by itself at a named point (AKILI_CRASH_AT) in the middle
of a checkpoint's segment or of a background merge of segments, just before
a checkpoint's manifest, between the
input logs' fsync and the positions' commit, right before or after the
serving table's commit, before the lake table's snapshot.  It is restarted each time; once it has caught up
the published table must equal the batch oracle over everything written,
and the dead letters must be exactly the undecodable lines, each once; at
the end the lake table (`akili lake scan`) must hold the serving table's
rows at its commit number.

    python3 tests/stream/crash.py [--seeds N] [--kills N] [--first S]
            [--events N] [--users N] [--akili PATH]

Prints one line per seed and ends with "crash: N passed, M failed".
"""
import argparse
import importlib.util
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("harness", os.path.join(HERE, "harness.py"))
H = importlib.util.module_from_spec(spec)
spec.loader.exec_module(H)

# (point, how many hits before it fires): a checkpoint frame, a manifest,
# the window between the logs' fsync and the positions' commit, the serving
# table's commit (before and after)
POINTS = ["ckpt-write", "ckpt-commit", "ckpt-merge", "log-synced", "positions-committed", "sink-commit", "sink-committed",
          "lake-commit", "lake-compact"]
# with a retention short enough for state compaction: in a compaction step,
# and at the start of a rebuild from the logs (a change behind the horizon)
COMPACTION_POINTS = ["compact", "rebuild"]


def event_times(line):
    """The event times (µs) a clickstream line carries, before and after images."""
    try:
        o = json.loads(line)
    except ValueError:
        return []
    if isinstance(o, dict) and isinstance(o.get("payload"), dict):
        o = o["payload"]
    if not isinstance(o, dict):
        return []
    imgs = [o.get("before"), o.get("after")] if "op" in o else [o]
    return [H.MAT.parse_ts(i["event_time"]) for i in imgs
            if isinstance(i, dict) and isinstance(i.get("event_time"), str)]


def retained(rows, newest_us, days):
    """The oracle's rows the output's retention keeps: session_start at most
    `days` before the newest event time consumed (NULL kept)."""
    if days is None or newest_us is None:
        return rows
    horizon = newest_us - days * 86400 * 10 ** 6
    return [r for r in rows if r[5] is None or H.MAT.parse_ts(r[5]) >= horizon]


class Crashy(H.Akili):
    """A continuous run that is killed and restarted."""

    def start(self, crash_at=None):
        env = dict(self.env)
        self.crash_at = crash_at
        if crash_at:
            env["AKILI_CRASH_AT"] = crash_at
        self.err = open(os.path.join(self.work, "akili.stderr"), "a")
        self.started = time.time()
        self.proc = subprocess.Popen([self.bin, "run", "start", "user_sessions", "--interval", "0.002",
                                      "--checkpoint-interval", "0.02"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=self.err)

    def stop(self):
        """SIGTERM must find the handler installed: a process restarted a
        moment ago may still be starting (the sanitizers' start-up, before
        main), where SIGTERM's default action applies."""
        time.sleep(max(0.0, 1.0 - (time.time() - self.started)))
        super().stop()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.err.close()

    def died(self):
        """True when akili killed itself (a crash point); other exits fail."""
        rc = self.proc.poll()
        if rc is None:
            return False
        if rc == -9:
            self.err.close()
            return True
        self.alive()  # raises with the tail of stderr
        return False

    def deadletters(self):
        c = sqlite3.connect(f"file:{self.catalog}?mode=ro", uri=True, timeout=5)
        try:
            return c.execute("SELECT input, position, raw FROM deadletters WHERE product = 'user_sessions'").fetchall()
        finally:
            c.close()


def run_seed(args, seed):
    work = tempfile.mkdtemp(prefix=f"akili-crash-{seed}-")
    days = args.retention_days
    rng = random.Random(seed * 104729 + 7)
    ak = None
    st = {"kills": 0, "self": 0, "checks": 0, "lines": 0}
    try:
        logs = H.build(seed, args.events, args.users, work)
        bs = H.batches(logs, rng, args.batch_max)
        ak = Crashy(args.akili, work, False, retention_days=days)
        points = POINTS + (COMPACTION_POINTS if days is not None else [])
        newest = [None]
        sizes = {H.CLICK: 0, H.PROF: 0}
        oracle = H.Oracle(work)
        bad = 0
        kill_at = sorted(rng.sample(range(1, len(bs)), min(args.kills, len(bs) - 1)))

        def caught_up(what):
            """Waits (restarting after self-kills) until the table reflects the files; compares."""
            deadline = time.time() + 90
            want = retained(oracle.rows(), newest[0], days)
            while True:
                if ak.died():
                    st["self"] += 1
                    ak.start()
                inputs, rows = ak.published()
                if (rows is not None and H.offset_of(inputs, "clickstream") == sizes[H.CLICK]
                        and H.offset_of(inputs, "user_profiles") == sizes[H.PROF]):
                    got = H.normalise(rows)
                    if got != want:
                        raise H.Failure(f"seed {seed} {what}: the published table differs from the batch oracle\n" +
                                        H.diff(got, want) + f"\n  data kept in {work}")
                    st["checks"] += 1
                    return
                if time.time() > deadline:
                    raise H.Failure(f"seed {seed} {what}: akili did not catch up within 90 s "
                                    f"(published {inputs}, files {sizes})")
                time.sleep(0.005)

        for bi, b in enumerate(bs):
            for fname, line in b:
                with open(os.path.join(ak.data, fname), "a") as f:
                    f.write(line + "\n")
                sizes[fname] = os.path.getsize(os.path.join(ak.data, fname))
                if fname == H.CLICK:
                    newest[0] = max([t for t in event_times(line) if t is not None] +
                                    ([newest[0]] if newest[0] is not None else []), default=None)
                try:
                    H.MAT.apply_line(oracle.click if fname == H.CLICK else oracle.prof, line)
                except H.MAT.Bad:
                    bad += 1
            st["lines"] += len(b)
            if ak.died():
                st["self"] += 1
                ak.start()
            if kill_at and bi == kill_at[0]:
                kill_at.pop(0)
                # somewhere in whatever it is doing with this batch
                time.sleep(rng.random() * 0.03)
                ak.kill()
                st["kills"] += 1
                # the next run may kill itself at a named point
                crash = None
                if rng.random() < 0.6:
                    crash = f"{rng.choice(points)}:{rng.randint(1, 3)}"
                ak.start(crash)
                caught_up(f"after kill {st['kills']} (batch {bi}, next crash point {crash})")
            else:
                time.sleep(0.01)
        caught_up("at the end")
        if ak.crash_at:
            # a crash point not reached yet could fire while stopping (a last
            # publish or compaction): the clean stop below needs a run without one
            ak.kill()
            ak.start()
            caught_up("after a restart without a crash point")
        dls = ak.deadletters()
        positions = [(i, p) for i, p, _ in dls]
        if len(dls) != bad or len(set(positions)) != len(positions):
            raise H.Failure(f"seed {seed}: {len(dls)} dead letters ({len(set(positions))} distinct), "
                            f"{bad} undecodable lines written")
        if days is not None:
            # compaction and rebuilds happened (else this tested nothing new)
            with open(os.path.join(work, "akili.stderr")) as f:
                log = f.read()
            st["rebuilds"] = log.count("rebuilding the state from the input logs")
            rep = json.loads(ak.ak("state", "inspect", "user_sessions", "--format", "json").stdout)
            what = {h["name"]: h.get("what", "") for h in rep["holders"]}
            if not st["rebuilds"] or "(compacted:" not in what["input clickstream"]:
                raise H.Failure(f"seed {seed}: with a {days}-day retention nothing was compacted "
                                f"({st['rebuilds']} rebuilds; {what['input clickstream']})")
        ak.stop()
        # the lake table (output.format: iceberg) followed every publish,
        # through every kill: the same rows, and the serving commit number
        lake = sorted(ak.ak("lake", "scan", "user_sessions", "--format", "csv").stdout.splitlines())
        served = sorted(ak.ak("query", "--format", "csv", "SELECT * FROM analytics.user_sessions").stdout.splitlines())
        # (a compaction's replace snapshot repeats the number of the publish it follows)
        seqs = [int(x.split(",")[3]) for x in ak.ak("lake", "snapshots", "user_sessions").stdout.splitlines()[1:]
                if x.split(",")[2] != "replace"]
        c = sqlite3.connect(ak.db)
        sc = c.execute("SELECT commit_seq FROM _akili_tables WHERE name = 'user_sessions'").fetchone()[0]
        c.close()
        if lake != served or not seqs or seqs[-1] != sc or seqs != sorted(set(seqs)):
            raise H.Failure(f"seed {seed}: the lake table ({len(lake)} lines, commits {seqs[-5:]}) differs from "
                            f"the serving table ({len(served)} lines, commit {sc})")
        ak = None
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return st
    finally:
        if ak is not None:
            try:
                ak.kill()
            except Exception:
                pass
            print(f"  (data and logs kept in {work})", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--kills", type=int, default=8)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--events", type=int, default=1500)
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--batch-max", type=int, default=25)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--retention-days", type=int, default=None,
                    help="shorten the output's retention so state compaction runs (and rebuilds from the logs)")
    ap.add_argument("--akili", default=os.environ.get("AKILI", os.path.join(H.ROOT, "build/asan/akili")))
    args = ap.parse_args()
    passed = failed = kills = 0
    for seed in range(args.first, args.first + args.seeds):
        t0 = time.time()
        try:
            st = run_seed(args, seed)
            passed += 1
            kills += st["kills"] + st["self"]
            print(f"ok   seed {seed}: {st['kills']} kill -9, {st['self']} crashes at named points, "
                  f"{st['checks']} comparisons, {st['lines']} change records" +
                  (f", {st['rebuilds']} rebuilds from the logs" if "rebuilds" in st else "") +
                  f" ({time.time() - t0:.1f} s)", flush=True)
        except H.Failure as e:
            failed += 1
            print(f"FAIL seed {seed}: {e}", flush=True)
    print(f"crash: {kills} kills survived; {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
