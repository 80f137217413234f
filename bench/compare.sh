#!/usr/bin/env bash
# Cohort's simulator next to RecSim's, measured in the same run on this machine:
#   bash bench/compare.sh RECSIM_CHECKOUT [SECONDS] [COHORT_BINARY]
# RECSIM_CHECKOUT: a clone of RecSim (not part of Cohort):
#   git clone https://github.com/google-research/recsim
# It needs Debian's python3 with numpy and six only (bench/recsim_speed.py explains
# the stand-ins it uses for gin, gym and absl). Both step the interest-evolution
# environment (10 resampled candidates, slates of 2) with random slates on one
# core: RecSim one user at a time, Cohort at B = 1 and B = 1024 users per batch.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 || ! -f $1/recsim/environments/interest_evolution.py ]]; then
  echo "usage: bash bench/compare.sh RECSIM_CHECKOUT [SECONDS] [COHORT_BINARY]" >&2
  echo "  RECSIM_CHECKOUT: git clone https://github.com/google-research/recsim" >&2
  exit 2
fi
recsim=$1
seconds=${2:-5}
cohort=${3:-./build/cohort}
[[ -x $cohort ]] || { echo "compare.sh: $cohort not found (build first: scripts/build.sh)" >&2; exit 2; }
echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg)"
r=$(/usr/bin/python3 bench/recsim_speed.py "$recsim" "$seconds")
c1=$("$cohort" bench --scenario recsim_interest_evolution --num-envs 1 --seconds "$seconds" --quiet)
cb=$("$cohort" bench --scenario recsim_interest_evolution --num-envs 1024 --seconds "$seconds" --quiet)
echo "machine load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$r" "$c1" "$cb" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
c1, cb = (json.loads(a)["results"][0] for a in sys.argv[2:4])
rs = r["user_steps_per_second"]
print(f"{'':34} {'user-steps/s':>14} {'us/step':>9} {'vs RecSim':>10}")
print(f"{'RecSim (Python, one user)':34} {rs:14.0f} {1e6 / rs:9.2f} {1:10.0f}x")
for name, c in (("Cohort B = 1 (simulator alone)", c1), ("Cohort B = 1024 (simulator alone)", cb)):
    s = c["simulator_user_steps_per_second"]
    print(f"{name:34} {s:14.0f} {1e6 / s:9.3f} {s / rs:10.0f}x")
PY
