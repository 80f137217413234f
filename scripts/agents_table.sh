#!/usr/bin/env bash
# The agents' results table on recsim_interest_evolution, through the sweep
# path: 8 agents x 5 seeds, each trained for 600 steps x 128 users (the
# non-learning ones just run the same loop) and evaluated on the same 256
# held-out users, then `cohort report`, copied to docs/agents_recsim/.
# Resumable: rerun to finish an interrupted sweep.
# Then the bandits on scenarios/linear_bandit.json (5 agents x 5 seeds,
# learning online over 2000 users) -> docs/bandits_linear/.
# Usage: agents_table.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/recsim_agents}
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
./build/cohort sweep scenarios/sweeps/recsim_agents.json --out "$out"
./build/cohort report "$out"
mkdir -p docs/agents_recsim
cp "$out/results.md" docs/agents_recsim/results.md
cp "$out/results.csv" docs/agents_recsim/results.csv
rm -rf docs/agents_recsim/plots && cp -r "$out/plots" docs/agents_recsim/plots
echo "table: docs/agents_recsim/results.md"
bandits=${out}_bandits
./build/cohort sweep scenarios/sweeps/linear_bandit_agents.json --out "$bandits"
./build/cohort report "$bandits"
mkdir -p docs/bandits_linear
cp "$bandits/results.md" "$bandits/results.csv" docs/bandits_linear/
rm -rf docs/bandits_linear/plots && cp -r "$bandits/plots" docs/bandits_linear/plots
echo "table: docs/bandits_linear/results.md"
