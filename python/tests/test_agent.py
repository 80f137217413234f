"""Built-in agents driven from Python (cohort.agent): bit-identical to `cohort run`
with that agent, the truth functions against the CLI's oracle (the regret of every
episode), the step-order and observation checks, save/load, evaluation mode."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import cohort

CLI = Path(cohort.__file__).resolve().parents[2] / "cohort"
needs_cli = pytest.mark.skipif(not CLI.exists(), reason=f"the cohort CLI is not built next to the package ({CLI})")


def python_run(name, sets, seed):
    """`cohort run`'s main rollout (agents/runner.cc RollOutWith) as a Python loop:
    per-user records, the regret from env.truth, in the order the CLI writes them."""
    scenario = cohort.make(name, set=sets, seed=seed).scenario
    run = scenario["run"]
    B = min(run["num_envs"], run["episodes"])
    env = cohort.make(name, set=sets, seed=seed, num_envs=B, users=run["episodes"])
    agent = cohort.agent(env, scenario["agent"])
    obs, info = env.reset()
    current = [dict(user=int(u), ret=0.0, length=0, clicks=0, regret=0.0) for u in info["user_id"]]
    finished = []
    while info["active"].any():
        slates = agent.act(obs)
        _, best = env.truth.oracle_slates()
        chosen = env.truth.expected_reward(slates)
        active = info["active"].copy()
        for r in np.flatnonzero(active):
            current[r]["regret"] += float(best[r]) - float(chosen[r])
        obs, reward, terminated, truncated, info = env.step(slates)
        agent.observe(obs, reward, terminated, truncated, info)
        agent.update()
        for r in range(B):
            e = current[r]
            if e["user"] < 0:
                continue
            e["length"] += 1
            e["ret"] += float(reward[r])
            e["clicks"] += int(info["click_position"][r] >= 0)
            if terminated[r] or truncated[r]:
                finished.append(e)
                current[r] = dict(user=int(info["user_id"][r]) if info["active"][r] else -1, ret=0.0, length=0,
                                  clicks=0, regret=0.0)
    return sorted(finished, key=lambda e: e["user"])


def cli_run(tmp_path, name, sets, seed):
    args = [str(CLI), "run", name, "--seed", str(seed), "--out", str(tmp_path / "run"), "--quiet"]
    for path, value in sets.items():
        args += ["--set", f"{path}={json.dumps(value)}"]
    subprocess.run(args, check=True, capture_output=True)
    return [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]


@needs_cli
@pytest.mark.parametrize("name,agent", [
    ("recsim_interest_evolution", {"type": "linucb"}),
    ("recsim_interest_evolution", {"type": "epsilon_greedy", "epsilon": 0.2}),
    ("cascade_news", {"type": "linear_ts"}),
    ("population_retention", {"type": "reinforce"}),
    ("recsim_interest_evolution", {"type": "oracle"}),
])
def test_a_builtin_agent_from_python_matches_cohort_run(tmp_path, name, agent):
    sets = {"agent": agent, "run.episodes": 60, "run.num_envs": 16, "run.reference": False, "run.regret": True}
    mine = python_run(name, sets, seed=5)
    theirs = cli_run(tmp_path, name, sets, seed=5)
    assert [e["user"] for e in mine] == [e["user"] for e in theirs] == list(range(60))
    for a, b in zip(mine, theirs):
        # Exact equality: the same doubles, summed in the same order.
        assert (a["ret"], a["length"], a["clicks"]) == (b["return"], b["length"], b["clicks"]), a["user"]
        assert a["regret"] == b["regret"], a["user"]
    assert sum(e["ret"] for e in mine) > 0


def steps(env, agent, obs, n, learn=True):
    """n steps; copies of every slate and reward."""
    out = []
    for _ in range(n):
        slates = agent.act(obs)
        obs, reward, terminated, truncated, info = env.step(slates)
        if learn:
            agent.observe(obs, reward, terminated, truncated, info)
            agent.update()
        out.append((slates.copy(), reward.copy()))
    return obs, out


def assert_same_steps(a, b):
    assert len(a) == len(b)
    for (sa, ra), (sb, rb) in zip(a, b):
        np.testing.assert_array_equal(sa, sb)
        np.testing.assert_array_equal(ra, rb)


@pytest.mark.parametrize("config", [{"type": "linucb"}, {"type": "ucb1"}, {"type": "a2c"}])
def test_save_and_load_continue_bit_identically(tmp_path, config):
    def fresh():
        env = cohort.make("recsim_interest_evolution", num_envs=8, seed=2)
        return env, cohort.agent(env, config)

    env, agent = fresh()
    obs, _ = env.reset()
    obs, _ = steps(env, agent, obs, 30)
    agent.save(tmp_path / "agent.bin")
    # The environment's own state is not in the agent's file: replay it.
    _, expected = steps(env, agent, obs, 30)

    env2, agent2 = fresh()
    obs2, _ = env2.reset()
    obs2, _ = steps(env2, cohort.agent(env2, config), obs2, 30)  # the same environment trajectory, another agent
    agent2.load(tmp_path / "agent.bin")
    _, got = steps(env2, agent2, obs2, 30)
    assert_same_steps(expected, got)


def test_load_refuses_another_agent_and_damaged_files(tmp_path):
    env = cohort.make("recsim_interest_evolution", num_envs=4)
    env.reset()
    a = cohort.agent(env, {"type": "linucb", "alpha": 0.5})
    a.save(tmp_path / "a.bin")
    with pytest.raises(ValueError, match="another agent"):
        cohort.agent(env, {"type": "linucb", "alpha": 0.7}).load(tmp_path / "a.bin")
    other = cohort.make("recsim_interest_evolution", num_envs=5)
    with pytest.raises(ValueError, match="num_envs=4"):
        cohort.agent(other, {"type": "linucb", "alpha": 0.5}).load(tmp_path / "a.bin")
    data = bytearray((tmp_path / "a.bin").read_bytes())
    data[40] ^= 1
    (tmp_path / "bad.bin").write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="corrupt"):
        a.load(tmp_path / "bad.bin")
    (tmp_path / "short.bin").write_bytes(bytes(data[:5]))
    with pytest.raises(RuntimeError, match="corrupt"):
        a.load(tmp_path / "short.bin")
    with pytest.raises(ValueError, match="cannot be read"):
        a.load(tmp_path / "missing.bin")


def test_scores_and_evaluation_acts_leave_training_unchanged():
    def run(inspect):
        env = cohort.make("cascade_news", num_envs=8, seed=1)
        agent = cohort.agent(env, {"type": "reinforce"})
        obs, _ = env.reset()
        out = []
        for _ in range(25):
            if inspect:
                scores = agent.scores(obs)
                assert scores.shape == (8, env.num_candidates) and np.isfinite(scores).all()
                agent.set_training(False)
                agent.act(obs)  # the frozen policy acts from its own stream
                agent.observe(obs, None, None, None, None)  # does nothing in evaluation mode
                assert agent.update() == {}
                agent.set_training(True)
            obs, o = steps(env, agent, obs, 1)
            out += o
        return out, agent.score_name

    plain, _ = run(False)
    inspected, name = run(True)
    assert_same_steps(plain, inspected)
    assert name == "logit"


def test_step_order_and_observation_are_checked():
    env = cohort.make("recsim_interest_evolution", num_envs=4)
    agent = cohort.agent(env, "linucb")
    with pytest.raises(RuntimeError, match="reset"):
        agent.act(env._obs)
    obs, info = env.reset()
    with pytest.raises(ValueError, match="observation dict"):
        agent.act({k: v.copy() for k, v in obs.items()})
    with pytest.raises(RuntimeError, match="once per step"):
        agent.observe(obs, None, None, None, None)  # no act, no step yet
    slates = agent.act(obs)
    assert slates.shape == (4, env.slate_size) and slates.dtype == np.int32
    obs, reward, terminated, truncated, info = env.step(slates)
    agent.observe(obs, reward, terminated, truncated, info)
    with pytest.raises(RuntimeError, match="once per step"):
        agent.observe(obs, reward, terminated, truncated, info)  # twice
    agent.act(obs)
    env.step(agent.act(obs))
    env.step(agent.act(obs))
    agent.act(obs)
    env.step(np.tile(np.arange(env.slate_size), (4, 1)))
    env.step(np.tile(np.arange(env.slate_size), (4, 1)))
    with pytest.raises(RuntimeError, match="once per step"):
        agent.observe(obs, None, None, None, None)  # two steps since act


def test_privileged_agents_refuse_an_environment_rebuilt_by_a_new_seed():
    env = cohort.make("recsim_interest_evolution", num_envs=4)
    oracle = cohort.agent(env, "oracle")
    assert oracle.privileged and not cohort.agent(env, "linucb").privileged
    obs, _ = env.reset()
    best, _ = env.truth.oracle_slates()
    np.testing.assert_array_equal(oracle.act(obs), best)
    obs, _ = env.reset(seed=9)
    with pytest.raises(RuntimeError, match="make the agent again"):
        oracle.act(obs)
    np.testing.assert_array_equal(cohort.agent(env, "oracle").act(obs), env.truth.oracle_slates()[0])


def test_bad_agent_configs_raise_scenario_errors():
    env = cohort.make("recsim_interest_evolution")
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.agent(env, {"type": "linucb", "alpah": 1.0})
    assert e.value.file == "<agent>" and e.value.path == "/agent/alpah" and "did you mean \"alpha\"" in str(e.value)
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.agent(env, {"type": "lin_ucb"})
    assert e.value.path == "/agent/type" and "linucb" in str(e.value)
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.agent(env, {"type": "epsilon_greedy", "epsilon": 2})
    assert e.value.path == "/agent/epsilon"
    with pytest.raises(TypeError):
        cohort.agent(env, 3)
    with pytest.raises(TypeError):
        cohort.agent("recsim_interest_evolution", "linucb")
    with pytest.raises(ValueError, match="total_steps"):
        cohort.agent(env, "linucb", total_steps=-1)
