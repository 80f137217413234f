"""`cohort log` and cohort.log: the columns and their propensities, the exact truth
beside them, determinism over threads, no partial file when stopped or killed, and
the refusals. (That every agent's and the wrapper's slates follow the law it
records is a clause of the agent contract: tests/agent_harness.h.)"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import cohort

h5py = pytest.importorskip("h5py")
CLI = Path(cohort.cohort_binary())
needs_cli = pytest.mark.skipif(not CLI.exists(), reason=f"the cohort CLI is not built ({CLI})")

LOGGED = [
    {"type": "random"},
    {"type": "epsilon_greedy", "epsilon": 0.3},
    {"type": "logging", "policy": {"type": "greedy"}, "epsilon": 0.2},
    {"type": "logging", "policy": {"type": "linucb"}, "temperature": 0.05},
    {"type": "reinforce"},
]


def columns(path):
    with h5py.File(path, "r") as f:
        steps = {k: f["steps"][k][()] for k in f["steps"]}
        truth = {k: f["truth"][k][()] for k in f["truth"]}
        attrs = {k: f.attrs[k] for k in f.attrs}
    return steps, truth, attrs


@pytest.mark.parametrize("agent", LOGGED, ids=lambda a: json.dumps(a))
def test_propensities_are_consistent_and_the_truth_is_the_simulators(tmp_path, agent):
    name = "recsim_interest_evolution"
    sets = {"agent": agent, "run.episodes": 64, "run.num_envs": 16}
    summary = cohort.log(name, set=sets, seed=3, out=tmp_path / "log")
    steps, truth, attrs = columns(tmp_path / "log" / "log.h5")
    n, k = steps["slate"].shape
    K = steps["candidate_topic"].shape[1]
    assert summary["slates"] == n and summary["episodes"] == 64
    assert json.loads(attrs["agent"])["type"] == agent["type"]
    assert {c["name"] for c in json.loads(attrs["schema"])} == set(steps) | set(truth)
    # The position propensities multiply to the slate's; marginals sum to 1
    # per position and k per slate; the logged item is possible.
    np.testing.assert_allclose(steps["position_propensity"].prod(axis=1), steps["slate_propensity"], rtol=1e-12)
    assert (steps["slate_propensity"] > 0).all() and (steps["slate_propensity"] <= 1).all()
    marg = steps["position_item_propensity"].reshape(n, k, K)
    np.testing.assert_allclose(marg.sum(axis=2), 1.0, atol=1e-9)
    np.testing.assert_allclose(steps["item_propensity"], marg.sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(steps["item_propensity"].sum(axis=1), k, atol=1e-9)
    at = np.take_along_axis(marg, steps["slate"][:, :, None], axis=2)[:, :, 0]
    assert (at > 0).all()
    # Responses: one click at most, at click_position; the reward only with a click here.
    assert (steps["clicked"].sum(axis=1) <= 1).all()
    clicked = steps["click_position"] >= 0
    np.testing.assert_array_equal(steps["clicked"][clicked, steps["click_position"][clicked]], 1)
    # The truth group is the simulator's: replay the first steps through cohort.make.
    env = cohort.make(name, set=sets, seed=3, num_envs=16, users=64)
    obs, info = env.reset()
    for t in range(3):
        rows = slice(16 * t, 16 * (t + 1))
        np.testing.assert_array_equal(steps["user_id"][rows], info["user_id"])
        np.testing.assert_array_equal(steps["candidate_topic"][rows], obs["candidate_topic"])
        slates = steps["slate"][rows]
        np.testing.assert_array_equal(truth["expected_reward"][rows], env.truth.expected_reward(slates))
        np.testing.assert_array_equal(truth["click_probability"][rows], env.truth.choice_probabilities(slates))
        obs, reward, *_ , info = env.step(slates)
        np.testing.assert_array_equal(steps["reward"][rows], reward)


def test_a_log_is_the_same_for_any_thread_count(tmp_path):
    sets = {"agent": {"type": "logging", "policy": {"type": "popularity"}, "epsilon": 0.1}, "run.episodes": 300}
    cohort.log("population_retention", set=sets, out=tmp_path / "one", threads=1)
    cohort.log("population_retention", set=sets, out=tmp_path / "two", threads=2)
    a, ta, _ = columns(tmp_path / "one" / "log.h5")
    b, tb, _ = columns(tmp_path / "two" / "log.h5")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for key in ta:
        np.testing.assert_array_equal(ta[key], tb[key], err_msg=key)
    other = cohort.log("population_retention", set=sets, seed=1, out=tmp_path / "seed1")
    c, _, _ = columns(tmp_path / "seed1" / "log.h5")
    assert not np.array_equal(a["reward"][:1000], c["reward"][:1000])


@needs_cli
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_stopped_or_killed_log_leaves_no_log(tmp_path, sig):
    out = tmp_path / "log"
    child = subprocess.Popen([str(CLI), "log", "recsim_interest_evolution", "--set", "run.episodes=2000000",
                              "--out", str(out), "--quiet", "--csv"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / "log.h5.partial").exists() and time.time() < deadline and child.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    assert not (out / "log.h5").exists() and not (out / "log.json").exists()
    if sig == signal.SIGINT:
        assert child.returncode == 130 and "no log was written" in err
        assert sorted(os.listdir(out)) == []  # the temporaries are gone too
    else:
        assert child.returncode == -signal.SIGKILL
    # The next log into the directory clears what a killed one left.
    cohort.log("recsim_interest_evolution", set={"run.episodes": 20}, out=out)
    assert sorted(os.listdir(out)) == ["log.h5", "log.json", "scenario.resolved.json"]


@needs_cli
def test_bad_logs_are_refused_with_the_reason(tmp_path):
    def run_cli(*args):
        return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True)

    def run(*args):
        return run_cli("log", *args)

    r = run("recsim_interest_evolution", "--set", "agent.type=linear_ts", "--out", tmp_path / "ts")
    assert r.returncode == 2 and "/agent/type" in r.stderr and "no closed form" in r.stderr
    assert "\"type\": \"logging\"" in r.stderr
    r = run("recsim_interest_evolution")
    assert r.returncode == 2 and "--out" in r.stderr
    assert run("recsim_interest_evolution", "--set", "run.episodes=5", "--out", tmp_path / "a").returncode == 0
    r = run("recsim_interest_evolution", "--set", "run.episodes=5", "--out", tmp_path / "a")
    assert r.returncode == 2 and "--force" in r.stderr
    assert run("recsim_interest_evolution", "--set", "run.episodes=5", "--out", tmp_path / "a", "--force").returncode == 0
    r = run("recsim_interest_evolution", "--seeds", "3", "--out", tmp_path / "b")
    assert r.returncode == 2
    # A deterministic policy is logged, with a warning.
    r = run("recsim_interest_evolution", "--set", "agent.type=oracle", "--set", "run.episodes=5", "--out",
            tmp_path / "oracle")
    assert r.returncode == 0 and "deterministic" in r.stderr
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.log("recsim_interest_evolution", set={"agent": {"type": "logging", "policy": {"type": "linear_ts"}}},
                   out=tmp_path / "wrapped_ts")
    assert e.value.path == "/agent/policy/type"
    # The wrapper's factory raises it; it names the scenario file like the scenario's other errors.
    assert e.value.file.endswith("scenarios/recsim_interest_evolution.json")
    for command in ("log", "run"):
        r = run_cli(command, "recsim_interest_evolution", "--set",
                    'agent={"type": "logging", "policy": {"type": "linear_ts"}}', "--set", "run.episodes=3",
                    "--out", tmp_path / f"wrapped_ts_{command}")
        assert r.returncode == 2 and "recsim_interest_evolution.json: /agent/policy/type: " in r.stderr, r.stderr
    r = run_cli("run", "recsim_interest_evolution", "--set", 'agent={"type": "click_model"}', "--set",
                "run.train_steps=3", "--out", tmp_path / "click_model")
    assert r.returncode == 2 and "recsim_interest_evolution.json: /agent/model: " in r.stderr, r.stderr


def test_the_csv_export_has_one_row_per_slate_position(tmp_path):
    summary = cohort.log("recsim_interest_evolution", set={"run.episodes": 10}, out=tmp_path / "l", csv=True)
    lines = (tmp_path / "l" / "log.csv").read_text().splitlines()
    steps, _, _ = columns(tmp_path / "l" / "log.h5")
    k = steps["slate"].shape[1]
    assert lines[0].startswith("user_id,episode,session,step,position,candidate")
    assert len(lines) == 1 + summary["slates"] * k
    first = lines[1].split(",")
    assert int(first[5]) == steps["slate"][0, 0] and float(first[10]) == steps["slate_propensity"][0]


PBM = {"type": "pbm", "temperature": 0.3, "threshold": 0.0, "first_attention": 0.9, "position_decay": 0.7}


@pytest.mark.parametrize("choice", [None, PBM], ids=["proportional", "pbm"])
def test_position_reward_splits_each_steps_reward_over_its_clicks(tmp_path, choice):
    sets = {"agent.type": "random", "run.episodes": 60, "env.slate_size": 3}
    if choice:
        sets["env.choice"] = choice
    cohort.log("recsim_interest_evolution", set=sets, out=tmp_path / "log")
    with h5py.File(tmp_path / "log" / "log.h5") as f:
        s = f["steps"]
        part, reward, clicked = s["position_reward"][()], s["reward"][()], s["clicked"][()].astype(bool)
        click, watch = s["click_position"][()], s["watch_time"][()]
    assert part.shape == clicked.shape
    assert np.all(part[~clicked] == 0.0)
    np.testing.assert_allclose(part.sum(axis=1), reward, rtol=1e-6, atol=1e-6)
    if choice is None:  # one click at most: all of the reward at it, exactly
        rows = np.flatnonzero(click >= 0)
        assert np.array_equal(part[rows, click[rows]], reward[rows].astype(np.float64))
    else:  # several clicks: each its own reward (RecSim's: the time watched)
        assert (clicked.sum(axis=1) > 1).any()
        np.testing.assert_allclose(part[clicked], watch[clicked], rtol=1e-6)


TRAINING = {"agent.type": "dqn", "run.train_steps": 300, "run.num_envs": 16}


def test_a_training_run_logs_the_trainers_training_steps(tmp_path):
    name = "recsim_interest_evolution"
    summary = cohort.log(name, set=TRAINING, out=tmp_path / "log")
    steps, truth, attrs = columns(tmp_path / "log" / "log.h5")
    B, T = TRAINING["run.num_envs"], TRAINING["run.train_steps"]
    n, k = steps["slate"].shape
    K = steps["candidate_topic"].shape[1]
    assert n == B * T and summary["slates"] == n and summary["train_steps"] == T
    # Propensities as in a plain log.
    np.testing.assert_allclose(steps["position_propensity"].prod(axis=1), steps["slate_propensity"], rtol=1e-12)
    assert (steps["slate_propensity"] > 0).all()
    marg = steps["position_item_propensity"].reshape(n, k, K)
    np.testing.assert_allclose(marg.sum(axis=2), 1.0, atol=1e-9)
    # The slates follow the recorded laws: per (position, candidate) cell, the count of
    # logged slates putting the candidate there against the sum of its marginals (the
    # laws change as the agent learns), a chi-square over the k K cells.
    shown = np.zeros((k, K))
    for j in range(k):
        shown[j] = np.bincount(steps["slate"][:, j], minlength=K)
    expected, var = marg.sum(axis=0), (marg * (1 - marg)).sum(axis=0)
    z = (shown - expected) / np.sqrt(np.maximum(var, 1e-12))
    assert np.abs(z).max() < 5 and (z ** 2).sum() < 3 * k * K
    # The exploration of the learner (epsilon decaying) shrinks: the logged slates'
    # probabilities grow from uniform's 1 / (K (K - 1)).
    tenth = n // 10
    first, last = np.log(steps["slate_propensity"][:tenth]).mean(), np.log(steps["slate_propensity"][-tenth:]).mean()
    assert first < np.log(1.5 / (K * (K - 1))) and last > first + 2
    # Step for step the trainer's sequence: every training interval's finished episodes
    # (count and mean return) are the ones metrics.jsonl reports for the trained run.
    cohort.run(name, set=TRAINING, out=tmp_path / "run")
    lines = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train = [l for l in lines if l["kind"] == "train"]
    ended = steps["terminated"].astype(bool) | steps["truncated"].astype(bool)
    step_of = np.arange(n) // B
    returns = {}
    for u in np.unique(steps["user_id"]):
        rows = np.flatnonzero(steps["user_id"] == u)
        if ended[rows[-1]]:
            returns[step_of[rows[-1]]] = returns.get(step_of[rows[-1]], []) + [steps["reward"][rows].astype(np.float64).sum()]
    previous = 0
    for line in train:
        got = [g for s, gs in returns.items() if previous <= s < line["step"] for g in gs]
        assert len(got) == line["episodes"], line["step"]
        if got:
            assert np.mean(got) == pytest.approx(line["episode_return_mean"], rel=1e-9), line["step"]
        previous = line["step"]
    # Users cut by the end of training: acting at the last step without ending there.
    assert summary["users_cut"] == int((~ended[-B:]).sum())
    assert summary["episodes"] == int(ended.sum()) == sum(l["episodes"] for l in train)


def test_a_training_log_is_the_same_for_any_thread_count_and_is_replayed(tmp_path):
    name = "recsim_interest_evolution"
    one = cohort.log(name, set=TRAINING, out=tmp_path / "one", threads=1)
    cohort.log(name, set=TRAINING, out=tmp_path / "two", threads=2)
    a, ta, _ = columns(tmp_path / "one" / "log.h5")
    b, tb, _ = columns(tmp_path / "two" / "log.h5")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for key in ta:
        np.testing.assert_array_equal(ta[key], tb[key], err_msg=key)
    # cohort ope replays it (the logging agent learning again exactly as it did: a row
    # that did not replay would stop it) with every estimator, the same for both files.
    target = {"type": "epsilon_greedy", "epsilon": 0.3}
    r1 = cohort.ope(tmp_path / "one", target, bootstrap=50)
    r2 = cohort.ope(tmp_path / "two", target, bootstrap=50)
    assert set(r1["estimators"]) == {"dm", "ips", "snips", "clipped_ips", "switch", "dr", "iips", "pseudo_inverse",
                                     "rips"} and not r1["skipped"]
    for e in r1["estimators"].values():
        assert np.isfinite(e["estimate"])
    for key in ("truth", "estimators", "episodes", "steps"):
        assert r1[key] == r2[key], key
    # Whole episodes: the users the end of training cut are left out, and counted.
    assert r1["episodes"]["users"] == one["episodes"] and r1["episodes"]["users_cut"] == one["users_cut"] > 0


def test_the_sequence_columns_are_the_users_earlier_rows(tmp_path):
    """With env.observation.sequence, each logged step carries the user's last L
    steps as they were logged: entry e of a row is the row e + 1 steps earlier of
    the same user (its slate's items and topics, clicks, reward), across sessions;
    without the block the log has no sequence columns."""
    L = 3
    sets = {"env.observation.sequence.length": L, "run.episodes": 40}
    cohort.log("population_retention", set=sets, out=tmp_path / "seq")
    steps, _, _ = columns(tmp_path / "seq" / "log.h5")
    k = steps["slate"].shape[1]
    rows_of = {}
    for i, u in enumerate(steps["user_id"]):
        rows_of.setdefault(int(u), []).append(i)
    checked = sessions = 0
    for rows in rows_of.values():
        for n, i in enumerate(rows):
            assert steps["sequence_length"][i] == min(n, L)
            for e in range(min(n, L)):
                j = rows[n - 1 - e]
                topic = np.take(steps["candidate_topic"][j], steps["slate"][j])
                item = np.take(steps["candidate_item"][j], steps["slate"][j])
                np.testing.assert_array_equal(steps["sequence_topic"][i].reshape(L, k)[e], topic)
                np.testing.assert_array_equal(steps["sequence_item_id"][i].reshape(L, k)[e], item)
                np.testing.assert_array_equal(steps["sequence_clicked"][i].reshape(L, k)[e], steps["clicked"][j])
                assert steps["sequence_reward"][i][e] == steps["reward"][j]
                assert steps["sequence_session_step"][i][e] == steps["session_step"][j]
                sessions += steps["session"][j] > 0
                checked += 1
    assert checked > 1000 and sessions > 0
    cohort.log("population_retention", set={"run.episodes": 5}, out=tmp_path / "plain")
    plain, _, _ = columns(tmp_path / "plain" / "log.h5")
    assert not any(key.startswith("sequence_") for key in plain)
