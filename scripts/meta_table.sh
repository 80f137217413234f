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
#        test (in distribution)  64 variants x 2 seeds   docs/results/meta_drifting/test/
#        ood_high_drift          32 x 2                  docs/results/meta_drifting/ood_high_drift/
#        ood_no_drift            32 x 2                  docs/results/meta_drifting/ood_no_drift/
#        long_lifetime (T = 180) 32 test variants x 2    docs/results/meta_drifting/long_lifetime/
#   4. the headroom reference: Adam tuned per test variant (chosen on seed 0, scored on
#      seed 1) against the same learned rules: docs/results/meta_drifting/headroom.md
#   5. the meta-gradient baseline: adam_hd (hypergradient-tuned lr) tuned on the same 32
#      training variants over lr {0.1, 0.3, 1} x hyper_lr {0.01, 0.03, 0.1, 0.3} (384
#      lifetimes), on the test pairs: docs/results/meta_drifting/metagrad/
#   6. another agent architecture (OOD): a one-hidden-layer MLP policy (16 relu units),
#      Adam re-tuned for it (lr {0.01, 0.03, 0.1, 0.3} x {constant, linear}, 256
#      lifetimes), the linear-agent rules with the same base lr: docs/results/meta_drifting/ood_mlp/
#   7. the stationary control family (scenarios/stationary_family.json): Adam tuned (384),
#      3 meta-training seeds, test 64 x 2, headroom: docs/results/meta_stationary/
# Resumable: every step keeps what is done. Runs from the repository root (the sweeps
# name the rule files as runs/meta_drifting_seed*/best_rule.json).
# Usage: meta_table.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
mkdir -p runs docs/results/meta_drifting docs/results/meta_stationary

. scripts/publish_sweep.sh
publish() { publish_sweep "$1" "docs/results/meta_drifting/$2"; }

best_of() {  # TUNING_SWEEP [KEY] -> '"lr": X, "KEY": Y' with the highest mean area (KEY: schedule)
  python3 - "runs/$1/results.csv" "${2:-schedule}" <<'PY'
import csv, collections, json, sys
key = sys.argv[2]
areas = collections.defaultdict(list)
for row in csv.DictReader(open(sys.argv[1])):
    if row["status"] == "done":
        value = row["agent.optimizer." + key]
        value = float(value) if key != "schedule" else value
        areas[(float(row["agent.optimizer.lr"]), value)].append(float(row["normalized_score_area"]))
(lr, value), v = max(areas.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))
print(f'"lr": {lr:g}, "{key}": ' + (f"{value:g}" if key != "schedule" else json.dumps(value)))
PY
}

publish meta_tune_adam_drifting adam_tuning
adam=$(best_of meta_tune_adam_drifting)
echo "tuned Adam: $adam"
# (not meta_eval_drifting_ood_mlp.json: its Adam is tuned for the MLP agent, section 6)
check_baseline "\"optimizer\": {\"type\": \"adam\", $adam}" scenarios/sweeps/meta_eval_drifting.json \
  scenarios/sweeps/meta_eval_drifting_{ood_high_drift,ood_no_drift,long_lifetime,metagrad}.json
publish meta_tune_sgd_drifting sgd_tuning
sgd=$(best_of meta_tune_sgd_drifting)
echo "tuned SGD (momentum 0.9): $sgd"
check_baseline "\"optimizer\": {\"type\": \"sgd\", \"momentum\": 0.9, $sgd}" scenarios/sweeps/meta_eval_drifting.json

meta_train_seeds drifting_optimizer meta_drifting 0 1 2

publish meta_eval_drifting test
publish meta_eval_drifting_ood_high_drift ood_high_drift
publish meta_eval_drifting_ood_no_drift ood_no_drift
publish meta_eval_drifting_long_lifetime long_lifetime
# Headroom: Adam tuned per test variant (six configurations x 64 variants x 2 seeds).
publish meta_headroom_adam_drifting headroom_grid
python3 scripts/meta_headroom.py > /dev/null
echo "table: docs/results/meta_drifting/headroom.md"

# 5. The meta-gradient baseline (no meta-training): adam_hd tuned on training variants.
publish meta_tune_adam_hd_drifting adam_hd_tuning
hd=$(best_of meta_tune_adam_hd_drifting hyper_lr)
echo "tuned adam_hd: $hd"
check_baseline "\"optimizer\": {\"type\": \"adam_hd\", $hd}" scenarios/sweeps/meta_eval_drifting_metagrad.json
publish meta_eval_drifting_metagrad metagrad

# 6. Another agent architecture: the rules meta-trained on a linear policy, on an MLP.
publish meta_tune_adam_mlp_drifting adam_mlp_tuning
mlp=$(best_of meta_tune_adam_mlp_drifting)
echo "tuned Adam for the MLP agent: $mlp"
check_baseline "\"optimizer\": {\"type\": \"adam\", $mlp}" scenarios/sweeps/meta_eval_drifting_ood_mlp.json
publish meta_eval_drifting_ood_mlp ood_mlp

# 7. The stationary control family.
publish_sweep meta_tune_adam_stationary docs/results/meta_stationary/adam_tuning
stationary=$(best_of meta_tune_adam_stationary)
echo "tuned Adam (stationary): $stationary"
check_baseline "\"optimizer\": {\"type\": \"adam\", $stationary}" scenarios/sweeps/meta_eval_stationary.json
meta_train_seeds stationary_optimizer meta_stationary 0 1 2
publish_sweep meta_eval_stationary docs/results/meta_stationary/test
publish_sweep meta_headroom_adam_stationary docs/results/meta_stationary/headroom_grid
python3 scripts/meta_headroom.py stationary "$(echo "$stationary" | tr -d '"')" > /dev/null
echo "table: docs/results/meta_stationary/headroom.md"
