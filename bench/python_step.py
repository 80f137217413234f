"""The Python package's overhead: a Python loop stepping a fixed NumPy slate array,
next to `cohort bench`'s simulator alone, in the same run; with a RecSim checkout,
also the per-step cost at B = 1 next to RecSim's, in the same run.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_step.py [SECONDS] [COHORT_BINARY] [RECSIM_CHECKOUT]

RECSIM_CHECKOUT: a clone of github.com/google-research/recsim (not part of Cohort),
stepped by bench/recsim_speed.py (one user, a random slate drawn by
rng.choice(10, 2, replace=False) per step). Next to it the same loop shape through
cohort.make("recsim_interest_evolution") at num_envs=1: a fixed slate, and a slate
drawn the same way as RecSim's loop draws it.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

import cohort

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
binary = sys.argv[2] if len(sys.argv) > 2 else "build/cohort"
recsim = sys.argv[3] if len(sys.argv) > 3 else None


def python_loop(B, draw=None):
    """(user-steps/s, us per step call) of a Python loop over env.step; draw(rng)
    -> a fresh slate for every call, or None: one fixed slate array."""
    env = cohort.make("recsim_interest_evolution", num_envs=B)
    env.reset()
    fixed = np.tile(np.arange(env.slate_size, dtype=np.int32), (B, 1))
    rng = np.random.default_rng(0)
    for _ in range(20):
        env.step(fixed)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            env.step(fixed if draw is None else draw(rng))
        steps += 100
    elapsed = time.perf_counter() - start
    return steps * B / elapsed, 1e6 * elapsed / steps


print(f"load before: {open('/proc/loadavg').read().split()[:3]}")
for B in (1, 1024):
    py, us = python_loop(B)
    out = subprocess.run([binary, "bench", "--scenario", "recsim_interest_evolution", "--num-envs", str(B),
                          "--seconds", str(seconds), "--quiet"], capture_output=True, text=True, check=True)
    sim = json.loads(out.stdout)["results"][0]["simulator_user_steps_per_second"]
    print(f"B = {B:5d}: Python loop {py:12.0f} user-steps/s ({us:7.2f} us per step call); "
          f"cohort bench simulator {sim:12.0f}; ratio {py / sim:.2f}")
if recsim:
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(["/usr/bin/python3", os.path.join(here, "recsim_speed.py"), recsim, str(seconds)],
                         capture_output=True, text=True, check=True)
    rs = json.loads(out.stdout)["microseconds_per_step"]
    _, fixed = python_loop(1)
    _, drawn = python_loop(1, lambda rng: rng.choice(10, size=2, replace=False)[None, :])
    print(f"B = 1, us per step: RecSim {rs:.1f}; cohort.make fixed slate {fixed:.2f} "
          f"({rs / fixed:.0f}x fewer), slate drawn like RecSim's loop {drawn:.2f} ({rs / drawn:.0f}x fewer)")
print(f"load after: {open('/proc/loadavg').read().split()[:3]}")
