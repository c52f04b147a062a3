"""Missing covariate values in the open: multiple imputation by chained equations.

By default every model leaves out the episodes with a missing adjustment covariate and
says how many (:func:`thuiszit_eval.covariates.missing_report`). When that is many, or the
missingness may depend on the outcome, multiple imputation is the better choice:

1. :func:`impute` draws ``m`` completed copies of the episodes' baseline covariates with
   statsmodels' :class:`~statsmodels.imputation.mice.MICEData` (chained equations,
   predictive mean matching, so a 0/1 covariate stays 0/1). The imputation model holds
   the adjustment covariates plus the outcome: the event indicator and the Nelson-Aalen
   cumulative hazard at the episode's time (White & Royston, Stat Med 2009), as an
   imputation model without the outcome biases hazard ratios towards 1.
2. Each copy is analysed as if complete.
3. :func:`rubin` pools the estimates: the mean, and the total variance
   ``T = W + (1 + 1/m) B`` (within- and between-imputation), with Barnard & Rubin's
   (1999) small-sample degrees of freedom for the t interval.

:func:`mice_cox` does this for the time-varying Cox model of notebook 04 and
:func:`mice_iptw_hazard_ratio` for the IPTW-weighted hazard ratio of notebook 06.

Example
-------
>>> est = np.array([[0.40], [0.44], [0.42]])
>>> var = np.array([[0.010], [0.012], [0.011]])
>>> r = rubin(est, var, df_complete=499)
>>> round(float(r["estimate"].iloc[0]), 3), round(float(r["between"].iloc[0]), 4)
(0.42, 0.0004)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from .estimability import quiet

if TYPE_CHECKING:
    from .cohort import Cohort

__all__ = ["rubin", "impute", "mice_cox", "mice_iptw_hazard_ratio"]


def rubin(estimates: np.ndarray, variances: np.ndarray, df_complete: float | None = None,
          names: Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Rubin's rules for ``m`` analyses (rows) of ``p`` parameters (columns), as R's
    ``mice::pool.scalar`` computes them.

    Returns one row per parameter: estimate (mean), within (mean variance W), between
    (B), total (T = W + (1 + 1/m) B), se = sqrt(T), df (Barnard & Rubin 1999 with the
    complete-data degrees of freedom ``df_complete``; ``None``: large sample, as ``mice``
    uses for a Cox model), lower, upper (t interval), p (t test of 0), lambda
    ((1 + 1/m) B / T), fmi (fraction of missing information, mice's formula).
    """
    q = np.atleast_2d(np.asarray(estimates, float))
    u = np.atleast_2d(np.asarray(variances, float))
    m = q.shape[0]
    if m < 2:
        raise ValueError("Rubin's rules need at least 2 imputations")
    qbar, w = q.mean(axis=0), u.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    t = w + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t
    lam_df = np.maximum(lam, 1e-4)  # mice's floor: no between-variance is not infinite df
    df_old = (m - 1) / lam_df**2
    if df_complete is None or not np.isfinite(df_complete):
        df = df_old
    else:
        df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam_df)
        df = df_old * df_obs / (df_old + df_obs)
    r = (1 + 1 / m) * b / w
    fmi = (r + 2 / (df + 3)) / (r + 1)
    se = np.sqrt(t)
    crit = stats.t.ppf(0.5 + level / 2, df)
    z = np.divide(qbar, se, out=np.full_like(qbar, np.nan), where=se > 0)
    return pd.DataFrame({
        "term": list(names) if names is not None else [f"x{i}" for i in range(len(qbar))],
        "estimate": qbar, "within": w, "between": b, "total": t, "se": se, "df": df,
        "lower": qbar - crit * se, "upper": qbar + crit * se,
        "p": 2 * stats.t.sf(np.abs(z), df), "lambda": lam, "fmi": fmi,
    })


