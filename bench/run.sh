#!/usr/bin/env bash
# Simulator throughput on the shipped scenarios (one thread, B = 1024), as JSON.
# Usage: bench/run.sh [OUT.json]   (build first: cmake --build build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results.json}
./build/cohort bench --num-envs 1024 --threads 1 --seconds 3 \
  --scenario recsim_interest_evolution --scenario population_retention \
  --scenario cascade_news --scenario drifting_family --out "$out" > /dev/null
echo "wrote $out"
