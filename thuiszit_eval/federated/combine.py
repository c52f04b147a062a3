"""Combining the regions' aggregates: pooled counts, the estimators, the log-rank test.

Kaplan–Meier and Aalen–Johansen (with Greenwood and infinitesimal-jackknife variances)
depend on the data only through the per-time counts: at risk, events per cause,
censorings. The pooled counts are the sums of the regions' counts, so the pooled estimates
are *exactly* those of the pooled data. They are computed here by the package's own
estimators (:func:`~thuiszit_eval.survival.kaplan_meier`,
:func:`~thuiszit_eval.survival.aalen_johansen`) run on the pooled count table written out as
one line per (group, time, cause) count — a frequency table, not persons — so the results
are the same objects with the same methods (medians, RMST, at_times) as a local analysis.

The log-rank test is computed directly from the counts as R's ``survdiff`` does: the
observed-minus-expected vector and the hypergeometric variance, the first group dropped,
the reduced system solved; df = the number of groups with expected > 0, minus 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..survival import LogRankResult, aalen_johansen, kaplan_meier
from .disclosure import from_table


def pool_counts(tables: Sequence[pd.DataFrame | dict]) -> pd.DataFrame:
    """Sum the regions' per-time count tables; at-risk counts recomputed from the exits.

    Example
    -------
    >>> a = pd.DataFrame({"group": "all", "time": [7.0, 14.0], "n_risk": [20, 10],
    ...                   "n_censor": [0, 10], "n_event_1": [10, 0]})
    >>> b = pd.DataFrame({"group": "all", "time": [14.0], "n_risk": [12],
    ...                   "n_censor": [0], "n_event_1": [12]})
    >>> pool_counts([a, b])[["time", "n_risk", "n_event_1"]].values.tolist()
    [[7.0, 32.0, 10.0], [14.0, 22.0, 12.0]]
    """
    frames = [from_table(t) if isinstance(t, dict) else t for t in tables]
    allc = pd.concat(frames, ignore_index=True)
    cnt = [c for c in allc.columns if c.startswith("n_") and c != "n_risk"]
    out = allc.groupby(["group", "time"], sort=True)[cnt].sum().reset_index()
    exits = out[cnt].sum(axis=1)
    out["n_risk"] = exits[::-1].groupby(out["group"][::-1]).cumsum()[::-1]
    return out[["group", "time", "n_risk", *cnt]].astype({c: float for c in ["n_risk", *cnt]})


def expand(counts: pd.DataFrame) -> pd.DataFrame:
    """The count table as a frequency table with one line per counted exit.

    Columns duration, event (0 censored, k = cause k), group. The lines carry nothing but
    the (group, time, cause) of the counts; their order is by group, time and cause.
    """
    cols = ["n_censor"] + sorted(c for c in counts.columns if c.startswith("n_event_"))
    codes = [0] + [int(c.rsplit("_", 1)[1]) for c in cols[1:]]
    reps = counts[cols].to_numpy(dtype=np.int64)
    n = reps.ravel()
    t = np.repeat(np.repeat(counts["time"].to_numpy(float), len(cols)), n)
    ev = np.repeat(np.tile(codes, len(counts)), n)
    g = np.repeat(np.repeat(counts["group"].astype(str).to_numpy(), len(cols)), n)
    return pd.DataFrame({"duration": t, "event": ev, "group": g})


def _group_arg(counts: pd.DataFrame) -> str | None:
    return None if set(counts["group"]) == {"all"} else "group"


def km_from_counts(counts: pd.DataFrame, event_code: int = 1, **kw):
    """:class:`~thuiszit_eval.survival.KaplanMeierResult` from pooled counts."""
    return kaplan_meier(expand(counts), group=_group_arg(counts), event_code=event_code, **kw)


def aj_from_counts(counts: pd.DataFrame, **kw):
    """:class:`~thuiszit_eval.survival.AalenJohansenResult` from pooled counts."""
    return aalen_johansen(expand(counts), group=_group_arg(counts), **kw)


def survdiff(groups: Sequence[str], n: np.ndarray, observed: np.ndarray,
             expected: np.ndarray, variance: np.ndarray, event_code: int = 1,
             strata: str | None = None) -> LogRankResult:
    """The log-rank statistic as R's survdiff: drop the first group, solve the rest.

    Example
    -------
    >>> r = survdiff(["a", "b"], np.array([3, 3]), np.array([2.0, 2.0]),
    ...              np.array([1.5, 2.5]), np.array([[1.0, -1.0], [-1.0, 1.0]]))
    >>> round(r.chisq, 4), r.df
    (0.25, 1)
    """
    oe = np.asarray(observed, float) - np.asarray(expected, float)
    v = np.asarray(variance, float)
    if len(groups) < 2:
        raise ValueError("the log-rank test needs at least two groups")
    chisq = float(np.linalg.solve(v[1:, 1:], oe[1:]) @ oe[1:])
    df = int(np.sum(np.asarray(expected) > 0)) - 1
    p = float(stats.chi2.sf(chisq, df)) if df > 0 else float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        tab = pd.DataFrame({"group": list(groups), "n": np.asarray(n), "observed": observed,
                            "expected": expected, "oe2_e": oe**2 / expected,
                            "oe2_v": oe**2 / np.diag(v)})
    return LogRankResult(table=tab, chisq=chisq, df=df, p=p, strata=strata,
                         event_code=event_code)


def logrank_sums(counts: pd.DataFrame, event_code: int = 1
                 ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """groups, n, observed, expected and variance from a per-time count table (one
    stratum), vectorised over time as survdiff's C code."""
    groups = sorted(counts["group"].astype(str).unique())
    k = len(groups)
    c = counts.assign(group=counts["group"].astype(str))
    times = np.unique(c["time"].to_numpy(float))
    ti = np.searchsorted(times, c["time"].to_numpy(float))
    gi = pd.Categorical(c["group"], categories=groups).codes
    ev_col = f"n_event_{event_code}"
    exit_cols = [x for x in c.columns if x.startswith("n_") and x != "n_risk"]
    cnt = np.zeros((len(times), k))
    dev = np.zeros((len(times), k))
    np.add.at(cnt, (ti, gi), c[exit_cols].sum(axis=1).to_numpy(float))
    np.add.at(dev, (ti, gi), c[ev_col].to_numpy(float) if ev_col in c else 0.0)
    nrisk = cnt[::-1].cumsum(axis=0)[::-1]
    n_per = nrisk[0] if len(times) else np.zeros(k)
    nt, dt = nrisk.sum(axis=1), dev.sum(axis=1)
    keep = dt > 0
    nrisk, nt, dt, dev = nrisk[keep], nt[keep], dt[keep], dev[keep]
    e = nrisk * (dt / nt)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(nt > 1, dt * (nt - dt) / (nt - 1), 0.0) / nt
    p = nrisk / nt[:, None]
    var = np.diag(np.einsum("t,tg->g", f * nt, p)) - np.einsum("t,tg,th->gh", f * nt, p, p)
    return groups, n_per, dev.sum(axis=0), e.sum(axis=0), var


