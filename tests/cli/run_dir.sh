#!/usr/bin/env bash
# End-to-end checks of `cohort run` and its run directory.
#
#   run_dir.sh PATH/TO/cohort
#
# Runs recsim_interest_evolution for 200 episodes and checks: the files of the
# run directory, no temporary files left behind, "already complete" reruns that
# rewrite nothing, refusal to overwrite a different scenario, --force,
# results independent of --threads, and --seed changing the results.
set -u
set -o pipefail

[[ $# -eq 1 ]] || { echo "usage: run_dir.sh PATH/TO/cohort" >&2; exit 64; }
cohort=$1
[[ -x $cohort ]] || { echo "run_dir.sh: $cohort is not executable" >&2; exit 64; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/cohort-run-dir.XXXXXX") || exit 1
trap 'rm -rf -- "$scratch"' EXIT
# Run from an empty directory: the shipped scenario must resolve by name.
cd -- "$scratch" || exit 1

failures=0
fail() {
  printf 'FAIL: %s\n' "$*"
  failures=$((failures + 1))
}
pass() { printf 'ok: %s\n' "$*"; }

# run LOG EXPECTED_RC ARGS...: runs cohort with ARGS, output to LOG.
run() {
  local log=$1 expected=$2
  shift 2
  local rc=0
  "$cohort" "$@" >"$log" 2>&1 </dev/null || rc=$?
  if [[ $rc -ne $expected ]]; then
    fail "cohort $* exited $rc, expected $expected; output:"
    sed 's/^/    | /' -- "$log"
    return 1
  fi
  pass "cohort $* exited $rc"
  return 0
}

checksum() { cksum <"$1"; }
inode() { stat -c %i -- "$1"; }
# summary.json without the wall-clock timing lines.
untimed() { grep -v -e '"steps_per_second"' -e '"elapsed_seconds"' -- "$1"; }

base=(run recsim_interest_evolution --set run.episodes=200 --quiet)
a=$scratch/a

# 1. A fresh run.
if ! run "$scratch/log1" 0 "${base[@]}" --out "$a"; then
  echo "first run failed; nothing else can be checked"
  exit 1
fi

for f in scenario.resolved.json metrics.jsonl summary.json; do
  [[ -s $a/$f ]] && pass "$f exists" || fail "$a/$f is missing or empty"
done

# metrics.jsonl: exactly 200 lines, each one JSON object with "return".
lines=$(wc -l <"$a/metrics.jsonl" | tr -d ' ')
[[ $lines == 200 ]] && pass "metrics.jsonl has 200 lines" || fail "metrics.jsonl has $lines lines, expected 200"
bad=$(grep -c -v -E '^\{.*"return":-?[0-9].*\}$' -- "$a/metrics.jsonl")
[[ $bad == 0 ]] && pass "every metrics line has \"return\"" || fail "$bad metrics lines lack a numeric \"return\""
if command -v python3 >/dev/null 2>&1; then
  if python3 -c '
import json, math, sys
n = 0
for i, line in enumerate(open(sys.argv[1]), 1):
    d = json.loads(line)
    assert isinstance(d, dict), "line %d is not an object" % i
    assert isinstance(d.get("return"), (int, float)) and math.isfinite(d["return"]), "line %d: bad return" % i
    n += 1
assert n == 200, n
s = json.load(open(sys.argv[2]))
assert s["episodes"] == 200, s["episodes"]
r = json.load(open(sys.argv[3]))
assert r["run"]["episodes"] == 200, r["run"]
' "$a/metrics.jsonl" "$a/summary.json" "$a/scenario.resolved.json"; then
    pass "metrics.jsonl, summary.json and scenario.resolved.json parse as JSON"
  else
    fail "JSON check of the run directory failed"
  fi
fi

for key in episodes steps return_mean return_std return_ci95 episode_length_mean clicks_per_episode ctr \
  normalized_score steps_per_second; do
  grep -q -E "^ *\"$key\": " -- "$a/summary.json" && pass "summary.json has $key" ||
    fail "summary.json lacks \"$key\""
done
grep -q -E '^ *"episodes": 200,?$' -- "$a/summary.json" && pass "summary episodes = 200" ||
  fail "summary.json does not say \"episodes\": 200"
grep -q -E '^ *"episodes": 200,?$' -- "$a/scenario.resolved.json" && pass "resolved run.episodes = 200" ||
  fail "scenario.resolved.json does not hold the --set episodes = 200"

# 2. No temporary files left behind.
leftovers=$(find "$scratch" -mindepth 1 -name '*.partial' -o -name '*.tmp*')
[[ -z $leftovers ]] && pass "no temporary files" || fail "temporary files left behind: $leftovers"

# 3. The same run again: already complete, nothing rewritten.
sum_a=$(checksum "$a/summary.json")
met_a=$(checksum "$a/metrics.jsonl")
ino_summary=$(inode "$a/summary.json")
ino_metrics=$(inode "$a/metrics.jsonl")
ino_resolved=$(inode "$a/scenario.resolved.json")
if run "$scratch/log2" 0 "${base[@]}" --out "$a"; then
  grep -q 'already complete' -- "$scratch/log2" && pass "rerun says already complete" ||
    { fail "rerun does not say \"already complete\":"; sed 's/^/    | /' -- "$scratch/log2"; }
fi
[[ $(checksum "$a/summary.json") == "$sum_a" && $(inode "$a/summary.json") == "$ino_summary" ]] &&
  pass "rerun left summary.json alone" || fail "rerun rewrote summary.json"
[[ $(checksum "$a/metrics.jsonl") == "$met_a" && $(inode "$a/metrics.jsonl") == "$ino_metrics" ]] &&
  pass "rerun left metrics.jsonl alone" || fail "rerun rewrote metrics.jsonl"
[[ $(inode "$a/scenario.resolved.json") == "$ino_resolved" ]] &&
  pass "rerun left scenario.resolved.json alone" || fail "rerun rewrote scenario.resolved.json"

# 4. A different scenario into the same directory is refused (exit 2), and
#    the finished run is left intact.
if run "$scratch/log3" 2 run recsim_interest_evolution --set run.episodes=201 --quiet --out "$a"; then
  grep -q -E 'error: .*: holds a finished run of a different scenario' -- "$scratch/log3" &&
    pass "refusal names the reason" ||
    { fail "refusal message unexpected:"; sed 's/^/    | /' -- "$scratch/log3"; }
fi
[[ $(checksum "$a/summary.json") == "$sum_a" ]] && pass "refused run left summary.json alone" ||
  fail "refused run changed summary.json"
[[ $(checksum "$a/metrics.jsonl") == "$met_a" ]] && pass "refused run left metrics.jsonl alone" ||
  fail "refused run changed metrics.jsonl"
grep -q -E '^ *"episodes": 200,?$' -- "$a/scenario.resolved.json" && pass "refused run left scenario.resolved.json alone" ||
  fail "refused run changed scenario.resolved.json"

# 5. --force runs again (new files, same deterministic content).
if run "$scratch/log4" 0 "${base[@]}" --out "$a" --force; then
  grep -q 'already complete' -- "$scratch/log4" && fail "--force still says already complete" ||
    pass "--force did not short-circuit"
fi
[[ $(inode "$a/summary.json") != "$ino_summary" ]] && pass "--force rewrote summary.json" ||
  fail "--force did not rewrite summary.json"
[[ $(checksum "$a/metrics.jsonl") == "$met_a" ]] && pass "--force rerun reproduced metrics.jsonl" ||
  fail "--force rerun gave a different metrics.jsonl (same scenario and seed)"
leftovers=$(find "$scratch" -mindepth 1 -name '*.partial' -o -name '*.tmp*')
[[ -z $leftovers ]] && pass "no temporary files after --force" || fail "temporary files left behind: $leftovers"

# 6. --threads 2: identical results.
b=$scratch/b
if run "$scratch/log5" 0 "${base[@]}" --out "$b" --threads 2; then
  cmp -s -- "$a/metrics.jsonl" "$b/metrics.jsonl" && pass "--threads 2 gives identical metrics.jsonl" ||
    fail "--threads 2 gives a different metrics.jsonl"
  if diff <(untimed "$a/summary.json") <(untimed "$b/summary.json") >"$scratch/summary.diff"; then
    pass "--threads 2 gives identical summary.json (timings aside)"
  else
    fail "--threads 2 gives a different summary.json:"
    sed 's/^/    | /' -- "$scratch/summary.diff"
  fi
fi

# 7. --seed 1: different users, different results.
c=$scratch/c
if run "$scratch/log6" 0 "${base[@]}" --out "$c" --seed 1; then
  cmp -s -- "$a/metrics.jsonl" "$c/metrics.jsonl" && fail "--seed 1 gives the same metrics.jsonl as seed 0" ||
    pass "--seed 1 gives a different metrics.jsonl"
  grep -q -E '^ *"seed": 1,?$' -- "$c/scenario.resolved.json" && pass "--seed 1 is recorded in scenario.resolved.json" ||
    fail "scenario.resolved.json does not record seed 1"
  lines=$(wc -l <"$c/metrics.jsonl" | tr -d ' ')
  [[ $lines == 200 ]] && pass "--seed 1 metrics.jsonl has 200 lines" || fail "--seed 1 metrics.jsonl has $lines lines"
fi

leftovers=$(find "$scratch" -mindepth 1 -name '*.partial' -o -name '*.tmp*')
[[ -z $leftovers ]] && pass "no temporary files at the end" || fail "temporary files left behind: $leftovers"

if [[ $failures -ne 0 ]]; then
  echo "run_dir.sh: $failures check(s) failed"
  exit 1
fi
echo "run_dir.sh: all checks passed"
exit 0
