"""Propensity scores for receiving an intervention, inverse-probability weights, balance.

:class:`PropensityModel` fits a logistic model (statsmodels GLM, binomial family) for the
probability of receiving treatment (e.g. Back to School rather than a process
intervention) from *baseline* covariates, and turns it into stabilised inverse-probability
of treatment weights (IPTW)::

    sw_i = P(A = 1) / e(X_i)            for treated pupils
    sw_i = P(A = 0) / (1 - e(X_i))      for comparison pupils

with e(X) the fitted propensity score and P(A = a) the share treated / untreated. The
weighted sample mimics one in which treatment does not depend on the covariates, so that
weighted outcome curves compare the two groups as if they had the same covariate mix
(the whole sample's: the estimand is the average treatment effect, ATE).

Two ways to deal with extreme weights, both reported:

* ``trim=(lo, hi)``: *exclude* rows with a propensity score outside ``[lo, hi]``
  (Crump-style trimming; the estimand becomes the effect in the trimmed population);
* ``truncate=(p_lo, p_hi)``: *cap* the weights at their ``p_lo``-th and ``p_hi``-th
  percentiles (Cole & Hernán 2008; keeps everyone, adds a little bias for less variance).

Balance is checked with standardised mean differences (SMD) of every design column::

    SMD = (m_1 - m_0) / sqrt((s_1^2 + s_0^2) / 2)

with ``m_g = sum(w x) / sum(w)`` the (weighted) mean in group g and ``s_g^2`` the
*unweighted* variance in group g (population form, so ``p(1 - p)`` for a 0/1 column). The
denominator is the same before and after weighting (as R ``cobalt``'s default), so a
change in SMD is a change in the mean difference only. |SMD| < 0.1 is the usual threshold.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> df = pd.DataFrame({"x": rng.normal(size=400), "g": rng.choice(["a", "b"], 400)})
>>> df["treated"] = (rng.random(400) < 1 / (1 + np.exp(-df["x"]))).astype(int)
>>> pm = PropensityModel(["x", "g"]).fit(df)
>>> round(float(pm.weights_.mean()), 1)
1.0
>>> bool((pm.balance_table()["smd_weighted"].abs() < 0.1).all())
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ._fast import fit_logistic, iptw_weights

__all__ = ["PropensityModel", "design_matrix", "iptw_weights", "smd_table"]


def design_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric design columns: numbers as they are, booleans as 0/1, text as dummies.

    Categorical (text) columns get one 0/1 column per level except the first (sorted)
    level, named ``column[level]``. Missing values are not allowed: impute or drop first.
    """
    missing = [c for c in covariates if c not in data.columns]
    if missing:
        raise KeyError(f"covariates not in the data: {missing}")
    cols: dict[str, np.ndarray] = {}
    for c in covariates:
        s = data[c]
        if s.isna().any():
            raise ValueError(f"covariate {c!r} has {int(s.isna().sum())} missing values; "
                             "impute or drop them before fitting")
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols[c] = s.to_numpy(dtype=float)
        else:
            levels = sorted(pd.unique(s.astype(str)))
            v = s.astype(str).to_numpy()
            for lev in levels[1:]:
                cols[f"{c}[{lev}]"] = (v == lev).astype(float)
    return pd.DataFrame(cols, index=data.index)


