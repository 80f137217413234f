"""Cohort from Python: the simulator at C++ speed, its ground truth, the same
scenarios and errors as the command line. See docs/python.md.

    import cohort
    env = cohort.make("recsim_interest_evolution", num_envs=1024, seed=0)
    obs, info = env.reset()
    slates = np.tile(np.arange(env.slate_size), (env.num_envs, 1))
    obs, reward, terminated, truncated, info = env.step(slates)
"""
import json as _json

from . import _cohort
from ._cohort import ScenarioError
from .spaces import Box, Dict, MultiDiscrete
from .export import to_minari

# Users numbered from here are the trainer's evaluation users (agents/runner.h
# kFirstEvalUser): make(..., first_user=FIRST_EVAL_USER) meets them.
FIRST_EVAL_USER = 1 << 40

__all__ = ["make", "agent", "Agent", "run", "sweep", "report", "meta_train", "log", "ope", "train_offline", "to_minari", "FIRST_EVAL_USER", "variants", "VecEnv", "ScenarioError", "shipped_scenarios", "Box", "Dict", "MultiDiscrete"]


def shipped_scenarios():
    """Names of the scenarios shipped in scenarios/."""
    return _cohort.shipped_scenarios()


def _sets(set):
    # {"dotted.path": value} -> ["dotted.path=<value as JSON>"], as --set takes them.
    if set is None:
        return []
    if not isinstance(set, dict):
        raise TypeError(f"set must be a dict of dotted paths to values, got {type(set).__name__}")
    out = []
    for path, value in set.items():
        if not isinstance(path, str):
            raise TypeError(f"set: keys must be dotted paths (str), got {path!r}")
        out.append(f"{path}={_json.dumps(value, allow_nan=False)}")
    return out


def _source(scenario):
    # (text, is_document): a shipped name or path, or a dict as JSON text.
    import os
    if isinstance(scenario, dict):
        return _json.dumps(scenario, allow_nan=False), True
    if isinstance(scenario, (str, os.PathLike)):
        return os.fspath(scenario), False
    raise TypeError(f"scenario must be a name, a path or a dict, got {type(scenario).__name__}")


def _check_seed_and_variant(seed, variant):
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if variant is not None and not isinstance(variant, str):
        raise TypeError(f"variant must be a string like \"test:3\", got {type(variant).__name__}")


def variants(scenario, split, *, set=None):
    """The variants of a split of the scenario's family, in index order: dicts with
    "name" ("test:3", what make(variant=...) takes), "split", "index", "id" (seeds
    the variant's streams) and "values" ({dotted path: sampled value}). An unknown
    split, or a scenario without a family, raises ScenarioError."""
    if not isinstance(split, str):
        raise TypeError(f"split must be a string like \"test\", got {type(split).__name__}")
    source, is_document = _source(scenario)
    return _cohort.variants(source, is_document, _sets(set), split)


