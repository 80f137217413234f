"""A Cohort log (docs/logs.md) exported as a Minari dataset, the layout of
offline-RL datasets that Farama's Minari reads (docs/logs.md, "Minari export").

    cohort.to_minari("logs/eps", "datasets/cohort/recsim-v0", dataset_id="cohort/recsim-v0")

The dataset directory gets data/main_data.hdf5 (one group episode_<i> per
logged user, in user order) and data/metadata.json (the dataset's id, counts
and serialized spaces), as Minari's HDF5 storage writes them (checked against
Minari 0.5's source: minari/dataset/_storages/hdf5_storage.py,
minari/dataset/minari_storage.py, minari/serialization.py). Written with h5py
alone: Minari is not needed to write it, nor to read it.
"""
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np

# The Minari release whose on-disk layout this writes (metadata.json with
# data_format, episode_<i> groups). Minari checks this field against the
# versions it reads; every release since 0.5.0 reads 0.5.0 datasets.
MINARI_LAYOUT_VERSION = "0.5.0"
# (namespace/)name-vN, as Minari parses a dataset id (the version is required:
# Minari's parser fails without it).
_DATASET_ID = re.compile(r"^(?:[-_\w][-_\w/]*[-_\w]+/)?[-_\w]+?-v\d+$")

# Response columns of the log that become per-step infos (docs/logs.md).
_RESPONSES = ("examined", "clicked", "liked", "disliked", "click_position", "watch_time", "session_ended")
_PROPENSITIES = ("slate_propensity", "position_propensity", "item_propensity", "position_item_propensity")


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _serialize(space):
    # Minari's JSON for the spaces Cohort uses (Dict of Box, MultiDiscrete);
    # works for Cohort's own spaces and for Gymnasium's.
    kind = type(space).__name__
    if kind == "Dict":
        return {"type": "Dict", "subspaces": {k: _serialize(s) for k, s in space.spaces.items()}}
    if kind == "Box":
        return {"type": "Box", "dtype": str(np.dtype(space.dtype)), "shape": list(space.shape),
                "low": np.asarray(space.low).tolist(), "high": np.asarray(space.high).tolist()}
    if kind == "MultiDiscrete":
        nvec = np.asarray(space.nvec, dtype=np.int64)
        return {"type": "MultiDiscrete", "dtype": str(np.dtype(space.dtype)), "nvec": nvec.tolist(),
                "start": np.zeros_like(nvec).tolist()}
    raise TypeError(f"no Minari serialization for {kind}")


def _episode_rows(user, step, file):
    # Rows of each user in step order: the log is in (step, slot) order, so a
    # stable sort by user keeps each user's steps in order.
    order = np.argsort(user, kind="stable")
    users, first, counts = np.unique(user[order], return_index=True, return_counts=True)
    episodes = []
    for u, f, c in zip(users, first, counts):
        rows = order[f:f + c]
        if not np.array_equal(step[rows], np.arange(c)):
            raise ValueError(f"{file}: user {u}'s steps are not 0..{c - 1} in order: not a whole episode")
        episodes.append((int(u), rows))
    return episodes


def _dataset(group, name, values):
    values = np.ascontiguousarray(values)
    if values.size == 0:  # an empty history (H = 0): HDF5 cannot chunk a zero-size dataset
        return group.create_dataset(name, data=values)
    return group.create_dataset(name, data=values, chunks=True, compression="gzip", compression_opts=1,
                                shuffle=True, maxshape=(None,) + values.shape[1:])