def smd_table(x: pd.DataFrame, a: np.ndarray, w: np.ndarray | None = None) -> pd.DataFrame:
    """SMD per column of ``x`` before (unweighted) and after weighting with ``w``.

    Columns: covariate, mean_treated, mean_control (unweighted), mean_treated_w,
    mean_control_w (weighted), smd, smd_weighted. Formula in the module docstring.
    """
    a = np.asarray(a) == 1
    xv = x.to_numpy(dtype=float)
    w = np.ones(len(a)) if w is None else np.asarray(w, dtype=float)

    def mean_var(rows: np.ndarray, ww: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = np.average(xv[rows], axis=0, weights=ww)
        v = np.average((xv[rows] - m) ** 2, axis=0, weights=ww)
        return m, v

    m1, v1 = mean_var(a, np.ones(a.sum()))
    m0, v0 = mean_var(~a, np.ones((~a).sum()))
    m1w, _ = mean_var(a, w[a])
    m0w, _ = mean_var(~a, w[~a])
    sd = np.sqrt((v1 + v0) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        smd = np.where(sd > 0, (m1 - m0) / sd, 0.0)
        smdw = np.where(sd > 0, (m1w - m0w) / sd, 0.0)
    return pd.DataFrame({"covariate": list(x.columns), "mean_treated": m1,
                         "mean_control": m0, "mean_treated_w": m1w, "mean_control_w": m0w,
                         "smd": smd, "smd_weighted": smdw})


class PropensityModel:
    """Logistic propensity model for a 0/1 treatment, with IPT weights and balance.

    Parameters
    ----------
    covariates:
        Baseline covariate columns (text columns become dummies), or ``None`` with
        ``formula``.
    formula:
        Alternatively a patsy right-hand side, e.g. ``"age + C(swv_id) + need_autism"``.
    stabilised:
        Stabilised weights (default) — they average about 1 in each group.
    trim:
        Exclude rows whose propensity score is outside ``(lo, hi)``, e.g. ``(0.05, 0.95)``.
    truncate:
        Cap the weights at these percentiles, e.g. ``(1, 99)``.

    Fitted attributes: ``result_`` (statsmodels GLM results), ``design_`` (design matrix
    without intercept), ``treated_`` (0/1 array), ``scores_`` (propensity scores),
    ``weights_`` (IPT weights, 0 = trimmed), ``n_trimmed_``, ``n_truncated_``.

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> df = pd.DataFrame({"age": rng.normal(12, 2, 300)})
    >>> df["treated"] = (rng.random(300) < 1 / (1 + np.exp(df["age"] - 12))).astype(int)
    >>> pm = PropensityModel(formula="age", truncate=(1, 99)).fit(df)
    >>> pm.n_truncated_ > 0
    True
    """

    def __init__(self, covariates: Sequence[str] | None = None, *, formula: str | None = None,
                 stabilised: bool = True, trim: tuple[float, float] | None = None,
                 truncate: tuple[float, float] | None = None) -> None:
        if (covariates is None) == (formula is None):
            raise ValueError("give either covariates or formula")
        self.covariates = list(covariates) if covariates is not None else None
        self.formula = formula
        self.stabilised = stabilised
        self.trim = trim
        self.truncate = truncate

    # ---- fitting
    def _design(self, data: pd.DataFrame) -> pd.DataFrame:
        if self.formula is not None:
            import patsy

            x = patsy.dmatrix(self.formula, data, return_type="dataframe")
            return x.drop(columns=[c for c in x.columns if c == "Intercept"])
        return design_matrix(data, self.covariates or [])

    def fit(self, data: pd.DataFrame, treatment: str = "treated") -> PropensityModel:
        """Fit the model on ``data`` (``treatment`` must be 0/1) and compute the weights."""
        if treatment not in data.columns:
            raise KeyError(f"treatment column {treatment!r} not in the data")
        a = data[treatment].to_numpy(dtype=float)
        if not np.isin(a, (0, 1)).all():
            raise ValueError(f"treatment column {treatment!r} must be 0/1")
        if a.min() == a.max():
            raise ValueError("both groups must be present to fit a propensity model")
        x = self._design(data)
        const = x.std(axis=0) == 0
        if const.any():  # a level absent from the data, or a constant column
            x = x.loc[:, ~const]
        self.design_ = x
        self.treated_ = a
        self.treatment = treatment
        self.exog_ = np.column_stack([np.ones(len(x)), x.to_numpy(dtype=float)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.result_ = sm.GLM(a, self.exog_, family=sm.families.Binomial()).fit()
        self.beta0_ = np.asarray(self.result_.params, dtype=float)
        self.scores_ = pd.Series(np.clip(self.result_.fittedvalues, 1e-8, 1 - 1e-8),
                                 index=data.index, name="propensity")
        w, self.n_trimmed_, self.n_truncated_ = self.weights_from(self.scores_.to_numpy(), a)
        self.weights_ = pd.Series(w, index=data.index, name="iptw")
        return self

    def weights_from(self, ps: np.ndarray, a: np.ndarray, freq: np.ndarray | None = None
                     ) -> tuple[np.ndarray, int, int]:
        """Weights for given scores with this model's stabilisation/trim/truncation."""
        return iptw_weights(ps, a, freq, stabilised=self.stabilised, trim=self.trim,
                            truncate=self.truncate)

    def refit_weights(self, freq: np.ndarray) -> np.ndarray:
        """Re-fit on a bootstrap replicate (frequency weights ``freq``); its IPT weights.

        Reuses the design matrix of :meth:`fit` (no formula parsing, no dummies).
        """
        ps = fit_logistic(self.exog_, self.treated_, freq, beta0=self.beta0_)[1]
        return self.weights_from(ps, self.treated_, freq)[0]

    # ---- results
    @property
    def table(self) -> pd.DataFrame:
        """Coefficients: term, coef (log odds ratio), se, z, p, odds_ratio."""
        r = self.result_
        return pd.DataFrame({"term": ["Intercept", *self.design_.columns], "coef": r.params,
                             "se": r.bse, "z": r.tvalues, "p": r.pvalues,
                             "odds_ratio": np.exp(r.params)})

    def balance_table(self) -> pd.DataFrame:
        """SMD of every design column before and after weighting (see module docstring)."""
        return smd_table(self.design_, self.treated_, self.weights_.to_numpy())

    def weight_summary(self) -> pd.DataFrame:
        """Per group: n, sum and mean of weights, min/max, effective sample size."""
        rows = []
        for g, lab in ((1, "treated"), (0, "control")):
            w = self.weights_.to_numpy()[self.treated_ == g]
            rows.append({"group": lab, "n": len(w), "n_trimmed": int((w == 0).sum()),
                         "sum_w": w.sum(), "mean_w": w.mean(), "min_w": w.min(),
                         "max_w": w.max(), "ess": w.sum() ** 2 / np.sum(w**2)})
        return pd.DataFrame(rows)

    def truncation_summary(self) -> dict[str, float]:
        """The numbers a sentence about the weight cap needs, computed on this fit.

        Keys: ``n`` (rows), ``n_truncated`` (rows whose weight was capped), ``p_lo`` and
        ``p_hi`` (the percentiles of ``truncate``; NaN without a cap), ``cap_lo`` and
        ``cap_hi`` (the capped weight range), ``max_w`` (largest weight used),
        ``max_w_uncapped`` (largest weight without the cap), ``smd_before`` (largest |SMD|
        unweighted), ``smd_after`` (largest |SMD| with these weights) and
        ``smd_after_uncapped`` (largest |SMD| with the weights left uncapped).
        """
        a, ps = self.treated_, self.scores_.to_numpy()
        raw, _, _ = iptw_weights(ps, a, stabilised=self.stabilised, trim=self.trim)
        bal = self.balance_table()
        bal_raw = smd_table(self.design_, a, raw)
        w = self.weights_.to_numpy()
        used = w > 0
        p_lo, p_hi = self.truncate if self.truncate is not None else (np.nan, np.nan)
        return {"n": len(a), "n_truncated": int(self.n_truncated_),
                "p_lo": float(p_lo), "p_hi": float(p_hi),
                "cap_lo": float(w[used].min()), "cap_hi": float(w[used].max()),
                "max_w": float(w.max()), "max_w_uncapped": float(raw.max()),
                "smd_before": float(bal["smd"].abs().max()),
                "smd_after": float(bal["smd_weighted"].abs().max()),
                "smd_after_uncapped": float(bal_raw["smd_weighted"].abs().max())}

    def summary(self) -> str:
        """Readable text: model, weights, trimming and the worst balance."""
        bal = self.balance_table()
        worst = bal.loc[bal["smd"].abs().idxmax()]
        worst_w = bal.loc[bal["smd_weighted"].abs().idxmax()]
        ws = self.weight_summary()
        lines = [
            f"Propensity model: logistic GLM of {self.treatment!r} on "
            f"{self.design_.shape[1]} design columns, n = {len(self.treated_)} "
            f"({int(self.treated_.sum())} treated)",
            f"Weights: {'stabilised' if self.stabilised else 'unstabilised'} IPTW; "
            f"trimmed (PS outside {self.trim}): {self.n_trimmed_}; "
            f"truncated (percentiles {self.truncate}): {self.n_truncated_}",
            ws.round(3).to_string(index=False),
            f"Largest |SMD| before weighting: {worst['covariate']} {worst['smd']:+.3f}; "
            f"after: {worst_w['covariate']} {worst_w['smd_weighted']:+.3f}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        fitted = hasattr(self, "result_")
        return (f"PropensityModel(covariates={self.covariates}, formula={self.formula!r}, "
                f"trim={self.trim}, truncate={self.truncate}{', fitted' if fitted else ''})")

    def love_plot(self, ax=None, threshold: float = 0.1, lang: str = "nl",
                  titles: dict[str, str] | None = None):
        """Dot plot of |SMD| per covariate before and after weighting (``titles``: the
        cohort's own names of its declared fields, see ``effects.plots.extra_titles``)."""
        from .plots import love_plot

        return love_plot(self.balance_table(), ax=ax, threshold=threshold, lang=lang,
                         titles=titles)

    def overlap_plot(self, ax=None, labels: tuple[str, str] | None = None, lang: str = "nl"):
        """Histograms of the propensity score per group (overlap / positivity check)."""
        from .plots import overlap_plot

        return overlap_plot(self.scores_.to_numpy(), self.treated_, ax=ax, labels=labels,
                            lang=lang)
