#!/usr/bin/env python3
"""test_postgres.py - the `postgres` connector against a real PostgreSQL 15.

    python3 tests/sources/test_postgres.py [-k SUBSTRING] [--keep]

Starts a throwaway cluster (tests/sources/peers/pg.sh: 127.0.0.1, a random
port, wal_level=logical) in a temporary directory and always stops it.  The
flagship product (examples/user_sessions) reads its clickstream from a
`file` connection and user_profiles from PostgreSQL table public.users, by
`incremental` sync and by `cdc`; every check compares the published table
with the batch oracle over the files and the table's final content.
AKILI (default build/asan/akili) is the binary under test.  Ends with
"postgres: N passed, M failed"; exit status 1 on any failure.
"""
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests/pipeline"))
import test_pipeline as tp  # noqa: E402
from test_pipeline import Env, Failure, check, gen, oracle_rows, same_rows  # noqa: E402

PEER = os.path.join(HERE, "peers/pg.sh")
PASSWORD = "s3cret-Pw-7731"  # the postgres superuser's, given to akili as ${AK_TEST_PG_PASSWORD}
KEEP = "--keep" in sys.argv
PSQL = shutil.which("psql") or "/usr/bin/psql"

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Cluster:
    """A PostgreSQL cluster of the peer script, and psql against it."""

    def __init__(self, wal="logical"):
        self.top = tempfile.mkdtemp(prefix="akili-pg-")
        os.chmod(self.top, 0o755)  # the server runs as `postgres`
        self.dir = os.path.join(self.top, "pg")
        self.wal = wal
        self.port = None
        self.start()

    def start(self):
        env = dict(os.environ, PGPASS=PASSWORD)
        p = subprocess.run([PEER, "start", self.dir, self.wal], capture_output=True, text=True, env=env, timeout=120)
        if p.returncode != 0:
            log = ""
            for f in ("initdb.log", "server.log"):
                try:
                    with open(os.path.join(self.dir, f)) as fh:
                        log += fh.read()[-2000:]
                except OSError:
                    pass
            raise Failure(f"cannot start PostgreSQL: {p.stderr}\n{log}")
        self.port = int(p.stdout.strip().splitlines()[-1])

    def stop(self):
        subprocess.run([PEER, "stop", self.dir], capture_output=True, timeout=120)

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        if not KEEP:
            shutil.rmtree(self.top, ignore_errors=True)

    def env(self, db="postgres", user="postgres"):
        return dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(self.port), PGUSER=user, PGPASSWORD=PASSWORD,
                    PGDATABASE=db)

    def sql(self, text, db="postgres", user="postgres"):
        p = subprocess.run([PSQL, "-X", "-Atq", "-v", "ON_ERROR_STOP=1", "-c", text], capture_output=True, text=True,
                           env=self.env(db, user), timeout=120)
        if p.returncode != 0:
            raise Failure(f"psql failed: {p.stderr}\n{text[:500]}")
        return p.stdout.strip()

    def session(self, db):
        return Session(self, db)

    def conn_config(self, db, port=None, password="${AK_TEST_PG_PASSWORD}", user="postgres"):
        return json.dumps({"host": "127.0.0.1", "port": port or self.port, "database": db, "user": user,
                           "password": password, "sslmode": "disable"})


