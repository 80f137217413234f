"""Cohort's own minimal spaces, with Gymnasium's semantics for what Cohort uses:
shape, dtype, sample(), contains(), seed(). When gymnasium is importable, its real
classes are used instead (same constructor arguments)."""
import numpy as np

try:  # pragma: no cover - depends on the machine
    from gymnasium.spaces import Box, Dict, MultiDiscrete  # noqa: F401
    GYMNASIUM = True
except ImportError:
    GYMNASIUM = False

    class _Space:
        def __init__(self, shape, dtype, seed=None):
            self.shape = None if shape is None else tuple(shape)
            self.dtype = None if dtype is None else np.dtype(dtype)
            self._np_random = np.random.default_rng(seed)

        def seed(self, seed=None):
            self._np_random = np.random.default_rng(seed)
            return [seed]

        @property
        def np_random(self):
            return self._np_random

    class Box(_Space):
        """Values in [low, high] of a shape and dtype."""

        def __init__(self, low, high, shape=None, dtype=np.float32, seed=None):
            dtype = np.dtype(dtype)
            if shape is None:
                shape = np.shape(low) if np.ndim(low) else np.shape(high)
            super().__init__(shape, dtype, seed)
            self.low = np.broadcast_to(np.asarray(low, dtype=dtype), self.shape).copy()
            self.high = np.broadcast_to(np.asarray(high, dtype=dtype), self.shape).copy()

        def contains(self, x):
            x = np.asarray(x)
            if x.shape != self.shape or not np.can_cast(x.dtype, self.dtype):
                return False
            return bool(np.all(x >= self.low) and np.all(x <= self.high))

        def sample(self):
            if self.dtype.kind in "iu":
                lo = self.low.astype(np.float64)
                hi = np.minimum(self.high.astype(np.float64), 2.0**62)
                return np.asarray(np.floor(self.np_random.uniform(lo, hi + 1)).clip(lo, hi)).astype(self.dtype)
            lo = np.where(np.isfinite(self.low), self.low, -1e3)
            hi = np.where(np.isfinite(self.high), self.high, 1e3)
            return np.asarray(self.np_random.uniform(lo, hi)).astype(self.dtype)

        def __repr__(self):
            return f"Box({self.shape}, {self.dtype})"

    class MultiDiscrete(_Space):
        """Integers x[i] in [0, nvec[i])."""

        def __init__(self, nvec, dtype=np.int64, seed=None):
            self.nvec = np.asarray(nvec, dtype=np.int64)
            super().__init__(self.nvec.shape, dtype, seed)

        def contains(self, x):
            x = np.asarray(x)
            if x.shape != self.shape or x.dtype.kind not in "iu":
                return False
            return bool(np.all(x >= 0) and np.all(x < self.nvec))

        def sample(self):
            return (self.np_random.random(self.shape) * self.nvec).astype(self.dtype)

        def __repr__(self):
            return f"MultiDiscrete({self.nvec.tolist()})"

    class Dict(_Space):
        """A dict of named spaces."""

        def __init__(self, spaces, seed=None):
            self.spaces = dict(spaces)
            super().__init__(None, None, seed)

        def seed(self, seed=None):
            seeds = np.random.SeedSequence(seed).spawn(len(self.spaces))
            for s, ss in zip(self.spaces.values(), seeds):
                s.seed(int(ss.generate_state(1)[0]))
            return [seed]

        def contains(self, x):
            return isinstance(x, dict) and x.keys() == self.spaces.keys() and all(
                s.contains(x[k]) for k, s in self.spaces.items())

        def sample(self):
            return {k: s.sample() for k, s in self.spaces.items()}

        def __getitem__(self, key):
            return self.spaces[key]

        def __repr__(self):
            return "Dict(" + ", ".join(f"{k}: {s!r}" for k, s in self.spaces.items()) + ")"
