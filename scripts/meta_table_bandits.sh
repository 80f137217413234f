#!/usr/bin/env bash
# The bandit meta-learning evaluation on bandit_family: linear Thompson sampling with a
# meta-learned exploration component (meta_schedule: scale on v in t/T and log T, ridge
# prior precision and per-feature-block prior mean; agents/bandits.h) against bandits
# tuned on training variants, every number through `cohort sweep` + `cohort report`
# (each lifetime a `cohort run` training cell: 40 steps x 64 users of 20 steps, the
# frozen greedy policy evaluated on 256 held-out users at steps 20 and 40).
# Metrics: train_normalized_score (the training users' reward, normalized by random and
# the myopic oracle: what exploring costs, and the meta-training fitness) and
# normalized_score_area (the greedy evaluation curve's area, the default meta fitness).
#   1. tune on 32 training variants x 1 seed, by mean train_normalized_score:
#      linear_ts v {0, 0.03, 0.1, 0.2, 0.3, 0.5, 1} (224 lifetimes), linucb alpha
#      {0, 0.1, 0.3, 0.5, 1, 2, 4} (224), epsilon_greedy epsilon {0, 0.02, 0.05, 0.1,
#      0.2, 0.4} x {constant, linear} (384); the best of each must be "ts_tuned",
#      "linucb_tuned", "eps_tuned" in the evaluation sweeps, and the best of all three
#      ("linucb_tuned") the paired baseline
#   2. meta-train with 3 seeds (scenarios/meta/bandit_exploration.json, 100 generations
#      x 16 pairs = 3,200 lifetimes + 176 validation lifetimes each)
#   3. ablations of seed 0's rule: prior_only (schedule terms zeroed), schedule_only
#      (prior terms zeroed)
#   4. evaluate, paired by (variant, seed) against linucb_tuned, with greedy_affinity
#      (rank by observed interests . item features, no learning) as the reference for
#      what knowing "clicks follow affinity" is worth here:
#        test (in distribution)   64 variants x 2 seeds  docs/results/meta_bandits/test/
#        ood_weak_signal          64 x 2                 docs/results/meta_bandits/ood_weak_signal/
#        ood_noisy_items          64 x 2                 docs/results/meta_bandits/ood_noisy_items/
#        ood_reversed_affinity    64 x 2                 docs/results/meta_bandits/ood_reversed_affinity/
#        long_lifetime (T = 160)  32 test variants x 2   docs/results/meta_bandits/long_lifetime/
# Resumable: every step keeps what is done. Runs from the repository root (the sweeps
# name the rule files as runs/meta_bandits_seed*/...).
# Usage: meta_table_bandits.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOHORT_WITH_TORCH=OFF && cmake --build build; }
mkdir -p runs docs/results/meta_bandits

. scripts/publish_sweep.sh
publish() { publish_sweep "$1" "docs/results/meta_bandits/$2"; }

best_of() {  # TUNING_SWEEP -> 'MEAN<TAB>"key": value, ...' with the highest mean train_normalized_score
  python3 - "runs/$1/results.csv" <<'PY'
import csv, collections, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["status"] == "done"]
axes = [c for c in rows[0] if c.startswith("agent.")]
scores = collections.defaultdict(list)
for r in rows:
    scores[tuple(r[a] for a in axes)].append(float(r["train_normalized_score"]))
key, v = max(scores.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))
def value(s):
    try:
        return json.dumps(float(s))
    except ValueError:
        return json.dumps(s)
print(f"{sum(v) / len(v):.4f}\t" + ", ".join(f'"{a[len("agent."):]}": {value(k)}' for a, k in zip(axes, key)))
PY
}

publish meta_tune_ts_bandits ts_tuning
publish meta_tune_linucb_bandits linucb_tuning
publish meta_tune_eps_bandits eps_tuning
IFS=$'\t' read -r ts_score ts < <(best_of meta_tune_ts_bandits)
IFS=$'\t' read -r ucb_score ucb < <(best_of meta_tune_linucb_bandits)
IFS=$'\t' read -r eps_score eps < <(best_of meta_tune_eps_bandits)
echo "tuned linear_ts: $ts ($ts_score); linucb: $ucb ($ucb_score); epsilon_greedy: $eps ($eps_score)"
check_baseline "{\"type\": \"linear_ts\", $ts}" scenarios/sweeps/meta_eval_bandits*.json
check_baseline "{\"type\": \"linucb\", $ucb}" scenarios/sweeps/meta_eval_bandits*.json
check_baseline "{\"type\": \"epsilon_greedy\", $eps}" scenarios/sweeps/meta_eval_bandits.json
python3 -c "import sys; s = [float(x) for x in sys.argv[1:]]; sys.exit(0 if s[0] >= max(s) else 1)" \
  "$ucb_score" "$ts_score" "$eps_score" || { echo "linucb_tuned is not the best tuned baseline" >&2; exit 1; }

meta_train_seeds bandit_exploration meta_bandits 0 1 2
python3 - <<'PY'
import json
rule = json.load(open("runs/meta_bandits_seed0/best_rule.json"))
for name, keep in (("prior_only", lambda i: i >= 4), ("schedule_only", lambda i: i < 4)):
    r = dict(rule, theta=[t if keep(i) else 0.0 for i, t in enumerate(rule["theta"])])
    r["meta"] = dict(rule["meta"], ablation=name)
    json.dump(r, open(f"runs/meta_bandits_seed0/{name}.json", "w"))
PY
for seed in 0 1 2; do cp "runs/meta_bandits_seed$seed/best_rule.json" "docs/results/meta_bandits/rule_seed$seed.json"; done
cp runs/meta_bandits_seed0/progress.jsonl docs/results/meta_bandits/progress_seed0.jsonl

publish meta_eval_bandits test
publish meta_eval_bandits_ood_weak_signal ood_weak_signal
publish meta_eval_bandits_ood_noisy_items ood_noisy_items
publish meta_eval_bandits_ood_reversed_affinity ood_reversed_affinity
publish meta_eval_bandits_long_lifetime long_lifetime
python3 scripts/meta_bandits_pairs.py
