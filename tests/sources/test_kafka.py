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


# ---------------------------------------------------------------- change events, tombstones, dead letters

def small_product(e, name, namespace, inputs_yaml, sql):
    d = os.path.join(e.dir, "man-" + name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "product.yaml"), "w") as f:
        f.write(f"product:\n  name: {name}\n  namespace: {namespace}\noutput:\n  format: table\n")
    with open(os.path.join(d, "inputs.yaml"), "w") as f:
        f.write(inputs_yaml)
    with open(os.path.join(d, "transform.sql"), "w") as f:
        f.write(sql)
    e.ak("product", "create", "--name", name, "--namespace", namespace)
    e.ak("product", "deploy", name, "--version", "1", "--dir", d)


def table(e, sql):
    out = e.ak("query", "--format", "json", sql).stdout
    return sorted((json.loads(x) for x in out.splitlines() if x.strip()), key=lambda r: json.dumps(r, sort_keys=True))


def dead_letters(e, product):
    out = e.ak("deadletter", "list", product, "--format", "json").stdout
    return [json.loads(x) for x in out.splitlines() if x.strip()]


ACCOUNTS = """inputs:
  - name: accounts
    connection: cdc
    resource: dbserver.public.accounts
    strategy: cdc
    primary_key: id
    columns:
      - name: id
        type: integer
      - name
      - name: balance
        type: integer
"""


def envelope(op, before, after, wrap):
    v = {"before": before, "after": after, "op": op, "ts_ms": 1700000000000,
         "source": {"connector": "postgresql", "table": "accounts"}}
    if wrap:
        v = {"schema": {"type": "struct", "name": "dbserver.public.accounts.Envelope"}, "payload": v}
    return json.dumps(v)


def account_key(i):
    return json.dumps({"schema": {"type": "struct", "fields": [{"field": "id", "type": "int32"}]},
                       "payload": {"id": i}})


@test
def debezium_envelopes_updates_deletes_and_dead_letters():
    """Debezium envelopes with and without the Connect wrapper: snapshot
    reads, creates, updates, deletes each followed by its tombstone (skipped),
    a re-insert after a delete; undecodable values go to the dead letters
    with `partition P offset O`, the rest applies; a second run goes on."""
    e = Env("kafka-cdc")
    mock = Mock(e.dir, "dbserver.public.accounts:3")
    try:
        e.ak("connection", "create", "--name", "cdc", "--connector-type", "kafka", "--config",
             json.dumps({"brokers": mock.bootstrap, "group_id": "bank-accounts"}))
        small_product(e, "accounts", "bank", ACCOUNTS, "SELECT id, name, balance FROM {{ ref('accounts') }}\n")
        a = lambda i, n, b: {"id": i, "name": n, "balance": b}
        msgs = [
            (account_key(1), envelope("r", None, a(1, "ann", 10), False)),
            (account_key(2), envelope("r", None, a(2, "bob", 20), True)),
            (account_key(3), envelope("r", None, a(3, "cy", 30), False)),
            (account_key(4), envelope("c", None, a(4, "dee", 40), True)),
            (account_key(2), envelope("u", a(2, "bob", 20), a(2, "bob", 25), True)),
            (account_key(3), envelope("d", a(3, "cy", 30), None, False)),
            (account_key(3), None),
            (account_key(1), envelope("u", a(1, "ann", 10), a(1, "ann", 11), False)),
            (account_key(4), envelope("d", a(4, "dee", 40), None, True)),
            (account_key(4), None),
            (account_key(3), envelope("c", None, a(3, "cy", 33), True)),
            (account_key(5), "this is not JSON"),
            (account_key(6), envelope("c", None, {"id": "six", "name": "x", "balance": 1}, False)),
        ]
        mock.produce("dbserver.public.accounts", msgs)
        p = e.ak("run", "start", "accounts", "--once")
        check("2 dead letters" in p.stdout, p.stdout)
        want = [a(1, "ann", 11), a(2, "bob", 25), a(3, "cy", 33)]
        got = table(e, "SELECT id, name, balance FROM bank.accounts ORDER BY id")
        check(got == want, f"after the first run: {got}")
        dl = dead_letters(e, "accounts")
        check(len(dl) == 2 and all(x["position"].startswith("partition ") and " offset " in x["position"] for x in dl),
              f"dead letters with their partition and offset: {dl}")
        check(any(x["raw"] == "this is not JSON" for x in dl) and any("six" in x["raw"] for x in dl),
              f"raw values kept: {dl}")
        # a later delete of a re-inserted row, an update through the wrapper
        mock.produce("dbserver.public.accounts", [
            (account_key(3), envelope("d", a(3, "cy", 33), None, True)),
            (account_key(3), None),
            (account_key(1), envelope("u", a(1, "ann", 11), a(1, "anne", 12), True)),
        ])
        p = e.ak("run", "start", "accounts", "--once")
        check(" 2 records read" in p.stdout and "0 dead letters" in p.stdout, p.stdout)
        got = table(e, "SELECT id, name, balance FROM bank.accounts ORDER BY id")
        check(got == [a(1, "anne", 12), a(2, "bob", 25)], f"after the second run: {got}")
        ends = mock.ends("dbserver.public.accounts", 3)
        check(positions(e, "accounts", "accounts") == ends and mock.committed("bank-accounts", "dbserver.public.accounts", 3) == ends,
              "group_id from the connection, committed at the topic's ends")
    finally:
        mock.stop()
        e.close()


