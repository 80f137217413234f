#!/usr/bin/env bash
# cohort log's throughput: recsim_interest_evolution with a random policy, one
# core, compressed HDF5 (the issue's target: 1M slates per minute).
#   bash bench/log_speed.sh [COHORT] [EPISODES]
set -euo pipefail
cohort=${1:-build/cohort}
episodes=${2:-20000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
"$cohort" log recsim_interest_evolution --set agent.type=random --set run.episodes="$episodes" --threads 1 \
  --out "$out/log" --quiet > /dev/null
end=$(date +%s.%N)
python3 - "$out/log/log.json" "$start" "$end" "$out/log/log.h5" <<'PY'
import json, os, sys
s = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
size = os.path.getsize(sys.argv[4])
print(f"{s['slates']} slates in {wall:.2f} s wall ({s['seconds']:.2f} s in the log loop): "
      f"{s['slates'] / wall * 60 / 1e6:.2f} M slates per minute; {size / 1e6:.1f} MB, {size / s['slates']:.0f} bytes per slate")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
