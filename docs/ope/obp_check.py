"""Cohort's off-policy estimates next to Open Bandit Pipeline's (OBP) on the same numbers.

    PYTHONPATH=build/python /usr/bin/python3 docs/ope/obp_check.py --obp PATH/TO/zr-obp \\
        --log logs/random [--log logs/eps] [--target '{"type": ...}'] [--markdown]

For each log, `cohort.ope(log, target, terms=FILE)` gives Cohort's estimates and writes the
per-step terms (`cohort ope --terms`, docs/ope.md); OBP's estimators then run on those terms:
InverseProbabilityWeighting, SelfNormalizedInverseProbabilityWeighting, DirectMethod and
DoublyRobust (obp/ope/estimators.py, with Cohort's reward model as
estimated_rewards_by_reg_model), and SlateStandardIPS, SlateIndependentIPS and
SlateRewardInteractionIPS (obp/ope/estimators_slate.py). Nothing of OBP is copied here: its
modules are imported from the checkout given by --obp.

OBP's package __init__ imports its data sets and policies (scikit-learn, pandas, torch), which
Debian here may not have. So only obp/utils.py and the estimator modules are imported, under
stub `obp` and `obp.ope` packages, and for every one of sklearn, pandas and torch that is not
importable a minimal stand-in is written at run time into a temporary directory put first on
sys.path: sklearn.utils.check_scalar and check_random_state (written here, with scikit-learn's
documented behaviour), a torch with the two names obp/utils.py refers to at import, and a pandas
whose DataFrame refuses to be used. OBP's slate estimators check their inputs with pandas; when
pandas is a stand-in, those three checks (check_sips_inputs, check_iips_inputs,
check_rips_inputs) are replaced by numpy ones written here that call OBP's own
_check_slate_ope_inputs and then test the same conditions. The estimates are OBP's code.
docs/ope/README.md ("Side by side with OBP") has the table this prints and what it means.
"""
import argparse
import importlib
import importlib.util
import json
import sys
import tempfile
import textwrap
import types
from pathlib import Path

import numpy as np

import cohort

TARGET = {"type": "logging", "policy": {"type": "greedy"}, "temperature": 0.5}

_SKLEARN_UTILS = '''
"""Stand-in for the two scikit-learn helpers OBP's estimators call (docs/ope/obp_check.py)."""
import numbers

import numpy as np


def check_random_state(seed):
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def check_scalar(x, name, target_type, *, min_val=None, max_val=None, include_boundaries="both"):
    if not isinstance(x, target_type):
        raise TypeError(f"{name} must be an instance of {target_type}, not {type(x).__name__}.")
    low_closed = include_boundaries in ("left", "both")
    high_closed = include_boundaries in ("right", "both")
    if min_val is not None and (x < min_val or (x == min_val and not low_closed)):
        raise ValueError(f"{name} == {x}, must be {'>=' if low_closed else '>'} {min_val}.")
    if max_val is not None and (x > max_val or (x == max_val and not high_closed)):
        raise ValueError(f"{name} == {x}, must be {'<=' if high_closed else '<'} {max_val}.")
    return x
'''

_TORCH = '''
"""Stand-in: obp/utils.py names torch.tensor and torch.Tensor at import (docs/ope/obp_check.py)."""


class Tensor:
    pass


tensor = Tensor
'''

_PANDAS = '''
"""Stand-in: obp/utils.py imports pandas; nothing run here may use it (docs/ope/obp_check.py)."""
STAND_IN = True


class DataFrame:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("pandas is a stand-in here (docs/ope/obp_check.py): this OBP function needs pandas")
'''


def write_stand_ins(root):
    """Writes a stand-in for each of sklearn, pandas, torch that is not importable; returns their names."""
    root = Path(root)
    written = []
    for name, files in (("sklearn", {"sklearn/__init__.py": "", "sklearn/utils/__init__.py": _SKLEARN_UTILS}),
                        ("torch", {"torch/__init__.py": _TORCH}), ("pandas", {"pandas/__init__.py": _PANDAS})):
        if importlib.util.find_spec(name) is not None:
            continue
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(textwrap.dedent(text))
        written.append(name)
    sys.path.insert(0, str(root))
    return written


