"""Log-rank test, plain and stratified, as R ``survival::survdiff``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._common import check_columns, survival_arrays
from .km import group_labels


@dataclass
class LogRankResult:
    """Log-rank test of equal hazards of return across groups.

    ``table`` has one row per group: group, n, observed, expected, (o-e)^2/e, (o-e)^2/v
    (summed over strata). ``chisq``, ``df`` and ``p`` are the test, as survdiff.
    """

    table: pd.DataFrame
    chisq: float
    df: int
    p: float
    strata: str | None
    event_code: int

    def summary(self) -> str:
        strat = f", stratified by {self.strata!r}" if self.strata else ""
        lines = [f"Log-rank test (event code {self.event_code}{strat})",
                 self.table.to_string(index=False),
                 f"Chisq = {self.chisq:.4g} on {self.df} df, p = {self.p:.4g}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def logrank_test(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    group: str = "group",
    *,
    strata: str | None = None,
    event_code: int = 1,
) -> LogRankResult:
    """k-sample log-rank test; with ``strata`` the stratified test (sums of O−E and V).

    Matches ``survdiff(Surv(time, status == event_code) ~ group + strata(s))`` (rho = 0).

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [1, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 1, 0],
    ...                    "group": ["a", "b", "a", "b", "a", "b"]})
    >>> round(logrank_test(df).chisq, 4)
    0.0739
    """
    check_columns(data, [duration, event, group, strata])
    t, ev = survival_arrays(data, duration, event)
    d = (ev == event_code).astype(float)
    glab, levels = group_labels(data, group)
    gi = pd.Categorical(glab, categories=levels).codes
    k = len(levels)
    slab = data[strata].astype(str).to_numpy() if strata else np.zeros(len(t), dtype=int)
    obs = np.zeros(k)
    exp = np.zeros(k)
    var = np.zeros((k, k))
    for s in pd.unique(slab):
        m = slab == s
        ts, gs, ds = t[m], gi[m], d[m]
        times, tidx = np.unique(ts, return_inverse=True)
        # counts per (time, group): all exits and events; at risk = reverse cumsum
        cnt = np.zeros((len(times), k))
        dev = np.zeros((len(times), k))
        np.add.at(cnt, (tidx, gs), 1.0)
        np.add.at(dev, (tidx, gs), ds)
        nrisk = cnt[::-1].cumsum(axis=0)[::-1]
        n = nrisk.sum(axis=1)
        dt = dev.sum(axis=1)
        keep = dt > 0
        nrisk, n, dt, dev = nrisk[keep], n[keep], dt[keep], dev[keep]
        e = nrisk * (dt / n)[:, None]
        obs += dev.sum(axis=0)
        exp += e.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(n > 1, dt * (n - dt) / (n - 1), 0.0) / n  # hypergeometric factor
        p = nrisk / n[:, None]
        var += np.einsum("t,tg->g", f * n, p)[:, None] * np.eye(k) \
            - np.einsum("t,tg,th->gh", f * n, p, p)
    oe = obs - exp
    # generalised inverse, as survdiff: df = rank of the variance matrix
    vinv = np.linalg.pinv(var)
    chisq = float(oe @ vinv @ oe)
    df = int(np.linalg.matrix_rank(var))
    pval = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
    n_per = pd.Series(glab).value_counts().reindex(levels).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame({
            "group": levels, "n": n_per, "observed": obs, "expected": exp,
            "oe2_e": oe**2 / exp, "oe2_v": oe**2 / np.diag(var),
        })
    return LogRankResult(table=table, chisq=chisq, df=df, p=pval, strata=strata,
                         event_code=event_code)
