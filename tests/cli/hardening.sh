#!/usr/bin/env bash
# Issue 19's reproducers against the `cohort` binary: deep and duplicate-key
# JSON in every kind of input, oversized files, invalid UTF-8 in --set,
# extreme values, rule files beyond float range, corrupt checkpoints given to
# --resume. Each must exit with its documented code (2: bad input, 1: a
# corrupt checkpoint) and a message naming the file; never a crash or a hang.
#
#   hardening.sh PATH/TO/cohort SOURCE_DIR
set -u
set -o pipefail

[[ $# -eq 2 ]] || { echo "usage: hardening.sh PATH/TO/cohort SOURCE_DIR" >&2; exit 64; }
cohort=$(realpath -- "$1")
src=$(realpath -- "$2")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/cohort-hardening.XXXXXX") || exit 1
trap 'rm -rf -- "$scratch"' EXIT
cd -- "$scratch" || exit 1

failures=0
fail() {
  printf 'FAIL: %s\n' "$*"
  failures=$((failures + 1))
}

# expect CODE REGEX -- ARGS...: cohort ARGS exits CODE (within 120 s) and its
# output matches REGEX.
expect() {
  local code=$1 regex=$2
  shift 3
  local rc=0
  timeout 120 "$cohort" "$@" >out.log 2>&1 </dev/null || rc=$?
  if [[ $rc -ne $code ]] || ! grep -Eq -- "$regex" out.log; then
    fail "cohort ${*:1:3}... exited $rc (expected $code), output:"
    head -c 600 out.log | sed 's/^/    | /'
    echo
    return
  fi
  printf 'ok: cohort %s exited %s\n' "$(printf '%.80s' "$*")" "$rc"
}

nest() {  # nest N PREFIX SUFFIX: N opening brackets, then the closing ones
  /usr/bin/python3 -c "import sys; n=int(sys.argv[1]); sys.stdout.write(sys.argv[2] + '['*n + ']'*n + sys.argv[3])" "$@"
}

# --- Deep JSON: a scenario 100k levels deep, a sweep value 65k deep.
nest 100000 '{"name": "deep", "env": {"num_topics": ' '}}' >deep.json
expect 2 'deep\.json: /env/num_topics(/0)+: nesting deeper than 256 levels' -- validate deep.json
expect 2 'deep\.json: .*nesting deeper than 256 levels' -- run deep.json --out run_deep
nest 65000 "{\"name\": \"s\", \"base\": \"$src/scenarios/recsim_interest_evolution.json\", \"set\": {\"run.episodes\": " '}}' \
  >deep_sweep.json
expect 2 'deep_sweep\.json: /set/run\.episodes/0(/0)+: nesting deeper than 256 levels' -- validate deep_sweep.json
expect 2 'deep_sweep\.json: .*nesting deeper than 256 levels' -- sweep deep_sweep.json --out sweep_deep
expect 2 '--set: /env/choice(/0)+: nesting deeper than 256 levels' -- \
  validate recsim_interest_evolution --set "env.choice=$(nest 300 '' '')"

# --- A cell's summary.json 200k levels deep, read by `cohort report`.
cat >tiny.json <<EOF
{"name": "tiny", "base": "$src/scenarios/recsim_interest_evolution.json",
 "set": {"run.episodes": 20, "run.num_envs": 8},
 "axes": [{"path": "agent.type", "values": ["random", "greedy"]}], "seeds": {"start": 0, "count": 1}}
EOF
expect 0 '2 ran, 0 failed' -- sweep tiny.json --out tiny_out --quiet
summary=$(find tiny_out/cells -name summary.json | head -1)
nest 200000 '' '' >"$summary"
# The report lists the cell as failed (docs/sweeps.md), naming the file and why.
expect 0 'cells/c[0-9]+/summary\.json cannot be read: nesting deeper than 256 levels' -- report tiny_out

# --- Duplicate keys, in a scenario, a sweep and a --set value.
printf '{"name": "dup", "env": {"num_topics": 3}, "env": {}}\n' >dup.json
expect 2 'dup\.json: /env: key "env" is defined twice in this object' -- validate dup.json
printf '{"name": "s", "base": "%s/scenarios/recsim_interest_evolution.json", "set": {"a": 1, "a": 2}}\n' "$src" >dup_sweep.json
expect 2 'dup_sweep\.json: /set/a: key "a" is defined twice' -- validate dup_sweep.json
expect 2 '/env/reward/click: key "click" is defined twice' -- \
  validate recsim_interest_evolution --set 'env.reward={"click": 1, "click": 0}'

# --- Files larger than the input limit are refused before being read whole.
{ printf '{"name": "big", "description": "'; head -c 70000000 /dev/zero | tr '\0' 'x'; printf '"}'; } >big.json
expect 2 'big\.json: file is larger than 64 MiB' -- validate big.json

# --- Invalid UTF-8 in --set: validate and run both refuse it, naming --set.
bad=$(printf 'name=\xff\xfe')
expect 2 '^error: --set: /name: the value is not valid UTF-8' -- validate recsim_interest_evolution --set "$bad"
expect 2 '^error: --set: /name: the value is not valid UTF-8' -- run recsim_interest_evolution --set "$bad" --out r

# --- A key holding NUL is shown escaped, the message not cut at the NUL.
printf '{"name": "n", "env": {"a\\u0000b": 1}}\n' >nul.json
expect 2 '/env/a\\u0000b: unknown key "a\\u0000b"' -- validate nul.json

# --- Extreme values: refused at validation, naming the key.
expect 2 '/env/reward/watch_time: value 1e\+300 must be <= 1000000000|/env/reward/watch_time: value 1e\+300 is out of range' -- \
  validate recsim_interest_evolution --set agent.type=linucb --set env.reward.watch_time=1e300
expect 2 '/env/catalog/quality_std: value 1e\+308 is out of range \[0, 1000000000\]' -- \
  validate recsim_interest_evolution --set env.catalog.quality_std=1e308
expect 2 '/env/users/time_budget/mean: value 1e\+308' -- \
  validate recsim_interest_evolution --set env.users.time_budget.mean=1e308
expect 2 'run/episodes: value 9007199254740993 ' -- validate recsim_interest_evolution --set run.episodes=9007199254740993
# int_uniform bounds beyond 2^53 (a family parameter, a sweep axis).
/usr/bin/python3 - "$src" <<'EOF'
import json, sys
src = sys.argv[1]
fam = json.load(open(src + "/scenarios/bandit_family.json"))
for p in fam["family"]["parameters"]:
    if p.get("distribution") == "int_uniform":
        p["high"] = 1e300
        break
else:
    fam["family"]["parameters"].append({"path": "env.horizon.max_session_steps", "distribution": "int_uniform",
                                         "low": 1, "high": 1e300})
json.dump(fam, open("wide_family.json", "w"))
json.dump({"name": "w", "base": src + "/scenarios/recsim_interest_evolution.json",
           "axes": [{"path": "env.horizon.max_session_steps", "distribution": "int_uniform", "low": 1,
                     "high": 1e300, "count": 2}]}, open("wide_sweep.json", "w"))
EOF
expect 2 'wide_family\.json: /family/parameters/[0-9]+/high: int_uniform bounds must lie within \+-2\^53' -- \
  validate wide_family.json
expect 2 'wide_sweep\.json: /axes/0/high: int_uniform bounds must lie within \+-2\^53' -- validate wide_sweep.json

# --- A rule file value beyond float range (without LibTorch, on the bandit
# exploration rule: the same rule-file check).
if "$cohort" --version | grep -q 'LibTorch agents: yes'; then
  rule=drifting_learned_optimizer meta=drifting_optimizer
else
  rule=bandit_exploration meta=bandit_exploration
fi
/usr/bin/python3 - "$src/scenarios/rules/$rule.json" <<'EOF'
import json, sys
rule = json.load(open(sys.argv[1]))
rule["theta"][0] = 3.5e38
json.dump(rule, open("big_rule.json", "w"))
EOF
expect 2 'big_rule\.json: /theta/0: expected a finite number within float range' -- \
  meta eval "$src/scenarios/meta/$meta.json" --rule big_rule.json --variants 1

# --- Corrupt checkpoints given to --resume: exit 1, "is corrupt", never a crash.
expect 0 '' -- run cascade_news --set 'agent={"type": "linucb"}' --set run.train_steps=40 --set run.eval_every=20 \
  --set run.num_envs=8 --set run.episodes=8 --out ck --quiet
if [[ -f ck/checkpoint.bin ]]; then
  cp ck/checkpoint.bin good.bin
  for i in 1 2 3 4 5; do
    /usr/bin/python3 - "$i" <<'EOF'
import random, sys
data = bytearray(open("good.bin", "rb").read())
rng = random.Random(int(sys.argv[1]))
at = rng.randrange(len(data))
data[at] ^= 1 << rng.randrange(8)
open("ck/checkpoint.bin", "wb").write(data)
EOF
    rm -f ck/summary.json
    expect 1 'checkpoint .*checkpoint\.bin is corrupt' -- run --resume ck --quiet
  done
else
  fail "no checkpoint.bin written by the training run"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all hardening checks passed"
