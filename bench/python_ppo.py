"""examples/ppo_torch.py next to the C++ `ppo` agent on recsim_interest_evolution,
same run: training user-steps per second and the learning curve.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_ppo.py [COHORT_BINARY] [SEED] [SECONDS]

Both train 128 users x 16 steps per rollout (the C++ defaults, which the example
copies) for 384 rollouts, and evaluate the policy every 48 rollouts on the same
256 held-out users (numbered from cohort.FIRST_EVAL_USER), sampling slates from
the policy. Speed: the example's training time without its evaluations, and
`cohort bench --agent ppo --num-envs 128 --seconds SECONDS` (acting and learning,
no evaluations), both one thread; then three short rounds alternating the two
(48 rollouts of the example, SECONDS of cohort bench) for a ratio under the same load.
"""
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
import ppo_torch  # noqa: E402

binary = sys.argv[1] if len(sys.argv) > 1 else "build/cohort"
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
seconds = sys.argv[3] if len(sys.argv) > 3 else "5"
B, T, rollouts, every, users = 128, 16, 384, 48, 256

print(f"load before: {open('/proc/loadavg').read().split()[:3]}")
py = ppo_torch.train(ppo_torch.parse_settings(["--seed", str(seed), "--total-steps", str(B * T * rollouts),
                                               "--evals", str(rollouts // every + 1)]))
bench = subprocess.run([binary, "bench", "--agent", "ppo", "--num-envs", str(B), "--seconds", seconds, "--quiet"],
                       capture_output=True, text=True, check=True)
cpp_speed = json.loads(bench.stdout)["results"][0]["user_steps_per_second"]
with tempfile.TemporaryDirectory() as out:
    subprocess.run([binary, "run", "recsim_interest_evolution", "--seed", str(seed), "--set", "agent.type=ppo",
                    "--set", f"run.train_steps={T * rollouts}", "--set", f"run.num_envs={B}",
                    "--set", f"run.episodes={users}", "--set", f"run.eval_every={T * every}", "--out", out,
                    "--quiet"], check=True, stdout=subprocess.DEVNULL)
    cpp = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
cpp = [d for d in cpp if d.get("kind") == "eval"]
print(f"load after: {open('/proc/loadavg').read().split()[:3]}")
print(f"\nseed {seed}; normalized score on {users} held-out users (95% interval half-width)")
print(f"{'user-steps':>10} | {'PyTorch example':>22} | {'C++ ppo':>22}")
for (steps, p), c in zip(py["curve"], cpp):
    assert steps == c["user_steps"], (steps, c["user_steps"])
    print(f"{steps:10d} | {p['score']:6.2f} +- {p['ci95']:4.2f} ({p['return']:5.1f}) | "
          f"{c['normalized_score']:6.2f} +- {c['normalized_score_ci95']:4.2f} ({c['return_mean']:5.1f})")
print(f"\ntraining user-steps/s at num_envs={B}: PyTorch example {py['user_steps_per_second']:.0f} "
      f"(over the run above), C++ ppo (cohort bench) {cpp_speed:.0f}, "
      f"ratio {py['user_steps_per_second'] / cpp_speed:.2f}")
# The machine is shared: three short rounds alternate the two, so that both meet
# about the same load; the median ratio is the number to quote.
ratios = []
for round in range(3):
    with contextlib.redirect_stdout(io.StringIO()):  # its own lines: one tiny evaluation at the end
        short = ppo_torch.train(ppo_torch.parse_settings(["--seed", str(seed), "--total-steps", str(B * T * every),
                                                          "--evals", "1", "--eval-users", "16"]))
    bench = subprocess.run([binary, "bench", "--agent", "ppo", "--num-envs", str(B), "--seconds", seconds,
                            "--quiet"], capture_output=True, text=True, check=True)
    c = json.loads(bench.stdout)["results"][0]["user_steps_per_second"]
    ratios.append(short["user_steps_per_second"] / c)
    print(f"round {round}: PyTorch example {short['user_steps_per_second']:.0f} ({every} rollouts), "
          f"C++ ppo {c:.0f}, ratio {ratios[-1]:.2f}; load {open('/proc/loadavg').read().split()[0]}")
print(f"median ratio {sorted(ratios)[1]:.2f}")
