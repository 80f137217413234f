#!/usr/bin/env bash
# The non-learning baselines on recsim_interest_evolution (4 policies x 5 seeds x
# 2000 users), through the sweep path: `cohort sweep` then `cohort report`.
# Resumable: rerun to finish an interrupted sweep. Usage: baselines_table.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/recsim_baselines}
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
./build/cohort sweep scenarios/sweeps/recsim_baselines.json --out "$out"
./build/cohort report "$out"
echo "table: $out/results.md"
