#!/usr/bin/env bash
# Regenerates the shipped learned rules in scenarios/rules/ with the documented command, and
# checks that the code still reproduces them.
#
#   bash scripts/ship_rules.sh [NAME...]               meta-train and ship (default: every rule)
#   bash scripts/ship_rules.sh --check NAME [WORK_DIR]  the reproducibility check (ctest ship_rule_NAME)
#
# Shipping NAME (from the repository root, build/cohort built):
#   ./build/cohort meta train scenarios/meta/META.json --out runs/ship_NAME --quiet
# i.e. seed 0, the meta file's own es.seed = es.init_seed = 0 (what publish_sweep.sh's
# meta_train_seeds and docs/results/ call seed 0: its --set es.seed=0 --set es.init_seed=0
# resolve to the same meta file, so runs/meta_*_seed0/best_rule.json equals the shipped rule).
# Then it copies, unchanged byte for byte,
#   runs/ship_NAME/best_rule.json   -> scenarios/rules/NAME.json           (the best on validation)
#   runs/ship_NAME/progress.jsonl   -> scenarios/rules/NAME.progress.jsonl (without "seconds")
# The rule file's "meta" block, written by `cohort meta train`, is its provenance: meta_file,
# generation, validation areas, the resolved agent.
#
#   NAME                          META
#   bandit_exploration            bandit_exploration
#   drifting_learned_optimizer    drifting_optimizer
#   ppo_lpo_drift                 drifting_ppo_drift
#
# Resumable: rerun after an interruption and meta train continues from runs/ship_NAME.
# THREADS=N adds --set threads=N (results do not depend on it; keep it the same when resuming,
# or meta train refuses the run directory). COHORT=PATH replaces ./build/cohort.
#
# Measured on this project's 2-core machine, shared with other jobs (load 4-6), THREADS=2,
# from an empty runs/ship_NAME:
#   drifting_learned_optimizer   60 generations x 32 lifetimes   413 s
#   ppo_lpo_drift                25 generations x 12 lifetimes   127 s
#   bandit_exploration          100 generations x 32 lifetimes   218 s
# The check (the meta file's own threads): 24-28 s per rule.
#
# --check NAME reruns the first generations of NAME's meta-training with today's code
# (--set es.generations=N; the ES decays are per generation, so these are the full run's first
# N) and compares them with the shipped files; what that proves and what it does not:
# docs/meta.md, "Shipped rules".
set -euo pipefail
cd "$(dirname "$0")/.."
cohort=${COHORT:-./build/cohort}
# The LibTorch rules are made and checked with the AVX2 kernels of LibTorch and
# OpenBLAS, whatever the CPU (AVX-512 kernels round differently; docs/meta.md#shipped-rules).
export ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-avx2} OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
all=(bandit_exploration drifting_learned_optimizer ppo_lpo_drift)

meta_of() {
  case $1 in
    bandit_exploration) echo bandit_exploration ;;
    drifting_learned_optimizer) echo drifting_optimizer ;;
    ppo_lpo_drift) echo drifting_ppo_drift ;;
    *) echo "ship_rules.sh: unknown rule \"$1\" (one of: ${all[*]})" >&2; exit 2 ;;
  esac
}

# progress.jsonl without the wall-clock field, as text (the numbers stay as written).
strip_seconds() { sed -E 's/,"seconds":[^,}]*//' "$1"; }

ship() {
  local name=$1 meta out start end
  meta=$(meta_of "$name")
  out="runs/ship_$name"
  start=$(date +%s)
  "$cohort" meta train "scenarios/meta/$meta.json" ${THREADS:+--set threads=$THREADS} --out "$out" --quiet
  end=$(date +%s)
  cp "$out/best_rule.json" "scenarios/rules/$name.json"
  strip_seconds "$out/progress.jsonl" > "scenarios/rules/$name.progress.jsonl"
  echo "shipped scenarios/rules/$name.json from $out ($((end - start)) s this invocation)"
}

# How many generations the check reruns (GENERATIONS=N overrides): at least 3, since the first
# ES step is Adam's sign-like step, which does not depend on Adam's moments; the bandit rule
# reruns to its first validation (its fitness counts clicks, so it is piecewise constant in theta
# and small changes show late); the PPO rule reruns to generation 5, where its best_rule.json
# is the shipped rule, which is then compared byte for byte.
check_generations_of() {
  case $1 in
    bandit_exploration) echo 10 ;;
    drifting_learned_optimizer) echo 3 ;;
    ppo_lpo_drift) echo 5 ;;
  esac
}

