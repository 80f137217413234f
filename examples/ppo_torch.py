"""PPO with a Plackett-Luce slate policy in PyTorch, trained through `cohort.make`.

One file, read top to bottom: the settings, the candidate features, the policy
and critic, the rollout, the PPO update, the evaluation on held-out users, the
training loop. Run it from the repository root after the build:

    PYTHONPATH=build/python /usr/bin/python3 examples/ppo_torch.py            # about 2 minutes
    PYTHONPATH=build/python /usr/bin/python3 examples/ppo_torch.py --quick    # a few seconds

The evaluation serves `--eval-users` users never met in training
(first_user=cohort.FIRST_EVAL_USER) three times, each on its own environment of
the same seed and users: with the agent, with uniformly random slates and with
the myopic oracle (env.truth.oracle_slates(), privileged). Its headline is the
normalized score of per-user returns, (agent - random) / (oracle - random): 0 is
random, 1 the myopic oracle, above 1 a policy that plans beyond the next click.
See examples/README.md for its output and how it compares with the C++ PPO.
"""
import argparse
import dataclasses
import time

import numpy as np
import torch
from torch import nn

import cohort


# ----------------------------------------------------------------------------
# Settings. The defaults are the C++ `ppo` agent's (`cohort list`), trained
# for 384 updates of 128 users x 16 steps (about ten times the budget of
# docs/results/agents_recsim), evaluated every 48 updates.
@dataclasses.dataclass
class Settings:
    scenario: str = "recsim_interest_evolution"
    seed: int = 0
    total_steps: int = 786_432  # training user-steps (batched steps x num_envs)
    num_envs: int = 128  # training user slots stepped together
    rollout_steps: int = 16  # batched steps per rollout (one PPO update each)
    epochs: int = 4  # passes over each rollout
    minibatches: int = 4  # minibatches per pass
    lr: float = 3e-3  # Adam
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: int = 32  # one tanh hidden layer in the actor and the critic
    eval_users: int = 256  # held-out users per evaluation
    evals: int = 9  # evaluations along training (the first before any update)
    eval_greedy: bool = False  # evaluate the top-k logits instead of sampling
    quick: bool = False  # a few seconds: for the test


QUICK = dict(total_steps=65_536, evals=2)  # 32 updates of 128 x 16 user-steps


def parse_settings(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for field in dataclasses.fields(Settings):
        flag = "--" + field.name.replace("_", "-")
        if field.type is bool or field.type == "bool":
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=type(field.default), default=None)
    given = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None and v is not False}
    base = QUICK if given.get("quick") else {}
    s = Settings(**{**base, **given})
    counts = ("total_steps", "num_envs", "rollout_steps", "epochs", "minibatches", "hidden", "eval_users", "evals")
    for name in counts:
        if getattr(s, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(s, name)}")
    if s.minibatches > s.num_envs * s.rollout_steps:
        parser.error(f"--minibatches {s.minibatches} exceeds a rollout's {s.num_envs * s.rollout_steps} samples")
    if s.lr < 0:
        parser.error(f"--lr must be non-negative, got {s.lr}")
    return s


# ----------------------------------------------------------------------------
# Candidate features: one vector per (user, candidate),
#   [ u | x | u * x | 1 ],
# u the observed interests (d), x the item's features (d: its one-hot topic on a
# one-hot catalog, its embedding otherwise). The C++ agents use the same layout
# plus history, length and budget terms (agents/features.h), which are constant
# or absent on recsim_interest_evolution. A copy: obs holds views that the next
# step overwrites.
def candidate_features(obs, spec):
    u = obs["interests"]
    if spec["candidate_features"]:
        x = obs["candidate_features"]
    else:
        x = np.eye(spec["num_topics"], dtype=np.float32)[obs["candidate_topic"]]
    B, K, d = x.shape
    u = np.broadcast_to(u[:, None, :], (B, K, d))
    return np.concatenate([u, x, u * x, np.ones((B, K, 1), np.float32)], axis=2)


# The critic's state: the mean candidate vector and the episode step, scaled
# by the episode's step cap, or without one by the number of steps a user would
# last if every item were watched (time budget / item length).
def critic_state(feat, episode_step, step_scale):
    steps = torch.as_tensor(episode_step, dtype=torch.float32)[:, None] / step_scale
    return torch.cat([feat.mean(1), steps], 1)


