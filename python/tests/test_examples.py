"""The examples (examples/*.py) run shortened and learn. Run by ctest (python_tests).

Fixed seeds: each check is deterministic, so none can flake. The PyTorch run is a
subprocess with ATEN_CPU_CAPABILITY=avx2, so its numbers are the same on a
machine with AVX-512 and on one without.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cohort

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CLI = Path(cohort.__file__).resolve().parents[2] / "cohort"  # BUILD/python/cohort -> BUILD/cohort
sys.path.insert(0, str(EXAMPLES))


def run_ppo(*args):
    """ppo_torch.train on the given arguments in a fresh interpreter -> its
    learning curve [(user_steps, {"return", "score", "ci95"})]."""
    code = ("import json, sys, ppo_torch\n"
            "out = ppo_torch.train(ppo_torch.parse_settings(sys.argv[1:]))\n"
            "print('CURVE ' + json.dumps(out['curve']))\n")
    env = dict(os.environ, ATEN_CPU_CAPABILITY="avx2", PYTHONPATH=os.pathsep.join(
        [str(EXAMPLES), str(Path(cohort.__file__).resolve().parents[1])]))
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    line = [x for x in done.stdout.splitlines() if x.startswith("CURVE ")][-1]
    return json.loads(line[len("CURVE "):])


def test_ppo_learns_on_held_out_users():
    pytest.importorskip("torch")
    curve = run_ppo("--quick")
    (first_steps, first), (steps, last) = curve[0], curve[-1]
    assert first_steps == 0 and steps == 65_536
    # Quick training takes the normalized score clearly above random's 0
    # (1.05 +- 0.19 at seed 0); with --lr 0 it stays at the untrained 0.055
    # +- 0.111, whose lower bound is below 0.
    assert last["score"] - last["ci95"] > 0, curve
    assert last["score"] > first["score"], curve


def test_ppo_is_deterministic_for_a_seed():
    pytest.importorskip("torch")
    args = ("--quick", "--total-steps", "4096", "--num-envs", "32", "--rollout-steps", "8", "--eval-users", "64")
    a, b = run_ppo(*args), run_ppo(*args)
    assert a == b
    assert a != run_ppo(*args, "--seed", "1")


def test_normalized_score_matches_the_delta_method():
    pytest.importorskip("torch")  # ppo_torch imports it
    import ppo_torch
    random = np.array([1.0, 2.0, 3.0, 4.0])
    oracle = random + np.array([2.0, 1.0, 4.0, 3.0])
    # The agent at the oracle scores 1 exactly, at random 0, both with width 0.
    assert ppo_torch.normalized_score(oracle, random, oracle) == (1.0, 0.0)
    assert ppo_torch.normalized_score(random, random, oracle) == (0.0, 0.0)
    # By hand: a = (1, 1, 1, 1), b = (2, 1, 4, 3), r = 4 / 10, residuals a - r b =
    # (0.2, 0.6, -0.6, -0.2), sample variance 0.8 / 3, se = sqrt(0.8 / 3 / 4) / 2.5;
    # the half-width is Student's 3.182 (3 degrees of freedom) times se.
    score, half = ppo_torch.normalized_score(random + 1.0, random, oracle)
    assert score == pytest.approx(0.4)
    assert half == pytest.approx(3.182 * np.sqrt(0.8 / 12) / 2.5)
    # Undefined when the oracle does no better than random on average.
    assert np.isnan(ppo_torch.normalized_score(oracle, random, random)[0])
    assert ppo_torch.student_t975(100) == pytest.approx(1.984, abs=1e-3)


def test_numpy_bandit_beats_random_on_paired_users():
    import numpy_bandit
    has_cli = CLI.exists()
    out = numpy_bandit.main(["--users", "512", "--cohort", str(CLI) if has_cli else "none"])
    assert out["users"] == list(range(512))
    # +14.45 +- 2.04 per user at seed 0; with observe() a no-op (no learning) the
    # bandit ranks by its widths alone and loses to random (-6.50 +- 2.51).
    diff, half = numpy_bandit.paired_difference(out["numpy"], out["random"])
    assert diff - half > 0, (diff, half)
    if has_cli:
        # The built-in served the same users (main pairs them by id) and learns too.
        diff, half = numpy_bandit.paired_difference(out["builtin"], out["random"])
        assert diff - half > 0, (diff, half)


def test_the_bandit_meets_the_users_cohort_run_serves():
    """The pairing: the myopic oracle stepped through the example's environment
    (the scenario's run.num_envs slots, users=run.episodes) gives, user by
    user, exactly the returns of `cohort run --set agent.type=oracle`. (Another
    seed breaks it; another slot count does not: a user's draws follow the
    user, not the slot. A learner's do depend on the order it meets users in,
    so the example keeps run.num_envs.)"""
    if not CLI.exists():
        pytest.skip(f"no cohort binary next to the package ({CLI})")
    import numpy_bandit
    env = cohort.make("recsim_interest_evolution", num_envs=256, seed=0, users=512)
    ours = numpy_bandit.serve(env, lambda obs: env.truth.oracle_slates()[0])
    theirs = numpy_bandit.builtin_returns(CLI, "recsim_interest_evolution", 0, 512, agent="oracle")
    assert sorted(ours) == sorted(theirs) == list(range(512))
    np.testing.assert_array_equal([ours[u] for u in range(512)], [theirs[u] for u in range(512)])
