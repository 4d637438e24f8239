#!/usr/bin/env bash
# oracle_selftest.sh - the test oracles must agree with each other, byte for byte.
#
#   tests/pipeline/oracle_selftest.sh            run everything (about 30 s)
#   tests/pipeline/oracle_selftest.sh --regen    also (re)write each edge case's
#                                                expected.ndjson from sessions_ref.py
#                                                (only where duck.mjs agrees with it)
#   KEEP=1 tests/pipeline/oracle_selftest.sh     keep the work directory
#
# Checks, each counted as one test:
#   * generated data (tests/data/gen.py, 20k events / 1k users, several seeds
#     and shapes): materialize.py passes plain rows through unchanged and
#     reads the CSV copy to the same rows; duck.mjs over NDJSON == duck.mjs
#     over CSV == sessions_ref.py.
#   * every tests/data/edge/<case> and tests/data/bad: both inputs through
#     materialize.py (clickstream keyless; user_profiles keyed by user_id with
#     cursor updated_at), then duck.mjs == sessions_ref.py == the checked-in
#     expected.ndjson, and the row count the case's README promises.
#       - offsets_utc holds akili semantics (offsets converted to UTC): the
#         expectation comes from sessions_ref.py (--offsets utc) and is checked
#         against duck.mjs with event_time typed TIMESTAMPTZ (session time zone
#         UTC); DuckDB's TIMESTAMP, which drops the offset, is checked against
#         sessions_ref.py --offsets drop.
#       - profiles is also run without materializing (duplicate profile rows
#         join several times): duck.mjs == sessions_ref.py on the raw files.
#       - materialize.py's counts (bad lines, tombstones, ...) == the case's
#         expected_stats.json; without one, no line may be bad.
# Ends with "oracle: N passed, M failed"; exits 1 if anything failed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
O=$ROOT/tests/oracle
D=$ROOT/tests/data
REGEN=0
[ "${1:-}" = "--regen" ] && REGEN=1

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    [ -n "${2:-}" ] && while IFS= read -r l; do echo "     $l"; done <<< "$2"
    return 0
}

for tool in python3 node; do
    command -v $tool >/dev/null 2>&1 || { echo "oracle selftest: $tool not found"; echo "oracle: 0 passed, 1 failed"; exit 1; }
done
if ! "$O/setup.sh" >/dev/null; then
    echo "oracle selftest: tests/oracle/setup.sh failed"
    echo "oracle: 0 passed, 1 failed"
    exit 1
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/akili-oracle.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "work directory: $W"; else trap 'rm -rf "$W"' EXIT; fi

EV='event_id:VARCHAR,user_id:VARCHAR,page_url:VARCHAR,referrer_url:VARCHAR,user_agent:VARCHAR,ip_address:VARCHAR,event_time:TIMESTAMP,session_id:VARCHAR'
EVTZ=${EV/event_time:TIMESTAMP/event_time:TIMESTAMPTZ}
UP='user_id:VARCHAR,username:VARCHAR,account_type:VARCHAR,signup_date:DATE,country:VARCHAR,updated_at:TIMESTAMP'
SQL=$D/sql/user_sessions.sql

# same NAME FILE_A FILE_B: one test, passes if the files are identical
same() {
    if [ ! -s "$2" ] && [ ! -s "$3" ] && [ -e "$2" ] && [ -e "$3" ]; then ok "$1 (both empty)"; return; fi
    if cmp -s "$2" "$3"; then
        ok "$1 ($(wc -l < "$2") rows)"
    else
        bad "$1" "$(diff "$2" "$3" 2>&1 | head -6 | cut -c1-200)"
    fi
}
# duck OUT CLICK_FILE CLICK_SPEC PROFILE_FILE [more duck.mjs args]
duck() {
    local out=$1 cf=$2 cs=$3 pf=$4
    shift 4
    node "$O/duck.mjs" --table "clickstream=$cf:$cs" --table "user_profiles=$pf:$UP" \
        --sql "$SQL" --out "$out" "$@" 2> "$out.err" || { cat "$out.err"; : > "$out"; }
}
ref() { # ref OUT CLICK PROFILES [args]
    local out=$1 cf=$2 pf=$3
    shift 3
    python3 "$O/sessions_ref.py" --clickstream "$cf" --profiles "$pf" --out "$out" "$@" \
        || : > "$out"
}
mat_click() { python3 "$O/materialize.py" --columns "$EV" --quiet --stats --out "$2" "$1" 2> "$2.stats"; }
mat_prof() {
    python3 "$O/materialize.py" --key user_id --cursor updated_at --columns "$UP" --quiet --stats \
        --out "$2" "$1" 2> "$2.stats"
}

