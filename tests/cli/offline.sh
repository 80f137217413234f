#!/usr/bin/env bash
# `cohort train-offline` end to end on a small log of recsim_interest_evolution:
# bad inputs exit 2 with a clear message (an unknown agent, an agent that
# cannot learn offline, "logged" behaviour on a log without item
# propensities), and offline REINFORCE writes a loadable checkpoint and a
# summary with the true online value, byte-identically for the same log;
# pretraining (next_click) with a GRU encoder, then a run warm-started from
# it, and the warm start's errors.
# Built without LibTorch (scripts/sanitize.sh), `reinforce` is not registered:
# the script then checks that it is refused with exit 2 and runs the rest.
#
#   offline.sh PATH/TO/cohort
set -u
set -o pipefail

[[ $# -eq 1 ]] || { echo "usage: offline.sh PATH/TO/cohort" >&2; exit 64; }
cohort=$1
[[ -x $cohort ]] || { echo "offline.sh: $cohort is not executable" >&2; exit 64; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/cohort-offline.XXXXXX") || exit 1
trap 'rm -rf -- "$scratch"' EXIT
cd -- "$scratch" || exit 1

failures=0
fail() {
  printf 'FAIL: %s\n' "$*"
  failures=$((failures + 1))
}
pass() { printf 'ok: %s\n' "$*"; }

# expect RC REGEX ARGS...: cohort ARGS exits RC and its output matches REGEX.
expect() {
  local expected=$1 regex=$2
  shift 2
  local rc=0 out
  out=$("$cohort" "$@" 2>&1 </dev/null) || rc=$?
  if [[ $rc -ne $expected ]] || ! grep -Eq -- "$regex" <<<"$out"; then
    fail "cohort $* exited $rc (expected $expected) or its output lacks /$regex/:"
    sed 's/^/    | /' <<<"$out"
    return 1
  fi
  pass "cohort $* exited $rc"
}

"$cohort" log recsim_interest_evolution --set run.episodes=40 --set run.num_envs=16 --quiet --out log \
  --set 'agent={"type": "logging", "policy": {"type": "greedy"}, "epsilon": 0.3}' >/dev/null || exit 1

small='"epochs": 2'
expect 2 'unknown agent type "nosuch"' train-offline log --agent nosuch --out out
expect 2 '"greedy" cannot learn from a log' train-offline log --agent greedy --out out
expect 2 'click model takes no keys' train-offline log --agent '{"type": "click_model", "model": "x"}' --out m.json
expect 2 'no log.h5' train-offline nowhere --agent click_model --out out
expect 2 'required' train-offline log --agent click_model

# The click model (the default agent) writes its model and a summary beside it.
expect 0 'true online value' train-offline log --out click.json
[[ -s click.json && -s click.summary.json ]] && pass "click model and click.summary.json" ||
  fail "click model files missing"

listing=$("$cohort" list 2>/dev/null)  # not piped into grep -q: pipefail would see SIGPIPE
if ! grep -q '^  type "reinforce"' <<<"$listing"; then
  expect 2 'unknown agent type "reinforce"' train-offline log --agent reinforce --out out
  [[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
  echo "all passed (built without LibTorch: offline REINFORCE not tested)"
  exit 0
fi

expect 2 '/agent/offline/behaviour: "lerned" is not one of' train-offline log \
  --agent '{"type": "reinforce", "offline": {"behaviour": "lerned"}}' --out out
expect 2 'no log.h5' train-offline nowhere --agent reinforce --out out
expect 2 'required' train-offline log --agent reinforce

# A log without item propensities: "logged" is refused, "learned" needs none.
cp -r log noprop
/usr/bin/python3 -c 'import h5py, sys; f = h5py.File(sys.argv[1], "a"); del f["steps/item_propensity"]' \
  noprop/log.h5 || exit 1
expect 2 'item_propensity' train-offline noprop --agent "{\"type\": \"reinforce\", \"offline\": {\"behaviour\": \"logged\", $small}}" --out out
expect 0 'learned - logging' train-offline noprop --agent "{\"type\": \"reinforce\", \"offline\": {$small}}" --out noprop_out

# Offline REINFORCE: checkpoint, summary, determinism.
for run in a b; do
  expect 0 'true online value on 40 evaluation users' train-offline log \
    --agent "{\"type\": \"reinforce\", \"offline\": {$small}}" --out "rf_$run"
done
for f in checkpoint.bin scenario.resolved.json summary.json; do
  [[ -s rf_a/$f ]] && pass "rf_a/$f written" || fail "rf_a/$f missing"
done
cmp -s rf_a/checkpoint.bin rf_b/checkpoint.bin && pass "same log, same checkpoint bytes" ||
  fail "two runs on the same log wrote different checkpoints"
/usr/bin/python3 - rf_a/summary.json rf_b/summary.json <<'PY' && pass "summary keys; same online value" || fail "summary"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for who in ("learned", "logging"):
    for key in ("return_mean", "return_ci95", "normalized_score", "normalized_score_ci95"):
        assert isinstance(a["online"][who][key], float), (who, key)
assert a["online"]["users"] == 40 and a["online"]["first_user"] == 2 ** 40
assert a["agent"]["offline"]["behaviour"] == "learned" and a["fit"]["steps"] > 0
strip = lambda s: {k: v for k, v in s.items() if k not in ("elapsed_seconds", "out", "summary")}
assert strip(a) == strip(b)
PY

# Pretraining ("objective": "next_click") of a GRU encoder on the log, which
# was written without a sequence: replayed with one (--sequence), then an
# online run warm-started from the checkpoint ("init").
gru='"encoder": {"type": "gru", "hidden": 8}'
pre="{\"type\": \"reinforce\", $gru, \"offline\": {\"objective\": \"next_click\", $small}}"
expect 2 '/agent/encoder/type.*env.observation.sequence.length' train-offline log --agent "$pre" --out pre
expect 2 '/agent/offline/behaviour: applies to "objective": "off_policy" only' train-offline log --sequence 6 \
  --agent "{\"type\": \"reinforce\", $gru, \"offline\": {\"objective\": \"next_click\", \"behaviour\": \"logged\"}}" --out pre
expect 2 '/agent/offline/weighting: applies to "objective": "next_click" only' train-offline log \
  --agent '{"type": "reinforce", "offline": {"weighting": "inverse_propensity"}}' --out pre
expect 2 '--sequence.*is not an option of `cohort ope`' ope log --target greedy --sequence 6
expect 2 '--sequence' train-offline log --sequence 5000 --agent "$pre" --out pre
expect 2 '--sequence: applies to an agent learned by replaying' train-offline log --sequence 6 --out click2.json
expect 2 '--sequence: the agent reads no sequence' train-offline log --sequence 6 \
  --agent "{\"type\": \"reinforce\", \"offline\": {\"objective\": \"next_click\", $small}}" --out pre
for run in a b; do
  expect 0 'pretrained as a click model.*click cross-entropy' train-offline log --sequence 6 --agent "$pre" \
    --out "pre_$run"
done
cmp -s pre_a/checkpoint.bin pre_b/checkpoint.bin && pass "pretraining: same log, same checkpoint bytes" ||
  fail "two pretrainings on the same log wrote different checkpoints"
/usr/bin/python3 - pre_a/summary.json <<'PY' && pass "pretraining summary" || fail "pretraining summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["sequence"] == 6 and s["agent"]["offline"]["objective"] == "next_click", s
f = s["fit"]
assert f["click_nll"] > 0 and f["click_nll_marginal"] > 0 and 0 <= f["click_accuracy"] <= 1, f
PY
short=(--set env.observation.sequence.length=6 --set run.num_envs=8 --set run.train_steps=16 --set run.episodes=8
  --set run.eval_every=0 --quiet)
expect 0 'normalized_score' run recsim_interest_evolution "${short[@]}" --out warm \
  --set "agent={\"type\": \"reinforce\", $gru, \"init\": \"pre_a\"}"
grep -q '"init": "pre_a"' warm/scenario.resolved.json && pass "the warm start is in the resolved scenario" ||
  fail "warm/scenario.resolved.json lacks agent.init"
expect 2 '/agent/init: "nowhere" is not a checkpoint directory' run recsim_interest_evolution "${short[@]}" \
  --out bad --set "agent={\"type\": \"reinforce\", $gru, \"init\": \"nowhere\"}"
expect 2 '/agent/init.*other networks.*encoder' run recsim_interest_evolution "${short[@]}" --out bad \
  --set 'agent={"type": "reinforce", "init": "pre_a"}'
expect 2 '/agent/init.*shape \[32' run recsim_interest_evolution "${short[@]}" --out bad \
  --set "agent={\"type\": \"reinforce\", $gru, \"hidden\": [32], \"init\": \"pre_a\"}"
expect 2 'unknown key "init"' run recsim_interest_evolution "${short[@]}" --out bad \
  --set 'agent={"type": "dqn", "init": "pre_a"}'
# a2c and ppo start from the reinforce pretraining (actor = its policy network, critic fresh).
expect 0 'normalized_score' run recsim_interest_evolution "${short[@]}" --out warm_a2c \
  --set "agent={\"type\": \"a2c\", $gru, \"hidden\": [64], \"init\": \"pre_a\"}"
expect 2 '/agent/init.*activation tanh, encoder gru here, activation relu, encoder gru in the checkpoint' \
  run recsim_interest_evolution "${short[@]}" --out bad --set "agent={\"type\": \"ppo\", $gru, \"hidden\": [64], \"init\": \"pre_a\"}"
expect 0 'normalized_score' run recsim_interest_evolution "${short[@]}" --out warm_ppo \
  --set "agent={\"type\": \"ppo\", $gru, \"hidden\": [64], \"activation\": \"relu\", \"init\": \"pre_a\"}"
expect 2 'a2c and ppo start from a reinforce pretraining' train-offline log --sequence 6 \
  --agent "{\"type\": \"a2c\", $gru}" --out pre

[[ $failures -eq 0 ]] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