USERS = """inputs:
  - name: users
    connection: plain
    resource: app.users
    strategy: cdc
    primary_key: user_id
    columns:
      - user_id
      - name
"""


@test
def tombstones_delete_plain_rows_by_key():
    """A topic of plain rows on a keyed input: a tombstone deletes the row
    its key names, whatever the key's form (a JSON object, a Connect-wrapped
    one, a bare JSON string, raw text); a tombstone without a key is a dead
    letter; a delete of a key that is not there changes nothing."""
    e = Env("kafka-tomb")
    mock = Mock(e.dir, "app.users:2")
    try:
        e.ak("connection", "create", "--name", "plain", "--connector-type", "kafka", "--config",
             json.dumps({"brokers": mock.brokers}))
        small_product(e, "users", "app", USERS, "SELECT user_id, name FROM {{ ref('users') }}\n")
        row = lambda u, n: json.dumps({"user_id": u, "name": n})
        rows = [(f"u{i}", row(f"u{i}", f"name{i}")) for i in range(1, 9)]
        mock.produce("app.users", rows + [
            ("u2", row("u2", "second")),
            (json.dumps({"user_id": "u1"}), None),
            (json.dumps({"schema": {"type": "struct"}, "payload": {"user_id": "u3"}}), None),
            ('"u4"', None),
            ("u5", None),
            ("u99", None),
            ("", None),
        ])
        p = e.ak("run", "start", "users", "--once")
        check("1 dead letter" in p.stdout, p.stdout)
        got = table(e, "SELECT user_id, name FROM app.users")
        want = [{"user_id": "u2", "name": "second"}] + [{"user_id": f"u{i}", "name": f"name{i}"} for i in (6, 7, 8)]
        want.sort(key=lambda r: json.dumps(r, sort_keys=True))
        check(got == want, f"tombstones deleted u1, u3, u4, u5: {got}")
        dl = dead_letters(e, "users")
        check(len(dl) == 1 and "key" in dl[0]["reason"], f"the keyless tombstone: {dl}")
        # an input with `start: latest` reads only what comes after its first run
        small_product(e, "newusers", "app2", USERS.replace("    columns:", "    options:\n      start: latest\n    columns:"),
                      "SELECT user_id, name FROM {{ ref('users') }}\n")
        t0 = time.time()
        p = e.ak("run", "start", "newusers", "--once")
        check(" 0 records read" in p.stdout and time.time() - t0 < 15, p.stdout)
        mock.produce("app.users", [("u20", row("u20", "late")), ("u21", row("u21", "later"))])
        p = e.ak("run", "start", "newusers", "--once")
        check(" 2 records read" in p.stdout, p.stdout)
        got = table(e, "SELECT user_id, name FROM app2.newusers")
        check(got == [{"user_id": "u20", "name": "late"}, {"user_id": "u21", "name": "later"}], f"latest: {got}")
        bad = USERS.replace("    columns:", "    options:\n      strat: latest\n    columns:").replace("app.users", "x")
        small_product(e, "badopt", "app3", bad, "SELECT user_id, name FROM {{ ref('users') }}\n")
        p = e.ak("run", "start", "badopt", "--once", code=1)
        check("did you mean `start`" in p.stderr, p.stderr)
    finally:
        mock.stop()
        e.close()


# ---------------------------------------------------------------- connections, failures, secrets

