#!/usr/bin/env python3
"""Behaviour regression check: every shipped scenario with every torch-free agent.

Runs `cohort run` for each (scenario, agent) cell of the matrix below, strips
the wall-clock fields (elapsed seconds, steps per second) from summary.json
and metrics.jsonl, and compares a SHA-256 of each, of scenario.resolved.json
(every default filled in) and of checkpoint.bin (learners) against the
committed reference tests/data/regression.sha256. A refactor that is meant to keep
behaviour must leave every hash unchanged.

  scripts/regression.py --cohort build/cohort            # check (exit 1 on a difference)
  scripts/regression.py --cohort build/cohort --update   # rewrite the reference

A deliberate change of one summary key is shown to be the only change by
recording a reference with the old binary and checking the new one against it,
both without that key:

  scripts/regression.py --cohort OLD --update --reference /tmp/ref --ignore-key variant
  scripts/regression.py --cohort NEW --reference /tmp/ref --ignore-key variant

A new scenario key whose default keeps behaviour (it adds itself to every
scenario.resolved.json, and so to every checkpoint's header) is shown the same
way against the committed hashes, copied: the key is left out of the resolved
scenarios, also inside checkpoints, before hashing:

  cp tests/data/regression.sha256 /tmp/ref
  scripts/regression.py --cohort NEW --reference /tmp/ref --ignore-key bots

Each cell runs a reduced number of episodes (and, for learners, training
steps) so the whole matrix takes about a minute; the scenario's own agent
also runs with the scenario's full settings.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "tests", "data", "regression.sha256")

# Torch-free agents (name, --set overrides). Learners also train for a few
# steps so training, evaluation and checkpoints are exercised.
AGENTS = [
    ("random", {"type": "random"}, []),
    ("popularity", {"type": "popularity"}, []),
    ("greedy_affinity", {"type": "greedy", "score": "affinity"}, []),
    ("greedy_quality", {"type": "greedy", "score": "quality"}, []),
    ("greedy_expected_reward", {"type": "greedy", "score": "expected_reward"}, []),
    ("oracle", {"type": "oracle"}, []),
    ("epsilon_greedy", {"type": "epsilon_greedy"}, ["run.train_steps=60", "run.eval_every=30"]),
    ("ucb1", {"type": "ucb1"}, ["run.train_steps=60", "run.eval_every=30"]),
    ("linucb", {"type": "linucb"}, ["run.train_steps=60", "run.eval_every=30"]),
    ("linear_ts", {"type": "linear_ts"}, ["run.train_steps=60", "run.eval_every=30"]),
]
REDUCED = ["run.episodes=96", "run.num_envs=32"]
WALL_CLOCK = ("seconds", "per_second")
OUTPUTS = ("summary.json", "metrics.jsonl", "scenario.resolved.json", "checkpoint.bin")


IGNORED = set()  # --ignore-key


def scrub(value):
    """Drops wall-clock fields (and --ignore-key keys), recursively."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if not any(w in k for w in WALL_CLOCK) and k not in IGNORED}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def drop_ignored(value):
    """Drops the --ignore-key keys only, recursively."""
    if isinstance(value, dict):
        return {k: drop_ignored(v) for k, v in value.items() if k not in IGNORED}
    if isinstance(value, list):
        return [drop_ignored(v) for v in value]
    return value


def checkpoint_without_ignored(data):
    """A checkpoint's bytes with the --ignore-key keys left out of the resolved
    scenario in its header, re-encoded as the trainer writes it (agents/trainer.cc:
    magic, format version, resolved.dump(), the rest; core/serialize.h Seal: the
    payload, then its FNV-1a checksum), so that a new key's default shows as no
    change."""
    def string_at(pos):
        n = struct.unpack_from("<Q", data, pos)[0]
        return data[pos + 8:pos + 8 + n], pos + 8 + n
    magic, pos = string_at(0)
    version = data[pos:pos + 4]
    resolved, rest = string_at(pos + 4)
    text = json.dumps(drop_ignored(json.loads(resolved)), separators=(",", ":"), ensure_ascii=False).encode()
    payload = data[:pos] + version + struct.pack("<Q", len(text)) + text + tail_without_ignored(data[rest:-8])
    h = 0xcbf29ce484222325
    for byte in payload:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return payload + struct.pack("<Q", h)


