#!/usr/bin/env bash
# The meta-learning evaluation on drifting_family: the learned optimizer (residual on
# Adam) against Adam tuned on training variants, every number through `cohort sweep` +
# `cohort report` (each lifetime a `cohort run` training cell: 60 steps x 64 users,
# evaluated on 64 held-out users at steps 20, 40, 60; fitness = normalized_score_area).
#   1. tune Adam on 32 training variants: lr {0.1, 0.2, 0.3, 0.5, 0.7, 1.0} x {constant,
#      linear} (384 lifetimes), and SGD with momentum 0.9: lr {0.1, 0.3, 1, 3, 10} x
#      {constant, linear} (320); the best must be "adam_tuned" / "sgd_tuned" in the
#      evaluation sweeps
#   2. meta-train the learned rule with 3 seeds (scenarios/meta/drifting_optimizer.json,
#      1,920 lifetimes each)
#   3. evaluate, paired by (variant, seed) against adam_tuned:
#        test (in distribution)  64 variants x 2 seeds   docs/meta_drifting/test/
#        ood_high_drift          32 x 2                  docs/meta_drifting/ood_high_drift/
#        ood_no_drift            32 x 2                  docs/meta_drifting/ood_no_drift/
#        long_lifetime (T = 180) 32 test variants x 2    docs/meta_drifting/long_lifetime/
#   4. the headroom reference: Adam tuned per test variant (chosen on seed 0, scored on
#      seed 1) against the same learned rules: docs/meta_drifting/headroom.md
# Resumable: every step keeps what is done. Runs from the repository root (the sweeps
# name the rule files as runs/meta_drifting_seed*/best_rule.json).
# Usage: meta_table.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
mkdir -p runs docs/meta_drifting

. scripts/publish_sweep.sh
publish() { publish_sweep "$1" "docs/meta_drifting/$2"; }

best_of() {  # TUNING_SWEEP -> '"lr": X, "schedule": "Y"' with the highest mean area
  python3 - "runs/$1/results.csv" <<'PY'
import csv, collections, sys
areas = collections.defaultdict(list)
for row in csv.DictReader(open(sys.argv[1])):
    if row["status"] == "done":
        areas[(float(row["agent.optimizer.lr"]), row["agent.optimizer.schedule"])].append(float(row["normalized_score_area"]))
(lr, schedule), v = max(areas.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))
print(f'"lr": {lr:g}, "schedule": "{schedule}"')
PY
}
check_baseline() {  # PATTERN FILE...
  local pattern=$1
  shift
  for f in "$@"; do
    grep -qF "$pattern" "$f" || { echo "$f: does not hold the tuned baseline $pattern" >&2; exit 1; }
  done
}

publish meta_tune_adam_drifting adam_tuning
adam=$(best_of meta_tune_adam_drifting)
echo "tuned Adam: $adam"
check_baseline "\"optimizer\": {\"type\": \"adam\", $adam}" scenarios/sweeps/meta_eval_drifting*.json
publish meta_tune_sgd_drifting sgd_tuning
sgd=$(best_of meta_tune_sgd_drifting)
echo "tuned SGD (momentum 0.9): $sgd"
check_baseline "\"optimizer\": {\"type\": \"sgd\", \"momentum\": 0.9, $sgd}" scenarios/sweeps/meta_eval_drifting.json

for seed in 0 1 2; do
  ./build/cohort meta train scenarios/meta/drifting_optimizer.json --set es.seed=$seed --set es.init_seed=$seed \
    --out "runs/meta_drifting_seed$seed" --quiet
done

publish meta_eval_drifting test
publish meta_eval_drifting_ood_high_drift ood_high_drift
publish meta_eval_drifting_ood_no_drift ood_no_drift
publish meta_eval_drifting_long_lifetime long_lifetime
# Headroom: Adam tuned per test variant (six configurations x 64 variants x 2 seeds).
publish meta_headroom_adam_drifting headroom_grid
python3 scripts/meta_headroom.py > /dev/null
echo "table: docs/meta_drifting/headroom.md"
