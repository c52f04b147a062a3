"""Figures. Each function takes a tidy result and returns a matplotlib Figure.

``validation_flow`` (rows accepted / rejected), and for the survival results: ``km_plot``
(share returned with numbers at risk), ``cif_plot`` (cumulative incidence per cause),
``km_vs_aj_plot`` (what ignoring competing events does) and ``forest_plot`` (hazard
ratios). Only curves and counts are drawn, never pupil-level data.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> from thuiszit_eval.plots import validation_flow
>>> fig = validation_flow(Cohort.load(schema_dir() / "example").report)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullLocator,
    PercentFormatter,
)

from .messages import check_lang, fmt_g, fmt_num
from .messages import t as _msg
from .schema import labels as _code_labels
from .survival import AalenJohansenResult, KaplanMeierResult
from .validation import ValidationReport


def validation_flow(report: ValidationReport, title: str | None = None, *,
                    lang: str = "nl") -> Figure:
    """Horizontal bars per table: rows accepted, and rows rejected split by rule.

    Title, legend and axis text in ``lang`` (``nl`` default, or ``en``).
    """
    check_lang(lang)
    flow = report.flow()
    tables = flow.loc[flow.stage == "read", "table"].tolist()
    rejected = flow[flow.stage == "rejected"]
    rules = rejected.groupby("rule")["rows"].sum().sort_values(ascending=False).index.tolist()
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(tables) + 2.4))
    left = pd.Series(0.0, index=tables)
    acc = flow[flow.stage == "accepted"].set_index("table")["rows"].reindex(tables)
    ax.barh(tables, acc, color="#4c9a6a", label=_msg("flow_accepted", lang))
    left += acc
    colours = plt.get_cmap("tab10")
    for i, rule in enumerate(rules):
        n = rejected[rejected.rule == rule].set_index("table")["rows"].reindex(tables).fillna(0)
        ax.barh(tables, n, left=left, color=colours(i % 10),
                label=_msg("flow_rejected", lang, rule=rule))
        left += n
    ax.invert_yaxis()
    ax.set_xlabel(_msg("flow_rows_read", lang))
    ax.set_title(title or _msg("flow_title", lang, cohort=report.cohort))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize="small",
              frameon=False)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# Survival figures. Only curves and counts are drawn, never pupil-level data.
# --------------------------------------------------------------------------------------

_COLOURS = ("#1b6ca8", "#d1495b", "#2e8b57", "#edae49", "#6a4c93", "#00798c", "#8d6e63")
_LINESTYLES = ("-", "--", ":", "-.")
_REF_LABELS = {28: "plot_ref_4w", 91: "plot_ref_3m"}  # message keys
_RC = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9,
       "ytick.labelsize": 9, "legend.fontsize": 9, "axes.spines.top": False,
       "axes.spines.right": False}
DEFAULT_XLABEL = _msg("plot_days_since_start")  # Dutch; per language via the catalogue


def group_labels(lang: str = "nl") -> dict[str, str]:
    """Readable names of the groups the figures draw, in ``lang``: intervention codes from
    the code list, ``none`` (no intervention started) and ``all`` (every episode) from the
    message catalogue. A group not listed is shown as it is.

    >>> group_labels("en")["back_to_school"], group_labels("nl")["none"]
    ('Back to School', 'gebruikelijke zorg')
    """
    check_lang(lang)
    return {**_code_labels("intervention", lang), "none": _msg("no_intervention", lang),
            "all": _msg("all_episodes", lang)}


def _group_names(groups: Sequence[str], names: Mapping[str, str] | None,
                 lang: str) -> dict[str, str]:
    """Group code → shown name: ``names`` first, then :func:`group_labels`."""
    known = {**group_labels(lang), **(names or {})}
    return {g: str(known.get(str(g), g)) for g in groups}


def _nice_times(tmax: float) -> list[float]:
    """Tick times from 0 to about ``tmax``: multiples of 1, 2, 2.5 or 5 × 10^k."""
    loc = MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10], integer=True)
    ticks = [float(t) for t in loc.tick_values(0, tmax) if 0 <= t <= tmax * 1.001]
    return ticks or [0.0]


def _fmt_dec(x: float, digits: int = 2, lang: str = "nl") -> str:
    """A number with a decimal comma (``nl``) or point (``en``)."""
    return fmt_num(x, digits, lang)


def _at_risk_counts(times: Sequence[float], t: np.ndarray, n_risk: np.ndarray) -> np.ndarray:
    """Numbers at risk at ``times`` from a curve table whose rows hold every exit time.

    At risk at t = episodes with duration ≥ t = n_risk of the first row with time ≥ t.
    """
    idx = np.searchsorted(t, np.asarray(times, dtype=float), side="left")
    return np.where(idx < len(t), n_risk[np.minimum(idx, len(t) - 1)], 0).astype(int)


def _risk_label(n: int, min_at_risk: int | None) -> str:
    if min_at_risk is not None and 0 < n < min_at_risk:
        return f"<{min_at_risk}"
    return f"{n:d}"


def _figure_with_table(n_rows: int, width: float = 8.0) -> tuple[Figure, Axes, Axes]:
    """A figure with the plot on top and a numbers-at-risk axis (sharing x) under it."""
    table_h = 0.4 + 0.24 * n_rows
    fig = plt.figure(figsize=(width, 4.6 + table_h), layout="constrained")
    gs = fig.add_gridspec(2, 1, height_ratios=[4.6, table_h])
    ax = fig.add_subplot(gs[0])
    tab = fig.add_subplot(gs[1], sharex=ax)
    return fig, ax, tab


def _draw_risk_table(tab: Axes, times: Sequence[float], rows: dict[str, np.ndarray],
                     colours: dict[str, str], min_at_risk: int | None,
                     title: str | None = None, lang: str = "nl",
                     names: Mapping[str, str] | None = None) -> None:
    """Write the counts per group (rows) at the tick times (columns) on ``tab``.

    Each number is a Text whose x is the tick time (data coordinates, shared with the plot
    above), so the columns line up with the ticks; its gid is ``"at_risk:<group>"``.
    """
    tab.set_label("at_risk")
    groups = list(rows)
    for i, g in enumerate(groups):
        for t, n in zip(times, rows[g], strict=True):
            tab.text(t, i, _risk_label(int(n), min_at_risk), ha="center", va="center",
                     fontsize=9, color=colours[g], gid=f"at_risk:{g}")
    tab.set_ylim(len(groups) - 0.5, -0.5)
    tab.set_yticks(range(len(groups)), [(names or {}).get(g, g) for g in groups])
    for lab, g in zip(tab.get_yticklabels(), groups, strict=True):
        lab.set_color(colours[g])
    tab.tick_params(axis="y", length=0)
    tab.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    for side in ("top", "right", "bottom", "left"):
        tab.spines[side].set_visible(False)
    tab.set_title(title if title is not None else _msg("plot_at_risk", lang), loc="left",
                  fontsize=9, color="0.3")


def _reference_lines(ax: Axes, days: Sequence[float], top: bool, lang: str = "nl") -> None:
    """Dashed vertical lines at ``days`` with "4 weken" / "3 maanden" labels (in ``lang``).

    The labels sit at the top of the axes when the curves rise (start low) and at the
    bottom when they fall, where the curves are not.
    """
    trans = ax.get_xaxis_transform()
    for d in days:
        ax.axvline(d, color="0.45", linestyle="--", linewidth=0.9, zorder=1, gid=f"ref:{d:g}")
        if float(d).is_integer():
            key = _REF_LABELS.get(int(d))
            label = _msg(key, lang) if key else _msg("plot_ref_days", lang, days=f"{d:g}")
        else:
            label = fmt_g(d, lang)
        ax.text(d, 0.98 if top else 0.02, f" {label}", transform=trans, rotation=90,
                ha="left", va="top" if top else "bottom", fontsize=8.5, color="0.35")


def _step_xy(t: np.ndarray, y: np.ndarray, start: float) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([[0.0], t]), np.concatenate([[start], y])


def _setup_axes(ax: Axes, times: Sequence[float], xlabel: str, ylabel: str,
                tmax: float = 0.0) -> None:
    """Ticks at ``times``; x from a little left of 0 (room for the at-risk numbers)."""
    right = max(times[-1], tmax, 1.0)
    ax.set_xticks(list(times))
    ax.set_xlim(-0.035 * right, right * 1.02)
    ax.set_ylim(0, 1.005)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)


def _cut(c: pd.DataFrame, min_at_risk: int | None) -> pd.DataFrame:
    """Rows with at least ``min_at_risk`` at risk (a prefix: n_risk only falls)."""
    if min_at_risk is None:
        return c
    return c[c["n_risk"] >= min_at_risk]


def km_plot(
    km_result: KaplanMeierResult,
    *,
    returned: bool = True,
    times: Sequence[float] | None = None,
    reference_days: Sequence[float] = (28, 91),
    xlabel: str | None = None,
    ylabel: str | None = None,
    min_at_risk: int | None = None,
    title: str | None = None,
    lang: str = "nl",
    group_labels: Mapping[str, str] | None = None,
) -> Figure:
    """Kaplan–Meier curves per group with CI bands and the numbers at risk under the axis.

    - ``returned=True`` (default) draws the share returned, 1 − S(t), with band
      1 − upper … 1 − lower; ``returned=False`` draws S(t), the share not yet returned.
    - Dashed vertical lines at ``reference_days`` (28 = "4 weken", 91 = "3 maanden").
    - Per group whose median is reached: a dotted line at 50 % to the median time and down
      to the x-axis.
    - Under the x-axis a table with the numbers at risk per group (rows) at the tick times
      ``times`` (columns; default: round numbers from 0 to the last time), equal to
      ``km_result.risk_table(times)``.
    - ``min_at_risk``: privacy. Curves and bands end at the last time with at least that
      many pupils at risk; medians beyond it are not drawn; at-risk counts between 1 and
      ``min_at_risk`` − 1 are shown as "<min_at_risk".
    - ``lang``: ``nl`` (default) or ``en`` for the axis labels, reference-line labels and
      the at-risk title (from :mod:`thuiszit_eval.messages`); explicit ``xlabel`` /
      ``ylabel`` override.
    - Legend and at-risk rows name the groups in ``lang``: intervention codes by their
      code-list label, ``none`` and ``all`` from the catalogue (:func:`group_labels`);
      ``group_labels`` adds or overrides names. Gids keep the codes.

    Artists carry gids for tests and post-editing: curves ``"curve:<group>"``, bands
    ``"band:<group>"``, medians ``"median:<group>"``, reference lines ``"ref:<days>"``.

    Example
    -------
    >>> import pandas as pd
    >>> from thuiszit_eval.survival import kaplan_meier
    >>> df = pd.DataFrame({"duration": [5, 8, 8, 12, 20, 30], "event": [1, 0, 1, 2, 1, 1],
    ...                    "school": ["a", "a", "a", "b", "b", "b"]})
    >>> fig = km_plot(kaplan_meier(df, group="school"), times=[0, 10, 20, 30])
    >>> fig.savefig("/tmp/km.png", dpi=200)  # doctest: +SKIP
    """
    tab_all = km_result.table
    groups = km_result.groups
    if times is None:
        times = _nice_times(float(tab_all["time"].max()) if len(tab_all) else 1.0)
    times = [float(t) for t in times]
    colours = {g: _COLOURS[i % len(_COLOURS)] for i, g in enumerate(groups)}
    check_lang(lang)
    if xlabel is None:
        xlabel = _msg("plot_days_since_start", lang)
    if ylabel is None:
        ylabel = _msg("plot_share_returned" if returned else "plot_share_not_returned", lang)
    med = km_result.median().set_index("group")["quantile"]
    names = _group_names(groups, group_labels, lang)
    with plt.rc_context(_RC):
        fig, ax, tab = _figure_with_table(len(groups))
        for g in groups:
            c = _cut(km_result._curve(g), min_at_risk)
            t = c["time"].to_numpy(dtype=float)
            s, lo, hi = (c[k].to_numpy(dtype=float) for k in ("surv", "lower", "upper"))
            if returned:
                y, band_lo, band_hi, start = 1 - s, 1 - hi, 1 - lo, 0.0
            else:
                y, band_lo, band_hi, start = s, lo, hi, 1.0
            x, yy = _step_xy(t, y, start)
            _, bl = _step_xy(t, band_lo, start)
            _, bh = _step_xy(t, band_hi, start)
            label = None if groups == ["all"] else names[g]
            ax.step(x, yy, where="post", color=colours[g], linewidth=1.8, label=label,
                    gid=f"curve:{g}", zorder=3)
            ax.fill_between(x, bl, bh, step="post", color=colours[g], alpha=0.18,
                            linewidth=0, gid=f"band:{g}")
            m = float(med.get(g, np.nan))
            if np.isfinite(m) and len(t) and m <= t[-1]:
                ax.plot([0, m, m], [0.5, 0.5, 0], color=colours[g], linestyle=":",
                        linewidth=1.1, gid=f"median:{g}", zorder=2)
        _reference_lines(ax, reference_days, top=returned, lang=lang)
        _setup_axes(ax, times, xlabel, ylabel, float(tab_all["time"].max()))
        if label is not None:
            ax.legend(loc="lower right" if returned else "upper right", frameon=False)
        if title:
            ax.set_title(title, loc="left")
        rt = km_result.risk_table(times)
        rows = {g: rt.loc[rt.group == g, "n_risk"].to_numpy() for g in groups}
        _draw_risk_table(tab, times, rows, colours, min_at_risk, lang=lang, names=names)
    return fig


def _state_labels(states: Sequence[int], labels: Mapping[int, str] | Sequence[str] | None,
                  lang: str = "nl") -> dict[int, str]:
    def default(s: int) -> str:
        return _msg("plot_returned", lang) if s == 1 else _msg("plot_other_exit", lang, state=s)

    if labels is None:
        return {s: default(s) for s in states}
    if isinstance(labels, Mapping):
        return {s: labels[s] if s in labels else default(s) for s in states}
    if len(labels) != len(states):
        raise ValueError(f"labels has {len(labels)} entries for {len(states)} states")
    return dict(zip(states, labels, strict=True))


def cif_plot(
    aj_result: AalenJohansenResult,
    states: Sequence[int] | None = None,
    labels: Mapping[int, str] | Sequence[str] | None = None,
    *,
    times: Sequence[float] | None = None,
    reference_days: Sequence[float] = (28, 91),
    xlabel: str | None = None,
    ylabel: str | None = None,
    min_at_risk: int | None = None,
    title: str | None = None,
    lang: str = "nl",
    group_labels: Mapping[str, str] | None = None,
) -> Figure:
    """Aalen–Johansen cumulative incidence per cause, overlaid, with CI bands and at-risk table.

    The curves are **overlaid, not stacked**: each is read directly against the y-axis and
    keeps its own confidence band (stacked areas would hide the bands). One colour per
    state (``states``, default every event code > 0), one line style per group. ``labels``
    maps states to legend text (default 1 = "Teruggekeerd naar school", others
    "Andere uitstroom (k)"). The table under the axis gives per group the number still
    event-free and uncensored at the tick times. ``min_at_risk`` cuts the curves and
    masks small counts as in :func:`km_plot`. ``lang`` (``nl`` default, or ``en``) sets the
    fixed text and the group names (as in :func:`km_plot`, ``group_labels`` adds or
    overrides); explicit ``xlabel`` / ``ylabel`` / ``labels`` override. Curves have gid
    ``"curve:<state>:<group>"``.

    Example
    -------
    >>> import pandas as pd
    >>> from thuiszit_eval.survival import aalen_johansen
    >>> df = pd.DataFrame({"duration": [2, 3, 3, 5, 8, 9], "event": [1, 2, 1, 0, 1, 2]})
    >>> fig = cif_plot(aalen_johansen(df), labels={2: "Vrijstelling"}, times=[0, 5, 10])
    """
    table = aj_result.table
    if states is None:
        states = [s for s in aj_result.causes if s > 0]
    states = list(states)
    check_lang(lang)
    xlabel = _msg("plot_days_since_start", lang) if xlabel is None else xlabel
    ylabel = _msg("plot_cum_incidence", lang) if ylabel is None else ylabel
    names = _state_labels(states, labels, lang)
    groups = list(aj_result.n.index)
    gnames = _group_names(groups, group_labels, lang)
    if times is None:
        times = _nice_times(float(table["time"].max()) if len(table) else 1.0)
    times = [float(t) for t in times]
    state_col = {s: _COLOURS[i % len(_COLOURS)] for i, s in enumerate(states)}
    group_ls = {g: _LINESTYLES[i % len(_LINESTYLES)] for i, g in enumerate(groups)}
    with plt.rc_context(_RC):
        fig, ax, tab = _figure_with_table(len(groups))
        for s in states:
            ci = aj_result.cumulative_incidence(s)
            for g in groups:
                c = _cut(ci[ci.group == g], min_at_risk)
                t = c["time"].to_numpy(dtype=float)
                x, y = _step_xy(t, c["pstate"].to_numpy(dtype=float), 0.0)
                _, lo = _step_xy(t, c["lower"].to_numpy(dtype=float), 0.0)
                _, hi = _step_xy(t, c["upper"].to_numpy(dtype=float), 0.0)
                label = names[s] if len(groups) == 1 else f"{names[s]} — {gnames[g]}"
                ax.step(x, y, where="post", color=state_col[s], linestyle=group_ls[g],
                        linewidth=1.8, label=label, gid=f"curve:{s}:{g}", zorder=3)
                ax.fill_between(x, lo, hi, step="post", color=state_col[s], alpha=0.15,
                                linewidth=0, gid=f"band:{s}:{g}")
        _reference_lines(ax, reference_days, top=True, lang=lang)
        _setup_axes(ax, times, xlabel, ylabel, float(table["time"].max()))
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=2, frameon=False)
        if title:
            ax.set_title(title, loc="left")
        rows = {}
        for g in groups:
            c = table[(table.group == g) & (table.state == 0)]
            rows[g] = _at_risk_counts(times, c["time"].to_numpy(dtype=float),
                                      c["n_risk"].to_numpy(dtype=float))
        _draw_risk_table(tab, times, rows, {g: "0.15" for g in groups}, min_at_risk, lang=lang,
                         names=gnames)
    return fig


def _step_at(t: np.ndarray, y: np.ndarray, grid: np.ndarray, start: float) -> np.ndarray:
    """Right-continuous step function (t, y) evaluated on ``grid``."""
    idx = np.searchsorted(t, grid, side="right") - 1
    return np.where(idx >= 0, y[np.maximum(idx, 0)], start)


def km_vs_aj_plot(
    km_result: KaplanMeierResult,
    aj_result: AalenJohansenResult,
    state: int = 1,
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    reference_days: Sequence[float] = (28, 91),
    lang: str = "nl",
    group_labels: Mapping[str, str] | None = None,
) -> Figure:
    """1 − Kaplan–Meier (competing events censored) against the Aalen–Johansen incidence.

    One panel per group. The grey area between the curves is the overstatement of return
    when competing events (exemption, moving abroad, …) are treated as censoring: 1 − KM
    assumes those pupils would still return later, the cumulative incidence does not. The
    gap at the last time is written in percentage points. ``km_result`` must be fitted
    with ``event_code == state``. ``lang``: ``nl`` (default) or ``en``; panel titles name
    the groups as in :func:`km_plot` (``group_labels`` adds or overrides). Curves: gid
    ``"km:<group>"`` and ``"aj:<group>"``.

    Example
    -------
    >>> import pandas as pd
    >>> from thuiszit_eval.survival import aalen_johansen, kaplan_meier
    >>> df = pd.DataFrame({"duration": [2, 3, 3, 5, 8, 9], "event": [1, 2, 1, 0, 1, 2]})
    >>> fig = km_vs_aj_plot(kaplan_meier(df), aalen_johansen(df))
    """
    if km_result.event_code != state:
        raise ValueError(f"km_result has event_code {km_result.event_code}, expected {state}")
    check_lang(lang)
    xlabel = _msg("plot_days_since_start", lang) if xlabel is None else xlabel
    ylabel = _msg("plot_share_returned", lang) if ylabel is None else ylabel
    ci = aj_result.cumulative_incidence(state)
    groups = [g for g in km_result.groups if g in set(ci["group"])]
    names = _group_names(groups, group_labels, lang)
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, len(groups), figsize=(max(7.5, 6.5 * len(groups)), 4.8),
                                 layout="constrained", squeeze=False, sharey=True)
        for ax, g in zip(axes[0], groups, strict=True):
            k = km_result._curve(g)
            a = ci[ci.group == g]
            kt, ky = k["time"].to_numpy(dtype=float), 1 - k["surv"].to_numpy(dtype=float)
            at, ay = a["time"].to_numpy(dtype=float), a["pstate"].to_numpy(dtype=float)
            grid = np.union1d(np.concatenate([[0.0], kt]), at)
            g_km, g_aj = _step_at(kt, ky, grid, 0.0), _step_at(at, ay, grid, 0.0)
            ax.fill_between(grid, g_aj, g_km, step="post", color="0.6", alpha=0.35,
                            linewidth=0, label=_msg("plot_overstatement", lang), gid=f"gap:{g}")
            ax.step(*_step_xy(kt, ky, 0.0), where="post", color=_COLOURS[1], linewidth=1.8,
                    label=_msg("plot_km_censored", lang), gid=f"km:{g}")
            ax.step(*_step_xy(at, ay, 0.0), where="post", color=_COLOURS[0], linewidth=1.8,
                    label=_msg("plot_aj", lang), gid=f"aj:{g}")
            _reference_lines(ax, reference_days, top=True, lang=lang)
            times = _nice_times(float(grid[-1]))
            _setup_axes(ax, times, xlabel, ylabel if ax is axes[0][0] else "",
                        float(grid[-1]))
            gap = float(g_km[-1] - g_aj[-1])
            ax.annotate(
                _msg("plot_km_vs_aj_note", lang, day=fmt_g(float(grid[-1]), lang),
                     gap=_fmt_dec(100 * gap, 1, lang)), xy=(grid[-1], (g_km[-1] + g_aj[-1]) / 2),
                xytext=(0.62, 0.62), textcoords="axes fraction", ha="center", va="center",
                fontsize=9, arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8})
            if len(groups) > 1 or g != "all":
                ax.set_title(names[g], loc="left")
        fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside upper left",
                   ncol=3 if len(groups) > 1 else 1, frameon=False)
    return fig


def forest_plot(
    table: pd.DataFrame,
    *,
    label_col: str = "term",
    ref_line: float = 1.0,
    log_scale: bool = True,
    xlabel: str | None = None,
    title: str | None = None,
    lang: str = "nl",
) -> Figure:
    """Hazard ratios with CI whiskers, one row per term, "HR (lower–upper)" at the right.

    ``table`` is a ``cox_ph(...).table`` or ``fine_gray(...).table`` (columns ``hr``,
    ``hr_lower``, ``hr_upper`` and ``label_col``). Terms run top to bottom in table order;
    a dashed line marks ``ref_line`` (no effect). The x-axis is logarithmic by default, so
    HR 0.5 and 2 lie equally far from 1. Values use a decimal comma for ``lang="nl"``
    (default) and a point for ``"en"``; the header and axis title follow ``lang``. The
    markers are one Line2D with gid ``"hr"`` (one point per term).

    Example
    -------
    >>> import pandas as pd
    >>> tab = pd.DataFrame({"term": ["leeftijd", "jongen"], "hr": [1.1, 0.6],
    ...                     "hr_lower": [0.9, 0.4], "hr_upper": [1.3, 0.9]})
    >>> fig = forest_plot(tab)
    """
    missing = [c for c in (label_col, "hr", "hr_lower", "hr_upper") if c not in table.columns]
    if missing:
        raise KeyError(f"table lacks columns {missing}")
    check_lang(lang)
    xlabel = _msg("plot_hr_axis", lang) if xlabel is None else xlabel
    labels = table[label_col].astype(str).tolist()
    hr, lo, hi = (table[c].to_numpy(dtype=float) for c in ("hr", "hr_lower", "hr_upper"))
    y = np.arange(len(labels))
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(8, 1.2 + 0.42 * len(labels)), layout="constrained")
        ax.axvline(ref_line, color="0.5", linestyle="--", linewidth=0.9, gid="ref")
        ax.hlines(y, lo, hi, color=_COLOURS[0], linewidth=1.6, gid="ci")
        ax.plot(hr, y, linestyle="none", marker="s", markersize=6, color=_COLOURS[0],
                gid="hr", zorder=3)
        if log_scale:
            ax.set_xscale("log")
            vals = np.concatenate([lo, hi, [ref_line]])
            vals = vals[np.isfinite(vals) & (vals > 0)]
            lo_lim, hi_lim = vals.min() / 1.15, vals.max() * 1.15
            cands = [0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10, 20]
            ticks = [c for c in cands if lo_lim <= c <= hi_lim]
            if len(ticks) > 7:
                ticks = [c for c in ticks if c in (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20)]
            ax.set_xlim(lo_lim, hi_lim)
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_g(v, lang)))
        ax.set_yticks(y, labels)
        ax.set_ylim(len(labels) - 0.5, -0.5 - 0.5)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        trans = ax.get_yaxis_transform()
        ax.text(1.03, -0.9, _msg("plot_hr_header", lang), transform=trans, ha="left", va="center",
                fontsize=9, fontweight="bold")
        for yi, h, lw, up in zip(y, hr, lo, hi, strict=True):
            ax.text(1.03, yi,
                    f"{_fmt_dec(h, 2, lang)} ({_fmt_dec(lw, 2, lang)}–{_fmt_dec(up, 2, lang)})",
                    transform=trans, ha="left", va="center", fontsize=9, gid="hr_text")
        ax.set_xlabel(xlabel)
        if title:
            ax.set_title(title, loc="left")
    return fig
