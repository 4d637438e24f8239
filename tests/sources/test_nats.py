#!/usr/bin/env python3
"""test_nats.py - the `nats` connector against a real nats-server with
JetStream (file store, 127.0.0.1, random port, user/password auth), started
and stopped here.

    python3 tests/sources/test_nats.py [-k SUBSTRING] [--keep]

AKILI (default build/asan/akili) is the binary under test.  Messages are
published by tests/sources/peers/natspub.c, built into the temporary
directory.  Results are compared with the batch oracle (DuckDB over the
materialized changelog, as tests/pipeline/test_pipeline.py does).  Ends with
"nats: N passed, M failed"; exit status 1 on any failure.
"""
import glob
import re
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests/pipeline"))
import test_pipeline as tp  # noqa: E402
from test_pipeline import Env, Failure, check, payments_changelog, payment_metrics_oracle, same_rows  # noqa: E402

EXAMPLE = os.path.join(ROOT, "examples/payment_metrics")
NOW = "2026-11-23T12:00:00Z"
USER, PASSWORD, TOKEN = "akili", "pw-Zq81vLr4", "tok-Hx93kPw2"
SECRET_ENV = {"NATS_TEST_PASSWORD": PASSWORD, "NATS_TEST_TOKEN": TOKEN}
KEEP = "--keep" in sys.argv
TESTS = []
WORK = None      # the temporary directory of this file's peers
NATSPUB = None


def test(fn):
    TESTS.append(fn)
    return fn


class Server:
    """nats-server -js on 127.0.0.1; the logic of the nats-jetstream recipe."""

    def __init__(self, name, js=True, auth=("user", USER, PASSWORD)):
        self.dir = os.path.join(WORK, name)
        self.js, self.auth = js, auth
        self.proc, self.port, self.mon = None, None, None
        os.makedirs(os.path.join(self.dir, "store"), exist_ok=True)

    def start(self):
        ports = os.path.join(self.dir, "ports")
        shutil.rmtree(ports, ignore_errors=True)
        os.makedirs(ports)
        args = ["nats-server", "-a", "127.0.0.1", "-p", str(self.port or -1), "-m", "-1",
                "--ports_file_dir", ports, "-l", os.path.join(self.dir, "nats.log")]
        if self.js:
            args += ["-js", "-sd", os.path.join(self.dir, "store")]
        if self.auth and self.auth[0] == "user":
            args += ["--user", self.auth[1], "--pass", self.auth[2]]
        elif self.auth:
            args += ["--auth", self.auth[1]]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        info = None
        while time.time() < deadline and not info:
            for f in glob.glob(os.path.join(ports, "*.ports")):
                try:
                    with open(f) as fh:
                        info = json.load(fh)
                except ValueError:
                    info = None
            if not info:
                time.sleep(0.05)
        check(info, f"nats-server did not start (see {self.dir}/nats.log)")
        self.port = int(info["nats"][0].rsplit(":", 1)[1])
        self.mon = info["monitoring"][0]
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.mon + ("/healthz?js-enabled-only=true" if self.js else "/healthz"),
                                       timeout=1).read()
                return self
            except OSError:
                time.sleep(0.05)
        raise Failure("nats-server not healthy in 10 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def url(self, creds=False):
        if creds and self.auth and self.auth[0] == "user":
            return f"nats://{self.auth[1]}:{self.auth[2]}@127.0.0.1:{self.port}"
        return f"nats://127.0.0.1:{self.port}"

    def config(self, stream, subjects=None, **extra):
        c = {"url": self.url(), "stream": stream, "user": USER, "password": "${NATS_TEST_PASSWORD}"}
        if subjects:
            c["subjects"] = subjects
        c.update(extra)
        return c

    def stream(self, name, subjects):
        natspub(self.url(True), "stream", name, ",".join(subjects))

    def publish(self, lines, rate=0, wait=True):
        """lines: (subject, payload text) pairs."""
        path = tempfile.mktemp(dir=self.dir, suffix=".pub")
        with open(path, "w", encoding="utf-8") as f:
            for subj, payload in lines:
                f.write(f"{subj} {payload}\n")
        args = [NATSPUB, self.url(True), "pub", path, str(rate)]
        if not wait:
            return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, f"natspub pub: {p.stderr}")
        return p.stdout

    def consumer(self, stream, name):
        with urllib.request.urlopen(self.mon + "/jsz?consumers=true&config=true", timeout=5) as r:
            d = json.load(r)
        for a in d.get("account_details", []):
            for s in a.get("stream_detail", []):
                if s["name"] == stream:
                    for c in s.get("consumer_detail", []) or []:
                        if c["name"] == name:
                            return c
        return None

    def last_seq(self, stream):
        with urllib.request.urlopen(self.mon + "/jsz?streams=true", timeout=5) as r:
            d = json.load(r)
        for a in d.get("account_details", []):
            for s in a.get("stream_detail", []):
                if s["name"] == stream:
                    return s["state"]["last_seq"]
        return None


