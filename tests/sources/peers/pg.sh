#!/usr/bin/env bash
# pg.sh - a throwaway PostgreSQL 15 cluster for the postgres connector's tests:
# 127.0.0.1 only, data under DIR, a random free port (printed and kept in
# DIR/port), wal_level as asked (default logical).
#
#   pg.sh start DIR [WAL_LEVEL]   initdb if needed, start; prints the port
#   pg.sh stop DIR                pg_ctl stop -m fast
#   pg.sh restart DIR             stop and start on the same port
#
# The server refuses to run as root, so as root initdb/pg_ctl run as the
# `postgres` user (DIR's parents must be searchable by it).  PostgreSQL >=
# 15.19 only loads output plugins listed in output_plugin_libraries, which
# 15.18 rejects as unknown: the setting is added only where it exists.
# The superuser `postgres` has the password $PGPASS (default `postgres`) over
# TCP; the Unix socket in DIR is trusted.
set -euo pipefail
CMD=${1:?usage: pg.sh start|stop|restart DIR [WAL_LEVEL]}
DIR=$(realpath -m "${2:?DIR}")
WAL=${3:-logical}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

asuser() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  if [ ! -s "$DIR/data/PG_VERSION" ]; then
    if [ "$(id -u)" = 0 ]; then install -d -o postgres -g postgres "$DIR"; else mkdir -p "$DIR"; fi
    # local (socket) connections are trusted, TCP ones need the password
    asuser sh -c "echo '${PGPASS:-postgres}' >'$DIR/pwfile'"
    asuser "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
      --locale=C.UTF-8 --no-instructions --pwfile="$DIR/pwfile" >"$DIR/initdb.log" 2>&1
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "unix_socket_directories = '$DIR'"
      echo "wal_level = $WAL"
      echo "max_replication_slots = 16"
      echo "max_wal_senders = 16"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
      # (grep -c, not -q: with pipefail an early-exiting grep makes postgres die of SIGPIPE)
      if "$PGBIN/postgres" --describe-config 2>/dev/null | grep -c '^output_plugin_libraries' >/dev/null; then
        echo "output_plugin_libraries = 'pgoutput, test_decoding, wal2json'"
      fi
    } >>"$DIR/data/postgresql.conf"
  fi
  local port
  if [ -s "$DIR/port" ]; then port=$(cat "$DIR/port"); else
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  fi
  asuser "$PGBIN/pg_ctl" -D "$DIR/data" -o "-p $port" -l "$DIR/server.log" -w -t 60 start >/dev/null
  echo "$port" >"$DIR/port"
  echo "$port"
}

stop() {
  [ -s "$DIR/data/postmaster.pid" ] || return 0
  asuser "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null || true
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