class Session:
    """A psql process kept open (a transaction held across akili runs)."""

    def __init__(self, cl, db):
        self.p = subprocess.Popen([PSQL, "-X", "-Atq", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=cl.env(db))
        self.n = 0

    def run(self, text):
        """Runs statements and waits until psql has done them."""
        self.n += 1
        mark = f"__done_{self.n}__"
        self.p.stdin.write(text + f"\n\\echo {mark}\n")
        self.p.stdin.flush()
        out = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                raise Failure(f"psql session ended: {''.join(out)}")
            if line.strip() == mark:
                return "".join(out)
            out.append(line)
        raise Failure("psql session timed out")

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()


CLUSTER = None


def cluster():
    global CLUSTER
    if CLUSTER is None:
        CLUSTER = Cluster()
    return CLUSTER


DB_N = [0]


def new_db(cl):
    DB_N[0] += 1
    db = f"app{DB_N[0]}"
    cl.sql(f"CREATE DATABASE {db}")
    return db


USERS_DDL = ("CREATE TABLE public.users (user_id text PRIMARY KEY, username text, account_type text, "
             "signup_date date, country text, updated_at timestamptz)")


def lit(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"


def load_profiles(cl, db, path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            rows.append("(" + ",".join(lit(r.get(k)) for k in
                                       ("user_id", "username", "account_type", "signup_date", "country",
                                        "updated_at")) + ")")
    cl.sql(USERS_DDL + "; ALTER TABLE public.users ALTER COLUMN username SET STORAGE EXTERNAL", db=db)
    for i in range(0, len(rows), 500):
        cl.sql("INSERT INTO public.users VALUES " + ",".join(rows[i:i + 500]), db=db)
    return len(rows)


def dump_profiles(cl, db, out):
    """The table's content as the oracle's profile file."""
    text = cl.sql("SELECT json_build_object('user_id', user_id, 'username', username, 'account_type', account_type, "
                  "'signup_date', signup_date, 'country', country, 'updated_at', "
                  "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) FROM public.users",
                  db=db)
    with open(out, "w", encoding="utf-8") as f:
        for line in text.splitlines():
            if line.strip():
                f.write(line + "\n")
    return out


class Product:
    """The flagship product on a file clickstream and a PostgreSQL users table."""

    def __init__(self, name, cl, db, strategy="incremental", options=None, events=3000, users=300, seed=5):
        self.e = Env(name)
        self.cl, self.db = cl, db
        self.env = {"AK_TEST_PG_PASSWORD": PASSWORD}
        src = os.path.join(self.e.dir, "src")
        gen(src, events, users, seed, ["--null-user-fraction", "0"])
        self.click = os.path.join(self.e.data, "clickstream.ndjson")
        shutil.copy(os.path.join(src, "clickstream.ndjson"), self.click)
        self.nprofiles = load_profiles(cl, db, os.path.join(src, "user_profiles.ndjson"))
        self.now = tp.plus_minutes(tp.last_event_time(self.click), 5)
        self.env["AKILI_NOW"] = self.now
        man = os.path.join(self.e.dir, "manifests")
        shutil.copytree(tp.EXAMPLE, man)
        path = os.path.join(man, "inputs.yaml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("    strategy: incremental\n", f"    strategy: {strategy}\n")
        if options:
            text = text.replace("    primary_key: user_id\n", "    primary_key: user_id\n    options:\n" +
                                "".join(f"      {k}: {v}\n" for k, v in options.items()))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        self.man = man
        self.ak("connection", "create", "--name", "production-events", "--connector-type", "file", "--config",
                json.dumps({"path": self.e.data, "files": {"clickstream.page-views": "clickstream.ndjson"}}))
        self.ak("connection", "create", "--name", "production-db", "--connector-type", "postgres", "--config",
                cl.conn_config(db))
        self.ak("product", "create", "--name", "user_sessions", "--namespace", "analytics", "--archetype", "source")
        self.ak("product", "deploy", "user_sessions", "--version", "1.0.0", "--dir", man)

    def ak(self, *args, **kw):
        env = dict(self.env)
        env.update(kw.pop("env", {}) or {})
        p = self.e.ak(*args, env=env, **kw)
        for text in (p.stdout, p.stderr):
            check(PASSWORD not in text, f"the password appears in the output of {args}")
        return p

    def once(self, ok=True):
        p = self.ak("run", "start", "user_sessions", "--once", ok=False)
        if ok and p.returncode != 0:
            raise Failure(f"run failed ({p.returncode}):\n{p.stdout}\n{p.stderr[-3000:]}")
        return p

    def rows(self):
        return self.e.rows(env=self.env)

    def oracle(self):
        prof = dump_profiles(self.cl, self.db, os.path.join(self.e.dir, "profiles_now.ndjson"))
        return oracle_rows([self.click], [prof], self.e.dir)

    def check_oracle(self, what):
        same_rows(self.rows(), self.oracle(), what)

    def start(self):
        """A continuous run in the background."""
        env = dict(self.e.env)
        env.update(self.env)
        self.err_path = os.path.join(self.e.dir, f"run{time.time_ns()}.err")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen([self.e.bin, "run", "start", "user_sessions"], stdout=subprocess.DEVNULL,
                                     stderr=self.err, env=env)
        return self.proc

    def stop(self, sig=signal.SIGINT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        check(not tp.SANITIZER.search(text), f"the continuous run hit a sanitizer:\n{text[-3000:]}")
        check(PASSWORD not in text, "the password appears in the run's log")
        return text

    def wait_oracle(self, what, timeout=60):
        """Waits for the published table to equal the oracle (a continuous run)."""
        want = self.oracle()
        deadline = time.time() + timeout
        got = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"{what}: the continuous run ended ({self.proc.returncode}):\n{self.stop()[-3000:]}")
            try:
                got = self.rows()
            except Failure:
                got = None
            if got == want:
                return
            time.sleep(0.5)
        same_rows(got or [], want, what)

    def catalog(self, sql, *args):
        db = sqlite3.connect(os.path.join(self.e.home, "catalog.db"), timeout=30)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def position(self):
        r = self.catalog("SELECT position, log_bytes FROM positions WHERE product = 'user_sessions' AND "
                         "input = 'user_profiles'")
        return (json.loads(r[0][0]) if r and r[0][0] else None), (r[0][1] if r else 0)

    def log_records(self):
        """Records in user_profiles' input log up to the committed length: (op, flags) per record."""
        _, committed = self.position()
        path = os.path.join(self.e.home, "products/user_sessions/inputs/user_profiles.log")
        out = []
        with open(path, "rb") as f:
            data = f.read(committed)
        at = 32
        while at + 8 <= len(data):
            n = struct.unpack_from("<I", data, at)[0]
            out.append(data[at + 8])
            at += 8 + n
        return out

    def close(self):
        if getattr(self, "proc", None) and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.e.close()
        # slots are the cluster's, not the database's: the next test's would clash
        for _ in range(50):
            try:
                self.cl.sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
                            f"database = '{self.db}'")
                if self.cl.sql(f"SELECT count(*) FROM pg_replication_slots WHERE database = '{self.db}'") == "0":
                    break
            except Failure:
                pass
            time.sleep(0.2)


def newest(cl, db):
    return cl.sql("SELECT max(updated_at) FROM public.users", db=db)


# ------------------------------------------------------------- incremental

@test
def incremental_flagship_then_updates_equal_oracle():
    """user_profiles by incremental sync: the first run equals the oracle;
    then an update at the newest cursor value (updated_at unchanged), a
    newer one, and new users: the next run sees all of them."""
    cl = cluster()
    db = new_db(cl)
    pr = Product("pg-inc", cl, db)
    try:
        p = pr.once()
        check("user_profiles" in p.stdout or "records" in p.stdout, p.stdout)
        pr.check_oracle("first run")
        pos, _ = pr.position()
        check(pos and pos.get("c") and pos.get("k"), f"position has cursor and key: {pos}")
        n1 = len(pr.log_records())
        check(n1 == pr.nprofiles, f"{pr.nprofiles} profiles read once each, got {n1}")
        top = cl.sql("SELECT user_id FROM public.users ORDER BY updated_at DESC, user_id DESC LIMIT 1", db=db)
        cl.sql(f"UPDATE public.users SET country = 'ZZ' WHERE user_id = '{top}'", db=db)
        cl.sql("UPDATE public.users SET account_type = 'enterprise', updated_at = now() WHERE user_id IN "
               f"(SELECT user_id FROM public.users WHERE user_id <> '{top}' ORDER BY user_id LIMIT 7)", db=db)
        cl.sql("INSERT INTO public.users SELECT 'user-new-' || i, 'new_' || i, 'pro', '2020-01-01', 'FR', now() "
               "FROM generate_series(1, 5) i", db=db)
        pr.once()
        pr.check_oracle("after updates")
        # nothing new: a run reads nothing more than the newest cursor value's rows
        n2 = len(pr.log_records())
        check(n2 == n1 + 1 + 7 + 5, f"the second run read the 13 changed rows, got {n2 - n1}")
        pr.once()
        n3 = len(pr.log_records())
        check(n3 == n2, f"an unchanged table reads nothing again, got {n3 - n2} records")
    finally:
        pr.close()


@test
def incremental_ties_across_pages_and_late_commit():
    """Page size 4 and 11 rows sharing one updated_at: all read once; rows
    with that same value and smaller keys committed later are read too; a
    transaction writing an old updated_at held open across a sync is read
    after it commits: everything exactly once, equal to the oracle."""
    cl = cluster()
    db = new_db(cl)
    pr = Product("pg-ties", cl, db, options={"page_size": 4}, events=1500, users=120, seed=7)
    try:
        cl.sql("INSERT INTO public.users SELECT 'user-t' || lpad(i::text, 2, '0'), 'tie_' || i, 'free', "
               "'2021-05-05', 'DE', '2030-01-01T00:00:00Z' FROM generate_series(10, 20) i", db=db)
        pr.once()
        pr.check_oracle("ties")
        n1 = len(pr.log_records())
        check(n1 == pr.nprofiles + 11, f"{pr.nprofiles + 11} rows read once each, got {n1}")
        # the same cursor value, keys before the last one read
        cl.sql("INSERT INTO public.users VALUES ('user-t01', 'late_tie', 'pro', '2021-05-05', 'IT', "
               "'2030-01-01T00:00:00Z')", db=db)
        # a transaction with an old cursor value, held open over a sync
        s = cl.session(db)
        try:
            s.run("BEGIN; UPDATE public.users SET username = 'held_update' WHERE user_id = 'user-1'; "
                  "INSERT INTO public.users VALUES ('user-held', 'held_insert', 'free', '2019-01-01', 'PL', "
                  "'2020-01-01T00:00:00Z');")
            cl.sql("INSERT INTO public.users VALUES ('user-z', 'after', 'pro', '2022-02-02', 'SE', "
                   "'2031-01-01T00:00:00Z')", db=db)
            pr.once()
            n2 = len(pr.log_records())
            check(n2 == n1 + 2, f"the tie and the newer row read, got {n2 - n1} records")
            pos, _ = pr.position()
            check(pos.get("x"), f"the running transaction is in the position: {pos}")
            s.run("COMMIT;")
        finally:
            s.close()
        pr.once()
        pr.check_oracle("late commit")
        n3 = len(pr.log_records())
        check(n3 == n2 + 2, f"the late transaction's two rows read once, got {n3 - n2}")
        pr.once()
        check(len(pr.log_records()) == n3, "and not again")
    finally:
        pr.close()


# --------------------------------------------------------------------- cdc

SLOT = "akili_user_sessions_user_profiles"


def slot_flush(cl, db):
    r = cl.sql(f"SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{SLOT}'", db=db)
    return lsn_int(r) if r else None


def lsn_int(text):
    hi, lo = text.split("/")
    return int(hi, 16) << 32 | int(lo, 16)


def committed_lsn(pr):
    pos, _ = pr.position()
    check(pos and "lsn" in pos, f"a streaming position: {pos}")
    return lsn_int(pos["lsn"])


def clicked_users(pr, n):
    seen = []
    with open(pr.click, encoding="utf-8") as f:
        for line in f:
            u = json.loads(line).get("user_id")
            if u and u not in seen:
                seen.append(u)
            if len(seen) == n:
                break
    return seen


@test
def cdc_snapshot_then_changes_while_running():
    """user_profiles by logical replication: the initial snapshot equals the
    oracle; inserts, updates, deletes, a key change, an update leaving a
    TOASTed value unchanged, and a TRUNCATE made while a continuous run is
    going all reach the published table; the slot never confirms more than
    akili committed."""
    cl = cluster()
    db = new_db(cl)
    pr = Product("pg-cdc", cl, db, strategy="cdc", events=2000, users=150, seed=9)
    try:
        pr.once()
        pr.check_oracle("initial snapshot")
        check(cl.sql(f"SELECT count(*) FROM pg_publication WHERE pubname = '{SLOT}'", db=db) == "1",
              "the publication was created")
        ops = pr.log_records()
        check(ops[0] & 0x3f == 3 and len(ops) == pr.nprofiles + 1, f"TRUNCATE + {pr.nprofiles} rows, got {len(ops)}")
        check(slot_flush(cl, db) <= committed_lsn(pr), "the slot is not ahead of akili")
        u = clicked_users(pr, 8)
        big = "".join(f"{i:04x}" for i in range(2500))  # 10 kB, stored out of line
        pr.start()
        cl.sql("INSERT INTO public.users VALUES ('user-new1', 'newbie', 'pro', '2020-02-02', 'NO', now())", db=db)
        cl.sql(f"UPDATE public.users SET account_type = 'enterprise' WHERE user_id IN ('{u[0]}', '{u[1]}')", db=db)
        cl.sql(f"DELETE FROM public.users WHERE user_id = '{u[2]}'", db=db)
        cl.sql(f"UPDATE public.users SET user_id = 'renamed-{u[3]}' WHERE user_id = '{u[3]}'", db=db)
        cl.sql(f"BEGIN; UPDATE public.users SET country = 'BR' WHERE user_id = '{u[4]}'; "
               f"DELETE FROM public.users WHERE user_id = '{u[5]}'; COMMIT", db=db)
        pr.wait_oracle("inserts, updates, deletes, a key change")
        cl.sql(f"UPDATE public.users SET username = '{big}' WHERE user_id = '{u[6]}'", db=db)
        pr.wait_oracle("a large value")
        cl.sql(f"UPDATE public.users SET country = 'AQ' WHERE user_id = '{u[6]}'", db=db)
        pr.wait_oracle("an update leaving the TOASTed value unchanged")
        flags = [b for b in pr.log_records() if b & 0x40]
        check(flags, "the unchanged TOASTed value came as a partial upsert")
        cl.sql(f"BEGIN; TRUNCATE public.users; INSERT INTO public.users VALUES ('{u[7]}', 'back', 'free', "
               "'2020-01-01', 'CL', now()); COMMIT", db=db)
        pr.wait_oracle("a TRUNCATE")
        log = pr.stop()
        check(pr.proc.returncode == 0, f"the run stopped cleanly ({pr.proc.returncode}): {log[-2000:]}")
        check(slot_flush(cl, db) <= committed_lsn(pr), "the slot is not ahead of akili")
        check(slot_flush(cl, db) == committed_lsn(pr), "and caught up with it when the run stopped")
        pr.once()
        pr.check_oracle("a --once run after the continuous one")
    finally:
        pr.close()


@test
def cdc_kill_restart_and_large_transaction_exactly_once():
    """kill -9 of a continuous cdc run while changes are made, then a restart:
    every change is in the input log exactly once and the table equals the
    oracle; a transaction larger than a micro-batch is handed out in parts
    (position with `skip`) without losing or repeating a change; the slot's
    confirmed position never passes akili's committed one."""
    cl = cluster()
    db = new_db(cl)
    pr = Product("pg-kill", cl, db, strategy="cdc", events=1500, users=100, seed=4)
    try:
        pr.once()
        base = len(pr.log_records())
        changes = [0]
        stop = threading.Event()

        def writer():
            w = cl.session(db)
            try:
                for i in range(150):
                    if stop.is_set():
                        break
                    # twenty transactions at a time, so the reader runs ahead of the commits
                    w.run("".join(f"INSERT INTO public.users VALUES ('k-{i}-{j}', 'k', 'free', '2020-01-01', 'JP', "
                                  f"now()); UPDATE public.users SET username = 'k{j}b' WHERE user_id = 'k-{i}-{j}';"
                                  for j in range(10)))
                    changes[0] += 20
                    time.sleep(0.01)
            finally:
                w.close()

        violations = []

        def monitor():
            # the slot's position is read before the catalog's, which only grows
            while not stop.is_set():
                try:
                    f = slot_flush(cl, db)
                    c = committed_lsn(pr)
                    if f is not None and f > c:
                        violations.append((f, c))
                except (Failure, ValueError, sqlite3.Error):
                    pass
                time.sleep(0.01)

        th = threading.Thread(target=writer)
        mon = threading.Thread(target=monitor)
        pr.start()
        th.start()
        mon.start()
        time.sleep(1.5)
        pr.proc.kill()
        pr.proc.wait()
        pr.err.close()
        flushed = slot_flush(cl, db)
        check(flushed <= committed_lsn(pr), f"after kill -9 the slot ({flushed}) is not ahead of the position")
        pr.start()
        th.join(timeout=120)
        # the k- users have no clicks: the published table cannot tell whether
        # the last changes were read yet, the input log can
        deadline = time.time() + 90
        while time.time() < deadline and len(pr.log_records()) < base + changes[0]:
            check(pr.proc.poll() is None, f"the continuous run ended ({pr.proc.returncode})")
            time.sleep(0.2)
        pr.wait_oracle("after kill -9 and restart", timeout=90)
        stop.set()
        mon.join()
        pr.stop()
        check(not violations, f"the slot was confirmed past akili's committed position: {violations[:3]}")
        n = len(pr.log_records())
        check(n == base + changes[0], f"{changes[0]} changes in the log exactly once, got {n - base}")
        # a transaction larger than a micro-batch: killed once a part of it is committed
        pr.start()
        time.sleep(1)
        big = 60000
        cl.sql("INSERT INTO public.users SELECT 'big-' || i, 'b' || i, 'pro', '2020-01-01', 'KE', now() "
               f"FROM generate_series(1, {big}) i", db=db)
        deadline = time.time() + 60
        pos = None
        while time.time() < deadline:
            pos, _ = pr.position()
            if pos and "skip" in pos:
                break
            time.sleep(0.02)
        pr.proc.kill()
        pr.proc.wait()
        pr.err.close()
        check(pos and "skip" in pos, f"a position inside the transaction was committed: {pos}")
        check(slot_flush(cl, db) <= committed_lsn(pr), "the slot is not ahead of a position inside a transaction")
        pr.once()
        pr.check_oracle("the large transaction")
        n2 = len(pr.log_records())
        check(n2 == n + big, f"{big} rows in the log exactly once, got {n2 - n}")
    finally:
        pr.close()


@test
def cdc_snapshot_cut_short_is_redone():
    """kill -9 during the initial snapshot (a position inside it committed),
    rows deleted before the next run: the next run drops and recreates the
    slot, reads the table again behind a TRUNCATE record, and the deleted
    rows do not linger."""
    cl = cluster()
    db = new_db(cl)
    pr = Product("pg-snapcut", cl, db, strategy="cdc", options={"page_size": 500}, events=1000, users=80, seed=21)
    try:
        cl.sql("INSERT INTO public.users SELECT 'bulk-' || i, 'b' || i, 'free', '2020-01-01', 'UY', now() "
               "FROM generate_series(1, 40000) i", db=db)
        pr.start()
        deadline = time.time() + 60
        pos = None
        while time.time() < deadline:
            pos, _ = pr.position()
            if pos and pos.get("snapshot"):
                break
            time.sleep(0.01)
        pr.proc.kill()
        pr.proc.wait()
        pr.err.close()
        check(pos and pos.get("snapshot"), f"a position inside the snapshot was committed: {pos}")
        got = len(pr.log_records())
        check(0 < got < pr.nprofiles + 40001, f"part of the snapshot was read ({got} records)")
        u = clicked_users(pr, 3)
        cl.sql(f"DELETE FROM public.users WHERE user_id IN ('{u[0]}', '{u[1]}', '{u[2]}')", db=db)
        cl.sql("DELETE FROM public.users WHERE user_id LIKE 'bulk-1%'", db=db)
        pr.once()
        pr.check_oracle("the snapshot taken again")
        ops = pr.log_records()
        check(sum(1 for o in ops if o & 0x3f == 3) == 2, "a second TRUNCATE record came first")
        pos, _ = pr.position()
        check(pos and "lsn" in pos, f"streaming after the snapshot: {pos}")
    finally:
        pr.close()


@test
def survives_database_restart():
    """The server restarts during a continuous run, incremental and cdc: the
    run retries, reconnects and reads the changes made after the restart."""
    for strategy in ("incremental", "cdc"):
        restart_during_run(strategy)


def restart_during_run(strategy):
    cl = cluster()
    db = new_db(cl)
    pr = Product(f"pg-restart-{strategy}", cl, db, strategy=strategy, events=1000, users=80, seed=12)
    try:
        pr.start()
        pr.wait_oracle("snapshot in a continuous run")
        cl.restart()
        cl.sql("UPDATE public.users SET country = 'VA', updated_at = now() WHERE user_id IN (SELECT user_id FROM "
               "public.users ORDER BY user_id LIMIT 10)", db=db)
        pr.wait_oracle("changes after the restart", timeout=90)
        log = pr.stop()
        check("retry" in log, f"{strategy}: the lost connection was retried:\n{log[-2000:]}")
    finally:
        pr.close()


# ------------------------------------------------------------------ errors

@test
def connection_test_and_errors():
    """connection test reports the server; a wrong port, a wrong password, a
    missing table or column, a missing REPLICATION privilege, a table the
    user does not own and wal_level=replica fail with what to do; the
    password is never shown nor stored in clear."""
    cl = cluster()
    db = new_db(cl)
    e = Env("pg-errors")
    env = {"AK_TEST_PG_PASSWORD": PASSWORD}
    outputs = []

    def ak(*args, **kw):
        p = e.ak(*args, env=dict(env, **kw.pop("env", {})), **kw)
        outputs.append(p.stdout + p.stderr)
        return p

    replica = None
    try:
        cl.sql(USERS_DDL, db=db)
        ak("connection", "create", "--name", "pg", "--connector-type", "postgres", "--config", cl.conn_config(db))
        p = ak("connection", "test", "pg")
        check(re.search(r"PostgreSQL 15\.\d+[^;]* at 127\.0\.0\.1:\d+", p.stdout) and "wal_level logical" in p.stdout and
              "may replicate: yes" in p.stdout and "1 tables visible" in p.stdout, p.stdout)
        import socket
        sk = socket.socket()
        sk.bind(("127.0.0.1", 0))
        dead_port = sk.getsockname()[1]
        sk.close()
        ak("connection", "create", "--name", "pg-port", "--connector-type", "postgres", "--config",
           cl.conn_config(db, port=dead_port))
        p = ak("connection", "test", "pg-port", code=1)
        check(f"127.0.0.1:{dead_port}" in p.stderr and "cannot reach" in p.stderr, p.stderr)
        ak("connection", "create", "--name", "pg-pw", "--connector-type", "postgres", "--config",
           cl.conn_config(db, password="${AK_TEST_PG_WRONG}"))
        p = ak("connection", "test", "pg-pw", code=1, env={"AK_TEST_PG_WRONG": "not-the-password-42"})
        check("bad credentials" in p.stderr and "not-the-password-42" not in p.stderr, p.stderr)
        # a product on a missing table, then a missing column
        man = os.path.join(e.dir, "man")
        shutil.copytree(tp.EXAMPLE, man)
        ak("connection", "create", "--name", "production-events", "--connector-type", "file", "--config",
           json.dumps({"path": e.data, "files": {"clickstream.page-views": "clickstream.ndjson"}}))
        gen(e.data, 50, 10, 1)
        ak("connection", "create", "--name", "production-db", "--connector-type", "postgres", "--config",
           cl.conn_config(db))
        ak("product", "create", "--name", "user_sessions", "--namespace", "analytics")

        def deploy(old, new, version):
            with open(os.path.join(tp.EXAMPLE, "inputs.yaml"), encoding="utf-8") as f:
                text = f.read()
            check(old in text, old)
            with open(os.path.join(man, "inputs.yaml"), "w", encoding="utf-8") as f:
                f.write(text.replace(old, new))
            ak("product", "deploy", "user_sessions", "--version", version, "--dir", man)

        deploy("resource: public.users", "resource: public.nope", "1")
        p = ak("run", "start", "user_sessions", "--once", code=1)
        check("public.nope" in p.stderr and "not found" in p.stderr and "public.users" in p.stderr, p.stderr)
        deploy("      - country\n", "      - country\n      - shoe_size\n", "2")
        p = ak("run", "start", "user_sessions", "--once", code=1)
        check("shoe_size" in p.stderr and "its columns" in p.stderr and "signup_date" in p.stderr, p.stderr)
        # cdc as a user without REPLICATION, then as one that does not own the table
        cl.sql(f"CREATE ROLE plain LOGIN PASSWORD '{PASSWORD}'; GRANT SELECT ON public.users TO plain", db=db)
        e.ak("connection", "delete", "production-db")
        ak("connection", "create", "--name", "production-db", "--connector-type", "postgres", "--config",
           cl.conn_config(db, user="plain"))
        deploy("strategy: incremental", "strategy: cdc", "3")
        p = ak("run", "start", "user_sessions", "--once", code=1)
        check("REPLICATION privilege" in p.stderr and "ALTER ROLE plain REPLICATION" in p.stderr, p.stderr)
        cl.sql("ALTER ROLE plain REPLICATION")
        p = ak("run", "start", "user_sessions", "--once", code=1)
        check("may not publish" in p.stderr and "CREATE PUBLICATION" in p.stderr, p.stderr)
        # wal_level=replica
        replica = Cluster("replica")
        rdb = new_db(replica)
        replica.sql(USERS_DDL, db=rdb)
        e.ak("connection", "delete", "production-db")
        ak("connection", "create", "--name", "production-db", "--connector-type", "postgres", "--config",
           replica.conn_config(rdb))
        p = ak("connection", "test", "production-db")
        check("wal_level replica" in p.stdout and "wal_level = logical" in p.stdout, p.stdout)
        p = ak("run", "start", "user_sessions", "--once", code=1)
        check("wal_level `replica`" in p.stderr and "ALTER SYSTEM SET wal_level = logical" in p.stderr, p.stderr)
        for text in outputs:
            check(PASSWORD not in text, f"the password appears in an output: {text[:300]}")
        with open(os.path.join(e.home, "catalog.db"), "rb") as f:
            check(PASSWORD.encode() not in f.read(), "the password is stored in the catalog")
    finally:
        if replica:
            replica.close()
        e.close()


def main():
    passed = failed = 0
    try:
        p, f = tp.run_tests(TESTS)
        passed += p
        failed += f
    finally:
        if CLUSTER is not None:
            CLUSTER.close()
    print(f"postgres: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