def make(scenario, *, num_envs=1, seed=0, variant=None, set=None, threads=1, users=None,
         first_user=0):
    """A batched environment of `num_envs` user slots.

    scenario: a shipped name ("recsim_interest_evolution"), a path to a JSON
    file, or a dict (the file's contents). set: {"dotted.path": value}, like
    the CLI's --set. variant: "split:index" of the scenario's family. users:
    how many users the environment serves in all (slot b serves users b,
    b + num_envs, ...; a slot whose users are exhausted turns inactive,
    info["active"]), as `cohort run` serves run.episodes; None: unlimited.
    first_user: the number of slot 0's first user; users are drawn from the
    same population and world for any numbering, so first_user=
    cohort.FIRST_EVAL_USER gives held-out users, never met by an environment
    numbered from 0 (the trainer's evaluation users).
    Bad input raises ScenarioError (a ValueError) with .file and .path.
    """
    source, is_document = _source(scenario)
    for name, value in (("num_envs", num_envs), ("seed", seed), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if users is not None and (isinstance(users, bool) or not isinstance(users, int)):
        raise TypeError(f"users must be an int or None, got {type(users).__name__}")
    if isinstance(first_user, bool) or not isinstance(first_user, int):
        raise TypeError(f"first_user must be an int, got {type(first_user).__name__}")
    if first_user < 0:
        raise ValueError(f"first_user must be non-negative, got {first_user}")
    if users is not None and users < 1:
        raise ValueError(f"users must be at least 1 (or None: unlimited), got {users}")
    if variant is not None and not isinstance(variant, str):
        raise TypeError(f"variant must be a string like \"test:3\", got {type(variant).__name__}")
    core = _cohort.Env(source, is_document, _sets(set), seed, variant, num_envs, threads,
                       -1 if users is None else users, first_user)
    return VecEnv(core)


try:  # Gymnasium is not a Debian package: used when importable, never required.
    import gymnasium as _gymnasium
    _VectorEnvBase = _gymnasium.vector.VectorEnv
    _SAME_STEP = getattr(getattr(_gymnasium.vector, "AutoresetMode", None), "SAME_STEP", "SameStep")
except ImportError:
    _gymnasium = None
    _VectorEnvBase = object
    _SAME_STEP = "SameStep"


class VecEnv(_VectorEnvBase):
    """num_envs users stepping together (Gymnasium vector-env conventions).

    reset(seed=None) -> (obs, info); step(slates) -> (obs, reward, terminated,
    truncated, info). A row whose episode ended is reset in the same step
    (same-step auto-reset, metadata["autoreset_mode"]): its obs already
    belongs to the next user, and info["final_interests"] holds the ended
    user's last observed interests. The arrays returned are views of the
    environment's reused buffers, valid until the next step; .copy() what you
    keep. When gymnasium is importable this is a gymnasium.vector.VectorEnv.
    """

    metadata = {"autoreset_mode": _SAME_STEP}

    def __init__(self, core):
        self._core = core
        self._generation = -1
        self._started = False
        self._views()
        spec = core.spec()
        self.env_spec = spec
        self.num_envs = spec["num_envs"]
        self.num_candidates = spec["num_candidates"]
        self.slate_size = spec["slate_size"]
        self.truth = Truth(core)
        self.single_observation_space, self.single_action_space = _spaces(spec)
        self.observation_space, self.action_space = _batched_spaces(self.single_observation_space, spec,
                                                                    self.num_envs)

    @property
    def scenario(self):
        """The resolved scenario (every default filled in), as a dict."""
        return _json.loads(self._core.resolved)

    @property
    def variant(self):
        return self._core.variant or None

    def _views(self):
        # The views of the current buffers, made once per rebuild of the core.
        if self._generation != self._core.generation:
            self._obs, self._info = self._core.observation(), self._core.info()
            if not self._core.spec()["budget_observed"]:
                # Unobserved budgets are NaN in the simulator's buffer; the
                # observation shows zeros, like hidden interests, so it stays
                # inside its space.
                import numpy as np
                zeros = np.zeros(self._obs["budget"].shape, np.float32)
                zeros.setflags(write=False)
                self._obs["budget"] = zeros
            self._reward, self._terminated, self._truncated = self._core.outcome()
            self._generation = self._core.generation

    def reset(self, seed=None, options=None):
        """Starts every slot on its first user. seed: rebuilds the random streams
        from it (an int; kept by later resets). options: none are taken."""
        if options:
            raise ValueError(f"reset() takes no options, got {options!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None (one seed for the whole batch), got {type(seed).__name__}")
        self._core.reset(seed)
        self._views()
        self._started = True
        # New dicts over the same views: a caller (or a Gymnasium wrapper) may
        # add keys to what it receives without changing the next step's.
        return dict(self._obs), dict(self._info)

    def step(self, slates):
        if not self._started:
            raise RuntimeError("call reset() before the first step()")
        self._core.step(slates)
        return dict(self._obs), self._reward, self._terminated, self._truncated, dict(self._info)

    def close(self, **kwargs):
        """Nothing to release (the buffers go with the object); for Gymnasium's API."""
        self.closed = True

    def __repr__(self):
        return f"cohort.VecEnv({self.scenario['name']}, num_envs={self.num_envs})"


def agent(env, config, *, total_steps=0):
    """A built-in agent (`cohort list` shows them) acting in `env`.

    config: the scenario's "agent" block as a dict ({"type": "linucb",
    "alpha": 0.5}), or just a type name. It is validated like the scenario's
    own (defaults filled in; bad keys raise ScenarioError naming "<agent>"
    and the JSON path). total_steps: the planned training length in steps of
    the whole batch, for agents whose schedules depend on progress (0:
    unknown, as in a plain `cohort run`). The agent draws its random streams
    from the environment's seed and variant, as in `cohort run`.
    """
    if not isinstance(env, VecEnv):
        raise TypeError(f"env must be a cohort.VecEnv (from cohort.make), got {type(env).__name__}")
    if isinstance(config, str):
        config = {"type": config}
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict (an \"agent\" block) or a type name, got {type(config).__name__}")
    if isinstance(total_steps, bool) or not isinstance(total_steps, int):
        raise TypeError(f"total_steps must be an int, got {type(total_steps).__name__}")
    return Agent(env, _cohort.Agent(env._core, _json.dumps(config, allow_nan=False), total_steps))


class Agent:
    """A built-in C++ agent driven from Python, bound to one VecEnv.

    Each step, in this order (the runner's, agents/agent.h):
        slates = agent.act(obs)
        obs, reward, terminated, truncated, info = env.step(slates)
        agent.observe(obs, reward, terminated, truncated, info)
        stats = agent.update()      # {} when it did not update this step
    `obs` must be the observation its environment returned last (the agent
    reads the environment's own buffers, so the arrays are not copied).
    act returns a (num_envs, slate_size) int32 view of the agent's slate
    buffer, valid until the next act. Inactive rows' slates are unspecified.
    """

    def __init__(self, env, core):
        self._env = env
        self._core = core

    def _check(self, obs, what):
        # The dicts are new each step; their arrays are the environment's views.
        if not isinstance(obs, dict) or obs.get("candidate_topic") is not self._env._obs["candidate_topic"]:
            raise ValueError(f"{what}: obs must be the observation dict this agent's environment returned last "
                             "(reset() or step()); the agent reads the environment's own buffers")

    @property
    def type(self):
        return self._core.type

    @property
    def config(self):
        """The resolved agent block (every default filled in)."""
        return _json.loads(self._core.config)

    @property
    def learns(self):
        return self._core.learns

    @property
    def privileged(self):
        """True when the agent reads ground truth (the oracle, greedy by quality)."""
        return self._core.privileged

    @property
    def training(self):
        return self._core.training

    def set_training(self, training):
        """False: the frozen evaluation policy (bandits act greedily; stochastic
        policies sample from their evaluation stream); observe() and update()
        then do nothing, as in the trainer's evaluations. True: back to learning."""
        self._core.set_training(bool(training))

    def act(self, obs):
        """(num_envs, slate_size) int32 slates for the current observation."""
        self._check(obs, "act")
        return self._core.act()

    def observe(self, obs, reward, terminated, truncated, info):
        """The result of env.step() on this agent's last slates (and the next observation)."""
        self._check(obs, "observe")
        self._core.observe()

    def update(self):
        """One learning step when the agent is ready: a dict of training statistics, {} otherwise."""
        return self._core.update()

    def scores(self, obs):
        """(num_envs, num_candidates) float64: the agent's own score of each candidate
        (what it ranks by; its name in .score_name), NaN where it has none. Changes
        no state: calling it leaves the run bit-identical."""
        self._check(obs, "scores")
        values, self.score_name = self._core.scores()
        return values

    score_name = ""

    def entropy(self):
        """(entropy of the last act in nats, its maximum); NaNs when the agent has none."""
        return self._core.entropy()

    def save(self, path):
        """Writes the agent's complete state (random streams and buffers included) atomically."""
        import os
        self._core.save(os.fspath(path))

    def load(self, path):
        """Restores a state written by save() for the same config and num_envs."""
        import os
        self._core.load(os.fspath(path))


# ---- the CLI's jobs (apps/jobs.h: the same code as cohort run / sweep / report / meta train)

def _outcome(d, what, resume_hint):
    if d["stopped"]:
        raise KeyboardInterrupt(f"{what} stopped by {d['signal']}" + (f"; {resume_hint}" if resume_hint else ""))
    return d


def _optional_int(name, value, low):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return value


def _path(name, value):
    import os
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path, got {type(value).__name__}")
    return os.fspath(value)


def run(scenario, *, set=None, seed=0, variant=None, out=None, threads=None, force=False, quiet=True):
    """`cohort run` as a function: the scenario's agent (trained first when
    run.train_steps > 0), with the random and oracle reference rollouts when
    run.reference is set. Returns the summary (summary.json) as a dict.

    out: the run directory, written as by the CLI (scenario.resolved.json,
    metrics.jsonl, summary.json, checkpoint.bin); a directory holding this
    finished run is not redone (its summary is returned), one holding another
    is refused unless force; the same call after an interruption continues a
    training run from its checkpoint. out=None keeps no files (a training run
    trains in a temporary directory). SIGINT (Ctrl-C) stops a training run
    after writing its checkpoint and raises KeyboardInterrupt.
    """
    source, is_document = _source(scenario)
    _check_seed_and_variant(seed, variant)
    threads = _optional_int("threads", threads, 1)
    out = None if out is None else _path("out", out)
    d = _cohort.run(source, is_document, _sets(set), seed, variant, threads, out, bool(force), bool(quiet))
    _outcome(d, "the run", f"run the same call again to continue from {d['out']}/checkpoint.bin" if out else
             "nothing was kept (out=None)")
    return _json.loads(d["summary"])


def log(scenario, *, out, set=None, seed=0, variant=None, threads=None, csv=False, force=False, quiet=True):
    """`cohort log` as a function: runs the scenario's agent as the logging policy
    (run.episodes users, learning online as in `cohort run`; with run.train_steps
    > 0, the trainer's training steps) and writes every step
    with its exact propensities to out/log.h5 (docs/logs.md; read it with h5py).
    Returns out/log.json: {"file", "slates", "episodes", "users_cut", "train_steps", "slate_law",
    "deterministic", "item_propensity_method", "seconds"}. A directory holding a
    log is refused unless force. SIGINT stops it, writes nothing and raises
    KeyboardInterrupt."""
    source, is_document = _source(scenario)
    _check_seed_and_variant(seed, variant)
    threads = _optional_int("threads", threads, 1)
    d = _cohort.log(source, is_document, _sets(set), seed, variant, threads, _path("out", out), bool(csv),
                    bool(force), bool(quiet))
    _outcome(d, "the log", "nothing was written; run the same call again")
    return _json.loads(d["summary"])


def ope(log_dir, target, *, estimators=None, bootstrap=1000, seed=0, terms=None):
    """`cohort ope` as a function: off-policy estimates of `target` (an agent block
    dict, a type name, a scenario file whose agent it takes, or a training run's
    directory or checkpoint.bin: its trained agent, frozen) on the log in
    log_dir, next to the exact truth. With a list of log directories: {"logs":
    [each result], "over_logs": {name: {"bias", "stddev", "rmse", "logs"}}}. Returns {"truth": {"value", "method"},
    "logging": {"value"}, "estimators": {name: {"estimate", "ci95", "error"}},
    "skipped": {name: reason}, ...} (docs/ope.md). terms: also write the per-step
    terms the estimators read (and the exact truth per step, apart) to this HDF5
    file, for one log (docs/ope.md, "The terms file")."""
    import os
    if isinstance(target, dict):
        target = _json.dumps(target, allow_nan=False)
    elif isinstance(target, os.PathLike):
        target = os.fspath(target)
    elif not isinstance(target, str):
        raise TypeError(f"target must be an agent block (dict), a type name, a scenario path or a run directory, got "
                        f"{type(target).__name__}")
    if estimators is None:
        estimators = []
    elif isinstance(estimators, str):
        estimators = [estimators]
    if not all(isinstance(e, str) for e in estimators):
        raise TypeError("estimators must be a list of names")
    bootstrap = _optional_int("bootstrap", bootstrap, 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    dirs = [log_dir] if isinstance(log_dir, (str, os.PathLike)) else list(log_dir)
    if not dirs:
        raise ValueError("ope needs at least one log directory")
    terms = "" if terms is None else _path("terms", terms)
    return _json.loads(_cohort.ope([_path("log_dir", d) for d in dirs], target, list(estimators), bootstrap, seed,
                                   terms))


def train_offline(log_dir, *, out, agent=None, l2=1.0, evaluate=True, sequence=None):
    """`cohort train-offline` as a function.

    agent=None: fits a click model (logistic regression on [u * x, x,
    onehot(position)], L2 penalty l2) on the log in log_dir alone, writes it to
    `out` and returns it; {"type": "click_model", "model": out} acts by it.

    agent given (a type such as "reinforce" or "click_model", or an agent dict,
    e.g. {"type": "reinforce", "offline": {"behaviour": "logged"}}): learns it from
    the log alone, writes `out` (the click model's file, or a checkpoint directory
    that `cohort viz --agent` loads) and returns the summary: the fit's
    statistics and, with evaluate, the true online value of the learned policy next
    to the logging policy's on the same evaluation users (docs/ope.md, offline
    learning). {"type": "reinforce", "offline": {"objective": "next_click"}} pretrains
    it as a click model, a warm start for an online run ({"init": out}).

    sequence: replay the log observing the users' last `sequence` interactions
    (env.observation.sequence.length; None: the log's own), e.g. to pretrain a
    sequence encoder on a log written without them."""
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not l2 > 0:
        raise ValueError(f"l2 must be a number > 0, got {l2!r}")
    if sequence is not None and (isinstance(sequence, bool) or not isinstance(sequence, int)
                                 or not 0 <= sequence <= 1024):
        raise ValueError(f"sequence must be an integer in [0, 1024], got {sequence!r}")
    if sequence is not None and agent is None:
        raise ValueError("sequence applies to an agent learned from the log (agent=...), not to the click model")
    if agent is not None:
        if isinstance(agent, dict):
            agent = _json.dumps(agent)
        elif not isinstance(agent, str) or not agent:
            raise ValueError(f"agent must be an agent type or an agent dict, got {agent!r}")
        return _json.loads(_cohort.train_offline_agent(_path("log_dir", log_dir), agent, _path("out", out),
                                                       float(l2), bool(evaluate),
                                                       -1 if sequence is None else sequence))
    return _json.loads(_cohort.train_offline(_path("log_dir", log_dir), _path("out", out), float(l2)))


def sweep(file, *, out, jobs=None, set=None, shard=None, quiet=True):
    """`cohort sweep` as a function: runs every cell of the sweep file not yet done
    into `out` (resumable: the same call again runs what is missing), `jobs` at a
    time (None: one per core). set: overrides of the base scenario in every cell.
    shard: (i, n) runs only cells with index % n == i. Cells run as `cohort run`
    processes of this build's CLI (`cohort log` with an evaluation in a "job":
    "ope" sweep; cohort.cohort_binary(), or the environment variable
    COHORT_BINARY). Returns the totals: {"out", "total",
    "skipped" (already done), "done", "failed", "interrupted"}; failed cells keep
    their error in out/cells/<cell>/error.json (a warning says how many).
    """
    import os
    import warnings
    file = _path("file", file)
    out = _path("out", out)
    jobs = _optional_int("jobs", jobs, 1)
    if shard is None:
        shard = (0, 1)
    if (not isinstance(shard, tuple) or len(shard) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                                     for v in shard)):
        raise TypeError(f"shard must be a tuple (i, n), got {shard!r}")
    if not 0 <= shard[0] < shard[1]:
        raise ValueError(f"shard must be (i, n) with 0 <= i < n, got {shard!r}")
    binary = cohort_binary()
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"cohort.sweep runs its cells with the cohort CLI, and {binary} is not an executable "
                           "(build it, or set COHORT_BINARY)")
    d = _cohort.sweep(file, _sets(set), out, jobs or 0, shard[0], shard[1], bool(quiet), binary)
    _outcome(d, "the sweep", "running training cells wrote their checkpoints; run the same call again to resume")
    totals = dict(d["sweep"], out=d["out"])
    if totals["failed"]:
        warnings.warn(f"{totals['failed']} of {totals['total']} cells failed; their errors are in "
                      f"{out}/cells/<cell>/error.json; run the same call again to retry them", RuntimeWarning,
                      stacklevel=2)
    return totals


