"""The off-policy estimators against the exact truth on recsim_interest_evolution:
bias, standard deviation and RMSE over seeds as the log grows (1e3 to 1e6
slates), as the slate grows (k = 1 to 6), as the logging policy moves away from
the target (epsilon), and per choice model (proportional, MNL, cascade,
position-based). Prints docs/ope/README.md's tables and writes results.json
beside this file.

    PYTHONPATH=build/python /usr/bin/python3 docs/ope/study.py [--out DIR] [--jobs N]

Each axis is a sweep file, scenarios/sweeps/ope_*.json, whose cells are
`cohort log` with an evaluation (`"job": "ope"`); this script runs them with
cohort.sweep (resumable: a second call reuses finished cells) and reads each
one's results with cohort.report, which also writes DIR/NAME/results.md with
bootstrap intervals. The same from the shell:

    cohort sweep scenarios/sweeps/ope_log_size.json --out DIR/log_size && cohort report DIR/log_size
"""
import argparse
import json
import math
import os
import time

import cohort

HERE = os.path.dirname(os.path.abspath(__file__))
SWEEPS = os.path.join(HERE, "..", "..", "scenarios", "sweeps")
ESTIMATORS = ["dm", "ips", "snips", "dr", "iips", "pseudo_inverse", "rips"]
# (sweep, axis path, table title, setting label)
AXES = [
    ("log_size", "run.episodes", "As the log grows (uniform logging, k = 2; target: greedy softened, temperature 0.5)",
     lambda v: f"{int(v):,} users"),
    ("slate_size", "env.slate_size", "As the slate grows (uniform logging, 1,000 users, K = 10; target: greedy, deterministic)",
     lambda v: f"k = {int(v)}"),
    ("epsilon", "agent.epsilon",
     "As the logging policy leaves uniform (greedy mixed with uniform slates with probability epsilon, 300 users, k = 2; "
     "target: greedy softened, temperature 0.5)",
     lambda v: "epsilon 1.0 (uniform)" if float(v) == 1.0 else f"epsilon {float(v)}"),
    ("choice_model", "env.choice", "Per choice model (uniform logging, 300 users, k = 3; target: greedy softened, temperature 0.5)",
     str),
]


def summarize(rows, axis):
    """Per axis value: slates, truth, and per estimator bias, sd, rmse, coverage, cells."""
    groups = {}
    for row in rows:
        if row["status"] != "done":
            raise SystemExit(f"cell {row['cell']} is {row['status']}: see its error.json")
        groups.setdefault(row[axis], []).append(row)
    out = []
    for value, cells in groups.items():
        entry = {"value": value, "cells": len(cells),
                 "slates": sum(c["slates"] for c in cells) / len(cells),
                 "truth": sum(c["truth"] for c in cells) / len(cells), "estimators": {}}
        for e in ESTIMATORS:
            # An estimator undefined on a log (SNIPS when the target matches
            # no logged slate) is missing from that cell: counted apart.
            defined = [c for c in cells if c.get(f"{e}_error") is not None]
            if not defined:
                continue
            errors = [c[f"{e}_error"] for c in defined]
            n = len(errors)
            bias = sum(errors) / n
            sd = math.sqrt(sum((x - bias) ** 2 for x in errors) / (n - 1)) if n > 1 else float("nan")
            covered = [c.get(f"{e}_covered") for c in defined]
            entry["estimators"][e] = {"bias": bias, "stddev": sd, "rmse": math.sqrt(sum(x * x for x in errors) / n),
                                      "coverage": sum(covered) / n if None not in covered else None,
                                      "defined": n}
        out.append(entry)
    return out


