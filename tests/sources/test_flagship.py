#!/usr/bin/env python3
"""test_flagship.py - the seed's product on real sources at once: clickstream
from a Kafka-protocol topic (librdkafka's mock cluster), user profiles from
PostgreSQL, both changing while a continuous run follows them, through a
kill -9, a database restart and a broker outage.  At the end the published
table must equal the batch oracle over every message produced and the
table's final content, and the group's offsets must sit at akili's
positions.

    python3 tests/sources/test_flagship.py [-k SUBSTRING] [--keep]

AKILI (default build/asan/akili) is the binary under test.  The peers come
from the connectors' own tests (tests/sources/test_kafka.py and
test_postgres.py).  Ends with "flagship: N passed, M failed".
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests/pipeline"))
sys.path.insert(0, HERE)
import test_pipeline as tp  # noqa: E402
import test_kafka as tk  # noqa: E402
import test_postgres as tpg  # noqa: E402
from test_pipeline import Env, Failure, check, same_rows, oracle_rows  # noqa: E402

TOPIC = tk.TOPIC
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Flagship:
    """The seed's manifests verbatim (profiles' strategy aside), clickstream
    on a redpanda connection, profiles on a postgres one."""

    def __init__(self, name, mock, cl, strategy, seed):
        self.e = Env(name)
        self.mock, self.cl = mock, cl
        self.db = tpg.new_db(cl)
        self.lines = self.e.generated(9000, 400, seed, ["--null-user-fraction", "0"])
        self.nprofiles = tpg.load_profiles(cl, self.db, os.path.join(self.e.data, "user_profiles.ndjson"))
        click = os.path.join(self.e.dir, "all.ndjson")
        tk.write_lines(click, self.lines)
        self.env = {"AK_TEST_PG_PASSWORD": tpg.PASSWORD, "AKILI_NOW": tp.plus_minutes(tp.last_event_time(click), 5)}
        man = tp.manifests_with(self.e, "inputs.yaml", "    strategy: incremental\n", f"    strategy: {strategy}\n")
        self.ak("connection", "create", "--name", "production-events", "--connector-type", "redpanda", "--config",
                json.dumps({"brokers": mock.brokers}))
        self.ak("connection", "create", "--name", "production-db", "--connector-type", "postgres", "--config",
                cl.conn_config(self.db))
        self.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics", "--archetype", "source")
        self.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", man)
        self.produced = 0
        self.proc = None
        self.logs = []

    def ak(self, *args, **kw):
        p = self.e.ak(*args, env=self.env, **kw)
        check(tpg.PASSWORD not in p.stdout + p.stderr, f"the password appears in the output of {args}")
        return p

    def start(self):
        env = dict(self.e.env)
        env.update(self.env)
        self.logs.append(os.path.join(self.e.dir, f"run{len(self.logs)}.err"))
        self.err = open(self.logs[-1], "w")
        self.proc = subprocess.Popen([self.e.bin, "run", "start", "user_sessions", "--interval", "0.1"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.err)

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.err.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        check(self.proc.returncode == 0, f"the run stopped cleanly ({self.proc.returncode}):\n{self.log()[-2000:]}")

    def log(self):
        text = ""
        for path in self.logs:
            with open(path, encoding="utf-8", errors="replace") as f:
                text += f.read()
        return text

    def produce(self, n):
        """The next n clickstream lines to the topic, keyed by user."""
        part = self.lines[self.produced:self.produced + n]
        self.mock.produce_lines(TOPIC, part, tk.user_key)
        self.produced += len(part)

    def mutate(self, rng, deletes):
        """Profile updates (country, plan) and new users; deletes only where
        the strategy sees them (cdc)."""
        ids = [r for r in self.cl.sql("SELECT user_id FROM public.users ORDER BY user_id", db=self.db).split()]
        stmts = []
        for uid in rng.sample(ids, 12):
            stmts.append(f"UPDATE public.users SET country = {tpg.lit(rng.choice(['KE', 'TZ', 'DE', None]))}, "
                         f"account_type = 'premium', updated_at = greatest(updated_at, now()) + interval '1 second' "
                         f"WHERE user_id = {tpg.lit(uid)}")
        if deletes:
            for uid in rng.sample(ids, 5):
                stmts.append(f"DELETE FROM public.users WHERE user_id = {tpg.lit(uid)}")
        n = rng.randrange(10**6)
        stmts.append(f"INSERT INTO public.users VALUES ('new-{n}', 'nu{n}', 'free', '2026-01-02', 'NG', now())")
        self.cl.sql("; ".join(stmts), db=self.db)

    def oracle(self):
        click = os.path.join(self.e.dir, "produced.ndjson")
        tk.write_lines(click, self.lines[:self.produced])
        prof = tpg.dump_profiles(self.cl, self.db, os.path.join(self.e.dir, "profiles_now.ndjson"))
        return oracle_rows([click], [prof], self.e.dir)

    def wait_oracle(self, what, seconds=120):
        """The candidate (the freshness check holds the publish until the
        last events are in) must come to equal the oracle."""
        want = self.oracle()
        deadline = time.time() + seconds
        got = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"{what}: the run ended ({self.proc.returncode}):\n{self.log()[-3000:]}")
            try:
                got = self.e.rows(candidate=True, env=self.env)
            except Failure:
                got = None
            if got == want:
                return
            time.sleep(0.5)
        same_rows(got or [], want, what)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        text = self.log() if self.logs else ""
        self.e.close()
        check(not tp.SANITIZER.search(text), f"a run hit a sanitizer:\n{text[-3000:]}")
        check(tpg.PASSWORD not in text, "the password appears in a run's log")


def both_sources_change_through_kill_restarts_and_outage(strategy, seed):
    mock = cl = f = mockdir = None
    try:
        cl = tpg.cluster()
        mockdir = tempfile.mkdtemp(prefix="akili-flagship-kafka-")
        mock = tk.Mock(mockdir, f"{TOPIC}:4")
        f = Flagship(f"flagship-{strategy}", mock, cl, strategy, seed)
        rng = random.Random(seed)
        deletes = strategy == "cdc"
        f.produce(3000)
        f.start()
        f.wait_oracle("the first events and the whole table")
        # both sources change while the run follows; then kill -9 mid-flow
        stop = threading.Event()

        def feed():
            while f.produced < 6000 and not stop.is_set():
                f.produce(300)
                time.sleep(0.1)
        t = threading.Thread(target=feed)
        t.start()
        for _ in range(3):
            f.mutate(rng, deletes)
            time.sleep(0.4)
        f.kill()
        t.join()
        f.mutate(rng, deletes)
        f.start()
        f.wait_oracle("after kill -9 and a restart")
        # the database restarts under the run; the brokers go away briefly
        cl.restart()
        f.mutate(rng, deletes)
        f.produce(1500)
        f.wait_oracle("after a database restart")
        mock.down()
        time.sleep(1.5)
        mock.up()
        f.produce(1500)
        f.mutate(rng, deletes)
        f.produce(len(f.lines))
        f.wait_oracle("after a broker outage")
        f.stop()
        same_rows(f.e.rows(env=f.env), f.oracle(), "the published table")
        pos = tk.positions(f.e, "user_sessions", "clickstream")
        check(pos == mock.ends(TOPIC, 4), f"positions at the topic's ends: {pos}")
        check(mock.committed("akili-user_sessions", TOPIC, 4) == pos, "the group's offsets at akili's positions")
        # a --once run afterwards finds nothing new and changes nothing
        want = f.oracle()
        p = f.ak("run", "start", "user_sessions", "--once")
        check(" 0 records read" in p.stdout, p.stdout)
        same_rows(f.e.rows(env=f.env), want, "a last --once run")
    finally:
        if f:
            f.close()
        if mock:
            mock.stop()
        if mockdir and not tp.KEEP:
            shutil.rmtree(mockdir, ignore_errors=True)
        if cl and f:
            for _ in range(50):
                try:
                    cl.sql(f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
                           f"database = '{f.db}'")
                    break
                except Failure:
                    time.sleep(0.2)


@test
def kafka_clicks_postgres_incremental_profiles():
    """Clickstream from the topic, profiles by incremental sync (updates
    and new users: hard deletes are not visible to incremental sync)."""
    both_sources_change_through_kill_restarts_and_outage("incremental", 71)


@test
def kafka_clicks_postgres_cdc_profiles():
    """Clickstream from the topic, profiles by logical replication (updates,
    deletes and new users)."""
    both_sources_change_through_kill_restarts_and_outage("cdc", 72)


def main():
    try:
        passed, failed = tp.run_tests(TESTS)
    finally:
        if tpg.CLUSTER is not None:
            tpg.CLUSTER.close()
    print(f"flagship: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