@test
def connection_test_reports_or_says_what_is_wrong():
    """`connection test` lists brokers and topics with partition counts;
    a closed port, an unknown librdkafka property and a missing topic (at
    run time) fail with what is wrong, without retrying what cannot work."""
    e = Env("kafka-conn")
    mock = Mock(e.dir, f"{TOPIC}:4", "orders:2")
    try:
        e.ak("connection", "create", "--name", "ok", "--connector-type", "redpanda", "--config",
             json.dumps({"brokers": mock.brokers}))
        out = e.ak("connection", "test", "ok").stdout
        check("3 brokers" in out and mock.brokers[0] in out and f"{TOPIC} (4 partitions)" in out and
              "orders (2 partitions)" in out, out)
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
        s.close()
        e.ak("connection", "create", "--name", "closed", "--connector-type", "kafka", "--config",
             json.dumps({"brokers": [closed]}))
        t0 = time.time()
        p = e.ak("connection", "test", "closed", code=1)
        check(f"cannot reach the Kafka brokers (tried {closed})" in p.stderr and "Connection refused" in p.stderr,
              p.stderr)
        check(time.time() - t0 < 12, f"bounded: {time.time() - t0:.1f} s")
        e.ak("connection", "create", "--name", "bogus", "--connector-type", "kafka", "--config",
             json.dumps({"brokers": mock.brokers, "librdkafka.fetch.wait.max.msx": 5}))
        p = e.ak("connection", "test", "bogus", code=1)
        check("no property `fetch.wait.max.msx`" in p.stderr, p.stderr)
        # passed-through properties reach librdkafka (a wrong value is refused by it)
        e.ak("connection", "create", "--name", "badval", "--connector-type", "kafka", "--config",
             json.dumps({"brokers": mock.brokers, "librdkafka.fetch.wait.max.ms": "soon"}))
        p = e.ak("connection", "test", "badval", code=1)
        check("invalid value for librdkafka property `fetch.wait.max.ms`" in p.stderr, p.stderr)
        # a missing topic: the run fails at once and says which topics exist
        e.ak("connection", "create", "--name", "production-events", "--connector-type", "redpanda", "--config",
             json.dumps({"brokers": mock.brokers}))
        man = tp.manifests_with(e, "inputs.yaml", "resource: clickstream.page-views", "resource: clickstream.pageviews")
        e.ak("connection", "create", "--name", "production-db", "--connector-type", "file", "--config",
             json.dumps({"path": e.data, "files": {"public.users": "user_profiles.ndjson"}}))
        e.generated(100, 10, 1)
        e.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics")
        e.ak("product", "deploy", "user_sessions", "--version", "1", "--dir", man)
        t0 = time.time()
        p = tp.run_once(e, ok=False)
        check(p.returncode == 1 and "topic `clickstream.pageviews` does not exist" in p.stderr and
              f"{TOPIC} (4 partitions)" in p.stderr and "retry" not in p.stderr, p.stderr[-1500:])
        check(time.time() - t0 < 15, f"not retried: {time.time() - t0:.1f} s")
        check("clickstream.pageviews" not in e.ak("connection", "test", "ok").stdout, "the topic was not created")
    finally:
        mock.stop()
        e.close()


@test
def sasl_password_never_shown_and_refusal_not_retried():
    """A SASL password given as ${ENV}: the brokers refuse the handshake (the
    mock speaks no SASL), which fails `connection test` and a run at once
    (not retried) with what to check; the password's value appears in no
    output, debug log, catalog or other file."""
    e = Env("kafka-sasl")
    mock = Mock(e.dir, f"{TOPIC}:4")
    secret = "pw-" + os.urandom(6).hex()
    env = {"AK_TEST_KAFKA_PW": secret}
    try:
        cfg = {"brokers": mock.brokers, "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
               "sasl_username": "akili", "sasl_password": "${AK_TEST_KAFKA_PW}"}
        outputs = []
        outputs.append(e.ak("connection", "create", "--name", "production-events", "--connector-type", "kafka",
                            "--config", json.dumps(cfg)))
        e.ak("connection", "create", "--name", "production-db", "--connector-type", "file", "--config",
             json.dumps({"path": e.data, "files": {"public.users": "user_profiles.ndjson"}}))
        e.generated(100, 10, 1)
        e.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics")
        e.ak("product", "deploy", "user_sessions", "--version", "1", "--dir", tp.EXAMPLE)
        p = e.ak("--debug", "all", "connection", "test", "production-events", code=1, env=env)
        outputs.append(p)
        check("refused the client" in p.stderr and "sasl_username" in p.stderr, p.stderr[-1500:])
        t0 = time.time()
        p = e.ak("--debug", "all", "run", "start", "user_sessions", "--once", code=1, env=env)
        outputs.append(p)
        check("refused the client" in p.stderr and "retry" not in p.stderr, p.stderr[-1500:])
        check(time.time() - t0 < 15, f"not retried: {time.time() - t0:.1f} s")
        for args in (("connection", "show", "production-events"), ("connection", "list"), ("run", "list", "user_sessions")):
            outputs.append(e.ak(*args, env=env))
        for o in outputs:
            check(secret not in o.stdout and secret not in o.stderr, f"the password shows in {o.args}")
        check("${AK_TEST_KAFKA_PW}" in outputs[-3].stdout, "the reference is shown instead")
        for root, _, files in os.walk(e.home):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    check(secret.encode() not in f.read(), f"the password is in {os.path.join(root, name)}")
    finally:
        mock.stop()
        e.close()


