"""With Gymnasium importable (it is not a Debian package, so CI skips this file;
docs/python.md says how it was run): VecEnv is a gymnasium.vector.VectorEnv with
Gymnasium's spaces, and Gymnasium's vector wrappers work on it."""
import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

import cohort  # noqa: E402


def test_vecenv_is_a_gymnasium_vector_env_with_its_spaces():
    env = cohort.make("recsim_interest_evolution", num_envs=4, seed=1)
    assert isinstance(env, gymnasium.vector.VectorEnv)
    assert isinstance(env.single_observation_space, gymnasium.spaces.Dict)
    assert isinstance(env.single_action_space, gymnasium.spaces.MultiDiscrete)
    assert env.action_space.shape == (4, env.slate_size)
    mode = getattr(gymnasium.vector, "AutoresetMode", None)
    if mode is not None:
        assert env.metadata["autoreset_mode"] == mode.SAME_STEP
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains({k: v for k, v in obs.items()})
    env.close()
    assert env.closed


def test_gymnasium_vector_wrappers_count_episodes_like_cohort():
    wrappers = pytest.importorskip("gymnasium.wrappers.vector")
    env = cohort.make("recsim_interest_evolution", num_envs=4, seed=2)
    wrapped = wrappers.RecordEpisodeStatistics(env)
    obs, info = wrapped.reset(seed=2)
    slates = np.tile(np.arange(env.slate_size), (4, 1))
    returns, lengths = np.zeros(4), np.zeros(4, dtype=int)
    seen = 0
    for _ in range(400):
        obs, reward, terminated, truncated, info = wrapped.step(slates)
        returns += reward
        lengths += 1
        done = terminated | truncated
        if done.any():
            np.testing.assert_allclose(info["episode"]["r"][done], returns[done], rtol=1e-5)
            np.testing.assert_array_equal(info["episode"]["l"][done], lengths[done])
            returns[done], lengths[done] = 0.0, 0
            seen += int(done.sum())
    assert seen > 0