# The reproducibility check of one shipped rule; WORK holds the short rerun. Exit 0 when every
# comparison holds, 1 naming the first that does not.
check() {
  local name=$1 work=$2 meta generations
  meta=$(meta_of "$name")
  generations=${GENERATIONS:-$(check_generations_of "$name")}
  local rule="scenarios/rules/$name.json" shipped="scenarios/rules/$name.progress.jsonl" run="$work/$name"
  [ -f "$rule" ] && [ -f "$shipped" ] || { echo "FAIL: $rule or $shipped is missing" >&2; return 1; }
  rm -rf "$run"
  "$cohort" meta train "scenarios/meta/$meta.json" --set es.generations="$generations" --out "$run" --quiet \
    > /dev/null
  strip_seconds "$run/progress.jsonl" > "$run/progress.stripped.jsonl"
  # The rule file must load into its agent slot (agents/learnable.h ReadRuleFile): one lifetime.
  "$cohort" meta eval "scenarios/meta/$meta.json" --rule "$rule" --variants 1 --seeds 1 > /dev/null 2>&1 \
    || { echo "FAIL: $name: cohort meta eval cannot use $rule" >&2; return 1; }
  python3 - "$name" "$meta" "$generations" "$rule" "$shipped" "$run" <<'PY'
import json, sys
name, meta, generations, rule_path, shipped_path, run = sys.argv[1:]
generations = int(generations)
def fail(message):
    sys.exit(f"FAIL: {name}: {message}")
def lines(path):
    return [l.rstrip("\n") for l in open(path)]
rule_text = open(rule_path, "rb").read()
rule = json.loads(rule_text)
shipped = lines(shipped_path)
rerun = lines(f"{run}/progress.stripped.jsonl")
meta_doc = json.load(open(f"scenarios/meta/{meta}.json"))
resolved = json.load(open(f"{run}/meta.resolved.json"))
short_rule = json.load(open(f"{run}/rule.json"))
short_best_text = open(f"{run}/best_rule.json", "rb").read()

# 1. The shipped files are one full run of the shipped meta file, and the rule is its best_rule.json.
if rule["meta"]["meta_file"] != f"scenarios/meta/{meta}.json":
    fail(f'meta.meta_file is {rule["meta"]["meta_file"]!r}, not scenarios/meta/{meta}.json')
gens = [l for l in shipped if json.loads(l)["kind"] == "generation"]
vals = [json.loads(l) for l in shipped if json.loads(l)["kind"] == "validation"]
if len(gens) != meta_doc["es"]["generations"]:
    fail(f"{shipped_path} has {len(gens)} generations, the meta file {meta_doc['es']['generations']}")
best = None  # meta train keeps the first strictly best finite validation area
for v in vals:
    if v["rule_area"] is not None and (best is None or v["rule_area"] > best["rule_area"]):
        best = v
if best is None or best["generation"] != rule["meta"]["generation"] \
        or best["rule_area"] != rule["meta"]["validation_area"] \
        or best["baseline_area"] != rule["meta"]["baseline_validation_area"]:
    fail(f"the rule (generation {rule['meta']['generation']}) is not the best validation of {shipped_path}")

# 2. The code still does what it did: every shipped line up to generation N, bit for bit (the
# numbers as text), validations included. The rerun validates once more after its last
# generation, unless the full run did too; of that line only the baseline (theta = 0) compares.
expected = [l for l in shipped if json.loads(l)["generation"] <= generations]
for i, a in enumerate(expected):
    b = rerun[i] if i < len(rerun) else "(nothing)"
    if a != b:
        fail(f"line {i + 1} differs\n  shipped: {a}\n  now:     {b}")
extra = rerun[len(expected):]
if len(extra) > 1 or (extra and json.loads(extra[0])["kind"] != "validation"):
    fail(f"the rerun wrote {len(rerun)} lines, expected {len(expected)} (+ 1 validation)")
if extra and json.loads(extra[0])["baseline_area"] != vals[0]["baseline_area"]:
    fail(f"validation baseline_area differs: shipped {vals[0]['baseline_area']}, "
         f"now {json.loads(extra[0])['baseline_area']}")
# The resolved agent (every default) and the rule's shape are what the shipped file records.
if resolved["agent"] != rule["meta"]["agent"]:
    fail("the meta file's resolved agent differs from the rule's meta.agent")
shape = lambda r: {k: (len(v) if k == "theta" else v) for k, v in r.items() if k != "meta"}
if shape(short_rule) != shape(rule):
    fail(f"rule file shape differs: shipped {shape(rule)}, now {shape(short_rule)}")
what = f"{len(expected)} progress lines (generations 1-{generations})"
if json.loads(short_best_text)["meta"]["generation"] == rule["meta"]["generation"]:
    if short_best_text != rule_text:
        fail(f"the rerun's best_rule.json (generation {generations}) differs from {rule_path}")
    what += f" and the rule file byte for byte"
print(f"{name}: reproduced {what}")
PY
}

if [ "${1:-}" = --check ]; then
  [ $# -ge 2 ] || { echo "usage: ship_rules.sh --check NAME [WORK_DIR]" >&2; exit 2; }
  meta_of "$2" > /dev/null
  if [ -n "${3:-}" ]; then
    mkdir -p "$3"
    check "$2" "$3"
  else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    check "$2" "$work"
  fi
  exit
fi

names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
for name in "${names[@]}"; do meta_of "$name" > /dev/null; done
for name in "${names[@]}"; do ship "$name"; done