# ----------------------------------------------------------------------------
# Policy: an MLP scores each candidate; a slate draws k distinct items one after
# another, each from the softmax over the candidates left (Plackett-Luce).
# Drawing by the top-k of logits + Gumbel noise gives exactly that distribution.
class ActorCritic(nn.Module):
    def __init__(self, feature_dim, hidden):
        super().__init__()
        self.actor = nn.Sequential(nn.Linear(feature_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.critic = nn.Sequential(nn.Linear(feature_dim + 1, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        nn.init.normal_(self.actor[2].weight, std=0.01)  # near-uniform first policy
        nn.init.zeros_(self.actor[2].bias)

    def logits(self, feat):  # (N, K, F) -> (N, K)
        return self.actor(feat).squeeze(-1)

    def value(self, state):  # (N, F + 1) -> (N,)
        return self.critic(state).squeeze(-1)


def sample_slates(logits, k, generator):
    uniform = torch.rand(logits.shape, generator=generator).clamp_(1e-12, 1.0)
    return torch.topk(logits - torch.log(-torch.log(uniform)), k, dim=1).indices


def slate_log_prob(logits, slates):
    """log pi(slate) and the sum of each position's entropy given the items
    before it (its expectation is the slate's entropy)."""
    logp = torch.zeros(logits.shape[0])
    entropy = torch.zeros(logits.shape[0])
    mask = torch.zeros_like(logits)  # -1e9 on the items already placed
    for j in range(slates.shape[1]):
        lsm = torch.log_softmax(logits + mask, dim=1)
        entropy = entropy - (lsm.exp() * lsm).sum(1)
        logp = logp + lsm.gather(1, slates[:, j:j + 1]).squeeze(1)
        mask = mask.scatter(1, slates[:, j:j + 1], -1e9)
    return logp, entropy


# ----------------------------------------------------------------------------
# Generalised advantage estimation over a time-major rollout. An ended episode
# is never bootstrapped: with same-step auto-reset the next observation already
# belongs to the next user. (This scenario has no step cap, so every end is a
# termination; a truncated episode is cut the same way, a small bias.)
def gae(rewards, values, dones, last_value, gamma, lam):
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    next_adv = torch.zeros_like(last_value)
    next_value = last_value
    for t in reversed(range(T)):
        keep = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * keep - values[t]
        next_adv = delta + gamma * lam * keep * next_adv
        adv[t] = next_adv
        next_value = values[t]
    return adv, adv + values


def ppo_update(model, optimizer, batch, s, generator):
    """Clipped-surrogate PPO over one rollout; returns the last minibatch's stats."""
    N = batch["logp"].shape[0]
    size = N // s.minibatches
    for _ in range(s.epochs):
        order = torch.randperm(N, generator=generator)
        for m in range(s.minibatches):
            idx = order[m * size:(m + 1) * size]
            logp, entropy = slate_log_prob(model.logits(batch["feat"][idx]), batch["slates"][idx])
            ratio = torch.exp(logp - batch["logp"][idx])
            adv = batch["adv"][idx]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - s.clip_eps, 1 + s.clip_eps)).mean()
            value_loss = 0.5 * (model.value(batch["state"][idx]) - batch["ret"][idx]).pow(2).mean()
            loss = policy_loss + s.vf_coef * value_loss - s.ent_coef * entropy.mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), s.max_grad_norm)
            optimizer.step()
    return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(), "entropy": entropy.mean().item()}


# ----------------------------------------------------------------------------
# Evaluation: per-user returns on held-out users, and the normalized score with
# its 95% delta-method interval, as core/stats.h RatioOfPairedMeans computes it.
def episode_returns(env, act):
    """{user id: return} of every user `env` serves, slates from act(obs)."""
    obs, info = env.reset()
    running = np.zeros(env.num_envs)
    returns = {}
    while info["active"].any():
        users, active = info["user_id"].copy(), info["active"].copy()
        obs, reward, terminated, truncated, info = env.step(act(obs))
        running += reward
        for r in np.flatnonzero((terminated | truncated) & active):
            returns[int(users[r])] = running[r]
            running[r] = 0.0
    return returns


def student_t975(dof):
    """Two-sided 97.5% Student-t quantile (core/stats.cc StudentT975's table)."""
    table = [0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
             2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052,
             2.048, 2.045, 2.042]
    return table[dof] if dof <= 30 else 1.959964 + 2.4 / dof


def normalized_score(agent, random, oracle):
    """mean(agent - random) / mean(oracle - random) over paired users, and the
    half-width of its 95% interval: with r the ratio and d_i = a_i - r b_i,
    var(r) ~ var(d) / (n mean(b)^2)."""
    a, b = np.asarray(agent) - random, np.asarray(oracle) - random
    n = len(a)
    if n == 0 or not abs(b.mean()) > 1e-12:
        return float("nan"), float("nan")  # undefined: the oracle does no better than random
    r = a.mean() / b.mean()
    if n == 1:
        return r, 0.0
    se = np.sqrt(np.var(a - r * b, ddof=1) / n) / abs(b.mean())
    return r, student_t975(n - 1) * se


