"""The CCW hazard ratio (weighted Cox on the clones, daily grid) against R's coxph.

The data sets in tests/fixtures/r_marginal_hr/ are written by this module
(``python tests/test_effects_marginal_hr.py`` rewrites them and re-runs the R script):

* ``ccw``: the clones of a simulated cohort with their clone-censor-weight weights, one
  row per clone and day at risk up to day 182 -- exactly what ``clone_censor_weight``
  fits;
* ``paired``: two complete counterfactual worlds of random integer times (many ties), one
  cluster per unit -- what the simulator's truth fits.

``tests/r/marginal_hr.R`` fits ``coxph(Surv(start, stop, event) ~ arm, weights = w,
cluster = cluster, ties = "breslow")`` on each and writes marginal_hr.csv.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.effects.marginal_hr import (
    cox_from_daily_totals,
    marginal_hazard_ratio,
    marginal_hazard_ratio_paired,
)
from thuiszit_eval.effects.target_trial import (
    TargetTrial,
    _arrays,
    _ccw_core,
    _CCWOptions,
    adjustment_terms,
    clone_censor_weight,
    eligible_episodes,
)
from thuiszit_eval.simulate import simulate_cohort

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "r" / "marginal_hr.R"
FIX = ROOT / "tests" / "fixtures" / "r_marginal_hr"
CCW_PUPILS, CCW_SEED = 400, 21


# ---------------------------------------------------------------- the data sets
def ccw_eligible() -> pd.DataFrame:
    return eligible_episodes(simulate_cohort(CCW_PUPILS, seed=CCW_SEED, progress=False))


def ccw_long(el: pd.DataFrame) -> pd.DataFrame:
    """One row per clone and day at risk, with the weights ``clone_censor_weight`` uses."""
    p = TargetTrial()
    a = _arrays(el, adjustment_terms(el), "swv_id")
    o = _CCWOptions(p.grace_days, tuple(p.taus), (0, 7, 14, 21, 28), (0, 28, 91, 182),
                    "independent", None)
    r = _ccw_core(a, o, full=True)
    day = np.arange(1, max(p.taus) + 1)
    event = a.returned[:, None] & (a.time[:, None] == day[None, :])
    parts = []
    for arm, key in ((1, "A"), (0, "B")):
        w, risk = r["weights"][key]
        unit, col = np.nonzero(risk)
        parts.append(pd.DataFrame({
            "unit": unit, "cluster": a.cluster[unit], "arm": arm, "start": day[col] - 1,
            "stop": day[col], "event": event[unit, col].astype(int), "w": w[unit, col]}))
    return pd.concat(parts, ignore_index=True)


def paired_times(seed: int = 8, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Integer days to return in two complete worlds, A faster than B."""
    rng = np.random.default_rng(seed)
    t_a = np.ceil(rng.weibull(1.3, n) * 40).astype(int)
    t_b = np.ceil(rng.weibull(1.3, n) * 55).astype(int)
    return t_a, t_b


def paired_long(horizon: int = 90) -> pd.DataFrame:
    """The paired worlds as clone-day rows, cut at ``horizon``; weights 1."""
    t_a, t_b = paired_times()
    n = len(t_a)
    parts = []
    for arm, t in ((1, t_a), (0, t_b)):
        obs = np.minimum(t, horizon)
        unit = np.repeat(np.arange(n), obs)
        stop = np.concatenate([np.arange(1, k + 1) for k in obs])
        parts.append(pd.DataFrame({
            "unit": unit, "cluster": unit, "arm": arm, "start": stop - 1, "stop": stop,
            "event": ((stop == t[unit]) & (t[unit] <= horizon)).astype(int), "w": 1.0}))
    return pd.concat(parts, ignore_index=True)