def natspub(*args):
    p = subprocess.run([NATSPUB, *args], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"natspub {args[1:]}: {p.stderr}")
    return p.stdout


def build_natspub():
    out = os.path.join(WORK, "natspub")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libnats"], capture_output=True, text=True,
                           check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-Wall", "-o", out, os.path.join(HERE, "peers/natspub.c"), *flags], check=True)
    return out


def subject_of(prefix, line):
    """The subject of a Debezium line: PREFIX.c / .u / .d (wrapped deletes and tombstones: .d)."""
    if line is None or "payload" in line:
        return prefix + ".d"
    return f"{prefix}.{line.get('op', 'x')}"


def changelog(path, n, seed):
    payments_changelog(path, n, seed)
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f]


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")


def records_of(lines):
    """Records akili makes of these lines on a keyed input: one per envelope
    that is not a tombstone."""
    return sum(1 for l in lines if l is not None and not (isinstance(l, dict) and "payload" in l and l["payload"] is None))


def nats_env(name):
    e = Env(name)
    e.env.update(SECRET_ENV)
    return e


def deploy(e, server, stream, subjects, manifests=EXAMPLE, **extra):
    e.ak("connection", "create", "--name", "payments-cdc", "--connector-type", "nats", "--config",
         json.dumps(server.config(stream, subjects, **extra)))
    e.ak("product", "create", "--name", "payment_metrics", "--namespace", "realtime")
    e.ak("product", "deploy", "payment_metrics", "--version", "1.0.0", "--dir", manifests)


