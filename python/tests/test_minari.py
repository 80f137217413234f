"""cohort.to_minari: a log exported in Minari's dataset layout. The structure is
checked with h5py against the layout Minari documents and writes (CI has no
Minari); when minari is importable, Minari itself loads the dataset and its
episodes are compared with the log."""
import json
import os

import numpy as np
import pytest

import cohort

h5py = pytest.importorskip("h5py")

# (scenario, sets): one-hot topics with an unobserved budget and no history;
# embeddings with a history and noisy interests; an observed budget.
LOGS = {
    "recsim": ("recsim_interest_evolution",
               {"agent": {"type": "epsilon_greedy", "epsilon": 0.3}, "run.episodes": 9, "run.num_envs": 4}),
    "retention": ("population_retention",
                  {"agent": {"type": "logging", "policy": {"type": "popularity"}, "epsilon": 0.2},
                   "run.episodes": 5, "run.num_envs": 5}),
    "budget": ("recsim_interest_evolution",
               {"agent.type": "random", "env.observation.budget": True, "run.episodes": 3, "run.num_envs": 2}),
}


@pytest.fixture(scope="module", params=sorted(LOGS))
def exported(request, tmp_path_factory):
    name, sets = LOGS[request.param]
    root = tmp_path_factory.mktemp(request.param)
    cohort.log(name, set=sets, seed=1, out=root / "log")
    meta = cohort.to_minari(root / "log", root / "ds" / "cohort" / "test-v0", dataset_id="cohort/test-v0", truth=True)
    with h5py.File(root / "log" / "log.h5", "r") as f:
        steps = {k: f["steps"][k][()] for k in f["steps"]}
        truth = {k: f["truth"][k][()] for k in f["truth"]}
        scenario = json.loads(f.attrs["scenario"])
    env = cohort.make(scenario, num_envs=1, users=1)
    return root, meta, steps, truth, env


def episodes_of(steps):
    users = np.unique(steps["user_id"])
    return [(int(u), np.flatnonzero(steps["user_id"] == u)) for u in users]


def test_the_metadata_is_minaris(exported):
    root, meta, steps, _, env = exported
    data = root / "ds" / "cohort" / "test-v0" / "data"
    assert sorted(os.listdir(data)) == ["main_data.hdf5", "metadata.json"]
    on_disk = json.loads((data / "metadata.json").read_text())
    assert on_disk == meta
    assert on_disk["dataset_id"] == "cohort/test-v0" and on_disk["data_format"] == "hdf5"
    assert on_disk["total_steps"] == len(steps["reward"])
    assert on_disk["total_episodes"] == len(np.unique(steps["user_id"]))
    assert on_disk["minari_version"] == "0.5.0"
    # The spaces: Minari's JSON of a Dict of Boxes (one per observation key of
    # cohort.make) and of MultiDiscrete([K] * k).
    obs = json.loads(on_disk["observation_space"])
    assert obs["type"] == "Dict" and set(obs["subspaces"]) == set(env.single_observation_space.spaces)
    for key, space in env.single_observation_space.spaces.items():
        s = obs["subspaces"][key]
        assert s["type"] == "Box" and tuple(s["shape"]) == space.shape and s["dtype"] == str(space.dtype)
        np.testing.assert_array_equal(np.array(s["low"], dtype=s["dtype"]), space.low)
        np.testing.assert_array_equal(np.array(s["high"], dtype=s["dtype"]), space.high)
    act = json.loads(on_disk["action_space"])
    assert act == {"type": "MultiDiscrete", "dtype": "int64", "nvec": [env.num_candidates] * env.slate_size,
                   "start": [0] * env.slate_size}
    assert not any(p.name.startswith(".") for p in (root / "ds" / "cohort").iterdir())  # no temporary left


