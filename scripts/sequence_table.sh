#!/usr/bin/env bash
# The sequence encoders' study (issue 17) through the sweep path, copied to
# docs/results/sequence_encoders/ (results.md, results.csv, plots/):
#   sequence_encoders -> 7 agents x 10 seeds on scenarios/hidden_interests.json, 1500 training
#   steps x 256 users, evaluated on 512 held-out users every 250 steps (about 25 min on 2 cores).
# The REINFORCE learning rate (1e-3 for every encoder) was chosen on seed 0; the table uses 1-10.
# Resumable: rerun to finish an interrupted sweep (cells with summary.json are kept).
# Usage: sequence_table.sh [RUNS_DIR]      (default runs/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
RUNS_DIR=$runs
. scripts/publish_sweep.sh
publish_sweep sequence_encoders docs/results/sequence_encoders
