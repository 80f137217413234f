"""The Python package's overhead: a Python loop stepping a fixed NumPy slate array,
next to `cohort bench`'s simulator alone, in the same run.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_step.py [SECONDS] [COHORT_BINARY]
"""
import json
import subprocess
import sys
import time

import numpy as np

import cohort

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
binary = sys.argv[2] if len(sys.argv) > 2 else "build/cohort"
print(f"load before: {open('/proc/loadavg').read().split()[:3]}")
for B in (1, 1024):
    env = cohort.make("recsim_interest_evolution", num_envs=B)
    env.reset()
    slates = np.tile(np.arange(env.slate_size, dtype=np.int32), (B, 1))
    for _ in range(20):
        env.step(slates)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            env.step(slates)
        steps += 100
    elapsed = time.perf_counter() - start
    out = subprocess.run([binary, "bench", "--scenario", "recsim_interest_evolution", "--num-envs", str(B),
                          "--seconds", str(seconds), "--quiet"], capture_output=True, text=True, check=True)
    sim = json.loads(out.stdout)["results"][0]["simulator_user_steps_per_second"]
    py = steps * B / elapsed
    print(f"B = {B:5d}: Python loop {py:12.0f} user-steps/s ({1e6 * elapsed / steps:7.2f} us per step call); "
          f"cohort bench simulator {sim:12.0f}; ratio {py / sim:.2f}")
print(f"load after: {open('/proc/loadavg').read().split()[:3]}")
