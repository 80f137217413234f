"""A sweep's results in Python: run it (cohort.sweep), aggregate it (cohort.report)
and plot it with matplotlib, as one would in a notebook.

    PYTHONPATH=build/python /usr/bin/python3 examples/notebook_analysis.py
    PYTHONPATH=build/python /usr/bin/python3 examples/notebook_analysis.py --quick --out /tmp/baselines

By default it runs scenarios/sweeps/recsim_baselines.json (4 agents x 5 seeds on
recsim_interest_evolution, a few seconds), then draws each agent's normalized score
per seed and its mean with a 95% t interval over seeds, and writes OUT/agents.png.
Rerunning finds the cells done and only redraws.
"""
import argparse
import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import cohort  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# ---- settings ---------------------------------------------------------------
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--sweep", default=str(ROOT / "scenarios" / "sweeps" / "recsim_baselines.json"))
parser.add_argument("--out", default="runs/notebook_recsim_baselines", help="the sweep directory")
parser.add_argument("--metric", default="normalized_score")
parser.add_argument("--quick", action="store_true", help="200 users per cell instead of the sweep's 2000")
parser.add_argument("--jobs", type=int, default=None)
args = parser.parse_args()

# ---- run (resumable: done cells are skipped) and aggregate ------------------
overrides = {"run.episodes": 200} if args.quick else None
totals = cohort.sweep(args.sweep, out=args.out, set=overrides, jobs=args.jobs)
print(f"sweep: {totals['done']} cells ran, {totals['skipped']} were already done, {totals['failed']} failed")
rows = cohort.report(args.out)  # also writes results.csv, results.md and plots/ in OUT
rows = [r for r in rows if r["status"] == "done" and r[args.metric] is not None]

# ---- one value per (agent, seed): a t interval over seeds -------------------
by_agent = {}
for r in rows:
    by_agent.setdefault(r["agent.type"], []).append(r[args.metric])
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}


def mean_ci(values):
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return v.mean(), math.nan
    return v.mean(), T95.get(len(v) - 1, 1.96) * v.std(ddof=1) / math.sqrt(len(v))


agents = sorted(by_agent, key=lambda a: mean_ci(by_agent[a])[0])
print(f"\n{'agent':<12} {'seeds':>5} {args.metric:>18}")
for a in agents:
    m, ci = mean_ci(by_agent[a])
    print(f"{a:<12} {len(by_agent[a]):>5} {m:>10.4f} +/- {ci:.4f}")

# ---- plot ---------------------------------------------------------------------
fig, ax = plt.subplots(figsize=(6, 3.2))
for i, a in enumerate(agents):
    values = by_agent[a]
    m, ci = mean_ci(values)
    ax.scatter(np.full(len(values), i) + np.linspace(-0.12, 0.12, len(values)), values, s=12, color="0.6")
    ax.errorbar([i], [m], yerr=[[0 if math.isnan(ci) else ci]], fmt="o", color="C0", capsize=4)
ax.set_xticks(range(len(agents)), agents)
ax.set_ylabel(args.metric.replace("_", " "))
ax.set_title(f"{Path(args.sweep).stem}: mean and 95% t interval over seeds")
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
png = os.path.join(args.out, "agents.png")
fig.savefig(png, dpi=120)
print(f"\nwrote {png} (and {args.out}/results.md from cohort.report)")
