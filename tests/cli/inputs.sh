#!/usr/bin/env bash
# Directories reopened after an interruption, and damaged sweep directories:
#   1. `cohort run --resume` of a training run stopped before its first
#      checkpoint starts from step 0 (saying so) and gives the same results;
#      a directory stopped before anything was written says how to rerun.
#   2. Temporaries a killed process left (NAME.tmp.<host>.<pid>, NAME.partial)
#      are removed when a run directory or a sweep directory is reopened;
#      nothing else is, and a sweep directory keeps what another live
#      process may still be writing.
#   3. `cohort report` lists cells with a damaged summary.json or error.json
#      as failed, naming the file and the reason, and refuses a cells.jsonl
#      line whose directory is not the cell's own (never leaving the sweep
#      directory).
# Usage: inputs.sh COHORT_BINARY SOURCE_DIR
set -uo pipefail
cohort=$1
source_dir=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
# expect RC LOG ARGS...: runs cohort, output to LOG, checks the exit code.
expect() {
  local rc=0 want=$1 log=$2
  shift 2
  "$cohort" "$@" > "$log" 2>&1 < /dev/null || rc=$?
  if [ "$rc" -ne "$want" ]; then
    fail "cohort $* exited $rc, expected $want:"
    sed 's/^/    | /' "$log"
    return 1
  fi
  return 0
}
has() { grep -q -F -e "$2" "$1" && pass "$1 says: $2" || { fail "$1 lacks: $2"; sed 's/^/    | /' "$1"; }; }
untimed() { grep -v -e '"steps_per_second"' -e '"elapsed_seconds"' "$1"; }
host=$(uname -n | tr './' '__')
dead_pid=$(sh -c 'echo $$')  # a process that has exited

# ---- 1. resuming before the first checkpoint ---------------------------------
train=(run recsim_interest_evolution --set agent.type=linucb --set run.train_steps=20 --set run.episodes=40
       --set run.num_envs=16 --quiet)
expect 0 log.full "${train[@]}" --out full || exit 1
untimed full/summary.json > full.summary

# What a run killed before its first checkpoint leaves: scenario.resolved.json
# (written first) and nothing else of its own.
mkdir early && cp full/scenario.resolved.json early/
expect 0 log.resume run --resume early --quiet
has log.resume "early: no checkpoint.bin yet (the run was stopped before its first checkpoint): starting from step 0"
diff -q full.summary <(untimed early/summary.json) > /dev/null && pass "resumed from step 0: same summary" \
  || fail "a run resumed from step 0 differs from an uninterrupted one"

# The same command again (what a sweep's rerun does) says so too.
mkdir again && cp full/scenario.resolved.json again/
expect 0 log.again "${train[@]}" --out again
has log.again "again: no checkpoint.bin yet"
diff -q full.summary <(untimed again/summary.json) > /dev/null && pass "rerun from step 0: same summary" \
  || fail "a rerun from step 0 differs from an uninterrupted run"

# Stopped before even scenario.resolved.json: nothing to resume; how to rerun.
mkdir nothing
expect 2 log.nothing run --resume nothing
has log.nothing "error: nothing: has no scenario.resolved.json: the run was stopped before it started"
has log.nothing 'Start it again with its original command, `cohort run SCENARIO [options] --out nothing`'
expect 2 log.missing run --resume no_such_dir
has log.missing "error: --resume: no_such_dir does not exist (expected the directory of a training run)"

# ---- 2. stale temporaries -------------------------------------------------------
# A finished run directory reopened by the same command.
stale=("checkpoint.bin.tmp.$host.$dead_pid" "summary.json.tmp.$dead_pid" "metrics.jsonl.partial"
       "scenario.resolved.json.tmp.otherhost.7")
for f in "${stale[@]}"; do echo junk > "full/$f"; done
echo mine > full/notes.txt.partial  # not a temporary of the run's own files: kept
expect 0 log.rerun "${train[@]}" --out full
for f in "${stale[@]}"; do [ ! -e "full/$f" ] && pass "removed full/$f" || fail "full/$f was left"; done
[ -e full/notes.txt.partial ] && pass "kept a user's file" || fail "removed full/notes.txt.partial"
[ -e full/checkpoint.bin ] && [ -e full/summary.json ] || fail "the run's own files went"
grep -q "is already complete" log.rerun || fail "the rerun did not say the run is complete"
expect 0 log.quiet_rerun run recsim_interest_evolution --set agent.type=linucb --set run.train_steps=20 \
  --set run.episodes=40 --set run.num_envs=16 --out full
# --resume clears them too (not --quiet: says what it removed).
mkdir killed && cp full/scenario.resolved.json killed/ && echo x > "killed/checkpoint.bin.tmp.$host.$dead_pid"
expect 0 log.killed run --resume killed
has log.killed "killed: removed 1 temporary file(s) left by an interrupted run (checkpoint.bin.tmp.$host.$dead_pid)"

# A meta run directory, reopened by --resume.
expect 0 log.meta meta train "$source_dir/scenarios/meta/bandit_exploration.json" --set es.generations=1 \
  --set es.pairs=1 --set lifetime.steps_max=0 --set lifetime.steps=5 --set lifetime.num_envs=4 \
  --set lifetime.eval_users=4 --set validation.every=1 --set validation.variants=1 --out meta --quiet
