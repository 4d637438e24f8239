#!/bin/sh
# setup.sh - install the DuckDB oracle's node_modules (tests/oracle/), idempotently.
#
#   tests/oracle/setup.sh           install if missing or out of date, else nothing
#   tests/oracle/setup.sh --check   only report; exit 1 if an install is needed
#
# Installs exactly what package-lock.json pins (@duckdb/node-api 1.5.6-r.1 and
# its linux/darwin/windows binding packages; npm fetches only the one for
# this platform) with `npm ci`.  A stamp file in node_modules records the
# lock's hash and the platform; when it matches and the module loads, nothing
# is done.  node_modules/ is git-ignored.  Needs Node.js >= 18 with npm and
# access to the npm registry (or a warm npm cache) on the first run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
check_only=0
[ "${1:-}" = "--check" ] && check_only=1

if ! command -v node >/dev/null 2>&1; then
    echo "oracle setup: node not found - install Node.js >= 18 (Debian: apt-get install nodejs npm)" >&2
    exit 2
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
    echo "oracle setup: node $(node --version) is too old - @duckdb/node-api needs Node.js >= 18" >&2
    exit 2
fi

want="$(sha256sum package-lock.json | cut -d' ' -f1) $(node -p 'process.platform + "-" + process.arch')"
stamp=node_modules/.akili-oracle-stamp
loads() {
    node --input-type=module -e "import('@duckdb/node-api').then(async (m) => {
        const c = await (await m.DuckDBInstance.create(':memory:')).connect();
        await c.run('SELECT 1');
    })" >/dev/null 2>&1
}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && loads; then
    echo "oracle setup: tests/oracle/node_modules is up to date (@duckdb/node-api 1.5.6-r.1)"
    exit 0
fi
if [ $check_only = 1 ]; then
    echo "oracle setup: tests/oracle/node_modules is missing or out of date - run tests/oracle/setup.sh" >&2
    exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "oracle setup: npm not found - install npm (Debian: apt-get install npm) to fetch @duckdb/node-api" >&2
    exit 2
fi
echo "oracle setup: installing @duckdb/node-api 1.5.6-r.1 into tests/oracle/node_modules (npm ci)"
if ! npm ci --no-audit --no-fund --loglevel=error; then
    echo "oracle setup: 'npm ci' failed in tests/oracle (is the npm registry reachable?)" >&2
    exit 1
fi
if ! loads; then
    echo "oracle setup: installed, but @duckdb/node-api does not load on $(node -p 'process.platform + "-" + process.arch')" >&2
    exit 1
fi
echo "$want" > "$stamp"
echo "oracle setup: done"
