#!/usr/bin/env bash
# The simulation speed with the visualizer's window open, headless
# (SDL offscreen driver, Mesa llvmpipe: software rendering, so the frame cost
# here is an upper bound of a GPU's). For each population size it prints:
#   bench          `cohort bench`: environment + agent alone (no window), user-steps/s
#   viz all views  `cohort viz` with every view open: user-steps/s while simulating,
#                  overall, and frames/s
#   viz no views   only the Controls window (hidden views record and draw nothing)
#   viz paused     every view open, no steps: the cost of drawing alone (frames/s)
# Usage: bench/viz.sh [SCENARIO [AGENT [USERS...]]]   (from the repository root)
set -euo pipefail
scenario=${1:-recsim_interest_evolution}
agent=${2:-greedy}
shift $(( $# > 2 ? 2 : $# )) || true
users=("$@")
[ ${#users[@]} -gt 0 ] || users=(1000 100000)
export SDL_VIDEODRIVER=offscreen
# llvmpipe rasterizes on worker threads that run on while the next frame
# simulates; on 2 cores they take the simulation's cores (a GPU would not).
# LP_NUM_THREADS=0 rasterizes inside the frame's drawing time instead, so
# "while simulating" measures Cohort alone; override with LP_NUM_THREADS=...
export LP_NUM_THREADS=${LP_NUM_THREADS:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
frames=60
for n in "${users[@]}"; do
  bench=$(./build/cohort bench --scenario "$scenario" --agent "$agent" --num-envs "$n" --threads 2 --seconds 3 \
            2>/dev/null | python3 -c "import json,sys; print(f\"{json.load(sys.stdin)['results'][0]['user_steps_per_second']:.3g}\")")
  echo "users $n: bench (no window) $bench user-steps/s"
  for views in map,session,policy,curves none; do
    line=$(./build/cohort viz "$scenario" --set agent.type="$agent" --set run.num_envs="$n" --headless \
             --frames $frames --views "$views" --screenshot "$work/shot.png" 2>&1 | grep '^viz:')
    echo "users $n: viz views=$views: ${line#viz: }"
  done
  line=$(./build/cohort viz "$scenario" --set agent.type="$agent" --set run.num_envs="$n" --headless \
           --frames $frames --steps-per-frame 0 --screenshot "$work/shot.png" 2>&1 | grep '^viz:')
  echo "users $n: viz paused (drawing only): ${line#viz: }"
done