def to_minari(log_dir, out_dir, *, dataset_id=None, truth=False, force=False):
    """Writes the log in log_dir (cohort log's log.h5) as a Minari dataset in
    out_dir (out_dir/data/main_data.hdf5 and out_dir/data/metadata.json).

    Each logged user is one episode, episode_<i> for the i-th user id. Its
    observations are the VecEnv observation dict of cohort.make (the same keys,
    shapes and dtypes as env.single_observation_space), N + 1 rows for N steps
    as Minari stores them: the log has the observation of every step, not the
    one after the last, so the last row repeats the last logged observation
    (the episode attribute final_observation says "repeated"). actions are the
    logged slates (MultiDiscrete([K] * k)), rewards, terminations and
    truncations the log's. infos have N + 1 rows like observations (row 0 the
    reset, row t + 1 what the step that took actions[t] returned): the
    propensities of actions[t] and the user's response. truth=True adds the
    privileged truth group as infos["truth"]. dataset_id: "(namespace/)name-vN"
    (default "cohort/<scenario>-v0"); minari.load_dataset(dataset_id) finds it
    when out_dir is $MINARI_DATASETS_PATH/<dataset_id>.

    Written in a temporary directory beside out_dir and renamed: there is never
    a partial dataset. An existing out_dir is refused unless force (then it is
    replaced, if it holds a Minari dataset). Returns the metadata (a dict).
    """
    import h5py
    from . import make

    log_dir, out_dir = Path(os.fspath(log_dir)), Path(os.fspath(out_dir))
    file = log_dir / "log.h5"
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no log here (write one with cohort log)")
    if out_dir.exists() and not force:
        raise FileExistsError(f"{out_dir} exists (force=True replaces a Minari dataset)")
    if out_dir.exists() and not (out_dir / "data" / "metadata.json").is_file():
        raise FileExistsError(f"{out_dir} exists and holds no Minari dataset: not replaced")

    with h5py.File(file, "r") as f:
        if _text(f.attrs.get("format", "")) != "cohort log 1":
            raise ValueError(f"{file}: not a Cohort log (format attribute {f.attrs.get('format')!r})")
        attrs = {k: _text(f.attrs[k]) for k in f.attrs}
        steps = {k: f["steps"][k][()] for k in f["steps"]}
        privileged = {k: f["truth"][k][()] for k in f["truth"]} if truth else {}
    scenario = json.loads(attrs["scenario"])
    if dataset_id is None:
        dataset_id = f"cohort/{scenario['name']}-v0"
    if not isinstance(dataset_id, str) or not _DATASET_ID.match(dataset_id):
        raise ValueError(f"dataset_id must be \"(namespace/)name-vN\" as Minari requires, got {dataset_id!r}")

    # The spaces of cohort.make on the log's own scenario (shapes only: one slot).
    env = make(scenario, num_envs=1, users=1)
    obs_space, act_space = env.single_observation_space, env.single_action_space
    n, k = steps["slate"].shape
    K, d = env.num_candidates, env.env_spec["feature_dim"]
    if k != env.slate_size or steps["candidate_topic"].shape[1] != K or steps["interests"].shape[1] != d:
        raise ValueError(f"{file}: its columns do not match its scenario's slate size, candidates and features")

    def observation(key, rows):
        space = obs_space.spaces[key]
        if key == "budget" and not env.env_spec["budget_observed"]:
            values = np.zeros(len(rows), space.dtype)  # NaN in the log; zeros in the observation (docs/python.md)
        elif key == "history_topics" and key not in steps:
            values = np.zeros((len(rows),) + space.shape, space.dtype)  # H = 0
        else:
            values = steps[key][rows].reshape((len(rows),) + space.shape).astype(space.dtype, copy=False)
        return np.concatenate([values, values[-1:]])  # N + 1 rows: the last observation repeated

    def info(values, empty):
        # N + 1 rows: row 0 (the reset) holds `empty`, row t + 1 step t's value.
        first = np.full((1,) + values.shape[1:], empty, values.dtype)
        return np.concatenate([first, values])

    episodes = _episode_rows(steps["user_id"], steps["step"], file)
    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    try:
        (partial / "data").mkdir(parents=True)
        with h5py.File(partial / "data" / "main_data.hdf5", "w", track_order=True) as h:
            for e, (user, rows) in enumerate(episodes):
                g = h.create_group(f"episode_{e}")
                rewards = steps["reward"][rows]
                g.attrs.update({"id": e, "total_steps": len(rows), "user_id": user, "final_observation": "repeated",
                                "rewards_sum": float(rewards.sum()), "rewards_mean": float(rewards.mean()),
                                "rewards_std": float(rewards.std()), "rewards_max": float(rewards.max()),
                                "rewards_min": float(rewards.min())})
                obs = g.create_group("observations")
                for key in obs_space.spaces:
                    _dataset(obs, key, observation(key, rows))
                _dataset(g, "actions", steps["slate"][rows].astype(act_space.dtype))
                _dataset(g, "rewards", rewards)
                _dataset(g, "terminations", steps["terminated"][rows].astype(bool))
                _dataset(g, "truncations", steps["truncated"][rows].astype(bool))
                infos = g.create_group("infos")
                for key in _PROPENSITIES:
                    values = steps[key][rows]
                    if key == "position_item_propensity":
                        values = values.reshape(len(rows), k, K)
                    _dataset(infos, key, info(values, np.nan))
                for key in _RESPONSES:
                    values = steps[key][rows]
                    if values.dtype == np.uint8:
                        values = values.astype(bool)
                    _dataset(infos, key, info(values, -1 if key == "click_position" else 0))
                for key in ("session", "session_step"):
                    _dataset(infos, key, info(steps[key][rows], -1))
                if truth:
                    t = infos.create_group("truth")
                    for key, values in privileged.items():
                        _dataset(t, key, info(values[rows], np.nan))
        agent = json.loads(attrs["agent"])
        metadata = {
            "dataset_id": dataset_id,
            "total_episodes": len(episodes),
            "total_steps": int(n),
            "data_format": "hdf5",
            "observation_space": json.dumps(_serialize(obs_space)),
            "action_space": json.dumps(_serialize(act_space)),
            "minari_version": MINARI_LAYOUT_VERSION,
            "algorithm_name": agent.get("type", ""),
            "description": (f"cohort log of {scenario['name']} (seed {attrs.get('seed')}, variant "
                            f"{attrs.get('variant')}) by the logging policy {attrs['agent']}; one episode per user; "
                            "infos hold the exact propensities of each slate (docs/logs.md)"),
            "cohort": {"log": str(log_dir), "format": attrs["format"], "scenario": scenario["name"],
                       "seed": attrs.get("seed"), "variant": attrs.get("variant"),
                       "slate_law": attrs.get("slate_law"), "item_propensity_method":
                       attrs.get("item_propensity_method"), "agent": agent, "final_observation": "repeated",
                       "infos": "N + 1 rows: row t + 1 is the step that took actions[t]", "truth": bool(truth)},
        }
        size = sum(p.stat().st_size for p in (partial / "data").iterdir())
        metadata["dataset_size"] = round(size / 1e6 + 0.0, 1)
        with open(partial / "data" / "metadata.json", "w") as m:
            json.dump(metadata, m)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        os.rename(partial, out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return metadata
