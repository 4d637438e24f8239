#!/usr/bin/env bash
# deps.sh - install what building and testing akili needs, from Debian
# packages, only when something is missing (quiet and quick otherwise).
#
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh --check  only report what is missing (exit 1 if anything)
set -euo pipefail

PKGS=(gcc make pkg-config libyaml-dev libsqlite3-dev python3 clang libclang-rt-14-dev)

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
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/akili-deps.log 2>&1 || {
    tail -20 /tmp/akili-deps.log >&2
    echo "deps: apt-get install failed (log: /tmp/akili-deps.log)" >&2
    exit 1
}
echo "installed: ${missing[*]}"