def logrank_from_counts(counts: pd.DataFrame, event_code: int = 1) -> LogRankResult:
    """Unstratified k-sample log-rank test from pooled per-time counts."""
    g, n, o, e, v = logrank_sums(counts, event_code)
    return survdiff(g, n, o, e, v, event_code)


def logrank_from_strata(messages: Sequence[dict], event_code: int = 1,
                        strata: str = "region") -> LogRankResult:
    """Region-stratified log-rank test: the regions' O, E and V summed per group."""
    groups = sorted({g for m in messages for g in m["groups"]})
    k = len(groups)
    n, o, e, v = np.zeros(k), np.zeros(k), np.zeros(k), np.zeros((k, k))
    for m in messages:
        idx = [groups.index(g) for g in m["groups"]]
        n[idx] += m["n"]
        o[idx] += m["observed"]
        e[idx] += m["expected"]
        v[np.ix_(idx, idx)] += np.asarray(m["variance"])
    return survdiff(groups, n.astype(int), o, e, v, event_code, strata=strata)


def efron_from_risksets(messages: Sequence[dict], beta: np.ndarray
                        ) -> tuple[float, np.ndarray, np.ndarray]:
    """Cox log-likelihood, score and information (Efron ties) from pooled risk-set sums.

    With d tied returns at t, sub-step j = 0..d−1 removes the fraction j/d of the returns'
    risk weights from the pooled risk set — the same arithmetic as
    :func:`thuiszit_eval.survival._coxcore.cox_terms` on the pooled rows.
    """
    def tot(key):
        return sum(np.asarray(m[key], dtype=float) for m in messages)

    d = tot("n_event").astype(int)
    s0, s1, s2 = tot("s0"), tot("s1"), tot("s2")
    d0, d1, d2, sx = tot("d0"), tot("d1"), tot("d2"), tot("sum_x_events")
    ti = np.repeat(np.arange(len(d)), d)
    first = np.concatenate([[0], np.cumsum(d)[:-1]])
    j = np.arange(len(ti)) - np.repeat(first, d)
    frac = j / d[ti]
    den = s0[ti] - frac * d0[ti]
    num1 = s1[ti] - frac[:, None] * d1[ti]
    num2 = s2[ti] - frac[:, None, None] * d2[ti]
    xbar = num1 / den[:, None]
    loglik = float(sx.sum(axis=0) @ beta - np.sum(np.log(den)))
    score = sx.sum(axis=0) - xbar.sum(axis=0)
    info = (num2 / den[:, None, None]).sum(axis=0) - np.einsum("ki,kj->ij", xbar, xbar)
    return loglik, score, info