class Evaluator:
    """The same held-out users for every evaluation; the random and oracle
    references are computed once (the world is stationary)."""

    def __init__(self, s):
        self.make = lambda: cohort.make(s.scenario, num_envs=min(256, s.eval_users), seed=s.seed,
                                        users=s.eval_users, first_user=cohort.FIRST_EVAL_USER)
        env, oracle_env = self.make(), self.make()
        rng = np.random.default_rng(s.seed)
        K, k = env.num_candidates, env.slate_size
        random = episode_returns(env, lambda obs: np.argsort(rng.random((env.num_envs, K)), 1)[:, :k])
        oracle = episode_returns(oracle_env, lambda obs: oracle_env.truth.oracle_slates()[0])
        self.users = sorted(random)
        self.random = np.array([random[u] for u in self.users])
        self.oracle = np.array([oracle[u] for u in self.users])
        self.seed, self.greedy = s.seed, s.eval_greedy

    def __call__(self, model):
        env = self.make()
        generator = torch.Generator().manual_seed(self.seed + 7919)  # the same draws at every evaluation

        @torch.no_grad()
        def act(obs):
            logits = model.logits(torch.from_numpy(candidate_features(obs, env.env_spec)))
            if self.greedy:
                return torch.topk(logits, env.slate_size, dim=1).indices.numpy()
            return sample_slates(logits, env.slate_size, generator).numpy()

        got = episode_returns(env, act)
        agent = np.array([got[u] for u in self.users])
        score, half = normalized_score(agent, self.random, self.oracle)
        return {"return": agent.mean(), "score": score, "ci95": half}


# ----------------------------------------------------------------------------
def train(s):
    torch.set_num_threads(1)
    torch.manual_seed(s.seed)  # the networks' initial weights
    generator = torch.Generator().manual_seed(s.seed)  # slate sampling and minibatch order
    env = cohort.make(s.scenario, num_envs=s.num_envs, seed=s.seed)
    B, k, T = s.num_envs, env.slate_size, s.rollout_steps
    world = env.scenario["env"]
    step_scale = env.env_spec["max_episode_steps"] or max(1.0, world["users"]["time_budget"]["mean"] /
                                                      world["catalog"]["length_mean"])
    obs, info = env.reset()
    feat = torch.from_numpy(candidate_features(obs, env.env_spec))
    model = ActorCritic(feat.shape[2], s.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=s.lr)
    evaluate = Evaluator(s)
    print(f"{s.scenario}: {s.eval_users} held-out users; returns: random {evaluate.random.mean():.1f}, "
          f"myopic oracle {evaluate.oracle.mean():.1f}")

    updates = max(1, s.total_steps // (B * T))
    eval_at = sorted({round(i * updates / (s.evals - 1)) for i in range(s.evals)}) if s.evals > 1 else [updates]
    curve, train_seconds, user_steps = [], 0.0, 0
    for update in range(updates + 1):
        if update in eval_at:
            result = evaluate(model)
            curve.append((user_steps, result))
            print(f"user-steps {user_steps:8d}  eval return {result['return']:6.1f}  "
                  f"normalized score {result['score']:6.3f} +- {result['ci95']:.3f}")
        if update == updates:
            break
        start = time.perf_counter()
        # Rollout: T batched steps of every row.
        buf = {"feat": [], "state": [], "slates": [], "logp": [], "value": [], "reward": [], "done": []}
        for _ in range(T):
            with torch.no_grad():
                state = critic_state(feat, info["episode_step"], step_scale)
                logits = model.logits(feat)
                slates = sample_slates(logits, k, generator)
                logp, _ = slate_log_prob(logits, slates)
                value = model.value(state)
            obs, reward, terminated, truncated, info = env.step(slates.numpy())
            for key, x in zip(buf, (feat, state, slates, logp, value, torch.tensor(reward),
                                    torch.tensor(terminated | truncated, dtype=torch.float32))):
                buf[key].append(x)
            feat = torch.from_numpy(candidate_features(obs, env.env_spec))
        with torch.no_grad():
            last_value = model.value(critic_state(feat, info["episode_step"], step_scale))
        rollout = {key: torch.stack(x) for key, x in buf.items()}
        adv, ret = gae(rollout["reward"], rollout["value"], rollout["done"], last_value, s.gamma, s.gae_lambda)
        batch = {"feat": rollout["feat"].flatten(0, 1), "state": rollout["state"].flatten(0, 1),
                 "slates": rollout["slates"].flatten(0, 1), "logp": rollout["logp"].flatten(0, 1),
                 "adv": adv.flatten(), "ret": ret.flatten()}
        ppo_update(model, optimizer, batch, s, generator)
        train_seconds += time.perf_counter() - start
        user_steps += B * T
    print(f"training: {user_steps} user-steps in {train_seconds:.1f} s, "
          f"{user_steps / train_seconds:.0f} user-steps/s (evaluations excluded)")
    return {"curve": curve, "final": curve[-1][1], "user_steps_per_second": user_steps / train_seconds}


if __name__ == "__main__":
    train(parse_settings())