def report(dir, *, group_by=None, metrics=None, baseline=None):
    """`cohort report` as a function: writes dir/results.csv, results.md and plots/
    (bootstrap intervals, paired deltas) and returns results.csv's rows as dicts:
    "cell", "status" ("done", "failed", "pending"), each axis, "seed", "variant"
    and every metric (None where a cell has none). group_by and metrics: lists
    (None: the sweep's report block, else the defaults); baseline: {axis path:
    value} naming the baseline group of the paired differences.
    """
    dir = _path("dir", dir)

    def strings(name, v):
        if v is None:
            return []
        if isinstance(v, str):
            return [v]
        if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
            raise TypeError(f"{name} must be a list of strings, got {v!r}")
        return list(v)

    if baseline is not None and not isinstance(baseline, dict):
        raise TypeError(f"baseline must be a dict {{axis path: value}}, got {type(baseline).__name__}")
    rows = _cohort.report(dir, strings("group_by", group_by), strings("metrics", metrics),
                          _json.dumps(baseline or {}, allow_nan=False))
    return _json.loads(rows)


def meta_train(file, *, out, set=None, threads=None, resume=False, quiet=True):
    """`cohort meta train` as a function: meta-trains the meta file's learnable rule
    into `out` (the same call again continues from its checkpoint; resume=True
    continues `out` with its recorded meta file and overrides, file then None).
    Returns {"out", "rule" (rule.json: the final mean), "best_rule"
    (best_rule.json, the best on validation; None without validation),
    "progress" (progress.jsonl's lines)}.
    """
    import os
    out = _path("out", out)
    if resume:
        if file is not None or set is not None or threads is not None:
            raise ValueError("meta_train(resume=True) takes out only: the meta file and overrides are the run's "
                             "(meta.command.json)")
        file = ""
    else:
        file = _path("file", file)
    sets = _sets(set)
    threads = _optional_int("threads", threads, 1)
    if threads is not None:
        sets.append(f"threads={threads}")
    d = _cohort.meta_train(file, sets, out, bool(resume), bool(quiet))
    _outcome(d, "meta-training", "checkpoint written; run the same call again to continue")

    def read(name):
        p = os.path.join(d["out"], name)
        return _json.load(open(p)) if os.path.exists(p) else None

    progress_file = os.path.join(d["out"], "progress.jsonl")
    progress = [_json.loads(line) for line in open(progress_file)] if os.path.exists(progress_file) else []
    return {"out": d["out"], "rule": read("rule.json"), "best_rule": read("best_rule.json"), "progress": progress}


