"""The CLI's jobs from Python (cohort.run, sweep, report, meta_train): the same
results and files as the command line, the same refusals."""
import json
import os
import subprocess
from pathlib import Path

import pytest

import cohort

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(cohort.cohort_binary())
needs_cli = pytest.mark.skipif(not CLI.exists(), reason=f"the cohort CLI is not built ({CLI})")
TIMING = {"steps_per_second", "elapsed_seconds"}
ENV = dict(os.environ)  # conftest.py pins the kernels for this process and its children


def cli(*args, check=True):
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, env=ENV, check=check)


def untimed(summary):
    return {k: v for k, v in summary.items() if k not in TIMING}


@needs_cli
@pytest.mark.parametrize("name,sets", [
    ("recsim_interest_evolution", {"run.episodes": 300, "agent.type": "linucb"}),
    ("population_retention", {"run.episodes": 200}),
])
def test_run_returns_the_clis_summary(tmp_path, name, sets):
    args = ["run", name, "--seed", 2, "--out", tmp_path / "cli", "--quiet"]
    for k, v in sets.items():
        args += ["--set", f"{k}={json.dumps(v)}"]
    cli(*args)
    expected = json.load(open(tmp_path / "cli" / "summary.json"))
    got = cohort.run(name, set=sets, seed=2)
    assert untimed(got) == untimed(expected)
    assert "normalized_score" in got
    # With out, the same files as the CLI's.
    again = cohort.run(name, set=sets, seed=2, out=tmp_path / "py")
    assert untimed(again) == untimed(expected)
    for f in ("metrics.jsonl", "scenario.resolved.json"):
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f


