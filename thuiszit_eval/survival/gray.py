"""Gray's test and Gray's variance of the cumulative incidence, as R ``cmprsk::cuminc``.

:func:`aalen_johansen` gives the cumulative incidence with R survfit's infinitesimal-
jackknife variance. cmprsk's ``cuminc`` reports the same estimate with Gray's own
(delta-method) variance and, for groups, Gray's k-sample test of equal cumulative incidence
(Gray 1988, Ann. Stat. 16:1141–1154). This module computes both from the published
formulas, right-censored data without weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._common import check_columns, survival_arrays
from .km import group_labels


def _gray_variance(t: np.ndarray, ev: np.ndarray, cause: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative incidence of ``cause`` and Gray's variance at its event times.

    Returns (times, estimate, variance) at the distinct times with an event of ``cause``;
    the variance is the delta-method sum V1 + F²·V3 − 2F·V2 of increments at every event
    time (of any cause), with the hypergeometric correction for ties.
    """
    times, tidx = np.unique(t, return_inverse=True)
    nt = len(times)
    cnt = np.bincount(tidx, minlength=nt).astype(float)
    d1 = np.bincount(tidx, weights=(ev == cause).astype(float), minlength=nt)
    d2 = np.bincount(tidx, weights=((ev > 0) & (ev != cause)).astype(float), minlength=nt)
    rs = cnt[::-1].cumsum()[::-1]  # at risk just before each time
    keep = (d1 + d2) > 0
    rs, d1, d2, times = rs[keep], d1[keep], d2[keep], times[keep]
    s_new = np.cumprod((rs - d1 - d2) / rs)  # all-cause KM after t
    s_old = np.concatenate([[1.0], s_new[:-1]])  # and just before t
    f = np.cumsum(s_old * d1 / rs)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(s_new > 0, 1 / s_new, 0.0)

        def tie(d: np.ndarray) -> np.ndarray:  # 1 − (d − 1)/(n − 1) for d tied events
            return np.where(d > 1, 1 - (d - 1) / (rs - 1), 1.0)

        w2 = s_old**2 * tie(d2) * d2 / rs**2
        w1 = s_old**2 * tie(d1) * d1 / rs**2
    # competing events at t (only while someone survives t)
    on2 = (d2 > 0) & (s_new > 0)
    a2, b2 = np.where(on2, inv, 0.0), np.where(on2, f * inv, 0.0)
    w2 = np.where(on2, w2, 0.0)
    # events of the cause of interest at t
    on1 = d1 > 0
    a1 = np.where(on1, inv, 0.0)
    b1 = np.where(on1, 1 + inv * f, 0.0)
    w1 = np.where(on1, w1, 0.0)
    v1 = np.cumsum(b2**2 * w2 + b1**2 * w1)
    v2 = np.cumsum(a2 * b2 * w2 + a1 * b1 * w1)
    v3 = np.cumsum(a2**2 * w2 + a1**2 * w1)
    var = v1 + f**2 * v3 - 2 * f * v2
    return times[on1], f[on1], var[on1]


