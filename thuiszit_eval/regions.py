"""Regions: share back at school within 3 months per samenwerkingsverband or municipality.

Two views, both on episodes (time from absence start to the first return, competing endings
and follow-up end as censoring, as in notebook 03):

1. **Funnel plot.** The Kaplan–Meier share back within ``time`` days (default 91, 3 months)
   per region against the cohort's share ``p0``. The control limits use the normal
   approximation to the binomial on the region's *effective* n:
   ``p0 ± z·sqrt(p0(1 − p0) / n_eff)`` with z = 1.960 (95%) and z = 3.090 (99.8%), where
   ``n_eff = p(1 − p) / se²`` is the number of uncensored episodes that would give the
   Kaplan–Meier estimate's Greenwood SE (= n without censoring before ``time``).
2. **Case-mix adjusted observed/expected (O/E).** A Cox model of the return hazard on the
   case-mix covariates (no region term) is fitted on follow-up cut at ``time``; an
   episode's expected number of returns is its Breslow cumulative hazard
   ``H0(min(t, time))·exp(x'b)``. O = returns within ``time`` in the region, E = the sum of
   its expected counts; O/E > 1 means more (faster) returns than its case mix predicts. The
   interval is Byar's approximation to the exact Poisson interval for O.

Regions with fewer than ``min_cell`` episodes, or fewer than ``min_cell`` returns, show no
estimates (:func:`thuiszit_eval.describe.suppress_small`).

Example
-------
>>> round(float(funnel_limits(0.5, 100, 0.95)[1]), 4)
0.598
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from .cohort import Cohort
from .describe import suppress_small
from .disclosure import shown_share_is_safe
from .effects.propensity import design_matrix
from .estimability import require_events
from .messages import MESSAGES, by_lang, t
from .outcomes import OutcomeDefinition, survival_table
from .survival import cox_ph, kaplan_meier

LEVELS = {"swv_id": "samenwerkingsverband", "municipality_code": "gemeente"}
CONTROL_LEVELS = (0.95, 0.998)
#: case-mix covariates used when present (text columns become dummies)
CASE_MIX = ("age", "sex", "episode_type", "prior_episode", "school_type",
            "living_situation", "ses_score")
_LABELS = by_lang("regions.label", ("x", "y", "avg", "lim"))


def funnel_limits(p0: float, n: float | np.ndarray, level: float = 0.95
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper control limit ``p0 ± z·sqrt(p0(1 − p0)/n)``, clipped to [0, 1]."""
    z = stats.norm.ppf(0.5 + level / 2)
    half = z * np.sqrt(p0 * (1 - p0) / np.asarray(n, dtype=float))
    return np.clip(p0 - half, 0, 1), np.clip(p0 + half, 0, 1)