echo x > "meta/checkpoint.bin.tmp.$host.$dead_pid" && echo x > meta/progress.jsonl.partial
expect 0 log.meta_resume meta train --resume meta
has log.meta_resume "meta: removed 2 temporary file(s) left by an interrupted run"
[ ! -e "meta/checkpoint.bin.tmp.$host.$dead_pid" ] && [ ! -e meta/progress.jsonl.partial ] \
  && pass "meta temporaries removed" || fail "meta temporaries left"

# A sweep directory: shards on other hosts and `cohort report` may be writing
# there, so only this host's dead writers and hour-old temporaries go.
cat > tiny.json << EOF
{"base": "$source_dir/scenarios/recsim_interest_evolution.json",
 "set": {"run.episodes": 40, "run.num_envs": 16},
 "axes": [{"path": "agent.type", "values": ["random", "greedy"]}]}
EOF
expect 0 log.sweep sweep tiny.json --out sw --jobs 2 --quiet || exit 1
expect 0 log.report report sw || exit 1
mkdir -p sw/plots
echo x > "sw/cells.jsonl.tmp.$host.$dead_pid"     # this host, writer gone: removed
echo x > "sw/results.md.tmp.$host.$$"              # this host, writer alive (this shell): kept
echo x > "sw/sweep.resolved.json.tmp.otherhost.1"  # another host, fresh: kept
echo x > "sw/results.csv.tmp.otherhost.2" && touch -d '2 hours ago' "sw/results.csv.tmp.otherhost.2"  # removed
echo x > "sw/plots/bar_ctr.svg.tmp.otherhost.3" && touch -d '2 hours ago' "sw/plots/bar_ctr.svg.tmp.otherhost.3"
expect 0 log.sweep2 sweep tiny.json --out sw --quiet
for f in "cells.jsonl.tmp.$host.$dead_pid" results.csv.tmp.otherhost.2 plots/bar_ctr.svg.tmp.otherhost.3; do
  [ ! -e "sw/$f" ] && pass "removed sw/$f" || fail "sw/$f was left"
done
for f in "results.md.tmp.$host.$$" sweep.resolved.json.tmp.otherhost.1; do
  [ -e "sw/$f" ] && pass "kept sw/$f" || fail "removed sw/$f, which a live process may be writing"
done
rm -f sw/*.tmp.*

# ---- 3. cohort report on damaged cells -------------------------------------------
# damaged NAME CONTENT REASON: cell c000001's summary.json replaced by CONTENT.
damaged() {
  rm -rf "$1" && cp -r sw "$1"
  printf '%s' "$2" > "$1/cells/c000001/summary.json"
  expect 0 "log.$1" report "$1" || return
  has "log.$1" "warning: 1 cell(s) listed as failed because a file of theirs is damaged:"
  has "log.$1" "c000001: cells/c000001/summary.json $3"
  has "$1/results.md" "2 cells: 1 done, 1 failed, 0 not run."
  has "$1/results.md" "| damaged | cells/c000001/summary.json $3"
  grep -q '^c000001,failed,' "$1/results.csv" && pass "$1: c000001 failed in results.csv" \
    || fail "$1: c000001 is not failed in results.csv"
}
damaged not_object '[1, 2]' "is not a JSON object"
damaged empty_object '{}' 'has no number "episodes"'
damaged string_metric '{"episodes": 40, "return_mean": "high"}' '"return_mean" is string, not a number'
damaged not_json '{"episodes": 4' "cannot be read"

# A damaged error.json: the cell stays failed, the file named.
rm -rf bad_error && cp -r sw bad_error
rm bad_error/cells/c000001/summary.json && echo '"oops"' > bad_error/cells/c000001/error.json
expect 0 log.bad_error report bad_error
has bad_error/results.md "| c000001 | agent.type=greedy | 0 | - | -1 | cells/c000001/error.json is not a JSON object |"

# cells.jsonl names the cells' directories: one outside cells/ is refused, and
# nothing is written.
rm -rf escape && cp -r sw escape && rm escape/results.*
sed -i '2s|"dir":"cells/c000001"|"dir":"../../../../etc"|' escape/cells.jsonl
grep -q '"dir":"../../../../etc"' escape/cells.jsonl || fail "the test could not edit cells.jsonl"
expect 2 log.escape report escape
has log.escape "escape/cells.jsonl: line 2: \"dir\" is \"../../../../etc\", expected \"cells/c000001\""
[ ! -e escape/results.md ] && pass "nothing written for a refused cells.jsonl" || fail "escape/results.md written"
rm -rf noseed && cp -r sw noseed
sed -i '1s|"seed":0,||' noseed/cells.jsonl
expect 2 log.noseed report noseed
has log.noseed "noseed/cells.jsonl: line 1: \"seed\" is not an integer >= 0"
rm -rf badsweep && cp -r sw badsweep && echo '[]' > badsweep/sweep.resolved.json
expect 2 log.badsweep report badsweep
has log.badsweep "badsweep/sweep.resolved.json: expected a JSON object (the resolved sweep)"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