# ---- generated data ------------------------------------------------------------
gen_cases=(
    "s1|--seed 1"
    "s2-no-null-users|--seed 2 --null-user-fraction 0"
    "s3-late-missing|--seed 3 --late-fraction 0.3 --missing-profile-fraction 0.5"
    "s4-heavy-users|--seed 4 --users 40 --null-user-fraction 0.01"
)
for c in "${gen_cases[@]}"; do
    name=${c%%|*}
    args=${c#*|}
    g=$W/gen-$name
    # shellcheck disable=SC2086
    if ! python3 "$D/gen.py" --events 20000 --users 1000 $args --out "$g" 2> "$g.log"; then
        bad "gen $name" "$(cat "$g.log")"
        continue
    fi
    mat_click "$g/clickstream.ndjson" "$g/m_click.ndjson"
    mat_prof "$g/user_profiles.ndjson" "$g/m_prof.ndjson"
    same "gen $name: materialize passes clickstream rows through" "$g/clickstream.ndjson" "$g/m_click.ndjson"
    same "gen $name: materialize passes profile rows through" "$g/user_profiles.ndjson" "$g/m_prof.ndjson"
    python3 "$O/materialize.py" --columns "$EV" --quiet --out "$g/m_click_csv.ndjson" "$g/clickstream.csv"
    same "gen $name: materialize CSV == NDJSON" "$g/m_click.ndjson" "$g/m_click_csv.ndjson"
    duck "$g/duck.out" "$g/clickstream.ndjson" "$EV" "$g/user_profiles.ndjson"
    node "$O/duck.mjs" --csv "clickstream=$g/clickstream.csv:$EV" --csv "user_profiles=$g/user_profiles.csv:$UP" \
        --sql "$SQL" --out "$g/duck_csv.out" --materialize 2> "$g/duck_csv.err" || : > "$g/duck_csv.out"
    ref "$g/ref.out" "$g/m_click.ndjson" "$g/m_prof.ndjson"
    same "gen $name: duck.mjs NDJSON == duck.mjs CSV" "$g/duck.out" "$g/duck_csv.out"
    same "gen $name: duck.mjs == sessions_ref.py" "$g/duck.out" "$g/ref.out"
done

# ---- hand-made edge cases --------------------------------------------------------
readme_rows() { # the "expected rows: N" line of a case's README
    sed -n 's/^expected rows: *\([0-9][0-9]*\).*/\1/p' "$1/README" | head -1
}
for dir in "$D"/edge/*/ "$D"/bad/; do
    dir=${dir%/}
    name=${dir#"$D"/}
    w=$W/$(echo "$name" | tr / _)
    mkdir -p "$w"
    mat_click "$dir/clickstream.ndjson" "$w/m_click.ndjson"
    mat_prof "$dir/user_profiles.ndjson" "$w/m_prof.ndjson"
    if [ "$name" = edge/offsets_utc ]; then
        duck "$w/duck.out" "$w/m_click.ndjson" "$EVTZ" "$w/m_prof.ndjson"
        ref "$w/ref.out" "$w/m_click.ndjson" "$w/m_prof.ndjson" --offsets utc
        duck "$w/duck_drop.out" "$w/m_click.ndjson" "$EV" "$w/m_prof.ndjson"
        ref "$w/ref_drop.out" "$w/m_click.ndjson" "$w/m_prof.ndjson" --offsets drop
        same "$name: DuckDB TIMESTAMP (offset dropped) == sessions_ref.py --offsets drop" \
            "$w/duck_drop.out" "$w/ref_drop.out"
        label="duck.mjs with TIMESTAMPTZ"
    else
        duck "$w/duck.out" "$w/m_click.ndjson" "$EV" "$w/m_prof.ndjson"
        ref "$w/ref.out" "$w/m_click.ndjson" "$w/m_prof.ndjson"
        label="duck.mjs"
    fi
    same "$name: $label == sessions_ref.py" "$w/duck.out" "$w/ref.out"
    if [ $REGEN = 1 ] && cmp -s "$w/duck.out" "$w/ref.out"; then
        cp "$w/ref.out" "$dir/expected.ndjson"
        echo "     wrote $name/expected.ndjson"
    fi
    if [ -f "$dir/expected.ndjson" ]; then
        same "$name: sessions_ref.py == expected.ndjson" "$w/ref.out" "$dir/expected.ndjson"
    else
        bad "$name: expected.ndjson is missing (run with --regen)"
    fi
    want=$(readme_rows "$dir")
    got=$(wc -l < "$w/ref.out")
    if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "$name: $got rows as README says"
    else bad "$name: README says '${want:-?}' rows, got $got"; fi
    if [ "$name" = edge/profiles ]; then
        duck "$w/duck_raw.out" "$dir/clickstream.ndjson" "$EV" "$dir/user_profiles.ndjson"
        ref "$w/ref_raw.out" "$dir/clickstream.ndjson" "$dir/user_profiles.ndjson"
        same "$name: unmaterialized (duplicate profiles join twice) duck.mjs == sessions_ref.py" \
            "$w/duck_raw.out" "$w/ref_raw.out"
    fi
    # materialize.py's counts: expected_stats.json where given, else no bad line
    for t in clickstream:m_click user_profiles:m_prof; do
        res=$(python3 - "$dir/expected_stats.json" "${t%%:*}" "$w/${t#*:}.ndjson.stats" <<'PY'
import json, os, sys
want = json.load(open(sys.argv[1]))[sys.argv[2]] if os.path.exists(sys.argv[1]) else {"bad": 0}
got = json.loads(open(sys.argv[3]).read().splitlines()[-1])
diff = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
print(("MISMATCH " + ", ".join(f"{k}: expected {v[0]}, got {v[1]}" for k, v in diff.items()))
      if diff else ", ".join(f"{k} {v}" for k, v in want.items()))
PY
)
        case $res in
            MISMATCH*) bad "$name: materialize.py ${t%%:*}: ${res#MISMATCH }" ;;
            *) ok "$name: materialize.py ${t%%:*}: $res" ;;
        esac
    done
done

echo "oracle: $pass passed, $fail failed"
[ $fail = 0 ]
