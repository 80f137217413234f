#!/usr/bin/env bash
# Thread scaling of the simulator (random policy): `cohort bench --threads 1,2`
# at B = 1024 and 16384, repeated, each repetition measuring every setting in
# turn so that a change in the machine's load hits them alike. Prints, per
# setting, the median and best user-steps/s (simulator + policy, and the
# simulator alone), the speedup over 1 thread, and the 1-minute load average
# seen during the runs (our own threads count in it: about 1 or 2).
#   bash bench/threads.sh [COHORT_BINARY] [REPETITIONS] [SCENARIO]
set -euo pipefail
cd "$(dirname "$0")/.."
cohort=${1:-./build/cohort}
reps=${2:-5}
scenario=${3:-recsim_interest_evolution}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$reps"); do
  "$cohort" bench --scenario "$scenario" --threads 1,2 --num-envs 1024,16384 --seconds 2 --quiet \
    --out "$tmp/rep$r.json" > /dev/null
done
/usr/bin/python3 - "$tmp" "$reps" "$scenario" "$(nproc)" <<'PY'
import json, statistics, sys
tmp, reps, scenario, cores = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = {}
loads = []
for r in range(1, reps + 1):
    for x in json.load(open(f"{tmp}/rep{r}.json"))["results"]:
        rows.setdefault((x["num_envs"], x["threads"]), []).append(x)
        loads += [x["load_average_before"], x["load_average_after"]]
print(f"{scenario}, random policy, {reps} repetitions of 2 s, {cores} cores, "
      f"load average {min(loads):.2f}-{max(loads):.2f}")
print("| B | threads | user-steps/s median (best) | simulator alone median (best) | speedup (median, simulator) |")
print("| --- | --- | --- | --- | --- |")
for (b, t), xs in sorted(rows.items()):
    total = [x["user_steps_per_second"] / 1e6 for x in xs]
    sim = [x["simulator_user_steps_per_second"] / 1e6 for x in xs]
    base = statistics.median(y["simulator_user_steps_per_second"] for y in rows[(b, 1)]) / 1e6
    print(f"| {b} | {t} | {statistics.median(total):.2f} M ({max(total):.2f} M) | "
          f"{statistics.median(sim):.2f} M ({max(sim):.2f} M) | {statistics.median(sim) / base:.2f}x |")
PY