def byar_interval(observed: np.ndarray, expected: np.ndarray, level: float = 0.95
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximate Poisson interval for O/E."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(o > 0, o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3, 0.0)
        o1 = o + 1
        hi = o1 * (1 - 1 / (9 * o1) + z / (3 * np.sqrt(o1))) ** 3
        return lo / e, hi / e


def region_data(cohort: Cohort, time: float = 91) -> pd.DataFrame:
    """One row per episode: duration, event (1 = return), swv_id, municipality_code,
    case-mix covariates; follow-up cut at ``time`` days."""
    st = survival_table(cohort, OutcomeDefinition(horizon_days=time))
    d = st.data.copy()
    d["event"] = (d["event"] == 1).astype(int)
    d["prior_episode"] = (d["prior_episodes"] > 0).astype(float)
    return d


def case_mix_covariates(data: pd.DataFrame) -> list[str]:
    """The case-mix columns present: :data:`CASE_MIX` and the need_* flags."""
    cols = [c for c in CASE_MIX if c in data] + sorted(c for c in data if c.startswith("need_"))
    return [c for c in cols if data[c].nunique(dropna=True) > 1]


def _independent(x: pd.DataFrame) -> list[str]:
    """Columns that add rank to an intercept and the columns kept before them (a Cox model
    has no intercept, so e.g. dummies of two codings of the same split are collinear)."""
    kept: list[str] = []
    base = np.ones((len(x), 1))
    for c in x.columns:
        trial = np.column_stack([base, x[c].to_numpy(float)])
        if np.linalg.matrix_rank(trial) == trial.shape[1]:
            kept.append(c)
            base = trial
    return kept


def expected_returns(data: pd.DataFrame, covariates: Sequence[str] | None = None
                     ) -> np.ndarray:
    """Expected returns per episode from a Cox model without region (Breslow H0)."""
    covariates = case_mix_covariates(data) if covariates is None else list(covariates)
    d = data[covariates].copy()
    for c in covariates:  # simple imputation: median for numbers, a level for text
        if pd.api.types.is_numeric_dtype(d[c]) or pd.api.types.is_bool_dtype(d[c]):
            d[c] = d[c].astype(float).fillna(d[c].astype(float).median())
        else:
            d[c] = d[c].astype(object).fillna("missing")
    x = design_matrix(d, covariates)
    x = x[_independent(x)]
    # below 10 returns per term the case-mix model is not a model (estimability)
    require_events(int((data["event"] == 1).sum()), x.shape[1], "case_mix")
    names = [f"x{i}" for i in range(x.shape[1])]
    fit_df = pd.DataFrame(x.to_numpy(), columns=names)
    fit_df["duration"], fit_df["event"] = data["duration"].to_numpy(), data["event"].to_numpy()
    beta = cox_ph(fit_df, covariates=names).table["coef"].to_numpy() if names else np.zeros(0)
    risk = np.exp(x.to_numpy() @ beta)
    t, ev = fit_df["duration"].to_numpy(float), fit_df["event"].to_numpy()
    order = np.argsort(t, kind="stable")
    ts, rs = t[order], risk[order]
    at_risk = np.cumsum(rs[::-1])[::-1]  # sum of risk over t_j >= t_i (sorted)
    times = np.unique(t[ev == 1])
    d_at = np.array([np.sum((t == u) & (ev == 1)) for u in times], dtype=float)
    first = np.searchsorted(ts, times, side="left")
    h0 = np.cumsum(d_at / at_risk[first])
    idx = np.searchsorted(times, t, side="right") - 1
    H = np.where(idx >= 0, h0[np.maximum(idx, 0)], 0.0)
    return H * risk


def _share_at(data: pd.DataFrame, by: str | None, time: float) -> pd.DataFrame:
    at = kaplan_meier(data, group=by).at_times([time])
    at["share"] = 1 - at["surv"]
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = at["share"] * (1 - at["share"]) / at["std_err"] ** 2
    return at.assign(n_eff=n_eff)


def region_table(cohort: Cohort | pd.DataFrame, level: str = "swv_id", time: float = 91,
                 min_cell: int = 10) -> pd.DataFrame:
    """Per region: n episodes, observed returns, KM share back within ``time`` days with
    95% CI, effective n, funnel position, expected returns, O/E with Byar 95% CI.

    ``funnel``: "within", "above 95%", "above 99.8%", "below 95%", "below 99.8%".
    ``attrs["p0"]`` holds the cohort's share. Small regions are suppressed.
    """
    data = region_data(cohort, time) if isinstance(cohort, Cohort) else cohort
    data = data.assign(expected=expected_returns(data))
    p0 = float(_share_at(data, None, time)["share"].iloc[0])
    km = _share_at(data.assign(**{level: data[level].astype(str)}), level, time)
    km = km.set_index("group")
    g = data.groupby(data[level].astype(str))
    out = pd.DataFrame({"n": g.size(), "observed": g["event"].sum(),
                        "expected": g["expected"].sum()})
    out.index.name = level
    out["share"] = km["share"]
    out["share_lower"], out["share_upper"] = 1 - km["upper"], 1 - km["lower"]
    out["n_eff"] = km["n_eff"].fillna(out["n"])
    pos = np.full(len(out), "within", dtype=object)
    for lev in CONTROL_LEVELS:
        lo, hi = funnel_limits(p0, out["n_eff"].to_numpy(), lev)
        pos = np.where(out["share"] > hi, f"above {100 * lev:g}%", pos)
        pos = np.where(out["share"] < lo, f"below {100 * lev:g}%", pos)
    out["funnel"] = pos
    # a region's share is shown (in the table to 1 decimal, in the funnel plot) only where
    # it and its rest give no count below min_cell back with the region's n
    unsafe = [not all(shown_share_is_safe(p, n, min_cell, d) for d in (0, 1))
              for p, n in zip(out["share"], out["n"], strict=True)]
    out = out.astype({"funnel": object})
    out.loc[unsafe, ["share", "share_lower", "share_upper", "n_eff", "funnel"]] = np.nan
    out["oe"] = out["observed"] / out["expected"]
    out["oe_lower"], out["oe_upper"] = byar_interval(out["observed"], out["expected"])
    out = out.reset_index()
    est = ["observed", "expected", "share", "share_lower", "share_upper", "n_eff", "funnel",
           "oe", "oe_lower", "oe_upper"]
    small = out["n"] < min_cell
    out.loc[small, "observed"] = 0  # hidden with the region below
    out = suppress_small(out, ["n", "observed"], min_cell,
                         hide={"n": est, "observed": est[1:]})
    out.attrs.update(p0=p0, time=time, level=level, min_cell=min_cell)
    return out


def funnel_plot(table: pd.DataFrame, lang: str = "nl", ax=None):
    """Funnel plot of a :func:`region_table`: shares against effective n, 95% and 99.8%
    control limits around the cohort share. Suppressed regions are not drawn.

    Only regions outside the 95% limits are named (all of them when at most five are
    drawn), and neighbouring names alternate above and below their point, so that names
    do not overlap; the table beside the figure names every region."""
    lab = _LABELS[lang]
    p0, time = table.attrs["p0"], table.attrs["time"]
    shown = table[pd.to_numeric(table["share"], errors="coerce").notna()]
    n_eff = shown["n_eff"].astype(float).to_numpy()
    share = shown["share"].astype(float).to_numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    top = max(float(n_eff.max()) if len(n_eff) else 50.0, 50.0) * 1.15
    grid = np.linspace(10, top, 300)
    ax.axhline(p0, color="black", lw=1, label=lab["avg"])
    for lev, style in zip(CONTROL_LEVELS, ("--", ":"), strict=True):
        lo, hi = funnel_limits(p0, grid, lev)
        pct = f"{100 * lev:g}%".replace(".", "," if lang == "nl" else ".")
        ax.plot(grid, hi, "grey", ls=style, label=lab["lim"].format(pct=pct))
        ax.plot(grid, lo, "grey", ls=style)
    ax.scatter(n_eff, share, color="#1b6ca8", zorder=3)
    named = shown["funnel"].astype(str) != "within"
    if len(shown) <= 5:
        named[:] = True
    order = np.argsort(n_eff[named.to_numpy()], kind="stable")
    pts = list(zip(n_eff[named.to_numpy()], share[named.to_numpy()],
                   shown.loc[named].iloc[:, 0], strict=True))
    for rank, i in enumerate(order):
        x, y, name = pts[i]
        dy = 4 if rank % 2 == 0 else -11  # alternate above / below along the x-axis
        ax.annotate(str(name), (x, y), fontsize=7, xytext=(4, dy), textcoords="offset points")
    ax.set_xlabel(lab["x"])
    ax.set_ylabel(lab["y"].format(days=int(time)))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_xlim(0, top)
    ax.legend(fontsize=8, loc="lower right")
    return ax.figure


def display_table(table: pd.DataFrame, digits: int = 2, lang: str = "nl") -> pd.DataFrame:
    """The table for reading in ``lang``: shares in %, O/E and expected rounded, effective n
    whole, headers and the funnel position in words (message catalogue)."""
    out = table.copy()

    def rnd(col: str, scale: float, d: int) -> None:
        x = pd.to_numeric(out[col], errors="coerce")
        # a suppressed or not estimable cell is left empty: never None or nan on the page
        out[col] = (x * scale).round(d).astype(object).where(x.notna(), "")

    for c in ("share", "share_lower", "share_upper"):
        rnd(c, 100, 1)
    for c in ("oe", "oe_lower", "oe_upper"):
        rnd(c, 1, digits)
    rnd("expected", 1, 1)
    rnd("n_eff", 1, 0)
    out["funnel"] = out["funnel"].map(
        lambda v: t(f"regions.funnel.{v}", lang) if f"regions.funnel.{v}" in MESSAGES else v)
    out = out.rename(columns={"share": "share_pct", "share_lower": "lower_pct",
                              "share_upper": "upper_pct"})
    out = out.astype(object).where(out.notna(), "")
    return out.rename(columns=lambda c: t(f"describe.{c}", lang)
                      if f"describe.{c}" in MESSAGES else c)


def summary_numbers(table: pd.DataFrame) -> dict[str, object]:
    """Counts of regions shown, suppressed and outside the control limits (for the text)."""
    shown = pd.to_numeric(table["share"], errors="coerce").notna()
    f = table["funnel"].astype(str)
    return {"n_regions": int(len(table)), "n_shown": int(shown.sum()),
            "n_suppressed": int((~shown).sum()),
            "n_out95": int(f.str.contains("95%").sum() + f.str.contains("99.8%").sum()),
            "n_out998": int(f.str.contains("99.8%").sum())}
