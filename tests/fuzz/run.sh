#!/usr/bin/env bash
# Long coverage-guided fuzz runs with atheris (not part of CI): every target for $RUNS inputs.
#
#   tests/fuzz/run.sh                 # all targets, 100,000 inputs each
#   RUNS=2000 tests/fuzz/run.sh scenario overlay
#
# Each target starts from its seeds (real files, see targets.py) in $OUT/<target>/corpus; a
# crash stops that target and leaves the input in $OUT/<target>/crashes/ — copy it to
# tests/fuzz/corpus/<target>/ (the regression test replays it) and fix the reader. The summary
# (inputs run, seconds, crashes) is printed at the end and written to $OUT/summary.tsv.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
RUNS=${RUNS:-100000}
JOBS=${JOBS:-1}
OUT=${OUT:-$(mktemp -d /tmp/critmin-fuzz-run.XXXXXX)}
ALL=(parse_cell country_name mcs2026 legacy scenario groups overlay)
TARGETS=("${@:-${ALL[@]}}")
export PYTHONPATH="src:tests/fuzz${PYTHONPATH:+:$PYTHONPATH}"

one() {
    local t=$1 dir="$OUT/$1"
    mkdir -p "$dir/corpus" "$dir/crashes"
    "$PY" "tests/fuzz/fuzz_$t.py" --write-seeds "$dir/corpus" >/dev/null 2>&1
    local start end status=0
    start=$(date +%s.%N)
    "$PY" "tests/fuzz/fuzz_$t.py" -runs="$RUNS" -max_len=16384 -timeout=60 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$dir/crashes/" "$dir/corpus" >"$dir/log" 2>&1 \
        || status=$?
    end=$(date +%s.%N)
    local done_runs
    done_runs=$(grep -o 'Done [0-9]* runs' "$dir/log" | grep -o '[0-9]*' | tail -1)
    printf '%s\t%s\t%.0f\t%s\t%s\n' "$t" "${done_runs:-0}" "$(echo "$end - $start" | bc)" \
        "$(find "$dir/crashes" -type f | wc -l)" "$status" >"$dir/summary"
}

export -f one
export PY RUNS OUT
printf '%s\n' "${TARGETS[@]}" | xargs -P "$JOBS" -I{} bash -c 'one {}'
{
    printf 'target\tinputs\tseconds\tcrashes\texit\n'
    for t in "${TARGETS[@]}"; do cat "$OUT/$t/summary"; done
} | tee "$OUT/summary.tsv"
echo "logs and crashing inputs: $OUT" >&2
! grep -qvP '\t0\t0$' <(tail -n +2 "$OUT/summary.tsv")
