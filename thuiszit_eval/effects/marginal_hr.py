"""Marginal hazard ratio of two arms from a weighted Cox model on a daily grid.

The clone-censor-weight emulation gives each clone a weight that changes from day to day
(the probability of staying uncensored is a product over days). The hazard ratio of the
two strategies is then a Cox model with one binary covariate (arm A = 1, B = 0) on
counting-process data with one row per clone and day -- what R fits with
``coxph(Surv(start, stop, event) ~ arm + cluster(pupil_id), weights = w,
ties = "breslow")``. lifelines' ``CoxTimeVaryingFitter`` has no clustered variance, and
one row per clone and day is slow to re-fit in every bootstrap replicate, so this module
solves the same partial likelihood from the daily weighted totals: the score of a single
binary covariate needs only, per day, the weighted number at risk and returning per arm.
``tests/test_effects_marginal_hr.py`` proves estimate and robust SE equal R's.

Under non-proportional hazards -- here by design, since strategy A starts Back to School
in the first 28 days and B may start it later -- this is a time-averaged ("marginal")
hazard ratio: its value depends on how long pupils are followed (the horizon) and on the
censoring that remains after weighting. Read it beside the RMST difference, not instead.

Example
-------
>>> import numpy as np
>>> t = np.array([3, 5, 6, 8, 2, 4, 9, 9])  # days at home, 4 pupils per arm
>>> day = np.arange(1, 11)[None, :]
>>> risk = t[:, None] >= day
>>> event = t[:, None] == day
>>> arm_a = np.arange(8) < 4
>>> fit = marginal_hazard_ratio(risk & arm_a[:, None], risk & ~arm_a[:, None], event)
>>> round(fit["hr"], 3)
2.035
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["marginal_hazard_ratio", "marginal_hazard_ratio_paired", "cox_from_daily_totals"]


def cox_from_daily_totals(risk_a: np.ndarray, risk_b: np.ndarray, events_a: np.ndarray,
                          events_b: np.ndarray, max_iter: int = 50,
                          tol: float = 1e-10) -> tuple[float, float]:
    """Breslow partial-likelihood estimate of log HR (A vs B) from daily totals.

    Args:
        risk_a, risk_b: (weighted) number at risk per day in arm A and arm B.
        events_a, events_b: (weighted) number of events per day in each arm.

    Returns:
        ``(beta, information)``: the log hazard ratio and the observed information at it
        (``1 / information`` is the model-based variance when the weights are 1).

    The log partial likelihood of one binary covariate is concave, so Newton-Raphson from
    0 converges; steps are capped at 5 so an empty arm does not overflow.

    Example:
        >>> b, i = cox_from_daily_totals(np.array([10., 8]), np.array([10., 9]),
        ...                              np.array([2., 1]), np.array([1., 1]))
        >>> round(b, 3)
        0.453
    """
    b_a, b_b = np.asarray(risk_a, float), np.asarray(risk_b, float)
    e_a = np.asarray(events_a, float)
    e_all = e_a + np.asarray(events_b, float)
    use = (e_all > 0) & (b_a + b_b > 0)
    b_a, b_b, e_a, e_all = b_a[use], b_b[use], e_a[use], e_all[use]
    beta, info = 0.0, 0.0
    for _ in range(max_iter):
        ra = b_a * np.exp(beta)
        p = ra / (ra + b_b)  # share of the weighted risk (times exp(beta)) in arm A
        score = float((e_a - e_all * p).sum())
        info = float((e_all * p * (1 - p)).sum())
        if info <= 0:
            break
        step = float(np.clip(score / info, -5, 5))
        beta += step
        if abs(step) < tol:
            break
    ra = b_a * np.exp(beta)
    p = ra / (ra + b_b)
    return beta, float((e_all * p * (1 - p)).sum())


def _breslow_terms(b_a: np.ndarray, b_b: np.ndarray, e_all: np.ndarray,
                   beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Per day: arm A's share of the risk set (zbar) and the Breslow hazard increment."""
    denom = b_a * np.exp(beta) + b_b
    ok = denom > 0
    safe = np.where(ok, denom, 1)
    p = np.where(ok, b_a * np.exp(beta) / safe, 0.0)
    return p, np.where(ok, e_all / safe, 0.0)


