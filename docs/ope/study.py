"""The off-policy estimators against the exact truth on recsim_interest_evolution:
RMSE, bias and standard deviation over seeds as the log grows, as the slate grows,
and as the logging policy moves away from uniform. Writes docs/ope/README.md's
tables to stdout (and results.json beside this file).

    PYTHONPATH=build/python /usr/bin/python3 docs/ope/study.py [--seeds 5] [--out DIR]

Every log is `cohort log` and every estimate `cohort ope` (through the Python
package), so each number can be reproduced from the command line.
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np

import cohort

parser = argparse.ArgumentParser()
parser.add_argument("--seeds", type=int, default=5)
parser.add_argument("--out", default=None, help="where the logs go (default: a temporary directory)")
args = parser.parse_args()
work = args.out or tempfile.mkdtemp(prefix="cohort-ope-study-")
NAME = "recsim_interest_evolution"
# The target: greedy by affinity, softened into a Plackett-Luce policy (so that
# every estimator, IIPS and the pseudo-inverse included, is defined).
TARGET = {"type": "logging", "policy": {"type": "greedy"}, "temperature": 0.5}
ESTIMATORS = ["dm", "ips", "snips", "dr", "iips", "pseudo_inverse", "rips"]


def study(label, sets, estimators):
    dirs = []
    for seed in range(args.seeds):
        d = os.path.join(work, f"{label}-seed{seed}")
        if not os.path.exists(os.path.join(d, "log.h5")):
            cohort.log(NAME, set=sets, seed=seed, out=d)
        dirs.append(d)
    r = cohort.ope(dirs, TARGET, estimators=estimators, bootstrap=200)
    slates = int(np.mean([log["steps"] for log in r["logs"]]))
    truth = float(np.mean([log["truth"]["value"] for log in r["logs"]]))
    return {"label": label, "slates": slates, "truth": truth, "over_logs": r["over_logs"]}


def table(title, rows, estimators):
    print(f"\n### {title}\n")
    print("| setting | slates per log | truth | " + " | ".join(estimators) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in estimators) + " |")
    for row in rows:
        cells = []
        for e in estimators:
            o = row["over_logs"].get(e)
            cells.append("-" if o is None else f"{o['rmse']:.3f} ({o['bias']:+.3f})")
        print(f"| {row['label']} | {row['slates']:,} | {row['truth']:.3f} | " + " | ".join(cells) + " |")


start = time.time()
results = {}
results["size"] = [study(f"users{u}", {"agent.type": "random", "run.episodes": u}, ESTIMATORS)
                   for u in (30, 300, 3000)]
results["slate"] = [study(f"k{k}", {"agent.type": "random", "run.episodes": 300, "env.slate_size": k}, ESTIMATORS)
                    for k in (1, 2, 3)]
divergence = ["dm", "ips", "snips", "dr", "iips", "pseudo_inverse", "rips"]
results["epsilon"] = [study(f"eps{e}", {"agent": {"type": "logging", "policy": {"type": "greedy"}, "epsilon": e},
                                        "run.episodes": 300}, divergence)
                      for e in (1.0, 0.5, 0.2)]
print(f"RMSE (bias) over {args.seeds} seeds of each log against its own exact truth; target {json.dumps(TARGET)}; "
      f"{time.time() - start:.0f} s")
table("As the log grows (uniform logging, k = 2)", results["size"], ESTIMATORS)
table("As the slate grows (uniform logging, 300 users)", results["slate"], ESTIMATORS)
table("As the logging policy leaves uniform (greedy mixed with uniform slates with probability epsilon)",
      results["epsilon"], divergence)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"), "w") as f:
    json.dump(results, f, indent=1)
