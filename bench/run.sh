#!/usr/bin/env bash
# Throughput, as JSON (build first: cmake --build build):
#   OUT.json         the simulator on every shipped scenario (random policy, one thread, B = 1024)
#   OUT_agents.json  every agent on recsim_interest_evolution (one thread, B = 1024): learners
#                    training (Act, Step, Observe, Update) with the simulator/act/learn time split
# Usage: bench/run.sh [OUT.json]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results.json}
./build/cohort bench --num-envs 1024 --threads 1 --seconds 3 \
  --scenario recsim_interest_evolution --scenario population_retention \
  --scenario cascade_news --scenario drifting_family --out "$out" > /dev/null
echo "wrote $out"
agents_out=${out%.json}_agents.json
./build/cohort bench --num-envs 1024 --threads 1 --seconds 3 --scenario recsim_interest_evolution \
  --agent random --agent greedy --agent linucb --agent linear_ts --agent reinforce --agent a2c --agent ppo \
  --agent slateq --agent dqn --out "$agents_out" > /dev/null
echo "wrote $agents_out"