def tail_without_ignored(body):
    """A training checkpoint ends with the progress lines and the final summary
    (agents/trainer.cc Checkpoint: a count, that many strings, one string; each a
    u64 length and its bytes); those JSON texts are re-encoded without the
    --ignore-key keys, the rest is kept. Found from the end: each string ends where
    the next begins, and the count before the first equals the lines found."""
    def start_of_string_ending_at(end):
        for p in range(end - 9, max(-1, end - 8 - (1 << 22)), -1):
            if struct.unpack_from("<Q", body, p)[0] == end - p - 8 and body[p + 8:p + 9] == b"{":
                return p
        return None
    def encode(raw):
        text = json.dumps(drop_ignored(json.loads(raw)), separators=(",", ":"), ensure_ascii=False).encode()
        return struct.pack("<Q", len(text)) + text
    final = start_of_string_ending_at(len(body))
    if final is None:
        return body
    lines, boundary = [], final
    while not (boundary >= 8 and struct.unpack_from("<Q", body, boundary - 8)[0] == len(lines)):
        start = start_of_string_ending_at(boundary)
        if start is None:
            return body
        lines.insert(0, body[start + 8:boundary])
        boundary = start
    out = body[:boundary - 8] + struct.pack("<Q", len(lines))
    for line in lines:
        out += encode(line)
    return out + encode(body[final + 8:])


def digest(path):
    h = hashlib.sha256()
    if path.endswith(".bin"):
        with open(path, "rb") as f:
            data = f.read()
        h.update(checkpoint_without_ignored(data) if IGNORED else data)
        return h.hexdigest()
    with open(path) as f:
        if path.endswith(".jsonl"):
            for line in f:
                if line.strip():
                    h.update(json.dumps(scrub(json.loads(line)), sort_keys=False).encode() + b"\n")
        else:
            h.update(json.dumps(scrub(json.load(f)), sort_keys=False).encode())
    return h.hexdigest()


def cells():
    scenarios = sorted(f[:-5] for f in os.listdir(os.path.join(ROOT, "scenarios")) if f.endswith(".json"))
    for s in scenarios:
        yield s, "own", []
        for name, agent, sets in AGENTS:
            yield s, name, ["agent=" + json.dumps(agent)] + sets + REDUCED


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cohort", required=True, help="path to the cohort binary")
    ap.add_argument("--update", action="store_true", help="rewrite the reference hashes")
    ap.add_argument("--reference", default=REFERENCE, help="the hash file (default: tests/data/regression.sha256)")
    ap.add_argument("--ignore-key", action="append", default=[], help="leave this JSON key out of every hash")
    args = ap.parse_args()
    IGNORED.update(args.ignore_key)
    if args.ignore_key and args.reference == REFERENCE:
        ap.error("--ignore-key needs --reference: the committed hashes include every key")
    reference = args.reference
    def run(cell):
        scenario, agent, sets = cell
        out = os.path.join(tmp, f"{scenario}.{agent}")
        cmd = [args.cohort, "run", os.path.join(ROOT, "scenarios", scenario + ".json"), "--out", out, "--quiet"]
        for s in sets:
            cmd += ["--set", s]
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            return None, f"regression: {scenario} {agent}: exit {r.returncode}\n{r.stderr}"
        names = [n for n in OUTPUTS if os.path.exists(os.path.join(out, n))]
        return [f"{digest(os.path.join(out, n))}  {scenario} {agent} {n}" for n in names], None

    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for got, error in pool.map(run, list(cells())):
                if error:
                    print(error, file=sys.stderr)
                    return 1
                lines += got
    if args.update:
        os.makedirs(os.path.dirname(os.path.abspath(reference)), exist_ok=True)
        with open(reference, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"regression: wrote {len(lines)} hashes to {os.path.relpath(reference, ROOT)}")
        return 0
    with open(reference) as f:
        want = [l.rstrip("\n") for l in f if l.strip()]
    want_by_cell = {l.split("  ", 1)[1]: l.split("  ", 1)[0] for l in want}
    got_by_cell = {l.split("  ", 1)[1]: l.split("  ", 1)[0] for l in lines}
    changed = [c for c in got_by_cell if want_by_cell.get(c) != got_by_cell[c]]
    missing = [c for c in want_by_cell if c not in got_by_cell]
    for c in changed:
        print(f"regression: CHANGED {c}", file=sys.stderr)
    for c in missing:
        print(f"regression: MISSING {c}", file=sys.stderr)
    if changed or missing:
        print(f"regression: {len(changed)} changed, {len(missing)} missing of {len(want_by_cell)}", file=sys.stderr)
        return 1
    print(f"regression: {len(got_by_cell)} outputs unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
