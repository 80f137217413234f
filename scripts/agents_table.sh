#!/usr/bin/env bash
# The agents' results tables, all through the sweep path (`cohort sweep` +
# `cohort report`), each copied to docs/results/<name>/ (results.md, results.csv, plots/):
#   recsim_agents            -> docs/results/agents_recsim/      9 agents x 10 seeds, 600 x 128 training steps
#   long_term_agents         -> docs/results/agents_long_term/   8 agents x 10 seeds (clickbait vs retention)
#   preference_shift_agents  -> docs/results/agents_preference_shift/  6 agents x 10 seeds, 1000 steps, scheduled shifts
#   linear_bandit_agents     -> docs/results/bandits_linear/     5 bandits x 5 seeds, online over 2000 users
# Learning rates were tuned on seed 0; the tables use seeds 1-10.
# Resumable: rerun to finish an interrupted sweep (cells with summary.json are kept).
# Usage: agents_table.sh [RUNS_DIR]      (default runs/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
RUNS_DIR=$runs
. scripts/publish_sweep.sh
publish_sweep recsim_agents docs/results/agents_recsim
publish_sweep long_term_agents docs/results/agents_long_term
publish_sweep preference_shift_agents docs/results/agents_preference_shift
publish_sweep linear_bandit_agents docs/results/bandits_linear
