#!/usr/bin/env python3
"""The offline-learning table of docs/ope.md: true online value of policies learned from a log.

For each seed, logs run.episodes users of recsim_interest_evolution with each logging policy
(`cohort log`), learns from each log with each offline learner (`cohort train-offline`), and
reads the true online value each summary.json reports: the frozen learned policy, the logging
policy, random and the myopic oracle on the same evaluation users. Prints, per (log, learner),
the mean over seeds of the normalized score and of the return, and the learned-minus-logging
return difference with a paired 95% interval over seeds (Student t, seeds - 1 dof).

  scripts/offline_table.py --cohort build/cohort --seeds 5 --out /tmp/offline_table
"""
import argparse
import json
import math
import os
import statistics
import subprocess

LOGS = {
    "epsilon-greedy 0.3": {"type": "logging", "policy": {"type": "greedy"}, "epsilon": 0.3},
    "random": {"type": "random"},
}
LEARNERS = {
    "click_model": "click_model",
    "reinforce (learned beta)": {"type": "reinforce"},
    "reinforce (logged beta)": {"type": "reinforce", "offline": {"behaviour": "logged"}},
    "reinforce (weights 1: no correction)": {"type": "reinforce", "offline": {"importance_weights": False}},
}
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cohort", default="build/cohort")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--episodes", type=int, default=2000)
    p.add_argument("--out", default="/tmp/offline_table")
    p.add_argument("--learners", default=";".join(LEARNERS), help="semicolon-separated subset of the learners")
    a = p.parse_args()
    learners = {k: LEARNERS[k] for k in a.learners.split(";")}
    rows = {}
    for seed in range(a.seeds):
        for log_name, policy in LOGS.items():
            log_dir = os.path.join(a.out, f"log-{log_name.split()[0]}-s{seed}")
            if not os.path.exists(os.path.join(log_dir, "log.h5")):
                subprocess.run([a.cohort, "log", "recsim_interest_evolution", "--set", "agent=" + json.dumps(policy),
                                "--set", f"run.episodes={a.episodes}", "--seed", str(seed), "--out", log_dir,
                                "--quiet"], check=True, stdout=subprocess.DEVNULL)
            for learner, agent in learners.items():
                tag = "".join(ch if ch.isalnum() else "_" for ch in learner)
                out = os.path.join(a.out, f"{os.path.basename(log_dir)}-{tag}")
                if learner == "click_model":
                    out += ".json"
                summary = out[:-5] + ".summary.json" if learner == "click_model" else os.path.join(out, "summary.json")
                if not os.path.exists(summary):  # rerunning the script reuses what it has
                    subprocess.run([a.cohort, "train-offline", log_dir, "--agent",
                                    agent if isinstance(agent, str) else json.dumps(agent), "--out", out],
                                   check=True, stdout=subprocess.DEVNULL)
                with open(summary) as f:
                    o = json.load(f)["online"]
                rows.setdefault((log_name, learner), []).append(o)
    print(f"recsim_interest_evolution, {a.episodes}-user logs, {a.seeds} seeds; true online value on "
          f"{a.episodes} evaluation users per seed")
    print()
    print("| log | learner | normalized score learned | logging | return learned | logging | "
          "learned - logging (95% over seeds) |")
    print("|---|---|---|---|---|---|---|")
    for (log_name, learner), runs in rows.items():
        d = [r["learned_minus_logging"]["return_mean"] for r in runs]
        half = T975.get(len(d) - 1, 1.96) * statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
        mean = lambda key, who: statistics.mean(r[who][key] for r in runs)
        print(f"| {log_name} | {learner} | {mean('normalized_score', 'learned'):.3f} | "
              f"{mean('normalized_score', 'logging'):.3f} | {mean('return_mean', 'learned'):.2f} | "
              f"{mean('return_mean', 'logging'):.2f} | {statistics.mean(d):+.2f} [{statistics.mean(d) - half:+.2f}, "
              f"{statistics.mean(d) + half:+.2f}] |")


if __name__ == "__main__":
    main()
