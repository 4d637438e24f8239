#!/usr/bin/env bash
# deps.sh - install what building and testing akili needs, from Debian
# packages, only when something is missing (quiet and quick otherwise).
#
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh --check  only report what is missing (exit 1 if anything)
set -euo pipefail

# build: the compiler and the libraries the connectors link; test: the real
# peers the source tests start on 127.0.0.1 (a librdkafka mock cluster and
# kcat, nats-server, PostgreSQL 15 with wal2json) and the independent
# readers of the lake's Avro files (avrocat, python3-avro)
PKGS=(gcc make pkg-config libyaml-dev libsqlite3-dev librdkafka-dev libnats-dev libpq-dev libavro-dev libzstd-dev
      libsnappy-dev python3 clang libclang-rt-14-dev kcat nats-server postgresql-15 postgresql-15-wal2json avro-bin
      python3-avro)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
# Node.js runs the DuckDB test oracle; any install of it will do
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "missing: ${missing[*]}"
    exit 1
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps: not root and no sudo; install these packages first: ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# packages must not start system services (a PostgreSQL cluster on 5432, a
# nats-server): tests start their own on 127.0.0.1 and stop them
rcd=/usr/sbin/policy-rc.d
added_rcd=""
if [ ! -e "$rcd" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$rcd" >/dev/null && $SUDO chmod +x "$rcd" && added_rcd=1
fi
trap '[ -n "$added_rcd" ] && $SUDO rm -f "$rcd"' EXIT
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/akili-deps.log 2>&1 || {
    tail -20 /tmp/akili-deps.log >&2
    echo "deps: apt-get install failed (log: /tmp/akili-deps.log)" >&2
    exit 1
}
echo "installed: ${missing[*]}"