# Paired comparisons: (sweep, setting, estimator a, estimator b). Over the
# logs of the setting, the mean of a's squared error minus b's, each log
# paired with itself, with a 95% percentile bootstrap interval.
PAIRS = [
    ("log_size", 12000, "dr", "ips"), ("log_size", 12000, "snips", "ips"),
    ("slate_size", 6, "pseudo_inverse", "ips"), ("slate_size", 3, "pseudo_inverse", "ips"),
    ("choice_model", "cascade", "rips", "ips"), ("choice_model", "cascade", "rips", "iips"),
    ("choice_model", "pbm", "iips", "ips"), ("choice_model", "pbm", "pseudo_inverse", "ips"),
    ("choice_model", "proportional", "pseudo_inverse", "ips"),
]


def paired(rows, axis, value, a, b, resamples=10000):
    import numpy as np
    d = np.array([r[f"{a}_squared_error"] - r[f"{b}_squared_error"] for r in rows
                  if r[axis] == value and r.get(f"{a}_squared_error") is not None
                  and r.get(f"{b}_squared_error") is not None])
    rng = np.random.default_rng(0)
    means = d[rng.integers(0, len(d), size=(resamples, len(d)))].mean(axis=1)
    return {"n": len(d), "mean": float(d.mean()), "ci95": [float(np.quantile(means, 0.025)),
                                                           float(np.quantile(means, 0.975))],
            "a_lower": int((d < 0).sum())}


def table(title, entries, label):
    print(f"\n### {title}\n")
    print("| setting | slates per log | truth | " + " | ".join(ESTIMATORS) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in ESTIMATORS) + " |")
    for entry in entries:
        cells = []
        for e in ESTIMATORS:
            s = entry["estimators"].get(e)
            if s is None:
                cells.append("undefined")
            else:
                part = "" if s["defined"] == entry["cells"] else f" [{s['defined']} of {entry['cells']} logs]"
                cells.append(f"{s['rmse']:.3f} ({s['bias']:+.3f}){part}")
        print(f"| {label(entry['value'])} | {entry['slates']:,.0f} | {entry['truth']:.3f} | " + " | ".join(cells) + " |")


def coverage_table(entries, label):
    print("\nCoverage of the 95% bootstrap intervals (share of logs whose interval holds the truth):\n")
    print("| setting | " + " | ".join(ESTIMATORS) + " |")
    print("| --- | " + " | ".join("---" for _ in ESTIMATORS) + " |")
    for entry in entries:
        cells = []
        for e in ESTIMATORS:
            s = entry["estimators"].get(e)
            cells.append("-" if s is None or s["coverage"] is None else f"{s['coverage']:.1f}")
        print(f"| {label(entry['value'])} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/opestudy", help="the sweeps' output directories go here")
    parser.add_argument("--jobs", type=int, default=None, help="cells at a time (default: one per core)")
    args = parser.parse_args()
    start = time.time()
    results, rows = {}, {}
    for name, axis, title, label in AXES:
        out = os.path.join(args.out, name)
        cohort.sweep(os.path.join(SWEEPS, f"ope_{name}.json"), out=out, jobs=args.jobs)
        rows[name] = cohort.report(out)
        results[name] = summarize(rows[name], axis)
    print(f"RMSE (bias) over the seeds of each setting, each log's estimate against its own exact truth; "
          f"{time.time() - start:.0f} s")
    for name, axis, title, label in AXES:
        table(title, results[name], label)
        if name == "log_size":
            coverage_table(results[name], label)
    print("\n### Paired: squared error of one estimator minus another's, log by log\n")
    print("| setting | a - b | logs | mean | 95% interval | logs where a is closer |")
    print("| --- | --- | --- | --- | --- | --- |")
    results["paired"] = []
    axis_of = {name: axis for name, axis, _, _ in AXES}
    label_of = {name: label for name, _, _, label in AXES}
    for name, value, a, b in PAIRS:
        p = paired(rows[name], axis_of[name], value, a, b)
        results["paired"].append({"sweep": name, "setting": value, "a": a, "b": b, **p})
        print(f"| {label_of[name](value)} | {a} - {b} | {p['n']} | {p['mean']:+.3g} | "
              f"[{p['ci95'][0]:+.3g}, {p['ci95'][1]:+.3g}] | {p['a_lower']} of {p['n']} |")
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
