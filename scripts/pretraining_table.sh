#!/usr/bin/env bash
# Pretraining from logs, then RL (issue 17), on scenarios/hidden_interests.json with
# REINFORCE's GRU encoder, through the sweep path, copied to docs/results/pretraining/:
#   1. three logs of seed 0 (cohort log): epsilon-greedy (0.1) by history topics with 2000
#      and 500 users, and uniformly random with 2000 users (runs/pretrained/logs/);
#   2. pretrainings (cohort train-offline, "objective": "next_click", 5 epochs): the GRU on
#      each log, the GRU with inverse-propensity weights and the transformer on greedy_2000:
#      runs/pretrained/{greedy_2000,greedy_500,random_2000,greedy_2000_ipw,
#      greedy_2000_transformer}, which the sweep's "init" paths name (relative to the
#      repository root, where this script runs);
#   3. the sweep `pretraining`: from scratch and from each pretraining, 10 seeds (1-10),
#      600 training steps x 256 users, evaluated on 512 held-out users every 100 steps
#      (normalized_score_area: the mean over the 6 evaluations after step 0);
#   4. scripts/pretraining_curves.py: each arm's curve and end minus step 0, paired
#      (fine_tuning.md);
#   5. the sweep `pretraining_cold_start`: greedy by history, scratch and the greedy_2000
#      warm start again (the same cells as in step 3), reported for the cold-start score
#      (each user's first 5 steps; docs/results/pretraining/cold_start/).
# About 40 min on 2 cores.
# Every seed fine-tunes the same pretrained weights: the intervals cover the RL run's
# randomness and the evaluation users, not the log's or the pretraining's.
# Resumable: logs, pretrainings and cells already written are kept.
# Usage: pretraining_table.sh [RUNS_DIR]      (default runs/; the logs and pretrainings are
#        always under runs/pretrained/, as the sweep file names them)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
pre=runs/pretrained
mkdir -p "$pre/logs"
greedy='{"type": "logging", "policy": {"type": "greedy", "score": "history"}, "epsilon": 0.1}'
log() {  # NAME AGENT USERS
  [ -s "$pre/logs/$1/log.json" ] || ./build/cohort log hidden_interests --seed 0 --set "agent=$2" \
    --set run.episodes="$3" --set run.num_envs=256 --quiet --force --out "$pre/logs/$1"
}
log greedy_2000 "$greedy" 2000
log greedy_500 "$greedy" 500
log random_2000 '{"type": "random"}' 2000
pretrain() {  # NAME LOG ENCODER [WEIGHTING]
  [ -s "$pre/$1/summary.json" ] || ./build/cohort train-offline "$pre/logs/$2" --out "$pre/$1" --agent \
    "{\"type\": \"reinforce\", \"optimizer\": {\"lr\": 0.001}, \"encoder\": {\"type\": \"$3\"},
      \"offline\": {\"objective\": \"next_click\", \"epochs\": 5, \"weighting\": \"${4:-none}\"}}"
}
pretrain greedy_2000 greedy_2000 gru
pretrain greedy_500 greedy_500 gru
pretrain random_2000 random_2000 gru
pretrain greedy_2000_ipw greedy_2000 gru inverse_propensity
pretrain greedy_2000_transformer greedy_2000 transformer
RUNS_DIR=$runs
. scripts/publish_sweep.sh
publish_sweep pretraining docs/results/pretraining
mkdir -p docs/results/pretraining/pretraining
for name in greedy_2000 greedy_500 random_2000 greedy_2000_ipw greedy_2000_transformer; do
  cp "$pre/$name/summary.json" "docs/results/pretraining/pretraining/$name.summary.json"
done
/usr/bin/python3 scripts/pretraining_curves.py "$runs/pretraining" > docs/results/pretraining/fine_tuning.md
# 5. The cold start (each user's first 5 steps, no history yet) of three of the arms.
publish_sweep pretraining_cold_start docs/results/pretraining/cold_start
