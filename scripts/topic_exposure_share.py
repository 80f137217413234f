#!/usr/bin/env python3
"""One topic's share of exposure and of merit per group of a sweep's cells.

  scripts/topic_exposure_share.py RUN_DIR TOPIC

Reads RUN_DIR/cells.jsonl and each finished cell's summary.json
(exposure_by_topic, docs/simulator.md) and prints, per group of axis labels
(values where an axis has no labels), the mean over cells of TOPIC's
exposure_share and merit_share with a 95% t interval of the exposure share.
Used for the click farm's target topic in docs/exposure/README.md.
"""
import json
import math
import os
import statistics
import sys

T_975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 20: 2.09, 30: 2.04}


def t_quantile(df):
    return T_975.get(df) or T_975[min(T_975, key=lambda d: abs(d - df))]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    run_dir, topic = sys.argv[1], int(sys.argv[2])
    groups = {}
    with open(os.path.join(run_dir, "cells.jsonl")) as f:
        for line in f:
            cell = json.loads(line)
            path = os.path.join(run_dir, cell["dir"], "summary.json")
            if not os.path.exists(path):
                continue
            by_topic = json.load(open(path))["exposure_by_topic"]
            labels = cell.get("labels", {})
            key = tuple(labels.get(a, json.dumps(v)) for a, v in cell["axes"].items())
            groups.setdefault(key, []).append((by_topic[topic]["exposure_share"], by_topic[topic]["merit_share"]))
    print(f"| group | cells | topic {topic} exposure share | 95% CI | merit share |")
    print("| --- | --- | --- | --- | --- |")
    for key, v in groups.items():
        e = [a for a, _ in v]
        m = statistics.mean(b for _, b in v)
        half = t_quantile(len(e) - 1) * statistics.stdev(e) / math.sqrt(len(e)) if len(e) > 1 else float("nan")
        print(f"| {', '.join(key)} | {len(e)} | {statistics.mean(e):.3f} | [{statistics.mean(e) - half:.3f}, "
              f"{statistics.mean(e) + half:.3f}] | {m:.3f} |")


if __name__ == "__main__":
    main()
