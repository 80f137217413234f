#!/usr/bin/env bash
# Regenerates the README's visualizer screenshots with `cohort viz --headless`
# (SDL offscreen driver + Mesa: no display needed).
# Usage: scripts/viz_screenshots.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/cohort ] || { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build; }
mkdir -p docs/images
./build/cohort viz recsim_interest_evolution --set agent.type=greedy --headless --frames 120 \
  --screenshot docs/images/viz_recsim_greedy.png
echo "wrote docs/images/viz_recsim_greedy.png"
