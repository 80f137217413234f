#!/usr/bin/env python3
"""The exposure trade-off curve: mean return against mean exposure Gini per
policy, one point per re-ranking weight, from a `cohort report` results.csv.

  scripts/tradeoff_plot.py RESULTS_CSV OUT_SVG [--group agent.policy] [--knob agent.weight]

Means over the cells (seeds) of each (group, knob) pair, with 95% t
intervals drawn as error bars on both axes. Needs matplotlib (Debian
python3-matplotlib).
"""
import argparse
import csv
import math
import statistics

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "cohort"  # the same SVG bytes for the same data
import matplotlib.pyplot as plt  # noqa: E402

T_975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}


def mean_ci(values):
    m = statistics.mean(values)
    if len(values) < 2:
        return m, 0.0
    return m, T_975.get(len(values) - 1, 1.96) * statistics.stdev(values) / math.sqrt(len(values))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("out")
    ap.add_argument("--group", default="agent.policy")
    ap.add_argument("--knob", default="agent.weight")
    args = ap.parse_args()
    cells = {}
    with open(args.results) as f:
        for row in csv.DictReader(f):
            if row["status"] != "done":
                continue
            cells.setdefault(row[args.group], {}).setdefault(float(row[args.knob]), []).append(
                (float(row["exposure_gini"]), float(row["return_mean"])))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (group, by_knob) in enumerate(cells.items()):
        xs, ys, xe, ye = [], [], [], []
        for knob in sorted(by_knob):
            gx, gxe = mean_ci([g for g, _ in by_knob[knob]])
            ry, rye = mean_ci([r for _, r in by_knob[knob]])
            xs.append(gx), ys.append(ry), xe.append(gxe), ye.append(rye)
            ax.annotate(f"{knob:g}", (gx, ry), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.errorbar(xs, ys, xerr=xe, yerr=ye, marker="o", ms=4, capsize=2, lw=1.2, label=group, color=f"C{i}")
    ax.set_xlabel("exposure Gini (final evaluation)")
    ax.set_ylabel("return per user")
    ax.set_title(f"exposure re-ranking: return against Gini, labelled by {args.knob}", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, metadata={"Date": None})


if __name__ == "__main__":
    main()