def marginal_hazard_ratio(risk_a: np.ndarray, risk_b: np.ndarray, event: np.ndarray,
                          w_a: np.ndarray | None = None, w_b: np.ndarray | None = None,
                          cluster: np.ndarray | None = None,
                          robust: bool = True) -> dict[str, Any]:
    """Weighted Cox hazard ratio of arm A vs arm B with a robust (sandwich) SE.

    Every row is one unit (an eligible episode) with a clone in each arm; column ``d-1``
    is day ``d`` since time zero.

    Args:
        risk_a, risk_b: (n, H) booleans: the clone is in arm A's / B's risk set on day d.
        event: (n, H) booleans: the unit's event (return) is on day d.
        w_a, w_b: (n, H) weights of the clones per day (None: 1).
        cluster: (n,) integer cluster codes (pupils) for the robust variance; None:
            every row its own cluster.
        robust: compute the robust SE (False: only the estimate, e.g. in a bootstrap
            replicate; ``se_log`` and the interval are NaN).

    Returns:
        ``beta`` (log HR), ``hr``, ``se_log`` (robust, clustered; the weights taken as
        known, as R's ``coxph(..., cluster = )`` does), ``lower``/``upper`` (95% CI of the
        HR), ``score_residuals`` (n,) (each unit's contribution to the score, both clones
        summed) and ``information``.
    """
    if w_a is None:
        w_a = np.ones(risk_a.shape)
    if w_b is None:
        w_b = np.ones(risk_b.shape)
    wa, wb = w_a * risk_a, w_b * risk_b
    ev = event.astype(float)
    b_a, b_b = wa.sum(0), wb.sum(0)
    e_a, e_b = (wa * ev).sum(0), (wb * ev).sum(0)
    beta, info = cox_from_daily_totals(b_a, b_b, e_a, e_b)
    eb = np.exp(beta)
    if not robust:
        return {"beta": beta, "hr": float(eb), "se_log": np.nan, "lower": np.nan,
                "upper": np.nan, "score_residuals": None, "information": info}
    p, d_lambda = _breslow_terms(b_a, b_b, e_a + e_b, beta)
    # score residual of a clone: sum over its days of w * (dN - exp(beta z) dLambda) *
    # (z - zbar); z = 1 in arm A, 0 in arm B
    res_a = (wa * (ev - eb * d_lambda[None, :]) * (1 - p)[None, :]).sum(1)
    res_b = (wb * (ev - d_lambda[None, :]) * (-p)[None, :]).sum(1)
    resid = res_a + res_b
    if cluster is None:
        tot = resid
    else:
        tot = np.bincount(cluster, weights=resid)
    se = float(np.sqrt((tot ** 2).sum()) / info) if info > 0 else np.nan
    z = 1.959963984540054
    return {"beta": beta, "hr": float(eb), "se_log": se,
            "lower": float(np.exp(beta - z * se)), "upper": float(np.exp(beta + z * se)),
            "score_residuals": resid, "information": info}


def marginal_hazard_ratio_paired(time_a: np.ndarray, time_b: np.ndarray,
                                 horizon: int) -> dict[str, float]:
    """Cox hazard ratio (Breslow) of two complete counterfactual worlds up to ``horizon``.

    The simulator's truth: ``time_a[i]`` and ``time_b[i]`` are unit i's integer days to
    the event under strategy A and B (every unit has its event eventually; follow-up is
    cut at ``horizon`` and nothing else censors). The same partial likelihood as
    :func:`marginal_hazard_ratio` with weights 1, from integer times instead of daily
    masks, and the Monte Carlo SE clustered on the unit (its two worlds share random
    numbers, so they are not independent).

    Returns:
        ``beta`` (log HR), ``hr``, ``mc_se_log`` (SE of ``beta`` over draws of units).

    Example:
        >>> t_a, t_b = np.array([3, 5, 6, 8]), np.array([2, 4, 9, 9])
        >>> round(marginal_hazard_ratio_paired(t_a, t_b, 10)["hr"], 3)
        2.035
    """
    horizon = int(horizon)
    ta, tb = np.asarray(time_a, np.int64), np.asarray(time_b, np.int64)
    obs_a, obs_b = np.minimum(ta, horizon), np.minimum(tb, horizon)
    ev_a, ev_b = ta <= horizon, tb <= horizon

    def at_risk(obs: np.ndarray) -> np.ndarray:  # number with obs >= d, d = 1..horizon
        return np.bincount(obs, minlength=horizon + 1)[::-1].cumsum()[::-1][1:]

    def events(t: np.ndarray, ev: np.ndarray) -> np.ndarray:
        return np.bincount(t[ev], minlength=horizon + 1)[1:]

    b_a, b_b = at_risk(obs_a), at_risk(obs_b)
    e_a, e_b = events(ta, ev_a), events(tb, ev_b)
    beta, info = cox_from_daily_totals(b_a, b_b, e_a, e_b)
    eb = np.exp(beta)
    p, d_lambda = _breslow_terms(b_a, b_b, e_a + e_b, beta)
    # score residuals from cumulative sums over days: sum_{d <= obs} dLambda_d (z - p_d)
    c1 = np.concatenate([[0.0], np.cumsum(d_lambda * (1 - p))])
    c0 = np.concatenate([[0.0], np.cumsum(d_lambda * -p)])
    pad = np.concatenate([[0.0], p])
    resid = (ev_a * (1 - pad[obs_a]) - eb * c1[obs_a]) + (ev_b * -pad[obs_b] - c0[obs_b])
    return {"beta": beta, "hr": float(eb),
            "mc_se_log": float(np.sqrt((resid ** 2).sum()) / info)}