def produce_in_background(mock, lines, chunk, pause):
    def go():
        for i in range(0, len(lines), chunk):
            mock.produce_lines(TOPIC, lines[i:i + chunk], user_key)
            time.sleep(pause)
    t = threading.Thread(target=go)
    t.start()
    return t


def follow(e, want, seconds):
    deadline = time.time() + seconds
    got = None
    while time.time() < deadline:
        got = e.rows(candidate=True)
        if got == want:
            return got
        time.sleep(0.5)
    return got


@test
def killed_continuous_run_loses_and_doubles_nothing():
    """kill -9 of a continuous run while messages are produced; a restarted
    run follows on: the result equals the oracle over every message (a
    message read twice or lost would change the sessions), and the group's
    offsets end at akili's positions."""
    e = Env("kafka-kill")
    mock = Mock(e.dir, f"{TOPIC}:4")
    procs = []
    try:
        lines = e.generated(12000, 500, 33)
        flagship(e, mock)
        mock.produce_lines(TOPIC, lines[:3000], user_key)
        start = lambda: subprocess.Popen([e.bin, "run", "start", "user_sessions", "--interval", "0.1"], env=e.env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        proc = start()
        procs.append(proc)
        bg = produce_in_background(mock, lines[3000:9000], 500, 0.15)
        time.sleep(2.5)
        proc.kill()
        proc.wait()
        bg.join()
        check(positions(e, "user_sessions", "clickstream") is not None, "the killed run had checkpointed")
        proc = start()
        procs.append(proc)
        bg = produce_in_background(mock, lines[9000:], 1000, 0.1)
        bg.join()
        want = oracle_over(e, lines)
        got = follow(e, want, 120)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        check(proc.returncode == 0, f"stopped cleanly: {err[-1500:]}")
        check(not tp.SANITIZER.search(err), err[-3000:])
        same_rows(got, want, "after kill -9 and restart")
        pos = positions(e, "user_sessions", "clickstream")
        check(pos == mock.ends(TOPIC, 4) and mock.committed("akili-user_sessions", TOPIC, 4) == pos,
              "group offsets at akili's positions after the stop")
    finally:
        for pr in procs:
            if pr.poll() is None:
                pr.kill()
                pr.wait()
        mock.stop()
        e.close()


@test
def brokers_down_retries_then_fails_and_later_run_recovers():
    """Every broker goes down under a continuous run: the run retries, then
    fails naming the brokers it tried; a `--once` run meanwhile fails the
    same way; once the brokers are back a run reads on from the checkpoint
    and the result equals the oracle over everything."""
    e = Env("kafka-down")
    mock = Mock(e.dir, f"{TOPIC}:4")
    proc = None
    try:
        lines = e.generated(6000, 300, 44)
        man = tp.manifests_with(e, "compute.yaml", "retries: 3", "retries: 1")
        flagship(e, mock, man)
        mock.produce_lines(TOPIC, lines[:3000], user_key)
        proc = subprocess.Popen([e.bin, "run", "start", "user_sessions", "--interval", "0.1"], env=e.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        want = oracle_over(e, lines[:3000])
        same_rows(follow(e, want, 60), want, "before the outage")
        t0 = time.time()
        mock.down()
        out, err = proc.communicate(timeout=120)
        took = time.time() - t0
        check(proc.returncode == 1, f"the run failed ({proc.returncode}): {err[-1500:]}")
        check("retry 1 of 1" in err and "failed 2 times in a row" in err and
              f"(tried {mock.bootstrap})" in err, err[-2000:])
        check(took < 60, f"failed within {took:.1f} s")
        p = tp.run_once(e, ok=False)
        check(p.returncode == 1 and f"cannot reach the Kafka brokers (tried {mock.bootstrap})" in p.stderr,
              p.stderr[-1500:])
        mock.up()
        mock.produce_lines(TOPIC, lines[3000:], user_key)
        p = tp.run_once(e, ok=False)
        check("akili: error" not in p.stderr and records_read(p) == 3000, p.stdout + p.stderr[-1500:])
        same_rows(e.rows(candidate=True), oracle_over(e, lines), "after the outage")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        mock.stop()
        e.close()


def main():
    passed = failed = 0
    try:
        p, f = tp.run_tests(TESTS)
        passed += p
        failed += f
    finally:
        if _bins and not KEEP:
            shutil.rmtree(_bins, ignore_errors=True)
    print(f"kafka: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
