#!/usr/bin/env bash
# Sweeps end to end: a full run, resume after a kill, a failing cell that does
# not stop the others, `cohort report`, and (when MPI is built) 2 MPI ranks
# giving the same results as the local pool.
# Usage: sweep.sh COHORT_BINARY DATA_DIR [mpi]
set -euo pipefail
cohort=$1
data=$2
mpi=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# Number of files matching a glob (0 when none match; safe under pipefail).
count() { local n=0 f; for f in "$@"; do [ -e "$f" ] && n=$((n + 1)); done; echo "$n"; }

# Every summary without its wall-clock keys, one line per cell, in cell order.
summaries() {
  for d in "$1"/cells/c*; do
    grep -v -E '"(steps_per_second|elapsed_seconds)"' "$d/summary.json" | tr -d ' \n'
    echo
  done
}

# 1. Uninterrupted sweep, 2 jobs.
"$cohort" sweep "$data/small.json" --out "$work/full" --jobs 2 --quiet > "$work/full.out" \
  || fail "full sweep exited $?"
[ "$(wc -l < "$work/full/cells.jsonl")" -eq 6 ] || fail "expected 6 cells"
[ "$(count "$work"/full/cells/*/summary.json)" -eq 6 ] || fail "not every cell finished"

# 2. Kill a sweep mid-way (1 job, so some cells are not done), rerun: only
#    missing cells run and the results equal the uninterrupted sweep's.
"$cohort" sweep "$data/small.json" --out "$work/killed" --jobs 1 --quiet &
pid=$!
for _ in $(seq 1 200); do
  [ "$(count "$work"/killed/cells/*/summary.json)" -ge 2 ] && break
  sleep 0.02
done
kill -KILL "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
before=$(count "$work"/killed/cells/*/summary.json)
[ "$before" -lt 6 ] || echo "note: the sweep finished before it was killed"
for f in "$work"/killed/cells/*/*; do
  case "$f" in *.partial|*.tmp.*) ;; *summary.json|*scenario.resolved.json|*metrics.jsonl)
    python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])] if sys.argv[1].endswith('l') else json.load(open(sys.argv[1]))" "$f" \
      || fail "corrupt file after kill: $f";;
  esac
done
"$cohort" sweep "$data/small.json" --out "$work/killed" --jobs 2 > "$work/resume.out" 2>&1 || fail "resume exited $?"
# Cells that finished between the count and the kill are skipped too; every
# other cell runs exactly once.
skipped=$(sed -n 's/.* \([0-9]*\) already done, \([0-9]*\) ran, 0 failed.*/\1 \2/p' "$work/resume.out")
read -r n_skipped n_ran <<< "${skipped:-x x}"
{ [ "$n_skipped" -ge "$before" ] && [ $((n_skipped + n_ran)) -eq 6 ]; } \
  || { cat "$work/resume.out"; fail "resume should skip the >= $before finished cells and run the rest"; }
diff <(summaries "$work/full") <(summaries "$work/killed") > /dev/null || fail "resumed sweep differs from uninterrupted"

# 3. A rerun of a finished sweep runs nothing.
"$cohort" sweep "$data/small.json" --out "$work/full" --quiet | grep -q "6 already done, 0 ran, 0 failed" \
  || fail "rerun of a finished sweep ran cells"

# 4. Failing cells are recorded; the others complete; exit code 1.
set +e
"$cohort" sweep "$data/failing.json" --out "$work/failing" --jobs 2 --quiet > "$work/failing.out" 2>&1
code=$?
set -e
[ "$code" -eq 1 ] || { cat "$work/failing.out"; fail "failing sweep exited $code, expected 1"; }
[ "$(count "$work"/failing/cells/*/summary.json)" -eq 2 ] || fail "the healthy cells did not complete"
[ "$(count "$work"/failing/cells/*/error.json)" -eq 2 ] || fail "failed cells have no error.json"
grep -q "live catalog fell" "$work"/failing/cells/c000002/error.json || fail "error.json lacks the reason"

# 5. Report.
"$cohort" report "$work/full" > /dev/null || fail "report exited $?"
for f in results.csv results.md; do [ -s "$work/full/$f" ] || fail "missing $f"; done
[ "$(wc -l < "$work/full/results.csv")" -eq 7 ] || fail "results.csv should have a header and 6 rows"
grep -q "greedy" "$work/full/results.md" || fail "results.md lacks the greedy group"
ls "$work"/full/plots/*.svg > /dev/null || fail "no plots"
"$cohort" report "$work/failing" > /dev/null || fail "report on a sweep with failures exited $?"
grep -q "c000002" "$work/failing/results.md" || fail "results.md does not list the failed cell"
# The report holds no wall-clock numbers: a resumed sweep reports byte-identically.
"$cohort" report "$work/killed" > /dev/null || fail "report of the resumed sweep exited $?"
cmp "$work/full/results.csv" "$work/killed/results.csv" || fail "resumed results.csv differs from uninterrupted"
cmp "$work/full/results.md" "$work/killed/results.md" || fail "resumed results.md differs from uninterrupted"

# 6. MPI: 2 ranks, dynamic hand-out, same results as the local pool.
if [ "$mpi" = "mpi" ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
  mpirun -np 2 --oversubscribe "$cohort" sweep "$data/small.json" --out "$work/mpi" --quiet > "$work/mpi.out" 2>&1 \
    || { cat "$work/mpi.out"; fail "mpirun sweep exited $?"; }
  diff <(summaries "$work/full") <(summaries "$work/mpi") > /dev/null || fail "MPI sweep differs from local"
  cmp "$work/full/cells.jsonl" "$work/mpi/cells.jsonl" || fail "cells.jsonl differs"
  "$cohort" report "$work/mpi" > /dev/null || fail "report of the MPI sweep exited $?"
  cmp "$work/full/results.csv" "$work/mpi/results.csv" || fail "MPI results.csv differs from local"
  grep -q "6 cells, 0 already done, 6 ran, 0 failed" "$work/mpi.out" || { cat "$work/mpi.out"; fail "MPI totals"; }
fi
echo "sweep tests passed"