def numpy_slate_checks(utils):
    """Numpy versions of OBP's three pandas-based slate input checks (same conditions)."""

    def unique_positions(slate_id, position):
        pairs = np.unique(np.stack([np.asarray(slate_id), np.asarray(position)]), axis=1)
        if pairs.shape[1] != len(slate_id):
            raise ValueError("`position` must not be duplicated in each slate")

    def constant_in_slate(slate_id, values, name):
        order = np.argsort(slate_id, kind="stable")
        s, v = np.asarray(slate_id)[order], np.asarray(values)[order]
        same = s[1:] == s[:-1]
        if np.any(v[1:][same] != v[:-1][same]):
            raise ValueError(f"`{name}` must be unique in each slate")

    def non_increasing_in_slate(slate_id, position, values, name):
        order = np.lexsort((position, slate_id))
        s, v = np.asarray(slate_id)[order], np.asarray(values)[order]
        same = s[1:] == s[:-1]
        if np.any(v[1:][same] > v[:-1][same]):
            raise ValueError(f"`{name}` must be non-increasing sequence in each slate")

    def sips(slate_id, reward, position, pscore, evaluation_policy_pscore):
        utils._check_slate_ope_inputs(slate_id=slate_id, reward=reward, position=position, pscore=pscore,
                                      evaluation_policy_pscore=evaluation_policy_pscore, pscore_type="pscore")
        unique_positions(slate_id, position)
        constant_in_slate(slate_id, pscore, "pscore")
        constant_in_slate(slate_id, evaluation_policy_pscore, "evaluation_policy_pscore")

    def iips(slate_id, reward, position, pscore_item_position, evaluation_policy_pscore_item_position):
        utils._check_slate_ope_inputs(slate_id=slate_id, reward=reward, position=position,
                                      pscore=pscore_item_position,
                                      evaluation_policy_pscore=evaluation_policy_pscore_item_position,
                                      pscore_type="pscore_item_position")
        unique_positions(slate_id, position)

    def rips(slate_id, reward, position, pscore_cascade, evaluation_policy_pscore_cascade):
        utils._check_slate_ope_inputs(slate_id=slate_id, reward=reward, position=position, pscore=pscore_cascade,
                                      evaluation_policy_pscore=evaluation_policy_pscore_cascade,
                                      pscore_type="pscore_cascade")
        unique_positions(slate_id, position)
        non_increasing_in_slate(slate_id, position, pscore_cascade, "pscore_cascade")
        non_increasing_in_slate(slate_id, position, evaluation_policy_pscore_cascade,
                                "evaluation_policy_pscore_cascade")

    return sips, iips, rips


def load_obp(checkout):
    """obp.ope.estimators and obp.ope.estimators_slate from a checkout, without obp/__init__.py."""
    package = Path(checkout) / "obp"
    if not (package / "ope" / "estimators_slate.py").is_file():
        sys.exit(f"error: --obp {checkout}: no obp/ope/estimators_slate.py there (give a zr-obp checkout)")
    for name, path in (("obp", package), ("obp.ope", package / "ope")):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module
    estimators = importlib.import_module("obp.ope.estimators")
    slate = importlib.import_module("obp.ope.estimators_slate")
    if getattr(sys.modules.get("pandas"), "STAND_IN", False):
        slate.check_sips_inputs, slate.check_iips_inputs, slate.check_rips_inputs = numpy_slate_checks(
            sys.modules["obp.utils"])
    return estimators, slate


def read_terms(path):
    import h5py
    with h5py.File(path, "r") as f:
        t = {k: f["terms"][k][()] for k in f["terms"]}
        t["truth"] = f["truth/target_value"][()]
    n, k = t["slate"].shape
    K = t["pi_position_item"].shape[1] // k
    t["pi_position_item"] = t["pi_position_item"].reshape(n, k, K)
    t["model_position_item"] = t["model_position_item"].reshape(n, k, K)
    return t, n, k, K


