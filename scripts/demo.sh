#!/usr/bin/env bash
# demo.sh - the flagship product on embedded defaults, as the seed's CLI
# session runs it: connections, product, deploy, run, monitor, query.
#
# The seed's sources are Redpanda and PostgreSQL; this demo points the same
# two connection names at the built-in `generator` connector, which produces
# fresh synthetic clickstream and profiles, so it needs nothing installed.
# State goes to $AKILI_HOME (default ./.akili-demo, recreated each time).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
AKILI=${AKILI:-$ROOT/build/release/akili}
export AKILI_HOME=${AKILI_HOME:-$ROOT/.akili-demo}
rm -rf "$AKILI_HOME"

step() { printf '\n\033[1m$ akili %s\033[0m\n' "$*"; "$AKILI" "$@"; }

echo "akili demo: state in $AKILI_HOME"
# 1. Register connections
step connection create --name production-events --connector-type generator \
    --config '{"events": 60000, "users": 20000, "seed": 42, "span": "6h"}'
step connection create --name production-db --connector-type generator \
    --config '{"users": 20000, "seed": 42}'
# 2. Test connectivity
step connection test production-events
step connection test production-db
# 3. Register the product
step product create --name user_sessions --namespace analytics --archetype source
# 4. Upload manifests and deploy (from ./examples/user_sessions)
step product deploy user_sessions --version 1.0.0
# run it: read everything the sources have, transform, gate, publish
step run start user_sessions --once
# 5. Monitor execution
step run list user_sessions
step governance quality user_sessions
step governance sla user_sessions
# Analytics query -- top countries by session volume
step query "
SELECT country, COUNT(*) AS sessions, AVG(session_duration_seconds) AS avg_duration
FROM analytics.user_sessions
WHERE session_start >= CURRENT_DATE()
GROUP BY country
ORDER BY sessions DESC
LIMIT 10
"
# Lookup query -- recent sessions for a specific user
step query "
SELECT session_start, session_end, page_views, landing_page
FROM analytics.user_sessions
WHERE user_id = 'user-12345'
ORDER BY session_start DESC
LIMIT 5
"
echo
echo "demo done. Try: AKILI_HOME=$AKILI_HOME $AKILI query \"SELECT * FROM analytics.user_sessions LIMIT 5\""
