"""The O(n·p²) Cox core and the factorised Fine-Gray core (issue 15).

R parity of the fitted models is in test_survival*.py / test_r_cohort_parity.py; these tests
check the core's algebra against direct sums over each risk set, its memory bound, and
that Fine-Gray with delayed entry and strata equals the weighted Cox model on R's
finegray() rows without building them.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.survival import fine_gray
from thuiszit_eval.survival._coxcore import CoxCore, newton
from thuiszit_eval.survival.cox import fit_cox_arrays
from thuiszit_eval.survival.finegray import _expanded_design


def _data(seed: int, n: int = 400, p: int = 3, counting: bool = True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    x[:, 0] = rng.integers(0, 2, n)
    stop = np.ceil(rng.exponential(20, n))  # whole days: many ties
    start = (np.floor(stop * rng.uniform(0, 0.8, n)) if counting else np.zeros(n))
    start = np.minimum(start, stop - 1)
    ev = rng.integers(0, 2, n)
    w = rng.uniform(0.3, 2.5, n)
    s = rng.integers(0, 3, n)
    return start, stop, ev, x, w, s


def _direct(start, stop, ev, x, w, s, beta, ties):
    """Log-likelihood, score and information by looping over every tied-death sub-step,
    with the risk set and its S0, S1, S2 summed directly (the textbook definition)."""
    x = x - x.mean(axis=0)
    eta = x @ beta
    r = w * np.exp(eta)
    ll, u, imat = 0.0, np.zeros(x.shape[1]), np.zeros((x.shape[1],) * 2)
    for stratum in np.unique(s):
        for t in np.unique(stop[(ev == 1) & (s == stratum)]):
            risk = (s == stratum) & (start < t) & (stop >= t)
            dead = risk & (ev == 1) & (stop == t)
            d = int(dead.sum())
            s0 = r[risk].sum()
            s1 = r[risk] @ x[risk]
            s2 = (x[risk] * r[risk, None]).T @ x[risk]
            d0, d1 = r[dead].sum(), r[dead] @ x[dead]
            d2 = (x[dead] * r[dead, None]).T @ x[dead]
            wbar = w[dead].mean()
            ll += w[dead] @ eta[dead]
            u += w[dead] @ x[dead]
            for j in range(d):
                f = j / d if ties == "efron" else 0.0
                den = s0 - f * d0
                xbar = (s1 - f * d1) / den
                ll -= wbar * np.log(den)
                u -= wbar * xbar
                imat += wbar * ((s2 - f * d2) / den - np.outer(xbar, xbar))
    return ll, u, imat


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("counting", [False, True])
def test_core_equals_direct_risk_set_sums(ties, counting):
    start, stop, ev, x, w, s = _data(1, counting=counting)
    beta = np.array([0.4, -0.3, 0.2])
    core = CoxCore(start, stop, ev, x, w, s, ties=ties)
    t = core.terms(beta)
    ll, u, imat = _direct(start, stop, ev, x, w, s, beta, ties)
    assert t.loglik == pytest.approx(ll, rel=1e-12)
    np.testing.assert_allclose(t.score, u, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(t.information, imat, rtol=1e-10, atol=1e-10)


def test_weighted_score_residuals_sum_to_the_score():
    start, stop, ev, x, w, s = _data(2)
    beta = np.array([0.1, 0.5, -0.2])
    t = CoxCore(start, stop, ev, x, w, s).terms(beta, resid=True)
    np.testing.assert_allclose((w[:, None] * t.resid).sum(axis=0), t.score, atol=1e-10)


def test_zph_blocks_with_constant_g_are_the_information():
    start, stop, ev, x, w, s = _data(3)
    beta = np.array([0.2, 0.1, 0.3])
    t = CoxCore(start, stop, ev, x, w, s).terms(beta, gtime=np.ones(len(stop)))
    p = len(beta)
    for blk in (t.zph_imat[:p, :p], t.zph_imat[:p, p:], t.zph_imat[p:, p:]):
        np.testing.assert_allclose(blk, t.information, rtol=1e-12)
    np.testing.assert_allclose(t.zph_u, t.score, atol=1e-10)


def test_newton_from_zero_reaches_the_maximum():
    start, stop, ev, x, w, s = _data(4, counting=False)
    core = CoxCore(start, stop, ev, x, w, s)
    beta = newton(core.terms, 3)
    assert np.max(np.abs(core.terms(beta).score)) < 1e-8
    # the variances are computed at the β of the fit's last evaluation (cached)
    assert core._last[0] == np.asarray(beta, dtype=float).tobytes()


def test_memory_is_o_n_p_not_o_n_p_squared():
    """One evaluation at 100,000 rows × 18 terms stays far below one n × p × p array
    (259 MB), the size of the per-row outer products the core no longer forms."""
    n, p = 100_000, 18
    rng = np.random.default_rng(5)
    x = rng.binomial(1, 0.3, (n, p)).astype(float)
    stop = np.ceil(rng.uniform(1, 650, n))
    ev = rng.integers(0, 2, n)
    core = CoxCore(np.zeros(n), stop, ev, x, np.ones(n), np.zeros(n, dtype=int))
    tracemalloc.start()
    core.terms(np.full(p, 0.05), resid=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * n * p * 8  # a few n × p arrays (residuals, Gram rows), 115 MB
    assert peak < n * p * p * 8 / 2


@pytest.mark.parametrize("entry,strata", [(None, "s"), ("entry", None), ("entry", "s")])
def test_fine_gray_entry_strata_equal_the_expanded_weighted_cox(entry, strata):
    """fine_gray without expanding equals coxph on finegray()'s rows (this package's
    expansion, itself equal to R's row for row): coefficients, the model, per-row and
    per-episode variances and R's expanded row count."""
    rng = np.random.default_rng(6)
    n = 1500
    d = pd.DataFrame({"t": np.ceil(rng.exponential(40, n)),
                      "e": rng.choice(4, n, p=[0.2, 0.5, 0.2, 0.1]),
                      "x1": rng.integers(0, 2, n).astype(float), "x2": rng.normal(size=n),
                      "s": rng.choice(["a", "b", "c"], n)})
    d["entry"] = np.where(rng.random(n) < 0.3, np.floor(d["t"] * rng.random(n)), 0.0)
    d.loc[d["entry"] >= d["t"], "entry"] = 0.0
    terms = ["x1", "x2"]
    fit = fine_gray(d, "t", "e", terms, entry=entry, strata=strata)
    des, fgrow = _expanded_design(d, "t", "e", terms, 1, entry, strata)
    args = (des["start"], des["stop"], des["event"], des["x"], des["weights"], des["strata"])
    b, v, v_cl, ll = fit_cox_arrays(*args, fgrow, robust=True, ties="efron", terms=terms)
    _, _, v_row, _ = fit_cox_arrays(*args, None, robust=True, ties="efron", terms=terms,
                                    beta=b)
    tab = fit.table
    np.testing.assert_allclose(tab["coef"], b, atol=1e-10)
    np.testing.assert_allclose(tab["se_model"], np.sqrt(np.diag(v)), rtol=1e-9)
    np.testing.assert_allclose(tab["se_cluster"], np.sqrt(np.diag(v_cl)), rtol=1e-9)
    np.testing.assert_allclose(tab["se_robust"], np.sqrt(np.diag(v_row)), rtol=1e-9)
    assert fit.loglik == pytest.approx(ll, rel=1e-12)
    assert fit.n_expanded == len(des["stop"])