def manifests_with(e, replacements):
    """A copy of examples/payment_metrics with (file, old, new) replacements."""
    man = os.path.join(e.dir, "manifests")
    shutil.copytree(EXAMPLE, man)
    for name, old, new in replacements:
        path = os.path.join(man, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        check(old in text, f"{name} has {old!r}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new))
    return man


def run_once(e, code=0, env=None):
    env = dict(env or {}, AKILI_NOW=NOW)
    return e.ak("run", "start", "payment_metrics", "--once", code=code, env=env, timeout=300)


def rows(e):
    return e.rows(sql="SELECT * FROM realtime.payment_metrics", env={"AKILI_NOW": NOW})


def committed_seq(e, inp="payments_realtime"):
    db = sqlite3.connect(os.path.join(e.home, "catalog.db"))
    try:
        r = db.execute("SELECT position FROM positions WHERE product='payment_metrics' AND input=?", (inp,)).fetchone()
    finally:
        db.close()
    return json.loads(r[0])["seq"] if r and r[0] else 0


def records_read(out):
    m = re.search(r"(\d+) records? read, (\d+) dead letters?", out)
    check(m, f"run summary: {out}")
    return int(m.group(1)), int(m.group(2))


def no_secrets(e, *texts):
    for t in texts:
        check(PASSWORD not in t and TOKEN not in t, f"a secret leaked into output:\n{t[-2000:]}")
    with open(os.path.join(e.home, "catalog.db"), "rb") as f:
        data = f.read()
    check(PASSWORD.encode() not in data and TOKEN.encode() not in data, "a secret is in the catalog file")


# ------------------------------------------------------------------ tests

@test
def connection_test_reports_or_says_what_is_wrong():
    s = Server("conntest").start()
    plain = Server("plain", js=False, auth=("token", TOKEN)).start()
    e = nats_env("nats-conntest")
    outs = []
    try:
        s.stream("CDC", ["cdc.>"])
        s.publish([("cdc.payments.c", '{"x":1}')] * 3)

        def make(name, cfg):
            e.ak("connection", "create", "--name", name, "--connector-type", "nats", "--config", json.dumps(cfg))

        make("good", s.config("CDC", ["cdc.payments.*"]))
        p = e.ak("connection", "test", "good")
        outs += [p.stdout, p.stderr]
        for want in ("2.9.10", "JetStream enabled", "cdc.>", "3 messages", f"127.0.0.1:{s.port}"):
            check(want in p.stdout, f"test report has {want!r}: {p.stdout}")
        make("wrongport", dict(s.config("CDC"), url="nats://127.0.0.1:1"))
        p = e.ak("connection", "test", "wrongport", code=1)
        outs += [p.stdout, p.stderr]
        check("nats://127.0.0.1:1" in p.stderr and "cannot reach" in p.stderr, p.stderr)
        make("nostream", s.config("NOPE"))
        p = e.ak("connection", "test", "nostream", code=1)
        outs += [p.stdout, p.stderr]
        check("`NOPE` does not exist" in p.stderr and "`CDC`" in p.stderr, p.stderr)
        make("badpw", dict(s.config("CDC"), password="${NATS_TEST_TOKEN}"))
        p = e.ak("connection", "test", "badpw", code=1)
        outs += [p.stdout, p.stderr]
        check("refused the credentials" in p.stderr, p.stderr)
        make("badsubject", s.config("CDC", ["other.>"]))
        p = e.ak("connection", "test", "badsubject", code=1)
        outs += [p.stdout, p.stderr]
        check("`other.>`" in p.stderr and "not stored" in p.stderr, p.stderr)
        # the token is accepted by the server without JetStream, which says so
        make("nojs", {"url": plain.url(), "stream": "CDC", "token": "${NATS_TEST_TOKEN}"})
        p = e.ak("connection", "test", "nojs", code=1)
        outs += [p.stdout, p.stderr]
        check("JetStream is not enabled" in p.stderr, p.stderr)
        make("badtoken", {"url": plain.url(), "stream": "CDC", "token": "${NATS_TEST_PASSWORD}"})
        p = e.ak("connection", "test", "badtoken", code=1)
        outs += [p.stdout, p.stderr]
        check("refused" in p.stderr, p.stderr)
        # credentials inside the URL (from the environment) are never shown either
        make("inurl", {"url": "${NATS_TEST_URL}", "stream": "CDC"})
        p = e.ak("connection", "test", "inurl", env={"NATS_TEST_URL": s.url(True)})
        outs += [p.stdout, p.stderr]
        check("****@127.0.0.1" in p.stdout, p.stdout)
        for args in (("connection", "list"), ("connection", "show", "good"), ("connection", "show", "badpw")):
            outs.append(e.ak(*args).stdout)
        # a run against a server that is down fails at once, naming the URL
        deploy_dir = manifests_with(e, [("inputs.yaml", "connection: payments-cdc", "connection: wrongport")])
        e.ak("product", "create", "--name", "payment_metrics", "--namespace", "realtime")
        e.ak("product", "deploy", "payment_metrics", "--version", "1.0.0", "--dir", deploy_dir)
        p = run_once(e, code=1)
        outs += [p.stdout, p.stderr]
        check("nats://127.0.0.1:1" in p.stderr, p.stderr)
        no_secrets(e, *outs)
    finally:
        s.stop()
        plain.stop()
        e.close()


@test
def payment_metrics_once_equals_oracle_and_reads_only_new():
    """examples/payment_metrics as written (resource `cdc.payments`) over
    Debezium envelopes on cdc.payments.* mixed with another table's on
    cdc.customers.*: --once equals the oracle; undecodable messages are dead
    letters; the consumer is acked up to the checkpoint; a second --once reads
    only the new messages (after the consumer was even deleted)."""
    s = SERVER
    e = nats_env("nats-payments")
    try:
        s.stream("CDC", ["cdc.>"])
        lines = changelog(os.path.join(e.dir, "all.ndjson"), 3000, 9)
        cut = len(lines) * 2 // 3
        part1, part2 = lines[:cut], lines[cut:]
        pub, bad = [], 0
        for i, l in enumerate(part1):
            pub.append((subject_of("cdc.payments", l), json.dumps(l)))
            if i % 10 == 0:  # another table, on another subject
                pub.append(("cdc.customers.c", json.dumps({"op": "c", "before": None, "source": {"table": "customers"},
                                                            "after": {"customer_id": f"c{i}", "name": "x"}})))
            if i % 1000 == 500:
                pub.append(("cdc.payments.c", '{"op": "c", "after": {"payment_id": '))  # undecodable
                bad += 1
        pub.append(("cdc.payments.d", ""))  # an empty message: a tombstone
        s.publish(pub)
        deploy(e, s, "CDC", ["cdc.payments.*", "cdc.customers.*"])
        p = run_once(e)
        got_records, dead = records_read(p.stdout)
        check(dead == bad and bad >= 2, f"{bad} dead letters: {p.stdout}")
        check(got_records == records_of(part1), f"{got_records} records read, want {records_of(part1)}")
        write_lines(os.path.join(e.dir, "part1.ndjson"), part1)
        want = payment_metrics_oracle(e.dir, [os.path.join(e.dir, "part1.ndjson")], NOW)
        check(len(want) > 50, f"{len(want)} windows")
        same_rows(rows(e), want, "first --once")
        dl = e.ak("deadletter", "list", "payment_metrics").stdout
        check("stream CDC seq" in dl, dl)
        consumer = "akili_payment_metrics_payments_realtime"
        c = s.consumer("CDC", consumer)
        seq = committed_seq(e)
        check(seq == s.last_seq("CDC"), f"position {seq} = the stream's last sequence")
        check(c and c["ack_floor"]["stream_seq"] == seq and c["num_ack_pending"] == 0,
              f"consumer acked up to the checkpoint {seq}: {c}")
        check(c["config"].get("filter_subject") == "cdc.payments.*", f"one filter subject: {c['config']}")
        # nothing new: nothing read
        p = run_once(e)
        check(records_read(p.stdout) == (0, 0), p.stdout)
        # the consumer is gone: it is recreated after the checkpoint
        natspub(s.url(True), "delete-consumer", "CDC", consumer)
        pub = [(subject_of("cdc.payments", l), json.dumps(l)) for l in part2]
        pub.insert(len(pub) // 2, ("cdc.payments.u", "not json at all"))
        pub.append(("cdc.customers.u", json.dumps({"op": "u", "before": None, "after": {"customer_id": "c1"}})))
        s.publish(pub)
        p = run_once(e)
        got_records, dead = records_read(p.stdout)
        check((got_records, dead) == (records_of(part2), 1), f"second --once read only the new messages: {p.stdout}")
        want = payment_metrics_oracle(e.dir, [os.path.join(e.dir, "all.ndjson")], NOW)
        same_rows(rows(e), want, "second --once")
        c = s.consumer("CDC", consumer)
        check(c["ack_floor"]["stream_seq"] == committed_seq(e) == s.last_seq("CDC") - 1,
              f"acked up to the checkpoint: {c}")
        no_secrets(e, p.stdout, p.stderr, dl, e.ak("connection", "show", "payments-cdc").stdout)
    finally:
        e.close()


@test
def table_resource_takes_its_table_and_skips_others():
    """resource `public.payments`: envelopes of other tables (and of the same
    table name in another schema) on the same subjects are skipped; a message
    without source.table is a dead letter; `options: durable` names the
    consumer."""
    s = SERVER
    e = nats_env("nats-table")
    try:
        s.stream("TBL", ["db.>"])
        lines = changelog(os.path.join(e.dir, "all.ndjson"), 1500, 4)
        src = {"schema": "public", "table": "payments", "db": "shop"}
        pub = []
        for i, l in enumerate(lines):
            if isinstance(l, dict) and "payload" in l:
                l["payload"]["source"] = src
            elif l is not None:
                l["source"] = src
            pub.append(("db.shop", json.dumps(l)))
            if i % 7 == 0:
                other = {"op": "c", "before": None, "after": {"payment_id": f"x{i}", "amount": "not a number"}}
                pub.append(("db.shop", json.dumps(dict(other, source={"schema": "public", "table": "customers"}))))
                pub.append(("db.shop", json.dumps(dict(other, source={"schema": "archive", "table": "payments"}))))
        pub.append(("db.shop", json.dumps({"payment_id": "p1", "amount": 5})))  # no source: whose?
        s.publish(pub)
        man = manifests_with(e, [("inputs.yaml", "resource: cdc.payments",
                                  "resource: public.payments\n    options:\n      durable: table_mode")])
        deploy(e, s, "TBL", ["db.>"], manifests=man)
        p = run_once(e)
        got_records, dead = records_read(p.stdout)
        check(dead == 1, f"one dead letter: {p.stdout}")
        check(got_records == records_of(lines), f"{got_records} records, want {records_of(lines)}")
        dl = e.ak("deadletter", "list", "payment_metrics").stdout
        check("source.table" in dl, dl)
        write_lines(os.path.join(e.dir, "src.ndjson"), lines)
        same_rows(rows(e), payment_metrics_oracle(e.dir, [os.path.join(e.dir, "src.ndjson")], NOW), "table mode")
        c = s.consumer("TBL", "table_mode")
        check(c and c["ack_floor"]["stream_seq"] == s.last_seq("TBL"), f"consumer `table_mode` acked: {c}")
    finally:
        e.close()


@test
def acks_only_after_the_checkpoint():
    """Killed after the input log is synced but before the catalog commit:
    nothing acked.  Killed after the catalog commit, before the ack: the ack
    floor stays below the checkpoint.  The next run acks exactly up to it and
    the result equals the oracle."""
    s = SERVER
    e = nats_env("nats-acks")
    try:
        s.stream("ACK", ["ack.>"])
        lines = changelog(os.path.join(e.dir, "all.ndjson"), 800, 12)
        s.publish([(subject_of("ack.payments", l), json.dumps(l)) for l in lines])
        man = manifests_with(e, [("inputs.yaml", "resource: cdc.payments", "resource: ack.payments")])
        deploy(e, s, "ACK", ["ack.>"], manifests=man)
        consumer = "akili_payment_metrics_payments_realtime"
        p = subprocess.run([e.bin, "run", "start", "payment_metrics", "--once"], capture_output=True, timeout=120,
                           env=dict(e.env, AKILI_NOW=NOW, AKILI_CRASH_AT="log-synced"))
        check(p.returncode == -signal.SIGKILL, f"killed at log-synced: {p.returncode}")
        c = s.consumer("ACK", consumer)
        check(committed_seq(e) == 0 and c["ack_floor"]["stream_seq"] == 0 and c["num_ack_pending"] > 0,
              f"nothing acked before the checkpoint: {c}")
        p = subprocess.run([e.bin, "run", "start", "payment_metrics", "--once"], capture_output=True, timeout=120,
                           env=dict(e.env, AKILI_NOW=NOW, AKILI_CRASH_AT="positions-committed"))
        check(p.returncode == -signal.SIGKILL, f"killed at positions-committed: {p.returncode}")
        c = s.consumer("ACK", consumer)
        seq = committed_seq(e)
        check(seq == s.last_seq("ACK") and c["ack_floor"]["stream_seq"] < seq,
              f"checkpoint at {seq}, ack floor below it: {c}")
        p = run_once(e)
        check(records_read(p.stdout)[0] == 0, f"nothing read twice: {p.stdout}")
        c = s.consumer("ACK", consumer)
        check(c["ack_floor"]["stream_seq"] == seq and c["num_ack_pending"] == 0, f"acked up to {seq}: {c}")
        same_rows(rows(e), payment_metrics_oracle(e.dir, [os.path.join(e.dir, "all.ndjson")], NOW), "after crashes")
    finally:
        e.close()


def keyless_manifests(e, prefix, ack_wait):
    """The example without a primary key (every create is a row: anything
    applied twice shows in the counts) on subjects PREFIX.*."""
    return manifests_with(e, [
        ("inputs.yaml", "resource: cdc.payments",
         f"resource: {prefix}\n    options:\n      ack_wait: {ack_wait}"),
        ("inputs.yaml", "    primary_key: payment_id\n", ""),
    ])


def keyless_oracle(e, path):
    return payment_metrics_oracle(e.dir, [path], NOW, keyed=False)


@test
def kill_9_while_publishing_loses_and_doubles_nothing():
    """Continuous runs killed with SIGKILL while messages are published, on
    a keyless input with a 1 s ack wait (the server redelivers what was not
    acknowledged): after a final --once the result equals the oracle, and
    the ack floor never passes akili's committed position."""
    s = SERVER
    e = nats_env("nats-kill")
    procs = []
    try:
        s.stream("KILL", ["kill.>"])
        lines = changelog(os.path.join(e.dir, "all.ndjson"), 2500, 21)
        deploy(e, s, "KILL", ["kill.payments.*"], manifests=keyless_manifests(e, "kill.payments", "1s"))
        pub = s.publish([(subject_of("kill.payments", l), json.dumps(l)) for l in lines], rate=1500, wait=False)
        procs.append(pub)
        consumer = "akili_payment_metrics_payments_realtime"
        kills = 0
        for hold in (1.5, 1.0, 1.2):
            r = subprocess.Popen([e.bin, "run", "start", "payment_metrics"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env=dict(e.env, AKILI_NOW=NOW))
            procs.append(r)
            t_end = time.time() + hold
            while time.time() < t_end:
                c = s.consumer("KILL", consumer)  # ack floor first: acks follow commits
                seq = committed_seq(e)
                if c:
                    check(c["ack_floor"]["stream_seq"] <= seq, f"ack floor {c['ack_floor']} <= committed {seq}")
                time.sleep(0.1)
            r.send_signal(signal.SIGKILL)
            r.wait(10)
            kills += 1
        check(pub.wait(60) == 0, f"publisher: {pub.stderr.read()}")
        check(committed_seq(e) > 0, "the continuous runs committed something")
        time.sleep(1.2)  # past the ack wait: unacknowledged messages are due again
        p = run_once(e)
        c = s.consumer("KILL", consumer)
        check(c["ack_floor"]["stream_seq"] == committed_seq(e) == s.last_seq("KILL"), f"all acked: {c}")
        same_rows(rows(e), keyless_oracle(e, os.path.join(e.dir, "all.ndjson")), f"after {kills} kills")
    finally:
        for pr in procs:
            if pr.poll() is None:
                pr.kill()
                pr.wait()
        e.close()


@test
def redeliveries_are_skipped():
    """With an ack wait (100 ms) shorter than reading the backlog takes, the
    server delivers messages again while a --once run reads: those at or
    below the position are skipped (keyless: a double would show).  When
    only redeliveries come, the run stops with a warning, what it read is
    checkpointed and acknowledged, and the next run continues."""
    s = SERVER
    e = nats_env("nats-redeliver")
    try:
        s.stream("RED", ["red.>"])
        lines = changelog(os.path.join(e.dir, "all.ndjson"), 12000, 31)
        s.publish([(subject_of("red.payments", l), json.dumps(l)) for l in lines])
        man = keyless_manifests(e, "red.payments", "100ms")
        deploy(e, s, "RED", ["red.payments.*"], manifests=man)
        redelivered, total, runs = 0, 0, 0
        while runs < 15:
            p = run_once(e, env={"AKILI_DEBUG": "payments_realtime"})
            runs += 1
            m = re.search(r"and (\d+) redeliveries", p.stderr)
            redelivered += int(m.group(1)) if m else 0
            n = records_read(p.stdout)[0]
            total += n
            if n == 0:
                break
        check(redelivered > 0, "the runs outlasted the 100 ms ack wait")
        same_rows(rows(e), keyless_oracle(e, os.path.join(e.dir, "all.ndjson")), f"with {redelivered} redeliveries")
        c = s.consumer("RED", "akili_payment_metrics_payments_realtime")
        check(c["ack_floor"]["stream_seq"] == s.last_seq("RED"), f"acked: {c}")
        print(f"     {runs} runs, {redelivered} redeliveries skipped", flush=True)
    finally:
        e.close()


@test
def deliveries_lost_on_the_way_are_read_again():
    """Another reader of the same consumer takes some deliveries (as a cut
    connection loses a batch in flight): the continuous run sees the gap in
    delivery sequences, reads again after its checkpoint, and ends equal to
    the oracle, though the taken messages are never acknowledged."""
    s = SERVER
    e = nats_env("nats-gap")
    r = None
    try:
        s.stream("GAP", ["gap.>"])
        lines = changelog(os.path.join(e.dir, "all.ndjson"), 600, 8)
        cut = len(lines) // 2
        deploy(e, s, "GAP", ["gap.>"], manifests=keyless_manifests(e, "gap.payments", "30m"))
        r = subprocess.Popen([e.bin, "run", "start", "payment_metrics"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(e.env, AKILI_NOW=NOW))
        consumer = "akili_payment_metrics_payments_realtime"
        deadline = time.time() + 30
        while time.time() < deadline and not s.consumer("GAP", consumer):
            time.sleep(0.05)
        thief = subprocess.Popen([NATSPUB, s.url(True), "steal", "GAP", consumer, "20", "4000"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        s.publish([(subject_of("gap.payments", l), json.dumps(l)) for l in lines[:cut]], rate=400)
        out, err = thief.communicate(timeout=30)
        check(thief.returncode == 0 and int(out.split()[1]) > 0, f"the other reader took deliveries: {out} {err}")
        s.publish([(subject_of("gap.payments", l), json.dumps(l)) for l in lines[cut:]])
        while time.time() < deadline and committed_seq(e) < s.last_seq("GAP"):
            time.sleep(0.1)
        time.sleep(0.3)
        r.send_signal(signal.SIGTERM)
        out, err = r.communicate(timeout=60)
        check(r.returncode == 0, f"stopped cleanly: {err[-2000:]}")
        check("were lost on the way" in err, f"the gap was seen: {err[-2000:]}")
        same_rows(rows(e), keyless_oracle(e, os.path.join(e.dir, "all.ndjson")), "after lost deliveries")
        c = s.consumer("GAP", consumer)
        check(c["ack_floor"]["stream_seq"] == s.last_seq("GAP") and c["num_ack_pending"] == 0, f"acked: {c}")
    finally:
        if r and r.poll() is None:
            r.kill()
            r.wait()
        e.close()


@test
def consumer_deleted_during_a_run_is_recreated():
    """The consumer is deleted under a continuous run: the fetch fails, is
    retried, the consumer is created again from the checkpoint, and the run
    ends equal to the oracle (keyless: nothing doubled)."""
    s = SERVER
    e = nats_env("nats-deleted")
    r = None
    try:
        s.stream("DEL", ["del.>"])
        lines = changelog(os.path.join(e.dir, "all.ndjson"), 1000, 3)
        cut = len(lines) // 2
        deploy(e, s, "DEL", ["del.>"], manifests=keyless_manifests(e, "del.payments", "30m"))
        r = subprocess.Popen([e.bin, "run", "start", "payment_metrics"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(e.env, AKILI_NOW=NOW))
        s.publish([(subject_of("del.payments", l), json.dumps(l)) for l in lines[:cut]])
        deadline = time.time() + 30
        while time.time() < deadline and committed_seq(e) < s.last_seq("DEL"):
            time.sleep(0.1)
        natspub(s.url(True), "delete-consumer", "DEL", "akili_payment_metrics_payments_realtime")
        time.sleep(0.3)
        s.publish([(subject_of("del.payments", l), json.dumps(l)) for l in lines[cut:]])
        while time.time() < deadline and committed_seq(e) < s.last_seq("DEL"):
            time.sleep(0.1)
        time.sleep(0.3)
        r.send_signal(signal.SIGTERM)
        out, err = r.communicate(timeout=60)
        check(r.returncode == 0 and "recreating consumer" in err, f"recovered: {r.returncode} {err[-2000:]}")
        same_rows(rows(e), keyless_oracle(e, os.path.join(e.dir, "all.ndjson")), "consumer deleted mid-run")
    finally:
        if r and r.poll() is None:
            r.kill()
            r.wait()
        e.close()


@test
def server_down_fails_with_the_cause_then_resumes_exactly():
    """The server stops under a continuous run: reads fail, are retried, and
    the run fails naming the cause well within compute.timeout; after a
    restart on the same store a --once run continues exactly."""
    s = Server("restart").start()
    e = nats_env("nats-down")
    r = None
    try:
        s.stream("DOWN", ["down.>"])
        lines = changelog(os.path.join(e.dir, "all.ndjson"), 2000, 5)
        cut = len(lines) // 2
        s.publish([(subject_of("down.payments", l), json.dumps(l)) for l in lines[:cut]])
        man = manifests_with(e, [("inputs.yaml", "resource: cdc.payments", "resource: down.payments")])
        deploy(e, s, "DOWN", ["down.>"], manifests=man)
        r = subprocess.Popen([e.bin, "run", "start", "payment_metrics"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(e.env, AKILI_NOW=NOW))
        deadline = time.time() + 60
        while time.time() < deadline and committed_seq(e) < s.last_seq("DOWN"):
            time.sleep(0.1)
        check(committed_seq(e) == s.last_seq("DOWN"), "the continuous run read the first half")
        s.stop()
        t0 = time.time()
        try:
            out, err = r.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure("the run did not fail within compute.timeout (60 s) with the server down")
        took = time.time() - t0
        check(r.returncode == 1, f"failed: {r.returncode}\n{err[-2000:]}")
        check(f"127.0.0.1:{s.port}" in err and "retry" in err and "compute.retries" in err,
              f"names the server and the retries:\n{err[-2000:]}")
        check(tp.SANITIZER.search(err) is None, err[-3000:])
        no_secrets(e, out, err)
        s.start()  # same port, same store
        s.publish([(subject_of("down.payments", l), json.dumps(l)) for l in lines[cut:]])
        p = run_once(e)
        check(records_read(p.stdout)[0] == records_of(lines[cut:]), f"exactly the second half: {p.stdout}")
        same_rows(rows(e), payment_metrics_oracle(e.dir, [os.path.join(e.dir, "all.ndjson")], NOW), "after restart")
        print(f"     server down -> run failed after {took:.1f} s", flush=True)
    finally:
        if r and r.poll() is None:
            r.kill()
            r.wait()
        s.stop()
        e.close()


SERVER = None
REDELIVERED = None


def main():
    global WORK, NATSPUB, SERVER
    WORK = tempfile.mkdtemp(prefix="akili-nats-")
    passed = failed = 0
    try:
        NATSPUB = build_natspub()
        SERVER = Server("main").start()
        p, f = tp.run_tests(TESTS)
        passed += p
        failed += f
    except Exception:
        failed += 1
        print(f"FAIL setup: {traceback.format_exc()}", flush=True)
    finally:
        if SERVER:
            SERVER.stop()
        if not KEEP:
            shutil.rmtree(WORK, ignore_errors=True)
    print(f"nats: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
