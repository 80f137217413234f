#!/usr/bin/env bash
# How the simulator's memory grows with the slots B, the candidates K and the
# live catalog: peak RSS of `cohort bench` (random policy, 1 s) for each
# setting, and the slope between settings (bytes per slot, per candidate slot,
# per item). RSS does not depend on the machine's load, unlike wall time.
#   bash bench/memory.sh [COHORT_BINARY]     (default: build/cohort)
set -euo pipefail
cd "$(dirname "$0")/.."
cohort=${1:-./build/cohort}
rss() {  # peak RSS in KiB of: cohort bench ARGS...
  /usr/bin/time -f %M "$cohort" bench --seconds 1 --quiet "$@" 2>&1 >/dev/null | tail -1
}
slope() {  # "label" kib_a kib_b count_a count_b
  /usr/bin/python3 -c "print(f'{\"$1\"}: {($3-$2)*1024/($5-$4):.0f} bytes each ({$4} -> {$5}: {$2/1024:.1f} -> {$3/1024:.1f} MiB)')"
}
echo "cohort bench, peak RSS ($(date -u +%F), $("$cohort" --version | head -1))"
for s in recsim_interest_evolution population_retention; do
  a=$(rss --scenario $s --num-envs 16384); b=$(rss --scenario $s --num-envs 262144)
  slope "$s: per slot (B)" "$a" "$b" 16384 262144
done
k1=20; k2=200
a=$(rss --scenario population_retention --num-envs 65536 --set env.candidates=$k1)
b=$(rss --scenario population_retention --num-envs 65536 --set env.candidates=$k2)
slope "population_retention: per candidate slot (B x K, B = 65536)" "$a" "$b" $((65536 * k1)) $((65536 * k2))
a=$(rss --scenario population_retention --num-envs 1024 --set env.catalog.size=100000)
b=$(rss --scenario population_retention --num-envs 1024 --set env.catalog.size=2000000)
slope "population_retention: per live item (embedding_dim 8)" "$a" "$b" 100000 2000000