def cohort_binary():
    """The cohort CLI cohort.sweep runs cells with: $COHORT_BINARY, else the one
    built with this package."""
    import os
    return os.environ.get("COHORT_BINARY") or _cohort.cohort_binary


class Truth:
    """Privileged ground truth of the current observation: never in obs."""

    def __init__(self, core):
        self._core = core

    def choice_probabilities(self, slates):
        """(num_envs, slate_size): each slate position's click probability."""
        return self._core.truth_choice_probabilities(slates)

    def expected_reward(self, slates):
        """(num_envs,): the exact expected immediate reward of each row's slate."""
        return self._core.truth_expected_reward(slates)

    def oracle_slates(self):
        """(slates, expected rewards) of the myopic oracle."""
        return self._core.truth_oracle_slates()

    def quality(self):
        """(num_envs, num_candidates): the candidates' hidden quality."""
        return self._core.truth_quality()

    def interests(self):
        """(num_envs, feature_dim): the users' true interests."""
        return self._core.truth_interests()


def _spaces(spec):
    import numpy as np
    K, d, H = spec["num_candidates"], spec["feature_dim"], spec["history"]
    inf = np.float32(np.inf)
    obs = {
        # Visible interests lie in [-1, 1]; noisy ones are those plus Gaussian
        # noise (unbounded); hidden ones are zeros.
        "interests": {"visible": Box(-1.0, 1.0, (d,), np.float32), "noisy": Box(-inf, inf, (d,), np.float32),
                      "hidden": Box(0.0, 0.0, (d,), np.float32)}[spec["interests"]],
        "budget": Box(-inf, inf, (), np.float32) if spec["budget_observed"] else Box(0.0, 0.0, (), np.float32),
        "history_topics": Box(-1, spec["num_topics"] - 1, (H,), np.int32),
        # Item ids are below 2^62 (high - low must fit in an int64 for sample()).
        "candidate_item": Box(-1, 2**62, (K,), np.int64),
        "candidate_topic": Box(0, spec["num_topics"] - 1, (K,), np.int32),
        "candidate_length": Box(0.0, inf, (K,), np.float32),
    }
    if spec["candidate_features"]:
        obs["candidate_features"] = Box(-inf, inf, (K, d), np.float32)
    L, k = spec.get("sequence", 0), spec["slate_size"]
    if L > 0:  # env.observation.sequence: the last L interactions, most recent first
        obs["sequence_length"] = Box(0, L, (), np.int32)
        obs["sequence_topic"] = Box(-1, spec["num_topics"] - 1, (L, k), np.int32)
        if spec["live_catalog"]:
            obs["sequence_item_id"] = Box(-1, 2**62, (L, k), np.int64)
        if spec["candidate_features"]:
            obs["sequence_features"] = Box(-inf, inf, (L, k, d), np.float32)
        for name in ("sequence_clicked", "sequence_liked", "sequence_disliked"):
            obs[name] = Box(0, 1, (L, k), np.uint8)
        obs["sequence_watch_time"] = Box(0.0, inf, (L, k), np.float32)
        obs["sequence_click_position"] = Box(-1, k - 1, (L,), np.int32)
        obs["sequence_reward"] = Box(-inf, inf, (L,), np.float32)
        obs["sequence_gap"] = Box(0.0, inf, (L,), np.float32)
        obs["sequence_session_step"] = Box(0, 2**31 - 1, (L,), np.int32)
    return Dict(obs), MultiDiscrete([K] * spec["slate_size"])


def _batched_spaces(single_obs, spec, B):
    import numpy as np
    obs = {k: Box(np.broadcast_to(s.low, (B,) + s.shape), np.broadcast_to(s.high, (B,) + s.shape), (B,) + s.shape,
                  s.dtype) for k, s in single_obs.spaces.items()}
    return Dict(obs), MultiDiscrete([[spec["num_candidates"]] * spec["slate_size"]] * B)