def _gray_stratum(t, ev, gi, ng: int, cause: int, rho: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Score (first ng − 1 groups) and its variance for one stratum."""
    times, tidx = np.unique(t, return_inverse=True)
    nt = len(times)
    cnt = np.zeros((nt, ng))
    d1 = np.zeros((nt, ng))
    d2 = np.zeros((nt, ng))
    np.add.at(cnt, (tidx, gi), 1.0)
    np.add.at(d1, (tidx, gi), (ev == cause).astype(float))
    np.add.at(d2, (tidx, gi), ((ev > 0) & (ev != cause)).astype(float))
    at_risk = cnt[::-1].cumsum(axis=0)[::-1]
    k1 = ng - 1
    score = np.zeros(k1)
    vmat = np.zeros((k1, k1))
    c = np.zeros((ng, ng))  # accumulated A·dF/(1 − F) terms
    v2 = np.zeros((k1, ng))
    v3 = np.zeros(ng)
    s_left = np.ones(ng)  # all-cause KM per group, just before t
    f_left = np.zeros(ng)  # cumulative incidence per group, just before t
    s_right, f_right = s_left.copy(), f_left.copy()
    pool_left = 0.0  # pooled cumulative incidence under the null, just before t
    for j in range(nt):
        n1, n2 = d1[j].sum(), d2[j].sum()
        if n1 == 0 and n2 == 0:
            continue
        rs = at_risk[j]
        on = rs > 0
        rs_safe = np.where(on, rs, 1.0)
        s_right = np.where(on, s_left * (rs - d1[j] - d2[j]) / rs_safe, s_right)
        f_right = np.where(on, f_left + s_left * d1[j] / rs_safe, f_right)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(on, rs / s_left, 0.0)  # R_k(t) / S_k(t−)
        tr = h.sum()
        tq = np.sum(h * (1 - f_left))
        pool = pool_left + n1 / tr
        wt = (1 - pool_left) ** rho
        a = -wt * np.outer(h, h) / tr
        a[np.diag_indices(ng)] = wt * h * (1 - h / tr)
        c += a * n1 / (tr * (1 - pool_left))
        score += np.where(on, wt * (d1[j] - n1 * h * (1 - f_left) / tq), 0.0)[:k1]
        if n1 > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                t4 = np.where(s_right > 0, 1 - (1 - pool) / s_right, 1.0)
                t5 = np.where(n1 > 1, 1 - (n1 - 1) / (tr * s_left - 1), 1.0)
                t3 = np.where(on, t5 * s_left * n1 / (tr * rs_safe), 0.0)
            v3 += t4**2 * t3
            t1 = a[:k1] - t4[None, :] * c[:k1]
            v2 += t1 * (t4 * t3)[None, :]
            vmat += (t1 * t3[None, :]) @ t1.T
        if n2 > 0:
            use = (s_right > 0) & (d2[j] > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                t4 = np.where(use, (1 - pool) / s_right, 0.0)
                t5 = np.where(d2[j] > 1, 1 - (d2[j] - 1) / (rs_safe - 1), 1.0)
                t3 = np.where(use, t5 * s_left**2 * d2[j] / rs_safe**2, 0.0)
            v3 += t4**2 * t3
            t1 = t4[None, :] * c[:k1]
            v2 -= t1 * (t4 * t3)[None, :]
            vmat += (t1 * t3[None, :]) @ t1.T
        pool_left = pool
        f_left, s_left = f_right.copy(), s_right.copy()
    cc = c[:k1]
    vmat += (cc * v3[None, :]) @ cc.T + cc @ v2.T + v2 @ cc.T
    return score, vmat


@dataclass
class GrayTestResult:
    """Gray's test of equal cumulative incidence across groups, per event type.

    ``table``: cause, chisq, df (groups − 1), p — as ``cuminc(...)$Tests`` (stat, pv, df).
    """

    table: pd.DataFrame
    groups: list[str]
    rho: float
    strata: str | None

    def summary(self) -> str:
        strat = f", stratified by {self.strata!r}" if self.strata else ""
        lines = [f"Gray's test of equal cumulative incidence across {', '.join(self.groups)} "
                 f"(rho = {self.rho:g}{strat})"]
        for r in self.table.itertuples():
            if np.isfinite(r.chisq):
                lines.append(f"  event {r.cause}: Chisq = {r.chisq:.4g} on {r.df} df, "
                             f"p = {r.p:.4g}")
            else:
                lines.append(f"  event {r.cause}: no test (the variance matrix is singular)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def gray_test(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    group: str = "group",
    *,
    strata: str | None = None,
    rho: float = 0.0,
) -> GrayTestResult:
    """Gray's k-sample test for the cumulative incidence of every event code > 0.

    Equals ``cmprsk::cuminc(time, status, group, strata, rho = rho, cencode = 0)$Tests``:
    the score compares each group's subdistribution hazard with the pooled one, weighted
    by (1 − F(t−))^rho; the statistic is s'V⁻¹s on groups − 1 df (s and V summed over
    strata).

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ...                    "event": [1, 2, 1, 0, 1, 1, 2, 1, 0, 1],
    ...                    "group": list("ababababab")})
    >>> gray_test(df).table["chisq"].round(3).tolist()
    [0.546, 0.029]
    """
    check_columns(data, [duration, event, group, strata])
    t, ev = survival_arrays(data, duration, event)
    glab, levels = group_labels(data, group)
    gi = pd.Categorical(glab, categories=levels).codes
    ng = len(levels)
    if ng < 2:
        raise ValueError(f"column {group!r} has one group only: Gray's test compares groups")
    slab = data[strata].astype(str).to_numpy() if strata else np.zeros(len(t), dtype=int)
    rows = []
    for cause in sorted(int(c) for c in np.unique(ev) if c > 0):
        s = np.zeros(ng - 1)
        v = np.zeros((ng - 1, ng - 1))
        for lev in pd.unique(slab):
            m = slab == lev
            ss, vv = _gray_stratum(t[m], ev[m], gi[m], ng, cause, rho)
            s, v = s + ss, v + vv
        try:
            chisq = float(s @ np.linalg.solve(v, s))
        except np.linalg.LinAlgError:
            chisq = np.nan
        p = float(stats.chi2.sf(chisq, ng - 1)) if np.isfinite(chisq) else np.nan
        rows.append({"cause": cause, "chisq": chisq, "df": ng - 1, "p": p})
    return GrayTestResult(pd.DataFrame(rows), levels, float(rho), strata)


def cuminc(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    group: str | None = None,
    *,
    times: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Cumulative incidence with Gray's variance, as ``cmprsk::cuminc`` and ``timepoints``.

    Returns group, cause, time, estimate, variance, std_err: at every event time of the
    cause (``times=None``), or the step function at ``times`` (as ``timepoints()``: NaN
    after a group's last follow-up). The estimate equals :func:`aalen_johansen`'s; the
    variance is Gray's delta-method one, not survfit's infinitesimal jackknife.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [2, 3, 3, 5, 8], "event": [1, 2, 1, 0, 1]})
    >>> cuminc(df, times=[4])[["cause", "estimate"]].round(3).values.tolist()
    [[1.0, 0.4], [2.0, 0.2]]
    """
    check_columns(data, [duration, event, group])
    t, ev = survival_arrays(data, duration, event)
    glab, levels = group_labels(data, group)
    out = []
    for g in levels:
        m = glab == g
        for cause in sorted(int(c) for c in np.unique(ev) if c > 0):
            tt, f, v = _gray_variance(t[m], ev[m], cause)
            if times is not None:
                ta = np.asarray(times, dtype=float)
                idx = np.searchsorted(tt, ta, side="right") - 1
                f = np.where(idx >= 0, f[np.maximum(idx, 0)] if len(f) else 0.0, 0.0)
                v = np.where(idx >= 0, v[np.maximum(idx, 0)] if len(v) else 0.0, 0.0)
                beyond = ta > t[m].max()
                f, v = np.where(beyond, np.nan, f), np.where(beyond, np.nan, v)
                tt = ta
            out.append(pd.DataFrame({"group": g, "cause": cause, "time": tt, "estimate": f,
                                     "variance": v, "std_err": np.sqrt(v)}))
    return pd.concat(out, ignore_index=True)
