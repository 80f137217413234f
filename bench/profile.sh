#!/usr/bin/env bash
# Instruction count per user-step (repeatable, unlike wall time) and a perf profile.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" ./build/cohort bench --seconds 1 --num-envs 256 \
  --quiet > "$tmp/bench.json" 2> /dev/null
steps=$(python3 -c "import json;print(json.load(open('$tmp/bench.json'))['results'][0]['user_steps'] + 40*256)")
step_ir=$(callgrind_annotate --inclusive=yes "$tmp/cg" | awk '/VecEnv::Step\(/{gsub(",","",$1); print $1; exit}')
echo "instructions per user-step (VecEnv::Step inclusive): $(python3 -c "print(round($step_ir/$steps,1))")"
callgrind_annotate "$tmp/cg" | grep -E '^[ 0-9,]+ \(' | head -12