@needs_cli
def test_a_training_run_matches_the_cli_and_keeps_nothing_without_out(tmp_path):
    sets = {"agent": {"type": "reinforce"}, "run.train_steps": 40, "run.num_envs": 16, "run.episodes": 32}
    args = ["run", "long_term_value", "--out", tmp_path / "cli", "--quiet"]
    for k, v in sets.items():
        args += ["--set", f"{k}={json.dumps(v)}"]
    cli(*args)
    expected = json.load(open(tmp_path / "cli" / "summary.json"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    os.environ["TMPDIR"] = str(tmp)
    try:
        got = cohort.run("long_term_value", set=sets)
    finally:
        del os.environ["TMPDIR"]
    assert untimed(got) == untimed(expected)
    assert list(tmp.iterdir()) == []  # the temporary training directory is gone


def test_run_directories_are_not_redone_nor_overwritten(tmp_path):
    sets = {"run.episodes": 50}
    first = cohort.run("recsim_interest_evolution", set=sets, out=tmp_path / "r")
    mtime = (tmp_path / "r" / "summary.json").stat().st_mtime_ns
    assert cohort.run("recsim_interest_evolution", set=sets, out=tmp_path / "r") == first
    assert (tmp_path / "r" / "summary.json").stat().st_mtime_ns == mtime
    with pytest.raises(cohort.ScenarioError, match="different scenario"):
        cohort.run("recsim_interest_evolution", set={"run.episodes": 60}, out=tmp_path / "r")
    forced = cohort.run("recsim_interest_evolution", set={"run.episodes": 60}, out=tmp_path / "r", force=True)
    assert forced["episodes"] == 60
    (tmp_path / "file").write_text("x")
    with pytest.raises(cohort.ScenarioError, match="not a directory"):
        cohort.run("recsim_interest_evolution", out=tmp_path / "file")
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.run("recsim_interest_evolution", set={"run.episodez": 3})
    assert e.value.path == "/run/episodez"
    with pytest.raises(TypeError):
        cohort.run("recsim_interest_evolution", threads="2")


@needs_cli
def test_sweep_and_report_give_the_clis_cells_and_rows(tmp_path):
    sweep = ROOT / "tests" / "data" / "sweeps" / "small.json"
    totals = cohort.sweep(sweep, out=tmp_path / "s", jobs=2, set={"run.episodes": 200})
    assert totals == {"out": str(tmp_path / "s"), "total": 6, "skipped": 0, "done": 6, "failed": 0,
                      "interrupted": 0}
    assert cohort.sweep(sweep, out=tmp_path / "s", set={"run.episodes": 200})["skipped"] == 6
    rows = cohort.report(tmp_path / "s")
    assert (tmp_path / "s" / "results.md").exists() and (tmp_path / "s" / "results.csv").exists()
    assert [r["cell"] for r in rows] == sorted(r["cell"] for r in rows) and len(rows) == 6
    for r in rows:
        summary = json.load(open(tmp_path / "s" / "cells" / r["cell"] / "summary.json"))
        assert r["status"] == "done" and r["agent.type"] in ("random", "greedy")
        assert r["return_mean"] == summary["return_mean"] and r["episodes"] == 200
    # The CLI's sweep of the same file gives the same summaries.
    cli("sweep", sweep, "--out", tmp_path / "c", "--jobs", 2, "--quiet", "--set", "run.episodes=200")
    for r in rows:
        a = json.load(open(tmp_path / "s" / "cells" / r["cell"] / "summary.json"))
        b = json.load(open(tmp_path / "c" / "cells" / r["cell"] / "summary.json"))
        assert untimed(a) == untimed(b)
    with pytest.raises(cohort.ScenarioError, match="metric"):
        cohort.report(tmp_path / "s", metrics=["return_meen"])
    with pytest.raises(ValueError, match="shard"):
        cohort.sweep(sweep, out=tmp_path / "x", shard=(2, 2))


def test_meta_train_writes_and_returns_the_rule(tmp_path):
    meta = {"name": "py_meta", "scenario": str(ROOT / "tests" / "data" / "family.json"),
            "agent": {"type": "reinforce", "hidden": [], "rollout_steps": 4}, "rule": {"lr": 0.01},
            "lifetime": {"steps": 8, "num_envs": 8, "eval_users": 8, "evals": 2},
            "es": {"pairs": 3, "generations": 2, "sigma": 0.1, "seed": 1},
            "validation": {"every": 2, "variants": 2}, "threads": 1}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    got = cohort.meta_train(tmp_path / "meta.json", out=tmp_path / "m")
    assert got["rule"]["kind"] == "cohort_learned_optimizer" and len(got["rule"]["theta"]) == 450
    assert len(got["progress"]) == 3 and got["best_rule"] is not None
    # The same call again finds the run complete: nothing reruns.
    assert cohort.meta_train(tmp_path / "meta.json", out=tmp_path / "m") == got
    assert cohort.meta_train(None, out=tmp_path / "m", resume=True) == got
    with pytest.raises(cohort.ScenarioError, match="another meta file"):
        cohort.meta_train(tmp_path / "meta.json", out=tmp_path / "m", set={"es.generations": 4})
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.meta_train(tmp_path / "meta.json", out=tmp_path / "bad", set={"es.pairz": 2})
    assert "pairz" in e.value.path


def test_sigint_stops_a_training_run_which_the_same_call_then_continues(tmp_path):
    import signal
    import sys
    import time
    sets = {"agent": {"type": "reinforce"}, "run.train_steps": 12000, "run.num_envs": 16, "run.episodes": 32,
            "run.checkpoint_every": 100}
    call = f"cohort.run('long_term_value', set={sets!r}, out={str(tmp_path / 'r')!r})"
    child = subprocess.Popen([sys.executable, "-c", f"import cohort; {call}"], stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    deadline = time.time() + 60
    while not (tmp_path / "r" / "checkpoint.bin").exists() and time.time() < deadline and child.poll() is None:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0 and "KeyboardInterrupt: the run stopped by SIGINT" in err, err
    assert not (tmp_path / "r" / "summary.json").exists() and (tmp_path / "r" / "checkpoint.bin").exists()
    resumed = cohort.run("long_term_value", set=sets, out=tmp_path / "r")
    straight = cohort.run("long_term_value", set=sets)
    assert untimed(resumed) == untimed(straight)


def test_run_reports_people_apart_from_bots_and_the_exposure_metrics():
    # env.users.bots (docs/simulator.md, "Bots"): the summary splits the return
    # by people and bots, next to the exposure metrics of every run.
    bots = [{"kind": "click_farm", "fraction": 0.2, "topic": 3}, {"kind": "random", "fraction": 0.1}]
    got = cohort.run("recsim_interest_evolution", set={"env.users.bots": bots, "run.episodes": 120,
                                                       "run.num_envs": 24})
    assert got["human_users"] + got["bot_users"] == 120
    assert 50 < got["human_users"] < 110
    for key in ("human_return_mean", "bot_return_mean", "human_normalized_score", "exposure_gini",
                "long_tail_share", "exposure_merit_gap", "calibration_kl"):
        assert isinstance(got[key], float), key
    people = cohort.run("recsim_interest_evolution", set={"run.episodes": 120, "run.num_envs": 24})
    assert "human_users" not in people and "exposure_gini" in people
    with pytest.raises(cohort.ScenarioError, match="fractions sum to"):
        cohort.run("recsim_interest_evolution", set={"env.users.bots": [{"kind": "random", "fraction": 0.7},
                                                                         {"kind": "clickbait", "fraction": 0.7}]})
