#!/usr/bin/env python3
"""test_kafka.py - the `kafka` / `redpanda` connectors against a Kafka-protocol
peer on 127.0.0.1: librdkafka's mock cluster run as a process
(tests/sources/peers/mockkafka.c, built here), messages produced with kcat.

    python3 tests/sources/test_kafka.py [-k SUBSTRING] [--keep]

AKILI (default build/asan/akili) is the binary under test.  Every test starts
its own mock cluster (3 brokers, random ports) in a temporary directory and
stops it whatever happens.  The mock loses its topics when it stops, so an
outage is simulated by its broker-down switch (SIGUSR1 down, SIGUSR2 up).
Ends with "kafka: N passed, M failed"; exit status 1 on any failure.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests/pipeline"))
import test_pipeline as tp  # noqa: E402  (Env, gen, oracle_rows, same_rows, ...)
from test_pipeline import Env, Failure, check, same_rows, oracle_rows  # noqa: E402

PEERS = os.path.join(HERE, "peers")
TOPIC = "clickstream.page-views"
KEEP = "--keep" in sys.argv
TESTS = []
_bins = None


def test(fn):
    TESTS.append(fn)
    return fn


def peer_bins():
    """mockkafka and kcommitted, built once into a temporary directory."""
    global _bins
    if _bins:
        return _bins
    d = tempfile.mkdtemp(prefix="akili-kafka-bin-")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "rdkafka"], capture_output=True, text=True,
                           check=True).stdout.split()
    for name in ("mockkafka", "kcommitted"):
        subprocess.run(["cc", "-O2", "-Wall", "-o", os.path.join(d, name), os.path.join(PEERS, name + ".c"), *flags,
                        "-lpthread"], check=True)
    _bins = d
    return d


class Mock:
    """A mock cluster process: 3 brokers on random 127.0.0.1 ports."""

    def __init__(self, workdir, *topics):
        self.dir = workdir
        boot = os.path.join(workdir, "bootstrap")
        args = [os.path.join(peer_bins(), "mockkafka"), "-b", "3", "-f", boot]
        for t in topics:
            args += ["-t", t]
        self.log = open(os.path.join(workdir, "mockkafka.log"), "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 10
        while not os.path.exists(boot) and time.time() < deadline and self.proc.poll() is None:
            time.sleep(0.02)
        if not os.path.exists(boot):
            self.stop()
            raise Failure("the mock cluster did not start")
        with open(boot) as f:
            self.bootstrap = f.read().strip()
        self.brokers = self.bootstrap.split(",")

    def down(self):
        self.proc.send_signal(signal.SIGUSR1)

    def up(self):
        self.proc.send_signal(signal.SIGUSR2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def produce(self, topic, pairs):
        """pairs: (key or None, value or None); None as value is a tombstone."""
        path = os.path.join(self.dir, "produce.tsv")
        with open(path, "w", encoding="utf-8") as f:
            for k, v in pairs:
                f.write(f"{k if k is not None else ''}\t{v if v is not None else ''}\n")
        # -Z: an empty value is sent as NULL (a tombstone)
        subprocess.run(["kcat", "-b", self.bootstrap, "-P", "-t", topic, "-K", "\t", "-Z", "-l", path], check=True,
                       timeout=120, capture_output=True)

    def produce_lines(self, topic, lines, key_of):
        self.produce(topic, [(key_of(line), line.rstrip("\n")) for line in lines])

    def ends(self, topic, parts):
        args = ["kcat", "-b", self.bootstrap, "-Q"]
        for p in range(parts):
            args += ["-t", f"{topic}:{p}:-1"]
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout
        ends = {}
        for line in out.splitlines():  # clickstream.page-views [0] offset 1089
            if " offset " in line:
                ends[int(line.split("[")[1].split("]")[0])] = int(line.split(" offset ")[1])
        return ends

    def committed(self, group, topic, parts):
        out = subprocess.run([os.path.join(peer_bins(), "kcommitted"), self.bootstrap, group, topic, str(parts)],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        return {int(a): int(b) for a, b in (line.split() for line in out.splitlines())}


def user_key(line):
    try:
        return json.loads(line).get("user_id") or ""
    except ValueError:
        return ""


def positions(e, product, inp):
    con = sqlite3.connect(os.path.join(e.home, "catalog.db"))
    try:
        row = con.execute("SELECT position FROM positions WHERE product = ? AND input = ?", (product, inp)).fetchone()
    finally:
        con.close()
    return {int(k): v for k, v in json.loads(row[0])["offsets"].items()} if row else None


def records_read(p):
    return int(p.stdout.split(" records read")[0].split()[-1])


def flagship(e, mock, manifests=tp.EXAMPLE):
    """The seed product: clickstream from a redpanda connection, profiles
    from a file connection (as the pipeline tests set them up)."""
    e.ak("connection", "create", "--name", "production-events", "--connector-type", "redpanda", "--config",
         json.dumps({"brokers": mock.brokers}))
    e.ak("connection", "create", "--name", "production-db", "--connector-type", "file", "--config",
         json.dumps({"path": e.data, "files": {"public.users": "user_profiles.ndjson"}}))
    e.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics", "--archetype", "source")
    e.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", manifests)


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)


def oracle_over(e, lines):
    click = os.path.join(e.dir, "produced.ndjson")
    write_lines(click, lines)
    return oracle_rows([click], [os.path.join(e.data, "user_profiles.ndjson")], e.dir)


# ---------------------------------------------------------------- the flagship product

@test
def flagship_once_twice_and_group_offsets():
    """The seed product on a 4-partition topic keyed by user_id: `--once`
    equals the oracle; a second `--once` after more messages reads only
    those (oracle over everything); the group's committed offsets equal
    akili's positions and the topic's ends, and move only after the
    checkpoint (a run killed between the catalog commit and the group
    commit leaves the group behind, never ahead)."""
    e = Env("kafka-flag")
    mock = Mock(e.dir, f"{TOPIC}:4")
    try:
        lines = e.generated(8000, 400, 21)
        flagship(e, mock)
        mock.produce_lines(TOPIC, lines[:5000], user_key)
        p = tp.run_once(e, ok=False)
        check(p.returncode in (0, 1) and "akili: error" not in p.stderr, p.stderr[-2000:])
        with open(os.path.join(e.data, "user_profiles.ndjson"), encoding="utf-8") as f:
            profiles = len(f.readlines())
        check(records_read(p) == 5000 + profiles, f"first run reads the 5000 messages and the profiles: {p.stdout}")
        same_rows(e.rows(candidate=True), oracle_over(e, lines[:5000]), "first --once")
        pos = positions(e, "user_sessions", "clickstream")
        ends = mock.ends(TOPIC, 4)
        check(pos == ends, f"positions {pos} are the topic's ends {ends}")
        check(len([v for v in ends.values() if v > 0]) == 4, f"keys spread over the 4 partitions: {ends}")
        check(mock.committed("akili-user_sessions", TOPIC, 4) == pos, "group offsets equal akili's positions")

        mock.produce_lines(TOPIC, lines[5000:7000], user_key)
        p = tp.run_once(e, ok=False)
        check(records_read(p) == 2000, f"second run reads only the 2000 new messages: {p.stdout}")
        same_rows(e.rows(candidate=True), oracle_over(e, lines[:7000]), "second --once")
        pos2 = positions(e, "user_sessions", "clickstream")
        check(pos2 == mock.ends(TOPIC, 4) and mock.committed("akili-user_sessions", TOPIC, 4) == pos2,
              "group offsets follow the positions")

        # killed before the catalog commit: neither moves; killed after it,
        # before the group commit: the catalog is ahead of the group
        mock.produce_lines(TOPIC, lines[7000:7500], user_key)
        for at, catalog_moves in (("log-synced", False), ("positions-committed", True)):
            k = subprocess.run([e.bin, "run", "start", "user_sessions", "--once"], env=dict(e.env, AKILI_CRASH_AT=at),
                               capture_output=True, timeout=300)
            check(k.returncode == -signal.SIGKILL, f"{at}: killed there ({k.returncode})")
            now = positions(e, "user_sessions", "clickstream")
            check((now != pos2) == catalog_moves, f"{at}: catalog position {now} (was {pos2})")
            check(mock.committed("akili-user_sessions", TOPIC, 4) == pos2,
                  f"{at}: the group was not committed before the checkpoint")
        mock.produce_lines(TOPIC, lines[7500:], user_key)
        p = tp.run_once(e, ok=False)
        check(records_read(p) == len(lines) - 7500, f"after the kills, only the newest: {p.stdout}")
        same_rows(e.rows(candidate=True), oracle_over(e, lines), "after killed runs")
        pos3 = positions(e, "user_sessions", "clickstream")
        check(pos3 == mock.ends(TOPIC, 4) and mock.committed("akili-user_sessions", TOPIC, 4) == pos3,
              "the group caught up with the checkpoint")
    finally:
        mock.stop()
        e.close()


def main():
    only = None
    if "-k" in sys.argv:
        only = sys.argv[sys.argv.index("-k") + 1]
    passed = failed = 0
    try:
        for t in TESTS:
            if only and only not in t.__name__:
                continue
            t0 = time.time()
            try:
                t()
                passed += 1
                print(f"ok   {t.__name__} ({time.time() - t0:.1f} s)", flush=True)
            except Failure as ex:
                failed += 1
                print(f"FAIL {t.__name__}: {ex}", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}: {traceback.format_exc()}", flush=True)
    finally:
        if _bins and not KEEP:
            shutil.rmtree(_bins, ignore_errors=True)
    print(f"kafka: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
