"""Steps RecSim's interest-evolution environment with random slates and prints
user-steps per second as JSON (bench/compare.sh runs it beside `cohort bench`).

    /usr/bin/python3 bench/recsim_speed.py RECSIM_CHECKOUT [SECONDS]

RecSim (github.com/google-research/recsim) is not part of Cohort. Its environment
code needs numpy and six only, but its modules import gin, gym and absl at the top
(for configuration decorators, space descriptions and flags), and its package
__init__ files import TensorFlow-based agents. None of those are Debian packages, so
this script installs minimal stand-ins before importing: `gin.configurable` returns
the function unchanged, `gym.spaces.*` only record their arguments, `gym.Env` is an
empty base class, absl's flags and logging do nothing. None of them runs inside
`step` (RecSim builds spaces only when asked for them), so the measured loop is
RecSim's own code: the environment's step, the user and choice models, document
resampling and the reward. The packages are imported without their __init__ files
(no agents, no TensorFlow). Same RecSim configuration as Cohort's
scenarios/recsim_interest_evolution.json: 10 candidates resampled every step,
slates of 2.
"""
import json
import os
import sys
import time
import types


def install_stand_ins():
    gin = types.ModuleType("gin")
    gin.configurable = lambda *a, **k: a[0] if a and callable(a[0]) else (lambda f: f)
    gin.tf = types.ModuleType("gin.tf")
    sys.modules["gin"], sys.modules["gin.tf"] = gin, gin.tf

    gym = types.ModuleType("gym")
    spaces = types.ModuleType("gym.spaces")

    class Space:
        def __init__(self, *args, **kwargs):
            self.args, self.kwargs = args, kwargs

    for name in ("Box", "Discrete", "Dict", "Tuple", "MultiDiscrete"):
        setattr(spaces, name, type(name, (Space,), {}))
    gym.spaces = spaces
    gym.Env = type("Env", (), {})
    sys.modules["gym"], sys.modules["gym.spaces"] = gym, spaces

    absl = types.ModuleType("absl")
    flags = types.ModuleType("absl.flags")
    flags.FLAGS = types.SimpleNamespace()
    logging = types.ModuleType("absl.logging")
    for level in ("debug", "info", "warning", "error"):
        setattr(logging, level, lambda *a, **k: None)
    absl.flags, absl.logging = flags, logging
    sys.modules.update({"absl": absl, "absl.flags": flags, "absl.logging": logging})


def import_without_init(checkout):
    # Bare package modules, so that importing recsim.environments.interest_evolution
    # runs none of the package __init__ files (which import TensorFlow agents).
    for name, sub in (("recsim", "recsim"), ("recsim.simulator", "recsim/simulator"),
                      ("recsim.environments", "recsim/environments")):
        pkg = types.ModuleType(name)
        pkg.__path__ = [os.path.join(checkout, sub)]
        sys.modules[name] = pkg
    from recsim.environments import interest_evolution
    return interest_evolution


def main():
    if len(sys.argv) < 2 or not os.path.isfile(os.path.join(sys.argv[1], "recsim", "environments",
                                                            "interest_evolution.py")):
        sys.exit("usage: recsim_speed.py RECSIM_CHECKOUT [SECONDS]  (a clone of "
                 "https://github.com/google-research/recsim)")
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    install_stand_ins()
    ie = import_without_init(os.path.abspath(sys.argv[1]))
    import numpy as np
    env = ie.create_environment({"num_candidates": 10, "slate_size": 2, "resample_documents": True, "seed": 0})
    rng = np.random.default_rng(0)
    env.reset()
    steps = episodes = 0
    clicks = 0.0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):  # check the clock every 100 steps
            slate = rng.choice(10, size=2, replace=False)
            _, reward, done, _ = env.step(slate)
            clicks += reward
            steps += 1
            if done:
                episodes += 1
                env.reset()
        if time.perf_counter() >= deadline:
            break
    elapsed = time.perf_counter() - start
    print(json.dumps({"simulator": "recsim interest_evolution (random slates)", "user_steps": steps,
                      "episodes": episodes, "seconds": elapsed, "user_steps_per_second": steps / elapsed,
                      "microseconds_per_step": 1e6 * elapsed / steps, "watch_time_per_step": clicks / steps}))


if __name__ == "__main__":
    main()
