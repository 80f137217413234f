"""LinUCB in NumPy through `cohort.make`, against the built-in `linucb` on the same users.

    PYTHONPATH=build/python /usr/bin/python3 examples/numpy_bandit.py [--seed 0] [--users N]

The environment serves the users `cohort run` serves: the scenario's
run.episodes users over min(run.num_envs, run.episodes) slots, the same seed,
so user u meets the same interests, candidates and clicks model in both. The
bandit learns online while it serves them, as `cohort run` runs a bandit. The
built-in runs through the command line (`cohort run ... --set agent.type=linucb`,
its metrics.jsonl has one line per user); the per-user returns are paired by
user id. A uniformly random policy on the same users is the floor.
See examples/README.md for the output.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import cohort


# ---- LinUCB: one ridge regression of "clicked" on the candidate features ----
def features(obs, num_topics):
    """[u | x | u * x | 1] per (row, candidate): x the one-hot topic, or the
    item's embedding on an embedding catalog."""
    u = obs["interests"]
    x = obs.get("candidate_features", np.eye(num_topics)[obs["candidate_topic"]]).astype(np.float64)
    u = np.broadcast_to(u[:, None, :], x.shape)
    return np.concatenate([u, x, u * x, np.ones(x.shape[:2] + (1,))], axis=2)


class LinUCB:
    def __init__(self, dim, alpha=1.0, lam=1.0):
        self.alpha = alpha
        self.A = lam * np.eye(dim)  # lam I + sum of x x^T over shown items
        self.b = np.zeros(dim)  # sum of click * x
        self.A_inv, self.theta = np.linalg.inv(self.A), np.zeros(dim)

    def act(self, X, k):
        """X (B, K, dim) -> the k candidates of highest UCB index per row."""
        width = np.sqrt(np.einsum("bki,ij,bkj->bk", X, self.A_inv, X))
        index = X @ self.theta + self.alpha * width
        return np.argsort(-index, axis=1, kind="stable")[:, :k]

    def observe(self, X, slates, clicked, active):
        """One observation per shown item of every active row, then refit."""
        shown = np.take_along_axis(X, slates[:, :, None], axis=1)[active].reshape(-1, X.shape[2])
        self.A += shown.T @ shown
        self.b += shown.T @ clicked[active].reshape(-1)
        self.A_inv = np.linalg.inv(self.A)
        self.theta = self.A_inv @ self.b


# ---- Serving the users: per-user returns -------------------------------------
def serve(env, policy):
    """{user id: return} of every user env serves; policy(obs, info) -> slates,
    policy.learn(obs_before, slates, info) after each step (optional)."""
    obs, info = env.reset()
    running, returns = np.zeros(env.num_envs), {}
    while info["active"].any():
        users, active = info["user_id"].copy(), info["active"].copy()
        before = {k: v.copy() for k, v in obs.items()}
        slates = policy(before)
        obs, reward, terminated, truncated, info = env.step(slates)
        if hasattr(policy, "learn"):
            policy.learn(before, slates, info["clicked"].astype(np.float64), active)
        running += reward
        for r in np.flatnonzero((terminated | truncated) & active):
            returns[int(users[r])] = running[r]
            running[r] = 0.0
    return returns


class LinUCBPolicy:
    def __init__(self, env, alpha):
        self.num_topics, self.k = env.env_spec["num_topics"], env.slate_size
        self.bandit = LinUCB(3 * env.env_spec["feature_dim"] + 1, alpha=alpha)

    def __call__(self, obs):
        return self.bandit.act(features(obs, self.num_topics), self.k)

    def learn(self, obs, slates, clicked, active):
        self.bandit.observe(features(obs, self.num_topics), slates, clicked, active)


def random_policy(env, seed):
    rng = np.random.default_rng(seed)
    return lambda obs: np.argsort(rng.random((env.num_envs, env.num_candidates)), axis=1)[:, :env.slate_size]


def paired_difference(a, b):
    """Mean of a - b and the half-width of its 95% interval (normal, n > 30)."""
    d = np.asarray(a) - np.asarray(b)
    return d.mean(), 1.959964 * d.std(ddof=1) / np.sqrt(len(d))


def builtin_returns(binary, scenario, seed, users, agent="linucb"):
    """{user id: return} of a built-in agent run by the command line."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([str(binary), "run", scenario, "--seed", str(seed), "--set", f"agent.type={agent}",
                        "--set", f"run.episodes={users}", "--out", out, "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        lines = [json.loads(line) for line in open(Path(out) / "metrics.jsonl")]
    return {d["user"]: d["return"] for d in lines if "user" in d}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="recsim_interest_evolution")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=None, help="default: the scenario's run.episodes")
    parser.add_argument("--alpha", type=float, default=1.0, help="weight of the confidence width")
    parser.add_argument("--cohort", default=str(Path(cohort.__file__).parents[2] / "cohort"),
                        help="the CLI binary (default: next to the package); 'none' skips the built-in")
    args = parser.parse_args(argv)
    if args.users is not None and args.users < 1:
        parser.error(f"--users must be at least 1, got {args.users}")
    if args.cohort != "none" and not Path(args.cohort).exists():
        parser.error(f"no cohort binary at {args.cohort} (pass --cohort PATH, or --cohort none)")

    run = cohort.make(args.scenario).scenario["run"]
    users = args.users or run["episodes"]
    make = lambda: cohort.make(args.scenario, num_envs=min(run["num_envs"], users), seed=args.seed, users=users)
    env = make()
    ours = serve(env, LinUCBPolicy(env, args.alpha))
    env = make()
    floor = serve(env, random_policy(env, args.seed))
    ids = sorted(ours)
    mine, rand = np.array([ours[u] for u in ids]), np.array([floor[u] for u in ids])
    print(f"{args.scenario}, seed {args.seed}, {len(ids)} users")
    print(f"  random            mean return {rand.mean():7.2f}")
    print(f"  NumPy LinUCB      mean return {mine.mean():7.2f}   vs random "
          f"{'%+.2f +- %.2f' % paired_difference(mine, rand)}")
    result = {"users": ids, "numpy": mine, "random": rand}
    if args.cohort != "none":
        theirs = builtin_returns(args.cohort, args.scenario, args.seed, users)
        if sorted(theirs) != ids:
            sys.exit("error: the command line served other users than the environment")
        builtin = np.array([theirs[u] for u in ids])
        diff = paired_difference(mine, builtin)
        print(f"  built-in linucb   mean return {builtin.mean():7.2f}   vs random "
              f"{'%+.2f +- %.2f' % paired_difference(builtin, rand)}")
        print(f"  NumPy - built-in  {'%+.2f +- %.2f' % diff} per user (paired by user id, 95%)")
        result["builtin"] = builtin
    return result


if __name__ == "__main__":
    main()
