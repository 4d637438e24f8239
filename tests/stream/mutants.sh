#!/usr/bin/env bash
# mutants.sh - does the streaming harness catch a broken operator?
#
# Each mutant is one deliberate bug in an incremental operator or in the
# serving sink.  For each: copy the tree (with its release objects, so only
# the changed file recompiles), apply the edit, build, and run the harness
# over a few seeds.  A mutant the harness does not catch is a hole in the
# tests.  Prints one line per mutant and "mutants: N caught, M missed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SEEDS=${SEEDS:-4}
make -s -j2 release >/dev/null || exit 2
# name | file | sed expression (must change the file)
MUTANTS=(
"session-clean-group-sum|src/ops/op_session.c|s/gnew\[c\] = cum\[c\] + (gold\[c\] - oldcum\[c\]);/gnew[c] = gold[c];/"
"session-peer-delete|src/ops/op_session.c|s/flag_dirty(p, E_FLAGS(s, ENT(s, p, at - 1)));/(void)0;/"
"session-boundary|src/ops/op_session.c|s/if (!changed \&\& p->nflag == 0)/if (!changed)/"
"join-no-null-extension|src/ops/op_join.c|s/if (!any \&\& j->s\[0\].outer) {/if (!any \&\& !j->s[0].outer) {/"
"join-profile-change-not-retracted|src/ops/op_join.c|s/join_rows(j, r->cx, l, j->old_rows, j->old_cnt, j->nold, -w) ||//"
"group-min-after-delete|src/core/ak_mset.c|0,/if (r.c\[at\] == 0) {/s//if (r.c[at] < 0) {/"
"group-old-row-kept|src/ops/op_group.c|s/if (old \&\& ak_delta_add(\&op->out, old, -1))/if (0)/"
"sink-deletes-skipped|src/sinks/sqlite/ak_store_sink.c|s/        if (gone\[i\].reused)$/        if (1)/"
)
caught=0 missed=0
for m in "${MUTANTS[@]}"; do
    IFS='|' read -r name file expr <<<"$m"
    [ -n "${1:-}" ] && [[ "$name" != *"$1"* ]] && continue
    dir=$(mktemp -d /tmp/akili-mutant-XXXXXX)
    git ls-files -z | xargs -0 cp --parents -t "$dir"
    mkdir -p "$dir/build" && cp -a build/release "$dir/build/"
    sed -i "$expr" "$dir/$file"
    if cmp -s "$file" "$dir/$file"; then
        echo "?    $name: the edit did not apply to $file"
        missed=$((missed + 1))
        rm -rf "$dir"
        continue
    fi
    touch "$dir/$file"
    if ! make -s -C "$dir" -j2 release >"$dir/build.log" 2>&1; then
        echo "?    $name: does not build"
        missed=$((missed + 1))
        rm -rf "$dir"
        continue
    fi
    out=$(python3 tests/stream/harness.py --seeds "$SEEDS" --held --akili "$dir/build/release/akili" 2>&1)
    if grep -q '^FAIL' <<<"$out"; then
        echo "ok   $name: caught ($(grep -c '^FAIL' <<<"$out") of $((SEEDS + 1)) runs failed)"
        caught=$((caught + 1))
    else
        echo "MISS $name: every run passed"
        missed=$((missed + 1))
    fi
    rm -rf "$dir"
done
echo "mutants: $caught caught, $missed missed"
[ "$missed" -eq 0 ]
