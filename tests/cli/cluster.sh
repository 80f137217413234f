#!/usr/bin/env bash
# What a cluster job needs from `cohort`, end to end:
#   1. SIGTERM (and SIGUSR1) on a training run: checkpoint, message, exit 143;
#      rerunning the same command resumes and gives the summary of an
#      uninterrupted run, bit for bit (timing keys aside).
#   2. SIGTERM on a sweep with training cells: it stops, the cells keep their
#      checkpoints (no error.json), and rerunning resumes them to the same results.
#   3. Two sweeps in one directory: the second exits 2 naming the first; a
#      stale lock (from a dead process) is taken over and said so.
#   4. Shards: 0/2 and 1/2 into one directory equal the unsharded sweep.
#   5. Variant names: summary.json says "variant": "test:1" and holds the
#      variant's sampled values; results.csv has them as columns.
#
#   cluster.sh PATH/TO/cohort TESTS_DATA_DIR
set -u
set -o pipefail
[[ $# -eq 2 ]] || { echo "usage: cluster.sh PATH/TO/cohort TESTS_DATA_DIR" >&2; exit 64; }
cohort=$1
data=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/cohort-cluster.XXXXXX") || exit 1
trap 'kill $(jobs -p) 2>/dev/null; rm -rf -- "$work"' EXIT
failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
ok() { printf 'ok: %s\n' "$*"; }
untimed() { grep -v -e '"steps_per_second"' -e '"elapsed_seconds"' -- "$1"; }
# wait_for FILE SECONDS: until FILE exists.
wait_for() {
  for _ in $(seq 1 $(($2 * 20))); do [[ -e $1 ]] && return 0; sleep 0.05; done
  return 1
}

# A training run long enough to be interrupted (about 2-5 s here).
train=(run recsim_interest_evolution --set agent.type=epsilon_greedy --set run.num_envs=64 --set run.episodes=64
       --set run.train_steps=4000 --set run.eval_every=500 --set run.checkpoint_every=100 --quiet)

# ---- 1. SIGTERM and SIGUSR1 on a training run
"$cohort" "${train[@]}" --out "$work/whole" >"$work/whole.log" 2>&1 || fail "uninterrupted run failed: $(cat "$work/whole.log")"
for sig in TERM USR1; do
  dir=$work/run_$sig
  "$cohort" "${train[@]}" --out "$dir" >"$dir.log" 2>&1 &
  pid=$!
  wait_for "$dir/checkpoint.bin" 60 || fail "no checkpoint within 60 s"
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  expected=$((128 + $(kill -l "$sig")))
  if [[ $rc -eq 0 && -e $dir/summary.json ]]; then
    echo "note: the run finished before SIG$sig arrived; this machine is fast"
  else
    [[ $rc -eq $expected ]] && ok "SIG$sig exits $expected" || fail "SIG$sig: exit $rc, expected $expected"
    grep -qE "^SIG$sig: stopped at step [0-9]+. checkpoint written. Continue with: cohort run --resume $dir$" "$dir.log" ||
      fail "SIG$sig message: $(cat "$dir.log")"
  fi
  # The same command again continues from the checkpoint.
  "$cohort" "${train[@]}" --out "$dir" >"$dir.resume.log" 2>&1 || fail "rerun after SIG$sig failed: $(cat "$dir.resume.log")"
  if cmp -s <(untimed "$work/whole/summary.json") <(untimed "$dir/summary.json"); then
    ok "resumed run equals the uninterrupted one (SIG$sig)"
  else
    fail "resumed run differs from the uninterrupted one (SIG$sig)"
  fi
done

# ---- 2. SIGTERM on a sweep of training cells, then resume
cat >"$work/train_sweep.json" <<JSON
{"base": "$(cd "$data/../.." && pwd)/scenarios/recsim_interest_evolution.json",
 "set": {"agent.type": "epsilon_greedy", "run.num_envs": 64, "run.episodes": 64, "run.train_steps": 3000,
         "run.eval_every": 500, "run.checkpoint_every": 100},
 "seeds": {"start": 0, "count": 2}}
JSON
"$cohort" sweep "$work/train_sweep.json" --out "$work/sweep_whole" --jobs 2 --quiet >/dev/null 2>&1 ||
  fail "uninterrupted training sweep failed"
"$cohort" sweep "$work/train_sweep.json" --out "$work/sweep_term" --jobs 2 >"$work/sweep_term.log" 2>&1 &
pid=$!
wait_for "$work/sweep_term/cells/c000001/checkpoint.bin" 60 || fail "no cell checkpoint within 60 s"
kill -TERM "$pid"
wait "$pid"
rc=$?
if [[ $rc -eq 143 ]]; then
  ok "sweep SIGTERM exits 143"
  grep -q "SIGTERM: stopped. running training cells wrote their checkpoints" "$work/sweep_term.log" ||
    fail "sweep SIGTERM message: $(cat "$work/sweep_term.log")"
  ls "$work"/sweep_term/cells/*/error.json >/dev/null 2>&1 && fail "an interrupted cell was recorded as failed"
else
  [[ $rc -eq 0 ]] && echo "note: the sweep finished before SIGTERM" || fail "sweep SIGTERM: exit $rc"
fi
"$cohort" sweep "$work/train_sweep.json" --out "$work/sweep_term" --jobs 2 --quiet >/dev/null 2>&1 ||
  fail "resumed sweep failed"
grep -l "resuming from its checkpoint.bin" "$work"/sweep_term/cells/*/log.txt >/dev/null 2>&1 ||
  [[ $rc -eq 0 ]] || fail "no cell resumed from its checkpoint"
for c in c000000 c000001; do
  cmp -s <(untimed "$work/sweep_whole/cells/$c/summary.json") <(untimed "$work/sweep_term/cells/$c/summary.json") ||
    fail "cell $c after SIGTERM + resume differs from the uninterrupted sweep"
done
ok "interrupted and resumed sweep equals the uninterrupted one"

# ---- 3. Two sweeps in one directory; a stale lock
small=$data/sweeps/small.json
"$cohort" sweep "$small" --out "$work/locked" --jobs 1 --quiet >/dev/null 2>&1 &
pid=$!
wait_for "$work/locked/locks/shard-0-of-1.lock" 30
sleep 0.2
out=$("$cohort" sweep "$small" --out "$work/locked" --jobs 1 --quiet 2>&1)
rc=$?
if kill -0 "$pid" 2>/dev/null; then
  [[ $rc -eq 2 ]] && grep -qE "error: .*locked: another sweep is running in this directory \(host .* pid $pid\)" <<<"$out" &&
    ok "a second sweep in the same directory is refused" || fail "second sweep: exit $rc: $out"
else
  echo "note: the first sweep ended before the second started"
fi
wait "$pid"
printf 'host elsewhere pid 999999\n' >"$work/locked/locks/shard-0-of-1.lock"
out=$("$cohort" sweep "$small" --out "$work/locked" --jobs 1 2>&1)
grep -q "took over a stale lock (host elsewhere pid 999999, no longer running)" <<<"$out" &&
  ok "a stale lock is taken over" || fail "stale lock: $out"

# ---- 4. Shards together equal the whole sweep
"$cohort" sweep "$small" --out "$work/sharded" --shard 0/2 --jobs 2 --quiet >/dev/null 2>&1 || fail "shard 0/2 failed"
n0=$(ls -d "$work"/sharded/cells/*/summary.json 2>/dev/null | wc -l)
"$cohort" sweep "$small" --out "$work/sharded" --shard 1/2 --jobs 2 --quiet >/dev/null 2>&1 || fail "shard 1/2 failed"
n1=$(ls -d "$work"/sharded/cells/*/summary.json 2>/dev/null | wc -l)
[[ $n0 -eq 3 && $n1 -eq 6 ]] && ok "shards ran 3 + 3 of 6 cells" || fail "shards ran $n0 then $n1 cells"
for f in "$work"/locked/cells/*/summary.json; do
  c=$(basename "$(dirname "$f")")
  cmp -s <(untimed "$f") <(untimed "$work/sharded/cells/$c/summary.json") || fail "sharded cell $c differs"
done
ok "sharded cells equal the unsharded sweep's"

# ---- 5. Variant names and values
"$cohort" run "$data/family.json" --variant test:1 --out "$work/variant" --quiet >/dev/null 2>&1 || fail "variant run failed"
python3 - "$work/variant/summary.json" <<'PY' || fail "variant in summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["variant"] == "test:1", s["variant"]
assert isinstance(s["variant_values"], dict) and s["variant_values"], s.get("variant_values")
PY
cat >"$work/variant_sweep.json" <<JSON
{"base": "$data/family.json", "set": {"run.episodes": 50}, "variants": {"split": "test", "start": 0, "count": 2}}
JSON
"$cohort" sweep "$work/variant_sweep.json" --out "$work/vs" --quiet >/dev/null 2>&1 || fail "variant sweep failed"
"$cohort" report "$work/vs" >/dev/null 2>&1 || fail "variant sweep report failed"
head -1 "$work/vs/results.csv" | grep -q ',variant\.' && ok "results.csv has variant.<path> columns" ||
  fail "results.csv header: $(head -1 "$work/vs/results.csv")"

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all ok"
