"""Figures for the effects module: love plot, propensity overlap, adjusted curves.

Each function returns the matplotlib Figure (and draws on ``ax`` when given).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..messages import MESSAGES, fmt_g
from ..messages import t as msg
from ..schema import labels as code_labels

__all__ = ["adjusted_curve_plot", "covariate_label", "extra_titles", "love_plot",
           "overlap_plot"]

#: Covariates whose levels (``column[level]`` design columns) are codes of a code list.
_LEVEL_CODELISTS = {"sex": "sex", "school_type": "school_type",
                    "living_situation": "living_situation", "episode_type": "episode_type"}


def _decimals(axis, lang: str) -> None:
    """Tick labels with the decimal separator of ``lang`` (0,1 in Dutch, 0.1 in English)."""
    axis.set_major_formatter(plt.FuncFormatter(lambda v, _: fmt_g(round(v, 6), lang)))


def extra_titles(cohort: Any) -> dict[str, str]:
    """The ``title`` of each extra field the cohort declares in its datapackage (if any).

    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.schema import schema_dir
    >>> extra_titles(Cohort.load(schema_dir() / "example"))
    {'ses_index': 'Neighbourhood SES score'}
    """
    from ..covariates import extra_fields

    return {f.name: f.title for f in extra_fields(cohort) if f.title}


def covariate_label(term: str, lang: str = "nl",
                    titles: Mapping[str, str] | None = None) -> str:
    """A covariate or design column as a reader names it, in ``lang``.

    Known covariates come from the message catalogue (``effects.cov.<name>``), support
    needs and coded levels from the code lists, a field the cohort declares from its
    datapackage ``title`` (``titles``), anything else by its name with spaces for the
    underscores.

    >>> covariate_label("need_psychiatric", "nl")
    'Zorgbehoefte: psychiatrische problematiek'
    >>> covariate_label("swv_id[SWV-02]", "nl"), covariate_label("episode_type[lrv]", "en")
    ('Samenwerkingsverband: SWV-02', 'Episode type: long-term relative absence')
    >>> covariate_label("buurt_type", "en"), covariate_label("ses", "en", {"ses": "SES index"})
    ('buurt type', 'SES index')
    """
    m = re.fullmatch(r"(.+)\[(.*)\]", term)
    col, level = (m.group(1), m.group(2)) if m else (term, None)
    if col.startswith("need_"):
        code = col.removeprefix("need_")
        col, level = "support_need", code_labels("support_need", lang).get(code, code)
    elif level is not None and col in _LEVEL_CODELISTS:
        level = code_labels(_LEVEL_CODELISTS[col], lang).get(level, level)
    if titles and col in titles:
        name = titles[col]
    elif f"effects.cov.{col}" in MESSAGES:
        name = msg(f"effects.cov.{col}", lang)
    else:
        name = col.replace("_", " ")
    return name if level is None else f"{name}: {level.replace('_', ' ')}"


def love_plot(balance: pd.DataFrame, ax=None, threshold: float = 0.1, lang: str = "nl",
              titles: Mapping[str, str] | None = None):
    """|SMD| per covariate before (open) and after (filled) weighting, sorted; labels in
    ``lang`` (nl/en) from the message catalogue, covariates named by
    :func:`covariate_label` (``titles``: the cohort's own field titles)."""
    b = balance.assign(before=balance["smd"].abs(), after=balance["smd_weighted"].abs())
    b = b.sort_values("before")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.25 * len(b) + 1.2))
    y = np.arange(len(b))
    ax.scatter(b["before"], y, facecolors="none", edgecolors="C3",
               label=msg("effects.unweighted", lang))
    ax.scatter(b["after"], y, color="C0", label=msg("effects.weighted", lang))
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set_yticks(y, [covariate_label(c, lang, titles) for c in b["covariate"]])
    _decimals(ax.xaxis, lang)
    ax.set_xlabel(msg("effects.abs_smd", lang))
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(msg("effects.balance_title", lang))
    ax.figure.tight_layout()
    return ax.figure


def overlap_plot(scores: np.ndarray, treated: np.ndarray, ax=None,
                 labels: tuple[str, str] | None = None, bins: int = 30, lang: str = "nl"):
    """Histograms of propensity scores: treated upwards, control downwards (mirrored)."""
    if labels is None:
        labels = (msg("effects.treated", lang), msg("effects.control", lang))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    edges = np.linspace(0, 1, bins + 1)
    t = np.asarray(treated) == 1
    h1, _ = np.histogram(scores[t], edges)
    h0, _ = np.histogram(scores[~t], edges)
    width = np.diff(edges)
    ax.bar(edges[:-1], h1, width=width, align="edge", color="C0", alpha=0.8, label=labels[0])
    ax.bar(edges[:-1], -h0, width=width, align="edge", color="C1", alpha=0.8,
           label=labels[1])
    ax.axhline(0, color="black", lw=0.8)
    _decimals(ax.xaxis, lang)
    ax.set_xlabel(msg("effects.propensity_score", lang))
    ax.set_ylabel(msg("effects.overlap_y", lang))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{abs(v):.0f}"))
    ax.legend(frameon=False)
    ax.set_title(msg("effects.overlap_title", lang))
    ax.figure.tight_layout()
    return ax.figure


def adjusted_curve_plot(curves: pd.DataFrame, risk: pd.DataFrame | None = None,
                        value: str = "surv", ylabel: str | None = None,
                        bands: pd.DataFrame | None = None, ax=None,
                        risk_times: Sequence[float] | None = None, min_cell: int = 0,
                        lang: str = "nl"):
    """Step curves per group (``curves``: group, time, ``value``), optional bands and at-risk.

    ``bands``: group, time, lower, upper (bootstrap pointwise interval). ``risk``: group,
    time, n_risk (real pupils) printed under the axis; counts below ``min_cell`` are
    printed as ``<min_cell`` (small-cell suppression).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    for k, (g, c) in enumerate(curves.groupby("group", sort=False)):
        t = np.concatenate([[0.0], c["time"].to_numpy()])
        start = 1.0 if value == "surv" else 0.0
        v = np.concatenate([[start], c[value].to_numpy()])
        ax.step(t, v, where="post", color=f"C{k}", label=str(g))
        if bands is not None:
            b = bands[bands["group"] == g]
            ax.fill_between(b["time"], b["lower"], b["upper"], step="post", color=f"C{k}",
                            alpha=0.2, lw=0)
    ax.set_ylim(0, 1)
    _decimals(ax.yaxis, lang)
    ax.set_xlabel(msg("effects.days_since_start", lang))
    ax.set_ylabel(ylabel if ylabel is not None else msg("effects.still_home", lang))
    ax.legend(frameon=False)
    if risk is not None:
        times = sorted(risk["time"].unique()) if risk_times is None else list(risk_times)
        ax.set_xticks(times)
        lines = []
        for g, r in risk.groupby("group", sort=False):
            r = r.set_index("time").reindex(times)
            shown = [f"{v:.0f}" if v >= min_cell else f"<{min_cell}" for v in r["n_risk"]]
            lines.append(f"{g}: " + "  ".join(shown))
        ax.text(0, -0.22, msg("effects.at_risk", lang) + " | ".join(lines),
                transform=ax.transAxes, fontsize=8, va="top")
    ax.figure.tight_layout()
    return ax.figure
