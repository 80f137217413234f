"""`cohort ope` and cohort.ope on logs of `cohort log`: the truth is the simulator's,
IPS with the logging policy as target is the on-policy mean, the importance-weighted
estimators cover the truth on a random log, and bad inputs are refused."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import cohort

h5py = pytest.importorskip("h5py")
CLI = Path(cohort.cohort_binary())
needs_cli = pytest.mark.skipif(not CLI.exists(), reason=f"the cohort CLI is not built ({CLI})")
NAME = "recsim_interest_evolution"


@pytest.fixture(scope="module")
def random_log(tmp_path_factory):
    out = tmp_path_factory.mktemp("ope") / "random"
    cohort.log(NAME, set={"agent.type": "random", "run.episodes": 400, "run.num_envs": 32}, seed=4, out=out)
    return out


def test_the_truth_is_the_target_slates_exact_reward_on_the_logged_states(random_log):
    r = cohort.ope(random_log, {"type": "greedy"}, estimators=["ips"], bootstrap=50)
    # Replay: the logged states through cohort.make, the greedy target through cohort.agent.
    with h5py.File(random_log / "log.h5") as f:
        slates, users = f["steps/slate"][()], f["steps/user_id"][()]
    env = cohort.make(NAME, set={"agent.type": "random", "run.episodes": 400, "run.num_envs": 32}, seed=4,
                      num_envs=32, users=400)
    target = cohort.agent(env, "greedy")
    target.set_training(False)
    obs, info = env.reset()
    values, i = [], 0
    while info["active"].any():
        active = np.flatnonzero(info["active"])
        expected = env.truth.expected_reward(target.act(obs))
        n = len(active)
        np.testing.assert_array_equal(users[i:i + n], info["user_id"][active])
        values += list(expected[active])
        step = np.zeros((32, env.slate_size), dtype=np.int64)
        step[active] = slates[i:i + n]
        step[~info["active"]] = np.arange(env.slate_size)
        obs, *_, info = env.step(step)
        i += n
    assert i == r["steps"]
    assert r["truth"]["method"] == "exact"
    assert r["truth"]["value"] == pytest.approx(np.mean(values), rel=1e-12)


def test_ips_of_the_logging_policy_is_the_on_policy_mean(random_log):
    r = cohort.ope(random_log, "random", bootstrap=100)
    with h5py.File(random_log / "log.h5") as f:
        mean = float(np.mean(f["steps/reward"][()].astype(np.float64)))
    for name in ("ips", "snips", "iips", "rips", "pseudo_inverse", "clipped_ips"):
        assert r["estimators"][name]["estimate"] == pytest.approx(mean, rel=1e-12), name
    assert r["logging"]["value"] == pytest.approx(mean, rel=1e-12)
    # The truth of the random target is the mean exact reward of the logged slates' law: close to the mean reward.
    lo, hi = r["estimators"]["ips"]["ci95"]
    assert lo <= r["truth"]["value"] <= hi


def test_unbiased_estimators_cover_the_truth_and_the_model_free_ones_differ(random_log):
    r = cohort.ope(random_log, {"type": "logging", "policy": {"type": "greedy"}, "temperature": 0.5},
                   bootstrap=300)
    truth = r["truth"]["value"]
    for name in ("ips", "snips", "dr"):
        lo, hi = r["estimators"][name]["ci95"]
        assert lo <= truth <= hi, (name, lo, truth, hi)
    assert set(r["estimators"]) == {"dm", "ips", "snips", "clipped_ips", "switch", "dr", "iips", "pseudo_inverse",
                                    "rips"}
    assert r["estimators"]["ips"]["error"] == pytest.approx(r["estimators"]["ips"]["estimate"] - truth)


@needs_cli
def test_bad_inputs_are_refused_with_the_reason(tmp_path, random_log):
    def ope(*args):
        return subprocess.run([str(CLI), "ope", *map(str, args)], capture_output=True, text=True)

    r = ope(tmp_path / "nothing", "--target", "greedy")
    assert r.returncode == 2 and "has no log.h5" in r.stderr
    r = ope(random_log)
    assert r.returncode == 2 and "--target" in r.stderr
    r = ope(random_log, "--target", "greedy", "--estimators", "ipss")
    assert r.returncode == 2 and "did you mean \"ips\"" in r.stderr
    r = ope(random_log, "--target", "linear_ts")
    assert r.returncode == 2 and "no closed-form" in r.stderr
    r = ope(random_log, "--target", '{"type": "logging", "policy": {"type": "linear_ts"}}')
    assert r.returncode == 2 and "error: --target: /agent/policy/type: " in r.stderr
    r = ope(random_log, "--target", '{"type": "greedy", "scor": "affinity"}')
    assert r.returncode == 2 and "/agent/scor" in r.stderr
    # A log without propensities.
    stripped = tmp_path / "stripped"
    shutil.copytree(random_log, stripped)
    with h5py.File(stripped / "log.h5", "a") as f:
        del f["steps/position_propensity"]
    r = ope(stripped, "--target", "greedy")
    assert r.returncode == 2 and "without propensities" in r.stderr
    # A changed log does not replay.
    changed = tmp_path / "changed"
    shutil.copytree(random_log, changed)
    with h5py.File(changed / "log.h5", "a") as f:
        s = f["steps/slate"]
        first = s[100].copy()
        s[100] = first[::-1]
    r = ope(changed, "--target", "greedy")
    assert r.returncode == 1 and "does not replay at row 100" in r.stderr
    # A deterministic logging policy supports no importance weighting.
    oracle = tmp_path / "oracle"
    cohort.log(NAME, set={"agent.type": "oracle", "run.episodes": 20}, out=oracle)
    r = ope(oracle, "--target", "greedy", "--estimators", "ips")
    assert r.returncode == 2 and "deterministic" in r.stderr
    r = ope(oracle, "--target", "greedy", "--out", tmp_path / "dm.json")
    assert r.returncode == 0
    result = json.loads((tmp_path / "dm.json").read_text())
    assert list(result["estimators"]) == ["dm"] and "ips" in result["skipped"]


def test_several_logs_give_each_estimators_bias_stddev_and_rmse(tmp_path, random_log):
    other = tmp_path / "seed5"
    cohort.log(NAME, set={"agent.type": "random", "run.episodes": 400, "run.num_envs": 32}, seed=5, out=other)
    r = cohort.ope([random_log, other], "greedy", estimators=["ips", "dm"], bootstrap=50)
    assert len(r["logs"]) == 2 and set(r["over_logs"]) == {"ips", "dm"}
    for name in ("ips", "dm"):
        errors = np.array([log["estimators"][name]["estimate"] - log["truth"]["value"] for log in r["logs"]])
        got = r["over_logs"][name]
        assert got["bias"] == pytest.approx(errors.mean(), rel=1e-12)
        assert got["stddev"] == pytest.approx(errors.std(ddof=1), rel=1e-12)
        assert got["rmse"] == pytest.approx(np.sqrt((errors ** 2).mean()), rel=1e-12)
    assert r["logs"][0] == cohort.ope(random_log, "greedy", estimators=["ips", "dm"], bootstrap=50)


def test_per_decision_is_of_whole_episodes(random_log):
    same = cohort.ope(random_log, "random", estimators=["ips"], bootstrap=50)["episodes"]
    with h5py.File(random_log / "log.h5") as f:
        users, reward = f["steps/user_id"][()], f["steps/reward"][()].astype(np.float64)
    returns = np.array([reward[users == u].sum() for u in np.unique(users)])
    # The logging policy as target: every weight is 1, and rolling it out again gives the logged returns.
    assert same["users"] == 400
    assert same["pdis"]["estimate"] == pytest.approx(returns.mean(), rel=1e-12)
    assert same["truth"]["return"] == pytest.approx(returns.mean(), rel=1e-12)
    # A deterministic target against uniform logging: the cumulative weights vanish
    # within a few steps, so per-decision IS sees almost none of the return.
    greedy = cohort.ope(random_log, "greedy", estimators=["ips"], bootstrap=50)["episodes"]
    assert greedy["truth"]["return"] > returns.mean()
    assert greedy["pdis"]["estimate"] < 0.1 * greedy["truth"]["return"]


@needs_cli
def test_a_target_scenario_with_other_slates_is_refused(tmp_path, random_log):
    doc = json.loads((Path(__file__).resolve().parents[2] / "scenarios" / f"{NAME}.json").read_text())
    doc["env"]["slate_size"] = 3
    (tmp_path / "k3.json").write_text(json.dumps(doc))
    r = subprocess.run([str(CLI), "ope", str(random_log), "--target", str(tmp_path / "k3.json")], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "/env/slate_size" in r.stderr and "slates of 3" in r.stderr
    doc["env"]["slate_size"] = 2
    doc["agent"] = {"type": "greedy"}
    (tmp_path / "k2.json").write_text(json.dumps(doc))
    same = cohort.ope(random_log, str(tmp_path / "k2.json"), estimators=["ips"], bootstrap=20)
    assert same["target"]["type"] == "greedy"


def test_the_pseudo_inverse_under_non_uniform_logging(tmp_path):
    logging = {"type": "logging", "policy": {"type": "greedy"}, "epsilon": 0.5}
    out = tmp_path / "eps"
    cohort.log(NAME, set={"agent": logging, "run.episodes": 60}, out=out)
    r = cohort.ope(out, logging, estimators=["pseudo_inverse", "ips"], bootstrap=20)
    # Its exact weights (the logging policy's pairwise marginals at each step): with the
    # logging policy as target every slate it can choose gets weight 1, as IPS does.
    assert r["estimators"]["pseudo_inverse"]["estimate"] == pytest.approx(r["logging"]["value"], rel=1e-6)
    assert r["estimators"]["ips"]["estimate"] == pytest.approx(r["logging"]["value"], rel=1e-12)
    other = cohort.ope(out, {"type": "logging", "policy": {"type": "greedy"}, "temperature": 0.5},
                       estimators=["pseudo_inverse"], bootstrap=20)
    assert np.isfinite(other["estimators"]["pseudo_inverse"]["estimate"]) and not other["skipped"]


def test_the_pseudo_inverse_beyond_enumeration_from_the_closed_form_second_moment(tmp_path):
    # k = 4 of K = 10: 5040 ordered slates, past the enumeration limit (5000); the
    # epsilon mixture's second moment comes in closed form. With the logging policy
    # as target every slate it can choose weighs 1.
    logging = {"type": "logging", "policy": {"type": "greedy"}, "epsilon": 0.5}
    out = tmp_path / "eps_k4"
    cohort.log(NAME, set={"agent": logging, "run.episodes": 30, "env.slate_size": 4}, out=out)
    r = cohort.ope(out, logging, estimators=["pseudo_inverse", "ips"], bootstrap=20)
    assert not r["skipped"]
    assert r["estimators"]["pseudo_inverse"]["estimate"] == pytest.approx(r["logging"]["value"], rel=1e-6)
    # A Plackett-Luce logging policy there has no closed form: skipped, with the reason.
    softmax = {"type": "logging", "policy": {"type": "greedy"}, "temperature": 0.5}
    out = tmp_path / "softmax_k4"
    cohort.log(NAME, set={"agent": softmax, "run.episodes": 5, "env.slate_size": 4}, out=out)
    r = cohort.ope(out, "greedy", bootstrap=20)
    assert "pseudo_inverse" in r["skipped"] and "Plackett-Luce" in r["skipped"]["pseudo_inverse"]


def test_the_general_pseudo_inverse_weights_equal_the_uniform_closed_form(tmp_path, random_log):
    # The same uniform log, once labelled as what it is (closed-form weights) and once
    # as a mixture, which sends cohort ope through the general weights from the logging
    # policy's pairwise marginals: both must agree.
    relabelled = tmp_path / "relabelled"
    shutil.copytree(random_log, relabelled)
    with h5py.File(relabelled / "log.h5", "a") as f:
        f.attrs["slate_law"] = np.bytes_("epsilon_mixture(uniform, ranking)")
    target = {"type": "logging", "policy": {"type": "greedy"}, "temperature": 0.5}
    closed = cohort.ope(random_log, target, estimators=["pseudo_inverse"], bootstrap=20)
    general = cohort.ope(relabelled, target, estimators=["pseudo_inverse"], bootstrap=20)
    assert general["logging_law"] != closed["logging_law"]
    assert general["estimators"]["pseudo_inverse"]["estimate"] == pytest.approx(
        closed["estimators"]["pseudo_inverse"]["estimate"], rel=1e-9)


def test_a_click_model_learned_from_a_log_alone_is_judged_online(tmp_path, random_log):
    model = cohort.train_offline(random_log, out=tmp_path / "click.json")
    assert model["kind"] == "cohort_click_model" and model["fitted_on"]["rows"] > 0
    agent = {"type": "click_model", "model": str(tmp_path / "click.json")}
    learned = cohort.run(NAME, set={"agent": agent, "run.episodes": 400}, seed=4)
    # The logging policy was uniformly random: normalized score 0 by definition.
    assert learned["normalized_score"] - learned["normalized_score_ci95"] > 0.5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**model, "item": model["item"][:3]}))
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.run(NAME, set={"agent": {"type": "click_model", "model": str(bad)}, "run.episodes": 5})
    assert e.value.path == "/item"
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.run(NAME, set={"agent": {"type": "click_model"}, "run.episodes": 5})
    assert e.value.path == "/agent/model"


def test_train_offline_takes_the_agent_and_reports_the_true_online_value(tmp_path, random_log):
    # The click model by name: the model file plus a summary beside it.
    s = cohort.train_offline(random_log, out=tmp_path / "click.json", agent="click_model")
    assert s["agent"]["type"] == "click_model" and (tmp_path / "click.summary.json").exists()
    online = s["online"]
    assert online["users"] == 400 and online["first_user"] == cohort.FIRST_EVAL_USER
    # The uniformly random logging policy scores about 0; the model learned from it far more.
    assert online["learned"]["normalized_score"] - online["learned"]["normalized_score_ci95"] > 0.5
    assert abs(online["logging"]["normalized_score"]) < 3 * online["logging"]["normalized_score_ci95"] + 0.05
    # Off-policy REINFORCE as an agent dict: a checkpoint directory and its summary.
    agent = {"type": "reinforce", "offline": {"behaviour": "logged", "epochs": 2}}
    r = cohort.train_offline(random_log, out=tmp_path / "rf", agent=agent, evaluate=False)
    assert r["agent"]["offline"]["behaviour"] == "logged" and "online" not in r
    assert (tmp_path / "rf" / "checkpoint.bin").exists() and (tmp_path / "rf" / "summary.json").exists()
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.train_offline(random_log, out=tmp_path / "g", agent="greedy")
    assert "cannot learn from a log" in str(e.value)
    with pytest.raises(ValueError):
        cohort.train_offline(random_log, out=tmp_path / "g", agent=3)


def test_pretraining_a_sequence_encoder_on_a_log_then_a_warm_started_run(tmp_path, random_log):
    # The log has no sequence; sequence=6 replays it with one, for the GRU.
    agent = {"type": "reinforce", "encoder": {"type": "gru", "hidden": 8},
             "offline": {"objective": "next_click", "epochs": 1}}
    r = cohort.train_offline(random_log, out=tmp_path / "pre", agent=agent, evaluate=False, sequence=6)
    assert r["sequence"] == 6 and r["fit"]["click_nll"] > 0 and r["fit"]["steps"] > 0
    run = cohort.run(NAME, set={"env.observation.sequence.length": 6, "run.num_envs": 8, "run.train_steps": 8,
                                "run.episodes": 8, "agent": {"type": "reinforce", "encoder": {"type": "gru", "hidden": 8},
                                                             "init": str(tmp_path / "pre")}},
                     out=tmp_path / "warm")
    assert run["train_steps"] == 8
    resolved = json.loads((tmp_path / "warm" / "scenario.resolved.json").read_text())
    assert resolved["agent"]["init"] == str(tmp_path / "pre")
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.run(NAME, set={"env.observation.sequence.length": 6, "run.episodes": 8,
                              "agent": {"type": "reinforce", "init": str(tmp_path / "pre")}})
    assert e.value.path == "/agent/init"
    with pytest.raises(ValueError):
        cohort.train_offline(random_log, out=tmp_path / "x", agent=agent, sequence=-1)
    with pytest.raises(ValueError):
        cohort.train_offline(random_log, out=tmp_path / "x.json", sequence=6)


def test_an_off_policy_sweep_logs_evaluates_and_reports(tmp_path):
    target = {"type": "logging", "policy": {"type": "greedy"}, "temperature": 0.5}
    sweep = {"name": "ope_test", "base": str(Path(__file__).resolve().parents[2] / "scenarios" / f"{NAME}.json"),
             "job": "ope", "ope": {"target": target, "estimators": ["ips", "dr"], "bootstrap": 50},
             "set": {"agent.type": "random", "run.num_envs": 16},
             "axes": [{"path": "run.episodes", "values": [20, 40]}], "seeds": {"start": 0, "count": 2}}
    file = tmp_path / "sweep.json"
    file.write_text(json.dumps(sweep))
    totals = cohort.sweep(file, out=tmp_path / "out", jobs=2)
    assert totals["done"] == 4 and totals["failed"] == 0
    rows = cohort.report(tmp_path / "out")
    assert len(rows) == 4
    for row in rows:
        cell = tmp_path / "out" / "cells" / row["cell"]
        # The cell's numbers are cohort ope's on the cell's own log.
        again = cohort.ope(cell, target, estimators=["ips", "dr"], bootstrap=50)
        assert row["truth"] == again["truth"]["value"]
        for e in ("ips", "dr"):
            est = again["estimators"][e]
            assert row[f"{e}_estimate"] == est["estimate"]
            assert row[f"{e}_error"] == est["estimate"] - again["truth"]["value"]
            assert row[f"{e}_squared_error"] == pytest.approx(row[f"{e}_error"] ** 2, rel=1e-12)
            assert row[f"{e}_covered"] == int(est["ci95"][0] <= again["truth"]["value"] <= est["ci95"][1])
        assert row["slates"] == again["steps"]
    # Without a metrics list the report tabulates the truth and the errors.
    md = (tmp_path / "out" / "results.md").read_text()
    assert "### truth" in md and "### ips_error" in md and "### dr_squared_error" in md
    # A second call finds every cell done.
    assert cohort.sweep(file, out=tmp_path / "out", jobs=2)["skipped"] == 4


@needs_cli
def test_cohort_log_with_a_target_writes_the_evaluation(tmp_path):
    out = tmp_path / "log"
    run = subprocess.run([str(CLI), "log", NAME, "--set", "agent.type=random", "--set", "run.episodes=20", "--out",
                          str(out), "--quiet", "--target", "greedy", "--estimators", "ips", "--bootstrap", "20"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "off-policy value of greedy" in run.stdout
    summary = json.loads((out / "summary.json").read_text())
    full = json.loads((out / "ope.json").read_text())
    assert summary["truth"] == full["truth"]["value"] and "ips_error" in summary and "dr_error" not in summary
    # Replacing the log removes the old evaluation first; a bad flag is exit 2.
    bad = subprocess.run([str(CLI), "log", NAME, "--out", str(out), "--force", "--bootstrap", "5"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--bootstrap: evaluates a target on the log: give --target AGENT too" in bad.stderr
    assert (out / "summary.json").exists()  # refused before anything was touched


def test_the_terms_file_gives_back_every_estimate(tmp_path):
    # A mixture log (the pseudo-inverse's exact weights are written too) and a
    # Plackett-Luce target: every estimator recomputed from the file alone.
    log = tmp_path / "eps"
    cohort.log(NAME, set={"agent": {"type": "logging", "policy": {"type": "greedy"}, "epsilon": 0.3},
                          "run.episodes": 30, "run.num_envs": 8}, seed=2, out=log)
    target = {"type": "logging", "policy": {"type": "greedy"}, "temperature": 0.5}
    r = cohort.ope(log, target, bootstrap=20, terms=tmp_path / "terms.h5")
    assert r["terms"] == str(tmp_path / "terms.h5") and sorted(p.name for p in tmp_path.iterdir()) == ["eps", "terms.h5"]
    with h5py.File(tmp_path / "terms.h5") as f:
        t = {k: f["terms"][k][()] for k in f["terms"]}
        truth = f["truth/target_value"][()]
        docs = {name: f[name].attrs["doc"] for name in [f"terms/{k}" for k in t] + ["truth/target_value"]}
        assert f.attrs["format"] == b"cohort ope terms 1" and json.loads(f.attrs["target"])["type"] == "logging"
        assert json.loads(f.attrs["result"])["estimators"] == r["estimators"]
    with h5py.File(log / "log.h5") as f:
        np.testing.assert_array_equal(t["slate"], f["steps/slate"][()])
        np.testing.assert_array_equal(t["user_id"], f["steps/user_id"][()])
        np.testing.assert_array_equal(t["slate_propensity"], f["steps/slate_propensity"][()])
    assert all(len(d) > 10 for d in docs.values())
    n, k = t["slate"].shape
    K = t["pi_position_item"].shape[1] // k
    pi = t["pi_position_item"].reshape(n, k, K)
    model = t["model_position_item"].reshape(n, k, K)
    at = lambda m: np.take_along_axis(m, t["slate"][:, :, None].astype(np.int64), axis=2)[:, :, 0]
    np.testing.assert_allclose(pi.sum(axis=2), 1.0, atol=1e-12)
    np.testing.assert_array_equal(at(pi), t["pi_marginal"])
    np.testing.assert_array_equal(at(model), t["model_position"])
    np.testing.assert_allclose((pi * model).sum(axis=(1, 2)), t["model_target_value"], rtol=1e-12)
    np.testing.assert_allclose(t["mu_conditional"].prod(axis=1), t["slate_propensity"], rtol=1e-12)
    w = np.prod(t["pi_conditional"] / t["mu_conditional"], axis=1)
    wj = t["pi_marginal"] / t["mu_marginal"]
    cascade = np.cumprod(t["pi_conditional"] / t["mu_conditional"], axis=1)
    reward, dm = t["reward"], t["model_target_value"]
    expected = {
        "dm": dm.mean(),
        "ips": (w * reward).mean(),
        "snips": (w * reward).sum() / w.sum(),
        "dr": (dm + w * (reward - t["model_position"].sum(axis=1))).mean(),
        "iips": (wj * t["position_reward"]).sum(axis=1).mean(),
        "rips": (cascade * t["position_reward"]).sum(axis=1).mean(),
        "pseudo_inverse": (t["pseudo_inverse_weight"] * reward).mean(),
    }
    for name, value in expected.items():
        assert r["estimators"][name]["estimate"] == pytest.approx(value, rel=1e-10, abs=1e-12), name
    assert r["truth"]["value"] == pytest.approx(truth.mean(), rel=1e-12)


@needs_cli
def test_the_cli_writes_the_same_terms_and_refuses_bad_paths(tmp_path, random_log):
    def ope(*args):
        return subprocess.run([str(CLI), "ope", *map(str, args)], capture_output=True, text=True)

    r = ope(random_log, "--target", "greedy", "--estimators", "ips", "--bootstrap", "10", "--terms", tmp_path / "t.h5")
    assert r.returncode == 0, r.stderr
    cohort.ope(random_log, "greedy", estimators=["ips"], bootstrap=10, terms=tmp_path / "p.h5")
    with h5py.File(tmp_path / "t.h5") as a, h5py.File(tmp_path / "p.h5") as b:
        for group in ("terms", "truth"):
            assert set(a[group]) == set(b[group])
            for k in a[group]:
                np.testing.assert_array_equal(a[group][k][()], b[group][k][()])
        assert "pseudo_inverse_weight" not in a["terms"]  # uniform logging: the closed form, no weights column
    r = ope(random_log, "--target", "greedy", "--terms", tmp_path / "missing" / "t.h5")
    assert r.returncode == 2 and "--terms" in r.stderr and "does not exist" in r.stderr
    r = ope(random_log, "--target", "greedy", "--terms", tmp_path)
    assert r.returncode == 2 and "is a directory" in r.stderr
    r = ope(random_log, random_log, "--target", "greedy", "--terms", tmp_path / "two.h5")
    assert r.returncode == 2 and "one LOG_DIR" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.h5", "t.h5"]


def _train(out, steps, num_envs, seed=0, **more):
    sets = {"agent.type": "reinforce", "run.train_steps": steps, "run.num_envs": num_envs, "run.episodes": 16,
            **more}
    cohort.run(NAME, set=sets, seed=seed, out=out)
    return out


def test_a_training_checkpoint_as_target_is_its_trained_agent_frozen(tmp_path, random_log):
    # Five steps of an 8-step rollout: no update yet, so the checkpoint holds the
    # untrained weights the log's seed (4) gives, which the plain agent block has too.
    # Runs of 8, 32 and 64 slots on the 32-slot log (the frozen agent acting in
    # chunks of its own slots, or padded) give its estimates and truth.
    plain = cohort.ope(random_log, "reinforce", bootstrap=20)
    for slots in (8, 32, 64):
        run = _train(tmp_path / f"untrained{slots}", 5, slots, seed=4)
        r = cohort.ope(random_log, str(run), bootstrap=20)
        assert r["target_checkpoint"] == {"file": str(run / "checkpoint.bin"), "step": 5}
        if slots == 32:  # the same batches: bit-identical
            assert r["truth"] == plain["truth"] and r["estimators"] == plain["estimators"]
        # Other batch sizes round the network's matrix products differently.
        assert r["truth"]["value"] == pytest.approx(plain["truth"]["value"], rel=1e-9), slots
        for name, e in plain["estimators"].items():
            assert r["estimators"][name]["estimate"] == pytest.approx(e["estimate"], rel=1e-9), (slots, name)
    same = cohort.ope(random_log, tmp_path / "untrained32" / "checkpoint.bin", bootstrap=20)  # a Path too
    assert same["truth"] == plain["truth"]
    # The loaded weights are used: trained ones (five updates), and another seed's, differ.
    trained = cohort.ope(random_log, str(_train(tmp_path / "trained", 40, 32, seed=4)), bootstrap=20)
    other = cohort.ope(random_log, str(_train(tmp_path / "other_seed", 40, 32, seed=5)), bootstrap=20)
    truths = {plain["truth"]["value"], trained["truth"]["value"], other["truth"]["value"]}
    assert len(truths) == 3


@needs_cli
def test_a_checkpoint_that_does_not_fit_the_log_or_is_damaged_is_refused(tmp_path, random_log):
    def ope(target):
        return subprocess.run([str(CLI), "ope", str(random_log), "--target", str(target)], capture_output=True,
                              text=True)

    r = ope(_train(tmp_path / "k3", 5, 8, **{"env.slate_size": 3}))
    assert r.returncode == 2 and "/env/slate_size" in r.stderr and "k3/checkpoint.bin" in r.stderr
    r = ope(_train(tmp_path / "k20", 5, 8, **{"env.candidates": 20}))
    assert r.returncode == 2 and "/env/candidates" in r.stderr
    (tmp_path / "empty").mkdir()
    r = ope(tmp_path / "empty")
    assert r.returncode == 2 and "has no checkpoint.bin" in r.stderr
    run = _train(tmp_path / "damaged", 5, 8)
    data = bytearray((run / "checkpoint.bin").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (run / "checkpoint.bin").write_bytes(bytes(data))
    r = ope(run)
    assert r.returncode == 2 and "corrupt" in r.stderr and "damaged/checkpoint.bin" in r.stderr
    with pytest.raises(cohort.ScenarioError):
        cohort.ope(random_log, str(run))