def test_every_episode_is_one_users_steps(exported):
    root, _, steps, truth, env = exported
    K, k = env.num_candidates, env.slate_size
    spaces = env.single_observation_space.spaces
    with h5py.File(root / "ds" / "cohort" / "test-v0" / "data" / "main_data.hdf5", "r") as h:
        eps = episodes_of(steps)
        assert sorted(h.keys()) == sorted(f"episode_{e}" for e in range(len(eps)))
        for e, (user, rows) in enumerate(eps):
            g = h[f"episode_{e}"]
            N = len(rows)
            np.testing.assert_array_equal(steps["step"][rows], np.arange(N))
            assert g.attrs["id"] == e and g.attrs["total_steps"] == N and g.attrs["user_id"] == user
            assert np.isclose(g.attrs["rewards_sum"], steps["reward"][rows].sum())
            # Observations: N + 1 rows of every key of the space, in it; the
            # first N the logged ones, the last the last one repeated.
            assert set(g["observations"]) == set(spaces)
            for key, space in spaces.items():
                o = g["observations"][key][()]
                assert o.shape == (N + 1,) + space.shape and o.dtype == space.dtype, key
                for t in (0, N - 1, N):
                    assert space.contains(o[t]), (key, t)
                np.testing.assert_array_equal(o[N], o[N - 1])
                if key == "budget" and not env.env_spec["budget_observed"]:
                    assert (o == 0).all()
                elif key in steps:
                    np.testing.assert_array_equal(o[:N].reshape(N, -1), steps[key][rows].reshape(N, -1))
            np.testing.assert_array_equal(g["actions"][()], steps["slate"][rows])
            assert g["actions"].dtype == np.int64
            np.testing.assert_array_equal(g["rewards"][()], steps["reward"][rows])
            np.testing.assert_array_equal(g["terminations"][()], steps["terminated"][rows] == 1)
            np.testing.assert_array_equal(g["truncations"][()], steps["truncated"][rows] == 1)
            assert g["terminations"].dtype == bool
            assert g["terminations"][-1] or g["truncations"][-1]
            # Infos: N + 1 rows, row t + 1 the step that took actions[t].
            infos = g["infos"]
            p = infos["slate_propensity"][()]
            assert p.shape == (N + 1,) and np.isnan(p[0])
            np.testing.assert_array_equal(p[1:], steps["slate_propensity"][rows])
            np.testing.assert_array_equal(infos["position_item_propensity"][1:], steps["position_item_propensity"][rows]
                                          .reshape(N, k, K))
            np.testing.assert_array_equal(infos["position_propensity"][1:], steps["position_propensity"][rows])
            np.testing.assert_array_equal(infos["clicked"][1:], steps["clicked"][rows] == 1)
            np.testing.assert_array_equal(infos["click_position"][()], np.r_[-1, steps["click_position"][rows]])
            np.testing.assert_array_equal(infos["truth/expected_reward"][1:], truth["expected_reward"][rows])


def test_minari_loads_it(exported, monkeypatch):
    minari = pytest.importorskip("minari")
    root, _, steps, _, env = exported
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root / "ds"))
    ds = minari.load_dataset("cohort/test-v0")
    assert ds.total_steps == len(steps["reward"]) and ds.total_episodes == len(np.unique(steps["user_id"]))
    assert set(ds.observation_space.spaces) == set(env.single_observation_space.spaces)
    for e, (user, rows) in enumerate(episodes_of(steps)):
        ep = ds[e]
        assert len(ep) == len(rows)
        np.testing.assert_array_equal(ep.actions, steps["slate"][rows])
        np.testing.assert_array_equal(ep.rewards, steps["reward"][rows])
        np.testing.assert_array_equal(ep.observations["candidate_topic"][:-1], steps["candidate_topic"][rows])
        np.testing.assert_array_equal(ep.infos["slate_propensity"][1:], steps["slate_propensity"][rows])
        for t in (0, len(rows)):
            assert ds.observation_space.contains({key: v[t] for key, v in ep.observations.items()})
        assert ds.action_space.contains(ep.actions[0])


def test_refusals_and_replacement(tmp_path):
    sets = {"agent.type": "random", "run.episodes": 2}
    cohort.log("recsim_interest_evolution", set=sets, out=tmp_path / "log")
    out = tmp_path / "ds"
    with pytest.raises(ValueError, match="name-vN"):
        cohort.to_minari(tmp_path / "log", out, dataset_id="no_version")
    assert not out.exists() and os.listdir(tmp_path) == ["log"]
    with pytest.raises(FileNotFoundError, match="no log here"):
        cohort.to_minari(tmp_path, out)
    meta = cohort.to_minari(tmp_path / "log", out)
    assert meta["dataset_id"] == "cohort/recsim_interest_evolution-v0" and meta["total_episodes"] == 2
    with pytest.raises(FileExistsError, match="force"):
        cohort.to_minari(tmp_path / "log", out)
    cohort.to_minari(tmp_path / "log", out, dataset_id="other-v3", force=True)
    assert json.loads((out / "data" / "metadata.json").read_text())["dataset_id"] == "other-v3"
    (tmp_path / "plain").mkdir()
    with pytest.raises(FileExistsError, match="holds no Minari dataset"):
        cohort.to_minari(tmp_path / "log", tmp_path / "plain", force=True)
    assert sorted(os.listdir(tmp_path)) == ["ds", "log", "plain"]
