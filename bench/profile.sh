#!/usr/bin/env bash
# Instruction count per user-step (repeatable, unlike wall time) and the hottest functions.
#   bash bench/profile.sh [SCENARIO] [COHORT_BINARY]     (default: recsim_interest_evolution, build/cohort)
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-recsim_interest_evolution}
cohort=${2:-./build/cohort}
tmp=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$cohort" bench --scenario "$scenario" --seconds 1 \
  --num-envs 256 --quiet > "$tmp/bench.json" 2> /dev/null
# 40 warm-up steps of 256 rows come before the timed ones.
steps=$(python3 -c "import json;print(json.load(open('$tmp/bench.json'))['results'][0]['user_steps'] + 40*256)")
callgrind_annotate --inclusive=yes "$tmp/cg" > "$tmp/inclusive.txt"
step_ir=$(awk '/VecEnv::Step\(/{gsub(",","",$1); print $1; exit}' "$tmp/inclusive.txt")
echo "$scenario: instructions per user-step (VecEnv::Step inclusive): $(python3 -c "print(round($step_ir/$steps,1))")"
callgrind_annotate "$tmp/cg" > "$tmp/self.txt"
grep -E '^[ 0-9,]+ \(' "$tmp/self.txt" | grep -E 'cohort|boost' | head -12
