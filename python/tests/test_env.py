"""The cohort package's environment: shapes against the spaces, determinism,
ground truth, errors, auto-reset, threads. Run by ctest (python_tests)."""
import itertools
import json
import threading

import numpy as np
import pytest

import cohort


def first_slates(env):
    return np.tile(np.arange(env.slate_size, dtype=np.int64), (env.num_envs, 1))


def random_slates(env, rng):
    return np.stack([rng.permutation(env.num_candidates)[:env.slate_size] for _ in range(env.num_envs)])


def rollout(env, steps, seed=0):
    """Copies of every returned array over `steps` random-slate steps."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset()
    out = [{**{k: v.copy() for k, v in obs.items()}, **{"info_" + k: v.copy() for k, v in info.items()}}]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(random_slates(env, rng))
        rec = {k: v.copy() for k, v in obs.items()}
        rec.update({"info_" + k: v.copy() for k, v in info.items()})
        rec.update(reward=reward.copy(), terminated=terminated.copy(), truncated=truncated.copy())
        out.append(rec)
    return out


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)


@pytest.mark.parametrize("name", cohort.shipped_scenarios())
def test_shapes_and_dtypes_match_the_spaces(name):
    env = cohort.make(name, num_envs=3, seed=1)
    obs, info = env.reset()
    single, batched = env.single_observation_space, env.observation_space
    assert obs.keys() == single.spaces.keys()
    for _ in range(5):
        for key, value in obs.items():
            assert value.shape == batched[key].shape, key
            assert value.dtype == batched[key].dtype, key
            if key == "budget" and not env.env_spec["budget_observed"]:
                assert np.all(value == 0)  # unobserved: zeros, documented
            for row in value:
                assert single[key].contains(row), (key, row)
        slates = first_slates(env)
        assert env.action_space.contains(slates)
        obs, reward, terminated, truncated, info = env.step(slates)
        assert reward.shape == (3,) and reward.dtype == np.float32
        assert terminated.dtype == np.bool_ and truncated.dtype == np.bool_
        assert info["clicked"].shape == (3, env.slate_size)
        assert info["watch_time"].shape == (3, env.slate_size)
        assert info["final_interests"].shape == (3, env.env_spec["feature_dim"])
        np.testing.assert_array_equal(info["env_id"], np.arange(3))
    if not env.env_spec["interests_observed"]:
        assert np.all(obs["interests"] == 0)


def test_same_seed_same_arrays_for_any_thread_count():
    one = rollout(cohort.make("population_retention", num_envs=64, seed=3, threads=1), 40)
    two = rollout(cohort.make("population_retention", num_envs=64, seed=3, threads=2), 40)
    assert_same(one, two)
    other = rollout(cohort.make("population_retention", num_envs=64, seed=4), 40)
    assert not np.array_equal(one[-1]["reward"], other[-1]["reward"])


def test_reset_with_a_seed_restarts_the_streams():
    env = cohort.make("recsim_interest_evolution", num_envs=16, seed=0)
    a = rollout(env, 10)
    env.reset(seed=7)
    b = rollout(env, 10)  # reset() without a seed keeps seed 7
    assert_same(b, rollout(cohort.make("recsim_interest_evolution", num_envs=16, seed=7), 10))
    assert not np.array_equal(a[1]["candidate_topic"], b[1]["candidate_topic"])
    env.reset(seed=0)
    assert_same(a, rollout(env, 10))


def test_a_dict_scenario_is_the_file():
    env = cohort.make("recsim_interest_evolution", num_envs=8)
    doc = env.scenario  # resolved: every default filled in
    assert_same(rollout(env, 20), rollout(cohort.make(doc, num_envs=8), 20))
    assert_same(rollout(cohort.make("recsim_interest_evolution", num_envs=8, set={"env.candidates": 12}), 5),
                rollout(cohort.make({**doc, "env": {**doc["env"], "candidates": 12}}, num_envs=8), 5))


def test_observations_are_views_valid_until_the_next_step():
    env = cohort.make("recsim_interest_evolution", num_envs=4)
    obs, _ = env.reset()
    topics = obs["candidate_topic"]
    kept = topics.copy()
    assert not topics.flags.owndata
    env.step(first_slates(env))
    assert not np.array_equal(topics, kept)  # the same buffer, overwritten
    # A rebuild (reset with a new seed) makes new buffers; the old view keeps
    # the old ones alive and unchanged.
    before = topics.copy()
    obs, _ = env.reset(seed=9)
    assert obs["candidate_topic"] is not topics
    np.testing.assert_array_equal(topics, before)
    # The same views every step: no array is allocated per step. The dicts are
    # new, so a key a caller adds does not come back in the next step's.
    obs["mine"] = 1
    again, *_ = env.step(first_slates(env))
    assert again["candidate_topic"] is obs["candidate_topic"] and "mine" not in again
    del env, obs, again
    assert topics.sum() == before.sum()  # the view keeps its buffers alive


def test_step_before_reset_is_refused():
    env = cohort.make("recsim_interest_evolution", num_envs=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(first_slates(env))


def test_same_step_auto_reset():
    env = cohort.make("recsim_interest_evolution", num_envs=8, seed=2)
    obs, info = env.reset()
    users = info["user_id"].copy()
    ended = 0
    for _ in range(400):
        before = obs["interests"].copy()
        obs, reward, terminated, truncated, info = env.step(first_slates(env))
        done = terminated | truncated
        for r in np.flatnonzero(done):
            ended += 1
            assert info["user_id"][r] == users[r] + env.num_envs  # slot b serves users b, b+B, ...
            np.testing.assert_array_equal(info["final_interests"][r], before[r])
            assert info["episode_step"][r] == 0
        users = info["user_id"].copy()
    assert ended > 0


def test_the_oracle_is_the_best_slate():
    env = cohort.make("recsim_interest_evolution", num_envs=6, seed=5)
    env.reset()
    for _ in range(3):
        best, value = env.truth.oracle_slates()
        k = env.slate_size
        exhaustive = np.full(env.num_envs, -np.inf)
        for slate in itertools.permutations(range(env.num_candidates), k):
            v = env.truth.expected_reward(np.tile(slate, (env.num_envs, 1)))
            exhaustive = np.maximum(exhaustive, v)
        np.testing.assert_allclose(value, exhaustive, rtol=1e-12)
        np.testing.assert_allclose(env.truth.expected_reward(best), value, rtol=1e-12)
        p = env.truth.choice_probabilities(best)
        assert p.shape == (env.num_envs, k) and np.all(p >= 0) and np.all(p.sum(axis=1) <= 1 + 1e-12)
        assert env.truth.quality().shape == (env.num_envs, env.num_candidates)
        env.step(best)


def test_true_interests_are_the_observed_ones_when_visible():
    env = cohort.make("recsim_interest_evolution", num_envs=4)
    obs, _ = env.reset()
    np.testing.assert_array_equal(env.truth.interests(), obs["interests"])


def test_scenario_errors_carry_the_file_and_path():
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.make("recsim_interest_evolution", set={"env.choice.temperatur": 1.0})
    assert isinstance(e.value, ValueError)
    assert "did you mean" in str(e.value) or "valid keys" in str(e.value)
    assert e.value.path == "/env/choice/temperatur"
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.make("recsim_interest_evolutio")
    assert 'did you mean "recsim_interest_evolution"' in str(e.value)
    with pytest.raises(cohort.ScenarioError) as e:
        cohort.make({"env": {"slate_size": 0}})
    assert e.value.file == "<dict>" and e.value.path == "/env/slate_size"
    with pytest.raises(cohort.ScenarioError):
        cohort.make("recsim_interest_evolution", variant="test:0")  # no family
    with pytest.raises(TypeError):
        cohort.make(3)
    with pytest.raises(TypeError):
        cohort.make("recsim_interest_evolution", num_envs=2.0)
    with pytest.raises(ValueError):
        cohort.make("recsim_interest_evolution", num_envs=0)


def test_variants():
    env = cohort.make("drifting_family", num_envs=4, variant="test:1")
    assert env.variant == "test:1"
    with pytest.raises(cohort.ScenarioError):
        cohort.make("drifting_family", variant="nosuchsplit:1")
    test = cohort.variants("drifting_family", "test")
    assert [v["name"] for v in test] == [f"test:{i}" for i in range(len(test))] and len(test) > 1
    assert len({v["id"] for v in test}) == len(test)
    # The listed values are the ones the variant's environment resolved.
    resolved = cohort.make("drifting_family", variant="test:1").scenario
    for path, value in test[1]["values"].items():
        node = resolved
        for key in path.split("."):
            node = node[int(key)] if isinstance(node, list) else node[key]
        assert node == pytest.approx(value, rel=1e-12), path
    train = cohort.variants("drifting_family", "train")
    assert {v["id"] for v in train}.isdisjoint(v["id"] for v in test)
    with pytest.raises(cohort.ScenarioError):
        cohort.variants("drifting_family", "nosuchsplit")
    with pytest.raises(cohort.ScenarioError, match="family"):
        cohort.variants("recsim_interest_evolution", "test")


def test_bad_slates_name_the_row():
    env = cohort.make("recsim_interest_evolution", num_envs=3)
    env.reset()
    bad = first_slates(env)
    bad[2] = [4, 4]
    with pytest.raises(ValueError, match="row 2"):
        env.step(bad)
    bad[2] = [0, 10]
    with pytest.raises(ValueError, match="row 2"):
        env.step(bad)
    with pytest.raises(ValueError, match="shape"):
        env.step(first_slates(env)[:2])
    with pytest.raises(TypeError, match="integer"):
        env.step(first_slates(env).astype(np.float64))
    for dtype in (np.int8, np.uint16, np.int32, np.int64):
        env.step(first_slates(env).astype(dtype))  # any integer dtype


def test_spaces_sample_contains_seed():
    env = cohort.make("population_retention", num_envs=2)
    space = env.single_observation_space
    space.seed(3)
    a = space.sample()
    space.seed(3)
    b = space.sample()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert space.contains(a)
    act = env.single_action_space
    assert act.contains(act.sample())
    assert not act.contains(np.array([env.num_candidates] * env.slate_size))
    assert not act.contains(np.zeros(env.slate_size + 1, dtype=np.int64))


def test_two_threads_step_two_environments():
    def run(out, seed):
        out[seed] = rollout(cohort.make("population_retention", num_envs=256, seed=seed), 30)

    alone = {}
    for s in (0, 1):
        run(alone, s)
    together = {}
    threads = [threading.Thread(target=run, args=(together, s)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in (0, 1):
        assert_same(alone[s], together[s])


@pytest.mark.parametrize("name", ["recsim_interest_evolution", "population_retention"])
def test_the_sequence_observation_is_the_last_steps(name):
    """env.observation.sequence: entry 0 after a step is that step (its slate's
    topics, its clicks and reward), the older entries move one place, a new
    user starts empty; shapes and dtypes match the spaces."""
    L = 4
    env = cohort.make(name, num_envs=3, seed=2, set={"env.observation.sequence.length": L})
    assert env.env_spec["sequence"] == L
    obs, info = env.reset()
    assert np.all(obs["sequence_length"] == 0)
    rng = np.random.default_rng(0)
    single = env.single_observation_space
    for _ in range(40):
        slates = random_slates(env, rng)
        shown = np.take_along_axis(obs["candidate_topic"], slates, axis=1).copy()
        previous = {k: v.copy() for k, v in obs.items() if k.startswith("sequence_")}
        obs, reward, terminated, truncated, info = env.step(slates)
        for key, value in obs.items():
            assert value.dtype == env.observation_space[key].dtype, key
            for row in value:
                assert single[key].contains(row), key
        for r in range(env.num_envs):
            if terminated[r] or truncated[r]:
                assert obs["sequence_length"][r] == 0
                continue
            assert obs["sequence_length"][r] == min(previous["sequence_length"][r] + 1, L)
            np.testing.assert_array_equal(obs["sequence_topic"][r, 0], shown[r])
            np.testing.assert_array_equal(obs["sequence_clicked"][r, 0], info["clicked"][r])
            assert obs["sequence_reward"][r, 0] == reward[r]
            np.testing.assert_array_equal(obs["sequence_topic"][r, 1:], previous["sequence_topic"][r, :-1])
    assert "sequence_length" not in cohort.make(name, num_envs=1).reset()[0]
