#!/usr/bin/env bash
# Pretraining from logs, then RL (issue 17), on scenarios/hidden_interests.json with
# REINFORCE's GRU encoder, through the sweep path, copied to docs/results/pretraining/:
#   1. three logs of seed 0 (cohort log): epsilon-greedy (0.1) by history topics with 2000
#      and 500 users, and uniformly random with 2000 users (runs/pretrained/logs/);
#   2. one pretraining on each (cohort train-offline, "objective": "next_click", 5 epochs):
#      runs/pretrained/{greedy_2000,greedy_500,random_2000}, which the sweep's "init"
#      paths name (relative to the repository root, where this script runs);
#   3. the sweep `pretraining`: from scratch and from each pretraining, 10 seeds (1-10),
#      600 training steps x 256 users, evaluated on 512 held-out users every 100 steps
#      (normalized_score_area: the mean over those 7 evaluations, step 0 included).
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
agent='{"type": "reinforce", "optimizer": {"lr": 0.001}, "encoder": {"type": "gru"},
        "offline": {"objective": "next_click", "epochs": 5}}'
for name in greedy_2000 greedy_500 random_2000; do
  [ -s "$pre/$name/summary.json" ] ||
    ./build/cohort train-offline "$pre/logs/$name" --agent "$agent" --out "$pre/$name"
done
RUNS_DIR=$runs
. scripts/publish_sweep.sh
publish_sweep pretraining docs/results/pretraining
mkdir -p docs/results/pretraining/pretraining
for name in greedy_2000 greedy_500 random_2000; do
  cp "$pre/$name/summary.json" "docs/results/pretraining/pretraining/$name.summary.json"
done