def write_datasets(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ccw_long(ccw_eligible()).to_csv(folder / "ds_ccw.csv.gz", index=False,
                                    float_format="%.15g")
    paired_long().to_csv(folder / "ds_paired.csv.gz", index=False)


def _read(case: str) -> pd.DataFrame:
    gz = FIX / f"ds_{case}.csv.gz"
    return pd.read_csv(gz if gz.exists() else FIX / f"ds_{case}.csv")


def grid_fit(long: pd.DataFrame) -> dict:
    """Rebuild (clone x day) masks and weights from the long rows and fit.

    Row ``unit`` holds the arm-A clone and row ``n + unit`` the arm-B clone (both in the
    unit's cluster), so the two clones may have different events, as in the paired worlds.
    """
    n, h = long["unit"].max() + 1, long["stop"].max()
    risk, w, event = np.zeros((2 * n, h), bool), np.zeros((2 * n, h)), np.zeros((2 * n, h), bool)
    row = long["unit"].to_numpy() + np.where(long["arm"].to_numpy() == 1, 0, n)
    col = long["stop"].to_numpy() - 1
    risk[row, col] = True
    w[row, col] = long["w"].to_numpy()
    event[row, col] = long["event"].to_numpy(bool)
    cluster = long.groupby("unit")["cluster"].first().reindex(range(n)).to_numpy()
    arm_a = np.arange(2 * n) < n
    return marginal_hazard_ratio(risk & arm_a[:, None], risk & ~arm_a[:, None], event, w, w,
                                 np.concatenate([cluster, cluster]))


@pytest.fixture(scope="module")
def r_ref() -> pd.DataFrame:
    return pd.read_csv(FIX / "marginal_hr.csv").set_index("case")


# ---------------------------------------------------------------- against R
@pytest.mark.parametrize("case", ["ccw", "paired"])
def test_weighted_cox_equals_r(case: str, r_ref: pd.DataFrame):
    long = _read(case)
    ref = r_ref.loc[case]
    assert len(long) == ref["n_rows"] and long["event"].sum() == ref["n_events"]
    fit = grid_fit(long)
    assert fit["beta"] == pytest.approx(ref["coef"], rel=1e-9, abs=1e-12)
    assert fit["se_log"] == pytest.approx(ref["se_robust"], rel=1e-7)


def test_ccw_hazard_ratio_is_rs_fit_of_its_own_clones(r_ref: pd.DataFrame):
    # the whole chain: eligible episodes -> clones -> weights -> HR, against R's fit of
    # the same clones (weights exported with 15 significant digits)
    hr = clone_censor_weight(ccw_eligible(), n_boot=0).hazard_ratio
    ref = r_ref.loc["ccw"]
    assert np.log(hr["hr"]) == pytest.approx(ref["coef"], rel=1e-9)
    assert hr["se_log"] == pytest.approx(ref["se_robust"], rel=1e-7)
    z = 1.959963984540054
    assert hr["lower"] == pytest.approx(np.exp(ref["coef"] - z * ref["se_robust"]), rel=1e-7)
    # the weights matter: R's fit without them is a different number
    assert abs(ref["coef"]) > 0 and hr["follow_up_days"] == 182


def test_paired_truth_formula_equals_r_and_the_grid(r_ref: pd.DataFrame):
    t_a, t_b = paired_times()  # the draws behind ds_paired
    fit = marginal_hazard_ratio_paired(t_a, t_b, 90)
    ref = r_ref.loc["paired"]
    assert fit["beta"] == pytest.approx(ref["coef"], rel=1e-9)
    assert fit["mc_se_log"] == pytest.approx(ref["se_robust"], rel=1e-7)
    assert fit["hr"] > 1  # A (shorter times) returns faster


@pytest.mark.skipif(shutil.which("Rscript") is None,
                    reason="Rscript not found: install R with the survival package to re-run "
                           "tests/r/marginal_hr.R (the committed fixture is still tested)")
def test_r_script_reproduces_the_fixture(tmp_path: Path):
    write_datasets(tmp_path)
    for p in tmp_path.glob("ds_*"):  # the data sets are what this module writes
        old = _read(p.name.split(".")[0][3:])
        pd.testing.assert_frame_equal(pd.read_csv(p), old, check_exact=False, rtol=1e-10)
    proc = subprocess.run(["Rscript", str(SCRIPT), str(FIX), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    new = pd.read_csv(tmp_path / "marginal_hr.csv").set_index("case")
    old = pd.read_csv(FIX / "marginal_hr.csv").set_index("case")
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9)


# ---------------------------------------------------------------- behaviour
def test_no_difference_gives_hr_one_and_weights_can_move_it():
    t = np.array([2, 3, 3, 5, 7, 8])
    day = np.arange(1, 9)[None, :]
    risk, ev = t[:, None] >= day, t[:, None] == day
    same = marginal_hazard_ratio(risk, risk, ev)  # every unit identical in both arms
    assert same["beta"] == pytest.approx(0, abs=1e-12)
    w_a = np.where(t[:, None] <= 3, 3.0, 1.0) * np.ones(risk.shape)  # up-weight early A
    moved = marginal_hazard_ratio(risk, risk, ev, w_a=w_a)
    assert moved["hr"] > 1.2


def test_totals_agree_with_two_group_score_equation():
    b, info = cox_from_daily_totals(np.array([10.0, 8]), np.array([10.0, 9]),
                                    np.array([2.0, 1]), np.array([1.0, 1]))
    p1 = 10 * np.exp(b) / (10 * np.exp(b) + 10)
    p2 = 8 * np.exp(b) / (8 * np.exp(b) + 9)
    assert (2 - 3 * p1) + (1 - 2 * p2) == pytest.approx(0, abs=1e-10)
    assert info == pytest.approx(3 * p1 * (1 - p1) + 2 * p2 * (1 - p2))


if __name__ == "__main__":  # rewrite the data sets and R's reference values
    write_datasets(FIX)
    subprocess.run(["Rscript", str(SCRIPT), str(FIX), str(FIX)], check=True)
    print(pd.read_csv(FIX / "marginal_hr.csv").to_string(index=False), file=sys.stderr)
