"""Random-effects meta-analysis of per-region estimates, with heterogeneity and a forest plot.

The per-region estimates are computed *within* each region and combined here; unlike the
pooled (exact) analyses this is an approximation that also estimates how much regions
differ: tau² (between-region variance of the true effects) and I² (the share of the
variation in the estimates that is heterogeneity rather than chance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

METHODS = ("DL", "REML")


def random_effects(estimates: Sequence[float], std_errors: Sequence[float],
                   method: str = "REML", conf_level: float = 0.95,
                   max_iter: int = 200, tol: float = 1e-12) -> dict:
    """Random-effects pooled estimate (inverse-variance weights 1/(se² + tau²)).

    ``method``: ``"DL"`` (DerSimonian–Laird moment estimator of tau²) or ``"REML"``
    (restricted maximum likelihood, by the fixed-point iteration
    tau² = Σw²((y − μ)² − v)/Σw² + 1/Σw, truncated at 0). I² as in metafor:
    tau² / (tau² + s²) with s² the "typical" within-region variance
    (k − 1)Σw / ((Σw)² − Σw²), w = 1/v; for DL this equals (Q − df)/Q.
    The interval is the normal (Wald) interval, as ``metafor::rma`` by default.

    Example
    -------
    >>> r = random_effects([0.1, 0.3, 0.5], [0.1, 0.1, 0.1], method="DL")
    >>> round(r["estimate"], 4), round(r["tau2"], 4), round(r["i2"], 3)
    (0.3, 0.03, 0.75)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    y = np.asarray(estimates, dtype=float)
    v = np.asarray(std_errors, dtype=float) ** 2
    k = len(y)
    if k < 2:
        raise ValueError("a meta-analysis needs estimates from at least two regions")
    w = 1 / v
    mu_fe = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu_fe) ** 2))
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / c)
    if method == "REML":
        for _ in range(max_iter):
            wr = 1 / (v + tau2)
            mu = np.sum(wr * y) / np.sum(wr)
            new = max(0.0, float(np.sum(wr**2 * ((y - mu) ** 2 - v)) / np.sum(wr**2)
                                 + 1 / np.sum(wr)))
            if abs(new - tau2) < tol:
                tau2 = new
                break
            tau2 = new
    wr = 1 / (v + tau2)
    mu = float(np.sum(wr * y) / np.sum(wr))
    se = float(np.sqrt(1 / np.sum(wr)))
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    s2 = (k - 1) * np.sum(w) / (np.sum(w) ** 2 - np.sum(w**2))
    i2 = float(tau2 / (tau2 + s2))
    return {"estimate": mu, "se": se, "lower": mu - z * se, "upper": mu + z * se,
            "p": float(2 * stats.norm.sf(abs(mu / se))), "tau2": float(tau2),
            "i2": i2, "q": q, "q_df": k - 1, "q_p": float(stats.chi2.sf(q, k - 1)), "k": k,
            "weights": (wr / wr.sum()).tolist(), "method": method}


def forest_table(regions: Sequence[str], estimates: Sequence[float],
                 std_errors: Sequence[float], pooled: dict, conf_level: float = 0.95,
                 exp: bool = False) -> pd.DataFrame:
    """Tidy forest-plot rows: one per region plus the pooled row (``exp``: on the ratio
    scale, e.g. hazard ratios)."""
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    y, se = np.asarray(estimates, float), np.asarray(std_errors, float)
    tab = pd.DataFrame({"region": list(regions), "estimate": y, "lower": y - z * se,
                        "upper": y + z * se, "weight": pooled["weights"]})
    tab.loc[len(tab)] = ["pooled", pooled["estimate"], pooled["lower"], pooled["upper"], 1.0]
    if exp:
        for c in ("estimate", "lower", "upper"):
            tab[c] = np.exp(tab[c])
    return tab


def forest_plot(table: pd.DataFrame, pooled: dict, title: str = "", xlabel: str = "",
                ref: float | None = None, log: bool = False, ax=None):
    """Forest plot: each region's estimate and interval (square sized by weight), the
    pooled estimate as a diamond, tau² and I² in the caption."""
    import matplotlib.pyplot as plt
    regions = table[table["region"] != "pooled"]
    pool = table[table["region"] == "pooled"].iloc[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.45 * len(table) + 1.4))
    ypos = np.arange(len(regions))[::-1] + 1
    ax.hlines(ypos, regions["lower"], regions["upper"], color="0.3")
    ax.scatter(regions["estimate"], ypos, marker="s", color="0.2",
               s=30 + 250 * regions["weight"].to_numpy(), zorder=3)
    e, lo, hi = pool["estimate"], pool["lower"], pool["upper"]
    ax.fill([lo, e, hi, e], [0, 0.25, 0, -0.25], color="tab:blue", zorder=3)
    ax.set_yticks([*ypos, 0], [*regions["region"], "pooled"])
    if ref is not None:
        ax.axvline(ref, color="0.6", ls=":")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=10)
    ax.text(0.99, 0.01, f"tau² = {pooled['tau2']:.3g}, I² = {100 * pooled['i2']:.0f}%",
            transform=ax.transAxes, ha="right", va="bottom", fontsize=8)
    return ax
