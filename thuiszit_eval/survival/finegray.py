"""Fine–Gray subdistribution hazards, built as R ``survival::finegray`` + weighted ``coxph``.

lifelines has no Fine–Gray model. As in R, the data are expanded: an episode that ends in
a competing event stays in the risk set after its event time, in pieces cut at the
censoring times, with weight G(t)/G(T_i) (G = Kaplan–Meier of the censoring
distribution). The subdistribution hazard model is then a weighted Cox model on the
(fgstart, fgstop] pieces with Efron ties.

Equality with R: :func:`finegray_expand` reproduces ``finegray()`` row for row (the
"events before censorings at tied times" convention and the pruning of intervals without
events of interest included); :func:`fine_gray` gives ``coxph(Surv(fgstart, fgstop,
fgstatus) ~ ..., weights = fgwt)``'s coefficients and its three variances. ``cmprsk::crr``
solves a slightly different estimating equation (Breslow-type ties, its own censoring
weights), so its coefficients agree only to about 3 significant digits and its standard
errors (which add a term for estimating G) lie close to the cluster-robust ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._common import check_columns, survival_arrays
from .cox import fit_cox_arrays, term_table

FG_VARIANCES = ("cluster", "robust", "model")


def finegray_expand(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    *,
    event_code: int = 1,
    censoring_ties: str = "survival",
) -> pd.DataFrame:
    """Expanded counting-process data for a Fine–Gray model, as R ``finegray()``.

    ``censoring_ties``: "survival" (R finegray: an event at the same time as a censoring
    leaves first, so it is not in the censoring KM's risk set) or "cmprsk" (crr's
    censoring KM, the ordinary KM in which such events are still at risk).

    Returns ``data``'s columns (rows repeated) plus ``fgstart``, ``fgstop``, ``fgstatus``
    (1 = event ``event_code``), ``fgwt`` (censoring weight) and ``fgrow`` (row position in
    ``data``, for clustering). Right-censored data without strata only.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [1, 2, 3, 4, 5], "event": [1, 2, 0, 1, 0]})
    >>> finegray_expand(df)[["fgstart", "fgstop", "fgstatus", "fgwt"]].round(3).values.tolist()
    [[0.0, 1.0, 1.0, 1.0], [0.0, 3.0, 0.0, 1.0], [3.0, 5.0, 0.0, 0.667], [0.0, 3.0, 0.0, 1.0], \
[0.0, 4.0, 1.0, 1.0], [0.0, 5.0, 0.0, 1.0]]
    """
    check_columns(data, [duration, event])
    t, st = survival_arrays(data, duration, event)
    n = len(t)
    zero = 0.0 if t.min() > 0 else 2 * t.min() - 1
    utime = np.unique(np.concatenate([[zero], t]))
    # position of each time (1-based, as findInterval); events move 0.2 before censorings
    # at the same time so that the censoring KM counts them as already gone
    pos = np.searchsorted(utime, t) + 1.0
    if censoring_ties not in ("survival", "cmprsk"):
        raise ValueError(f"censoring_ties must be 'survival' or 'cmprsk', got {censoring_ties!r}")
    newstop = pos - 0.2 * (st != 0) if censoring_ties == "survival" else pos
    cpos = np.unique(pos[st == 0])
    ns = np.sort(newstop)
    n_risk = n - np.searchsorted(ns, cpos, side="left")
    n_cens = np.bincount(np.searchsorted(cpos, pos[st == 0]), minlength=len(cpos))
    gsurv = np.cumprod(1 - n_cens / n_risk)
    ct2 = np.concatenate([utime[cpos.astype(int) - 1], [t.max()]])
    cp2 = np.concatenate([[1.0], gsurv])
    etimes = np.unique(t[st == event_code])
    # intervals (ct2[j-1], ct2[j]] that contain an event of interest are kept
    kept = np.unique(np.searchsorted(ct2, etimes, side="left"))
    kept = kept[kept >= 1]
    expand = (st != 0) & (st != event_code)
    j0 = np.searchsorted(ct2, t, side="left")  # first cut at or after the exit time
    fgstop = np.where(expand, ct2[np.minimum(j0, len(ct2) - 1)], t)
    tempwt = cp2[np.minimum(j0, len(cp2) - 1)]
    n_extra = np.where(expand, len(kept) - np.searchsorted(kept, j0, side="right"), 0)
    # extra pieces: for row i, the kept j's after j0[i]
    rep_rows = np.repeat(np.arange(n), n_extra)
    first_k = np.searchsorted(kept, j0, side="right")
    offs = np.arange(n_extra.sum()) - np.repeat(np.cumsum(n_extra) - n_extra, n_extra)
    jj = kept[np.repeat(first_k, n_extra) + offs]
    base = pd.DataFrame({"fgrow": np.arange(n), "fgstart": zero, "fgstop": fgstop,
                         "fgstatus": (st == event_code).astype(int), "fgwt": 1.0,
                         "_order": 0})
    extra = pd.DataFrame({"fgrow": rep_rows, "fgstart": ct2[jj - 1], "fgstop": ct2[jj],
                          "fgstatus": 0, "fgwt": cp2[jj] / tempwt[rep_rows],
                          "_order": offs + 1})
    pieces = pd.concat([base, extra], ignore_index=True)
    pieces = pieces.sort_values(["fgrow", "_order"], kind="stable").drop(columns="_order")
    out = data.iloc[pieces["fgrow"].to_numpy()].reset_index(drop=True)
    for col in ("fgstart", "fgstop", "fgstatus", "fgwt", "fgrow"):
        out[col] = pieces[col].to_numpy()
    return out


@dataclass
class FineGrayResult:
    """Fine–Gray subdistribution hazard model.

    ``table``: one row per term: coef (log subdistribution hazard ratio), hr = exp(coef),
    se (the chosen variance), se_model (inverse information: coxph's ``naive.var``),
    se_robust (per-row sandwich: what coxph prints with fractional weights and no id),
    se_cluster (sandwich clustered by episode: ``coxph(..., cluster=id)``), z, p, lower,
    upper, hr_lower, hr_upper.
    """

    table: pd.DataFrame
    n: int
    n_events: int
    n_expanded: int
    event_code: int
    variance: str
    method: str
    conf_level: float
    loglik: float

    def summary(self) -> str:
        cols = ["term", "coef", "hr", "se", "z", "p", "hr_lower", "hr_upper"]
        return "\n".join([
            f"Fine–Gray model ({self.method}) for event code {self.event_code} "
            f"(variance = {self.variance}): "
            f"n = {self.n}, events = {self.n_events}, expanded rows = {self.n_expanded}",
            self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        ])

    def __str__(self) -> str:
        return self.summary()


def fine_gray(
    data: pd.DataFrame,
    duration: str = "duration",
    event: str = "event",
    covariates: Sequence[str] | None = None,
    *,
    event_code: int = 1,
    variance: str = "cluster",
    method: str = "finegray",
    conf_level: float = 0.95,
) -> FineGrayResult:
    """Fine–Gray model for the cumulative incidence of ``event_code``.

    Equals R::

        fg <- finegray(Surv(time, factor(status)) ~ ., data, etype = "1")
        coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + x2, weights = fgwt, data = fg,
              cluster = id)   # variance = "cluster" (default)

    ``variance="robust"`` is coxph's default output without ``cluster`` (per expanded row),
    ``"model"`` its ``naive.var``. Covariates must be numeric.

    ``method="crr"`` reproduces ``cmprsk::crr``'s coefficients exactly instead: Breslow
    ties and crr's censoring KM (events tied with a censoring stay at risk). crr's own
    standard error adds a term for estimating G that is not implemented here; the
    cluster-robust SE of this method is within about 1% of it.

    Example
    -------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration": [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ...                    "event": [1, 2, 1, 0, 1, 2, 1, 0, 1, 0],
    ...                    "x": [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0]})
    >>> fit = fine_gray(df, covariates=["x"])
    >>> fit.table[["term", "coef"]].round(4).values.tolist()
    [['x', 0.4806]]
    """
    if method not in ("finegray", "crr"):
        raise ValueError(f"method must be 'finegray' or 'crr', got {method!r}")
    ties = "efron" if method == "finegray" else "breslow"
    if variance not in FG_VARIANCES:
        raise ValueError(f"variance must be one of {FG_VARIANCES}, got {variance!r}")
    if covariates is None:
        covariates = [c for c in data.columns if c not in {duration, event}]
    covariates = list(covariates)
    check_columns(data, [duration, event, *covariates])
    ex = finegray_expand(data[[duration, event, *covariates]], duration, event,
                         event_code=event_code,
                         censoring_ties="survival" if method == "finegray" else "cmprsk")
    try:
        x = ex[covariates].to_numpy(dtype=float)
    except ValueError as err:
        raise TypeError(f"covariates must be numeric; make dummy columns first ({err})") from err
    start, stop = ex["fgstart"].to_numpy(float), ex["fgstop"].to_numpy(float)
    ev, w = ex["fgstatus"].to_numpy(int), ex["fgwt"].to_numpy(float)
    strata = np.zeros(len(ex), dtype=int)
    # own Newton solver: lifelines' CoxPHFitter(entry_col=, weights_col=) does not reach
    # R's solution on these data (pbc: wrong signs), so it is not used here
    beta, v, v_row, ll = fit_cox_arrays(start, stop, ev, x, w, strata, None, robust=True,
                                        ties=ties, terms=covariates, own_solver=True)
    _, _, v_cl, _ = fit_cox_arrays(start, stop, ev, x, w, strata, ex["fgrow"].to_numpy(),
                                   robust=True, ties=ties, terms=covariates,
                                   beta=beta)
    se = {"model": np.sqrt(np.diag(v)), "robust": np.sqrt(np.diag(v_row)),
          "cluster": np.sqrt(np.diag(v_cl))}
    table = term_table(beta, se["model"], se[variance], covariates, conf_level)
    table = table.rename(columns={"se_robust": "_chosen"}).drop(columns="_chosen")
    table.insert(5, "se_robust", se["robust"])
    table.insert(6, "se_cluster", se["cluster"])
    return FineGrayResult(
        table=table, n=len(data), n_events=int(ev.sum()), n_expanded=len(ex),
        event_code=event_code, variance=variance, method=method, conf_level=conf_level, loglik=ll,
    )