def obp_estimates(est, slate, t, n, k, K):
    """OBP's estimators on one log's terms: {row label: (OBP's value, the Cohort estimator it is compared with)}."""
    reward = t["reward"]
    pi_slate = np.prod(t["pi_conditional"], axis=1)
    mu_slate = t["slate_propensity"]
    # OBP's standard estimators with the slate as the action. They read the
    # target's probability and the model's value of the logged action, and
    # the model's value of the target, sum_a pi(a) q_hat(a). Each step's action
    # space is collapsed to two actions, 0 the logged slate and 1 any other,
    # with pi(1) = 1 - pi(logged) and q_hat(1) chosen so that sum_a pi(a) q_hat(a)
    # is Cohort's model value of the target (model_target_value): exact for
    # these estimators without enumerating K!/(K-k)! slates.
    q_logged = t["model_position"].sum(axis=1)
    rest = 1.0 - pi_slate
    q_other = np.divide(t["model_target_value"] - pi_slate * q_logged, rest, out=np.zeros(n), where=rest > 1e-15)
    action_dist = np.stack([pi_slate, rest], axis=1)[:, :, None]
    q_hat = np.stack([q_logged, q_other], axis=1)[:, :, None]
    action = np.zeros(n, dtype=int)
    common = dict(reward=reward, action=action, action_dist=action_dist, pscore=mu_slate)
    out = {
        "InverseProbabilityWeighting (slate as action)": (
            est.InverseProbabilityWeighting().estimate_policy_value(**common), "ips"),
        "SelfNormalizedInverseProbabilityWeighting": (
            est.SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**common), "snips"),
        "DirectMethod (Cohort's reward model)": (
            est.DirectMethod().estimate_policy_value(action_dist=action_dist, estimated_rewards_by_reg_model=q_hat),
            "dm"),
        "DoublyRobust (Cohort's reward model)": (
            est.DoublyRobust().estimate_policy_value(estimated_rewards_by_reg_model=q_hat, **common), "dr"),
    }
    # One record per (step, position): the per-position rewards, the logging
    # policy's and the target's probabilities of each logged item at its position.
    slate_id = np.repeat(np.arange(n), k)
    position = np.tile(np.arange(k), n)
    r = t["position_reward"].ravel()
    out["SlateStandardIPS"] = (slate.SlateStandardIPS(len_list=k).estimate_policy_value(
        slate_id=slate_id, reward=r, position=position, pscore=np.repeat(mu_slate, k),
        evaluation_policy_pscore=np.repeat(pi_slate, k)), "ips")
    out["SlateIndependentIPS"] = (slate.SlateIndependentIPS(len_list=k).estimate_policy_value(
        slate_id=slate_id, reward=r, position=position, pscore_item_position=t["mu_marginal"].ravel(),
        evaluation_policy_pscore_item_position=t["pi_marginal"].ravel()), "iips")
    out["SlateRewardInteractionIPS"] = (slate.SlateRewardInteractionIPS(len_list=k).estimate_policy_value(
        slate_id=slate_id, reward=r, position=position, pscore_cascade=np.cumprod(t["mu_conditional"], axis=1).ravel(),
        evaluation_policy_pscore_cascade=np.cumprod(t["pi_conditional"], axis=1).ravel()), "rips")
    # OBP's self-normalized slate estimators divide each position's weighted
    # rewards by that position's mean weight. With the slate weight (the same
    # at every position) that is SNIPS; with the position or prefix weights
    # Cohort has no such estimator: rows compared with iips and rips to show
    # what the normalization changes.
    out["SelfNormalizedSlateStandardIPS"] = (slate.SelfNormalizedSlateStandardIPS(len_list=k).estimate_policy_value(
        slate_id=slate_id, reward=r, position=position, pscore=np.repeat(mu_slate, k),
        evaluation_policy_pscore=np.repeat(pi_slate, k)), "snips")
    out["SelfNormalizedSlateIndependentIPS"] = (
        slate.SelfNormalizedSlateIndependentIPS(len_list=k).estimate_policy_value(
            slate_id=slate_id, reward=r, position=position, pscore_item_position=t["mu_marginal"].ravel(),
            evaluation_policy_pscore_item_position=t["pi_marginal"].ravel()), "iips")
    out["SelfNormalizedSlateRewardInteractionIPS"] = (
        slate.SelfNormalizedSlateRewardInteractionIPS(len_list=k).estimate_policy_value(
            slate_id=slate_id, reward=r, position=position,
            pscore_cascade=np.cumprod(t["mu_conditional"], axis=1).ravel(),
            evaluation_policy_pscore_cascade=np.cumprod(t["pi_conditional"], axis=1).ravel()), "rips")
    # SlateIndependentIPS wants position marginals; fed the conditionals
    # (the log's position_propensity) instead, it is another estimator.
    out["SlateIndependentIPS on the conditionals (a misuse)"] = (
        slate.SlateIndependentIPS(len_list=k).estimate_policy_value(
            slate_id=slate_id, reward=r, position=position, pscore_item_position=t["mu_conditional"].ravel(),
            evaluation_policy_pscore_item_position=t["pi_conditional"].ravel()), "iips")
    # OBP's standard IPS fed the (step, position) records with `position`: it
    # averages over records, so k times it is the per-slate value (IIPS).
    per_position = est.InverseProbabilityWeighting().estimate_policy_value(
        reward=r, action=t["slate"].ravel().astype(int), position=position,
        action_dist=np.transpose(t["pi_position_item"], (0, 2, 1)).repeat(k, axis=0),
        pscore=t["mu_marginal"].ravel())
    out[f"k x InverseProbabilityWeighting (per position, k = {k})"] = (k * per_position, "iips")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--obp", required=True, help="a checkout of st-tech/zr-obp")
    parser.add_argument("--log", action="append", required=True, help="a cohort log directory (repeatable)")
    parser.add_argument("--target", default=json.dumps(TARGET), help="the target agent block (JSON) or type")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    a = parser.parse_args()
    target = json.loads(a.target) if a.target.startswith("{") else a.target
    with tempfile.TemporaryDirectory() as tmp:
        stand_ins = write_stand_ins(Path(tmp) / "stand_ins")
        est, slate = load_obp(a.obp)
        print(f"OBP from {a.obp}; stand-ins for: {', '.join(stand_ins) or 'none'}")
        for log in a.log:
            terms = Path(tmp) / "terms.h5"
            result = cohort.ope(log, target, bootstrap=200, terms=terms)
            t, n, k, K = read_terms(terms)
            rows = obp_estimates(est, slate, t, n, k, K)
            truth = result["truth"]["value"]
            assert abs(t["truth"].mean() - truth) < 1e-9
            title = (f"{log}: logging {json.dumps(result['logging_policy']['type'])} ({result['logging_law']}), "
                     f"{n} steps, K = {K}, k = {k}; target {json.dumps(result['target'])}; truth {truth:.5f}")
            if a.markdown:
                print(f"\n{title}\n\n| OBP estimator | Cohort estimator | Cohort | OBP | OBP - Cohort |\n"
                      "| --- | --- | --- | --- | --- |")
            else:
                print(f"\n{title}\n  {'OBP estimator':52s} {'Cohort':>8s} {'Cohort':>10s} {'OBP':>10s} {'OBP - Cohort':>13s}")
            for label, (value, name) in rows.items():
                mine = result["estimators"][name]["estimate"]
                if a.markdown:
                    print(f"| {label} | {name} | {mine:.6f} | {value:.6f} | {value - mine:+.1e} |")
                else:
                    print(f"  {label:52s} {name:>8s} {mine:10.6f} {value:10.6f} {value - mine:+13.1e}")


if __name__ == "__main__":
    main()
