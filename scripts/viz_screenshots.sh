#!/usr/bin/env bash
# Regenerates the visualizer screenshots of docs/viz.md with `cohort viz --headless`
# (SDL offscreen driver + Mesa: no display needed). Each run is seeded, so the
# simulation shown is reproducible; the images are not byte-identical across
# runs because the speed readout is measured.
# Usage: scripts/viz_screenshots.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
mkdir -p docs/images
shot() { local name=$1; shift; ./build/cohort viz "$@" --headless --screenshot "docs/images/$name.png" 2>&1 | grep '^viz:'; echo "wrote docs/images/$name.png"; }

# 1. LinUCB learning on RecSim's interest evolution: the session inspector shows
#    the true click probabilities next to LinUCB's UCB index.
shot viz_recsim_linucb recsim_interest_evolution --set agent.type=linucb --frames 200 --select 7

# 2. A learned update rule (shipped: scenarios/rules/) on linear REINFORCE in the
#    drifting family, with the meta view: the rule's update against Adam's.
shot viz_drifting_learned_rule drifting_family \
  --set 'agent={"type": "reinforce", "hidden": [], "rollout_steps": 4, "optimizer": {"lr": 0.3}}' \
  --set run.num_envs=64 --rule scenarios/rules/drifting_learned_optimizer.json --frames 150

# 3. A trained policy from a training run (--agent RUN_DIR), frozen, on a
#    population that leaves and returns; the run's own learning curves appear
#    under Curves. Map coloured by satisfaction.
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
./build/cohort run population_retention --set 'agent={"type": "reinforce", "hidden": [32]}' \
  --set run.num_envs=64 --set run.train_steps=400 --set run.eval_every=50 --set run.episodes=64 \
  --out "$run/train" --quiet > /dev/null
shot viz_retention_checkpoint population_retention --agent "$run/train" --color-by satisfaction --frames 150

# 4. 100,000 users: 500 drawn, the rest aggregated as a density.
shot viz_100k_users recsim_interest_evolution --set agent.type=greedy --set run.num_envs=100000 \
  --views map,policy,curves --frames 40