def efron_hazard_terms(messages: Sequence[dict], beta: np.ndarray) -> dict[str, list]:
    """Pooled per-time pieces of the Efron score residuals at ``beta``, to send back to the
    regions for the sandwich variance: h (hazard increment), g = Σ haz·x̄, their
    (1 − j/d)-weighted versions h2, g2 for the returning rows, and x̄ averaged over the
    sub-steps (as :func:`thuiszit_eval.survival._coxcore.cox_terms` with ``resid=True``).
    Each is a sum over the pooled risk set, never one person's value."""
    def tot(key):
        return sum(np.asarray(m[key], dtype=float) for m in messages)

    d = tot("n_event").astype(int)
    s0, s1, d0, d1 = tot("s0"), tot("s1"), tot("d0"), tot("d1")
    nt, p = s1.shape
    ti = np.repeat(np.arange(nt), d)
    first = np.concatenate([[0], np.cumsum(d)[:-1]])
    frac = (np.arange(len(ti)) - np.repeat(first, d)) / d[ti]
    den = s0[ti] - frac * d0[ti]
    xbar = (s1[ti] - frac[:, None] * d1[ti]) / den[:, None]
    haz = 1.0 / den
    h = np.bincount(ti, weights=haz, minlength=nt)
    h2 = np.bincount(ti, weights=(1 - frac) * haz, minlength=nt)
    g, g2, xm = np.zeros((nt, p)), np.zeros((nt, p)), np.zeros((nt, p))
    np.add.at(g, ti, haz[:, None] * xbar)
    np.add.at(g2, ti, ((1 - frac) * haz)[:, None] * xbar)
    np.add.at(xm, ti, xbar / d[ti, None])
    return {"h": h.tolist(), "g": g.tolist(), "h2": h2.tolist(), "g2": g2.tolist(),
            "xmean": xm.tolist()}