def _nelson_aalen(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Nelson-Aalen cumulative hazard at each row's own time (ties: all events first)."""
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    uniq, first = np.unique(t, return_index=True)
    d = np.add.reduceat(e, first)
    at_risk = len(t) - first
    cum = np.cumsum(d / at_risk)
    return cum[np.searchsorted(uniq, time)]


def impute(rows: pd.DataFrame, terms: Sequence[str], time: str, event: str, m: int = 20,
           seed: int = 1, burn_in: int = 10) -> list[pd.DataFrame]:
    """``m`` completed copies of ``rows[terms]`` (chained equations, predictive mean
    matching), each a DataFrame with the same index; the other columns are kept as they
    are. Coded (text) terms are imputed as 0/1 dummies and turned back into their level.
    """
    base = rows[list(terms)]
    num = pd.DataFrame(index=rows.index)
    dummies: dict[str, list[str]] = {}
    for c in terms:
        s = base[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or isinstance(
                s.dtype, pd.BooleanDtype):
            num[c] = s.astype(float)
        else:
            levels = s.dropna().astype(str).value_counts().index.tolist()
            cols = []
            for lv in levels[1:]:
                name = f"{c}__{len(cols)}"
                num[name] = np.where(s.isna(), np.nan, (s.astype(str) == lv).astype(float))
                cols.append(name)
            dummies[c] = [levels[0], *levels[1:]]
    ev = (rows[event].to_numpy() == 1).astype(float)
    num["_event"] = ev
    num["_cumhaz"] = _nelson_aalen(rows[time].to_numpy(float), ev)
    # MICEData wants plain column names and a default RangeIndex
    names = {c: f"v{i}" for i, c in enumerate(num.columns)}
    data = num.rename(columns=names).reset_index(drop=True)
    varying = [names[c] for c in num.columns if num[c].isna().any()]
    if not varying:
        return [rows.copy() for _ in range(m)]
    from statsmodels.imputation.mice import MICEData

    out = []
    with quiet():
        imp = MICEData(data, rng=np.random.default_rng(seed))
        imp.update_all(burn_in)
        for _ in range(m):
            imp.update_all(1)
            filled = imp.data.rename(columns={v: k for k, v in names.items()})
            filled.index = rows.index
            copy = rows.copy()
            for c in terms:
                if c in dummies:
                    levels = dummies[c]
                    cols = [f"{c}__{i}" for i in range(len(levels) - 1)]
                    pick = filled[cols].to_numpy() if cols else np.zeros((len(rows), 0))
                    idx = np.where(pick.max(axis=1, initial=0) > 0.5,
                                   pick.argmax(axis=1) + 1 if cols else 0, 0)
                    copy[c] = np.where(rows[c].isna(), np.asarray(levels, object)[idx],
                                       rows[c].to_numpy(object))
                else:
                    val = filled[c].to_numpy()
                    if pd.api.types.is_bool_dtype(rows[c]) or isinstance(rows[c].dtype,
                                                                          pd.BooleanDtype):
                        val = val > 0.5
                    copy[c] = np.where(rows[c].isna(), val, rows[c].to_numpy())
                    if pd.api.types.is_float_dtype(rows[c]):
                        copy[c] = copy[c].astype(float)
            out.append(copy)
    return out


def mice_cox(cohort: Cohort, covariates: str | Sequence[str] | None = None, m: int = 20,
             seed: int = 1, se: str = "pupil") -> pd.DataFrame:
    """The time-varying Cox model of :func:`thuiszit_eval.regression.fit_cox_models`, with
    missing baseline covariates multiply imputed (``m`` copies) and the log hazard ratios
    pooled by :func:`rubin`.

    Returns one row per term: term, hr, hr_lower, hr_upper, p, se (of the log HR), df,
    fmi; ``.attrs``: ``m``, ``n_imputed`` (episodes with an imputed value), ``se``.
    """
    from . import regression as R
    from .outcomes import OutcomeDefinition, counting_process

    d = OutcomeDefinition()
    cp = R.add_derived_covariates(counting_process(cohort, d))
    ivs = [c for c in R._intervention_codes(cohort) if c in cp]
    terms = R._available(cp, covariates, cohort)
    first = cp.drop_duplicates("episode_id").set_index("episode_id")
    last = cp.groupby("episode_id").agg(stop=("stop", "max"), event=("event", "max"))
    ep = first[terms].join(last)
    n_imputed = int(ep[terms].isna().any(axis=1).sum())
    copies = impute(ep, terms, "stop", "event", m=m, seed=seed)
    est, var, names = [], [], None
    for filled in copies:
        cpi = cp.drop(columns=terms).join(filled[terms], on="episode_id")
        X, cpx = R._model_frame(cpi, ivs, terms, None)
        with quiet():
            tab = R._fit(cpx, X, "stop", "start", "event", se).table
        names = names or list(tab["term"])
        tab = tab.set_index("term").reindex(names)
        est.append(tab["coef"].to_numpy())
        var.append(tab["se"].to_numpy() ** 2)
    pooled = rubin(np.array(est), np.array(var), names=names)
    out = pd.DataFrame({"term": pooled["term"], "hr": np.exp(pooled["estimate"]),
                        "hr_lower": np.exp(pooled["lower"]),
                        "hr_upper": np.exp(pooled["upper"]), "p": pooled["p"],
                        "se": pooled["se"], "df": pooled["df"], "fmi": pooled["fmi"]})
    out.attrs.update({"m": m, "n_imputed": n_imputed, "se": se})
    return out


def mice_iptw_hazard_ratio(data: pd.DataFrame, covariates: Sequence[str], m: int = 20,
                           seed: int = 1) -> pd.Series:
    """The IPTW-weighted hazard ratio of treatment (:class:`~thuiszit_eval.effects.
    IPTWSurvival`'s ``cox_``), with missing covariates multiply imputed and pooled by
    Rubin's rules. ``data``: :func:`~thuiszit_eval.effects.point_treatment_data`."""
    from .effects import IPTWSurvival, PropensityModel

    copies = impute(data, covariates, "duration", "event", m=m, seed=seed)
    est, var = [], []
    for filled in copies:
        with quiet():
            fit = IPTWSurvival(PropensityModel(list(covariates))).fit(filled)
        row = fit.cox_.set_index("term").loc["treated"]
        est.append([row["coef"]])
        var.append([row["se"] ** 2])
    r = rubin(np.array(est), np.array(var), names=["treated"]).iloc[0]
    return pd.Series({"hr": np.exp(r["estimate"]), "hr_lower": np.exp(r["lower"]),
                      "hr_upper": np.exp(r["upper"]), "p": r["p"], "se": r["se"],
                      "fmi": r["fmi"], "m": m})
