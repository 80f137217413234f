#!/usr/bin/env bash
# `cohort meta train` end to end: a tiny meta run and its files; bad input;
# `cohort meta eval`; with "mpi", 2 ranks give the same progress (wall-clock
# field aside) and rule as one process. (Resume: tests/test_meta.cc.)
# Usage: meta.sh COHORT SOURCE_DIR [mpi]
set -euo pipefail
cohort=$1
src=$2
mode=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
strip() { python3 -c 'import json,sys
for l in open(sys.argv[1]): d=json.loads(l); d.pop("seconds",None); print(json.dumps(d,sort_keys=True))' "$1"; }

cat > "$work/meta.json" <<JSON
{"name": "cli_meta", "scenario": "$src/tests/data/family.json",
 "agent": {"type": "reinforce", "hidden": [], "rollout_steps": 4}, "rule": {"lr": 0.01},
 "lifetime": {"steps": 8, "num_envs": 8, "eval_users": 8, "evals": 2},
 "es": {"pairs": 3, "generations": 4, "sigma": 0.1, "seed": 1},
 "validation": {"every": 2, "variants": 2}, "threads": 1}
JSON

"$cohort" meta train "$work/meta.json" --out "$work/local" --quiet > /dev/null || fail "local meta train"
[ "$(wc -l < "$work/local/progress.jsonl")" -eq 6 ] || fail "expected 4 generation + 2 validation lines"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["kind"]=="cohort_learned_optimizer" and len(d["theta"])==450' \
  "$work/local/rule.json" || fail "rule.json"

# Bad input: exit 2 naming the key.
set +e
out=$("$cohort" meta train "$work/meta.json" --set es.pairz=2 --out "$work/bad" 2>&1); code=$?
set -e
[ $code -eq 2 ] || fail "bad key exited $code"
grep -q 'did you mean "pairs"' <<< "$out" || fail "no suggestion: $out"

# meta eval: one JSON line per (variant, seed).
"$cohort" meta eval "$work/meta.json" --rule "$work/local/rule.json" --split test --variants 2 --seeds 2 \
  --out "$work/eval.jsonl" 2> /dev/null || fail "meta eval"
[ "$(wc -l < "$work/eval.jsonl")" -eq 4 ] || fail "expected 4 eval lines"
"$cohort" meta eval "$work/meta.json" --rule adam --split test --variants 1 --seeds 1 > /dev/null 2>&1 || fail "eval adam"

if [ "$mode" = mpi ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
  mpirun -np 2 --oversubscribe "$cohort" meta train "$work/meta.json" --out "$work/mpi" --quiet > "$work/mpi.out" 2>&1 \
    || { cat "$work/mpi.out"; fail "mpirun meta train"; }
  diff <(strip "$work/local/progress.jsonl") <(strip "$work/mpi/progress.jsonl") || fail "2 ranks: other progress"
  python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["theta"]; b=json.load(open(sys.argv[2]))["theta"]; assert a==b' \
    "$work/local/rule.json" "$work/mpi/rule.json" || fail "2 ranks: another rule"
fi
echo "meta CLI: ok"
