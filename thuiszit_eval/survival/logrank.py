"""Log-rank test, plain, stratified, weighted (rho) and for trend, as R ``survival::survdiff``.

With delayed entry (``entry``) a pupil is at risk on (entry, exit]; R's ``survdiff`` refuses
such data, and the same test is the score test at β = 0 of
``coxph(Surv(entry, exit, event) ~ factor(group), ties = "exact")`` (the exact partial
likelihood gives the hypergeometric variance), which is what it is compared with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._common import check_columns, entry_array, survival_arrays
from .km import group_labels


@dataclass
class TrendResult:
    """Test for a trend in the hazard of return across ordered groups.

    ``chisq = (c'(O − E))² / (c'Vc)`` on 1 df, with ``scores`` c per group (in the order of
    ``LogRankResult.table``), O − E and V the (weighted) log-rank sums.
    """

    scores: pd.Series
    chisq: float
    df: int
    p: float

    def summary(self) -> str:
        sc = ", ".join(f"{g} = {v:g}" for g, v in self.scores.items())
        return f"Test for trend (scores {sc}): Chisq = {self.chisq:.4g} on 1 df, p = {self.p:.4g}"

    def __str__(self) -> str:
        return self.summary()


@dataclass
class LogRankResult:
    """Log-rank test of equal hazards of return across groups.

    ``table`` has one row per group: group, n, observed, expected, (o-e)^2/e, (o-e)^2/v
    (summed over strata; weighted by S(t−)^rho when rho > 0, as survdiff). ``chisq``, ``df``
    and ``p`` are the test, as survdiff: groups without expected events are left out, and
    the statistic solves the system without one group (the full variance matrix is singular
    by construction), so ``df`` = groups with expected events − 1.
    """

    table: pd.DataFrame
    chisq: float
    df: int
    p: float
    strata: str | None
    event_code: int
    rho: float = 0.0
    entry: str | None = None
    var: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))

    def trend(self, scores: Sequence[float] | None = None) -> TrendResult:
        """Test for trend across the groups, ordered as in ``table`` (scores 1, 2, ...).

        Equals ``(sum(c * (sd$obs - sd$exp)))^2 / (t(c) %*% sd$var %*% c)`` from
        ``survdiff`` (the score test of ``coxph(... ~ score, ties = "exact")`` when rho = 0).

        Example
        -------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"duration": [1, 2, 3, 4, 5, 6, 7, 8, 9],
        ...                    "event": [1, 1, 0, 1, 1, 0, 1, 1, 1],
        ...                    "group": list("abcabcabc")})
        >>> round(logrank_test(df).trend().chisq, 4)
        4.2787
        """
        c = (np.arange(1, len(self.table) + 1, dtype=float) if scores is None
             else np.asarray(scores, dtype=float))
        if len(c) != len(self.table):
            raise ValueError(f"scores must have one value per group ({len(self.table)}), "
                             f"got {len(c)}")
        oe = (self.table["observed"] - self.table["expected"]).to_numpy()
        v = float(c @ self.var @ c)
        chisq = float((c @ oe) ** 2 / v) if v > 0 else 0.0
        p = float(stats.chi2.sf(chisq, 1)) if v > 0 else 1.0
        return TrendResult(pd.Series(c, index=self.table["group"].to_numpy()), chisq, 1, p)

    def summary(self) -> str:
        strat = f", stratified by {self.strata!r}" if self.strata else ""
        kind = "Log-rank test" if self.rho == 0 else f"Weighted log-rank test (rho = {self.rho:g})"
        ent = f", delayed entry at {self.entry!r}" if self.entry else ""
        lines = [f"{kind} (event code {self.event_code}{strat}{ent})",
                 self.table.to_string(index=False, na_rep="-")]
        if self.df > 0:
            lines.append(f"Chisq = {self.chisq:.4g} on {self.df} df, p = {self.p:.4g}")
        else:
            lines.append("No test: fewer than two groups have pupils at risk at an event time.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _stratum_sums(t, e, gi, d, k: int, rho: float):
    """O, E (weighted) and V for one stratum; at risk on (e, t]."""
    times = np.unique(t[d > 0])
    if len(times) == 0:
        return np.zeros(k), np.zeros(k), np.zeros((k, k))
    nrisk = np.zeros((len(times), k))
    dev = np.zeros((len(times), k))
    for g in range(k):
        m = gi == g
        ts, es = np.sort(t[m]), np.sort(e[m])
        nrisk[:, g] = ((len(ts) - np.searchsorted(ts, times, "left"))
                       - (len(es) - np.searchsorted(es, times, "left")))
        dev[:, g] = np.bincount(np.searchsorted(times, t[m & (d > 0)]), minlength=len(times))
    n = nrisk.sum(axis=1)
    dt = dev.sum(axis=1)
    if rho != 0:
        # survdiff's weight: the pooled Kaplan–Meier just before t, to the power rho
        km = np.concatenate([[1.0], np.cumprod(1 - dt / n)[:-1]])
        wt = km**rho
    else:
        wt = np.ones(len(times))
    obs = (wt[:, None] * dev).sum(axis=0)
    exp = (wt[:, None] * nrisk * (dt / n)[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(n > 1, dt * (n - dt) / (n - 1), 0.0) / n**2  # hypergeometric factor
    f = f * wt**2
    var = np.diag(f @ (nrisk * n[:, None])) - np.einsum("t,tg,th->gh", f, nrisk, nrisk)
    return obs, exp, var


def logrank_test(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    group: str = "group",
    *,
    strata: str | None = None,
    event_code: int = 1,
    entry: str | None = None,
    rho: float = 0.0,
) -> LogRankResult:
    """k-sample log-rank test; with ``strata`` the stratified test (sums of O−E and V).

    Matches ``survdiff(Surv(time, status == event_code) ~ group + strata(s), rho = rho)``:
    rho = 0 is the log-rank test, rho = 1 the Peto–Peto modification of the Gehan–Wilcoxon
    test (weights S(t−)^rho, S the pooled Kaplan–Meier per stratum). ``entry`` names a
    column of delayed-entry times (left truncation: at risk on (entry, duration]), as
    ``Surv(entry, time, status)``.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [1, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 1, 0],
    ...                    "group": ["a", "b", "a", "b", "a", "b"]})
    >>> round(logrank_test(df).chisq, 4)
    0.0739
    """
    check_columns(data, [duration, event, group, strata, entry])
    t, ev = survival_arrays(data, duration, event)
    e = entry_array(data, entry, duration, t)
    d = (ev == event_code).astype(float)
    glab, levels = group_labels(data, group)
    gi = pd.Categorical(glab, categories=levels).codes
    k = len(levels)
    slab = data[strata].astype(str).to_numpy() if strata else np.zeros(len(t), dtype=int)
    obs, exp, var = np.zeros(k), np.zeros(k), np.zeros((k, k))
    for s in pd.unique(slab):
        m = slab == s
        o, x, v = _stratum_sums(t[m], e[m], gi[m], d[m], k, rho)
        obs, exp, var = obs + o, exp + x, var + v
    oe = obs - exp
    # as survdiff: keep groups with expected events, drop the first of them and solve the
    # reduced (non-singular) system; a generalised inverse of the full matrix would count
    # rounding noise as an extra degree of freedom
    use = np.flatnonzero(exp > 0)
    df = len(use) - 1
    if df < 1:
        chisq, pval = 0.0, np.nan
    else:
        keep = use[1:]
        vv, u = var[np.ix_(keep, keep)], oe[keep]
        try:
            chisq = float(u @ np.linalg.solve(vv, u))
        except np.linalg.LinAlgError:
            chisq = float(u @ np.linalg.lstsq(vv, u, rcond=None)[0])
        pval = float(stats.chi2.sf(chisq, df))
    n_per = pd.Series(glab).value_counts().reindex(levels).fillna(0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame({
            "group": levels, "n": n_per, "observed": obs, "expected": exp,
            "oe2_e": oe**2 / exp, "oe2_v": oe**2 / np.diag(var),
        })
    return LogRankResult(table=table, chisq=chisq, df=df, p=pval, strata=strata,
                         event_code=event_code, rho=float(rho), entry=entry, var=var)
