"""Time to return to school per intervention: the standard set of tables and figures.

:func:`analyse_cohort` runs the descriptive survival analysis of a cohort and writes tidy
CSV tables, PNG figures and a README.md (what every column means) to one folder:

- Kaplan–Meier curves, medians and quartiles, share returned at 28/91/182/365 days, RMST
  at 182 and 365 days (with the difference against usual care) and the log-rank test;
- Aalen–Johansen cumulative incidence of return and of each competing ending;
- a cause-specific Cox model and a Fine–Gray model of the group plus baseline covariates.

All comparisons are **unadjusted for time-varying exposure** (the group is the first
intervention of the episode, fixed at the origin): they suffer from immortal time and
confounding by indication and are descriptive only.

Counts below ``min_cell`` (numbers at risk, events, censorings, group sizes) are replaced
by ``"<min_cell"`` via :func:`thuiszit_eval.describe.suppress_small`; the Kaplan–Meier
curve, the shares at fixed times and the cumulative incidences are published only where no
count below ``min_cell`` can be derived from them
(:func:`thuiszit_eval.disclosure.publishable_analysis`).

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.demo import cohort_or_demo
>>> tables = analyse_cohort(Cohort.load(cohort_or_demo("")), "out")  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .cohort import Cohort
from .describe import suppress_small
from .disclosure import publishable_analysis
from .estimability import NotEstimable, quiet, require_events
from .outcomes import OutcomeDefinition, SurvivalTable, survival_table
from .plots import cif_plot, forest_plot, km_plot, km_vs_aj_plot
from .survival import (
    aalen_johansen,
    cox_ph,
    fine_gray,
    kaplan_meier,
    logrank_test,
)

TIMES = (28, 91, 182, 365)
RMST_TAUS = (182, 365)
USUAL_CARE = ("usual_care", "none")
COUNT_COLUMNS = ("n", "n_events", "n_risk", "n_event", "n_censor", "observed")
CLUSTER = "swv_id"

TABLES = ("km_by_group", "medians", "returned_at", "rmst", "logrank",
          "cumulative_incidence", "cox", "fine_gray")
FIGURES = ("km_plot", "cif_plot", "km_vs_aj_plot", "forest_plot")

_README_COLUMNS = {
    "km_by_group": (
        "Kaplan–Meier curve per group (competing endings censored), at coarser times so "
        "that no count below min_cell can be derived from it (one row per interval ending "
        "at time; the curve stops where fewer than min_cell pupils remain at risk).",
        "group, time (days, end of the interval), n_risk (at risk at the start of the "
        "interval), n_event (returns in the interval), n_censor (censored or competing "
        "ending in the interval), surv (share not yet returned at time), "
        "std_err_log, std_err, lower, upper (95% CI of surv, log transform)",
    ),
    "medians": (
        "Time (days) by which 25%, 50% (median) and 75% of the group has returned, from the "
        "Kaplan–Meier curve, with 95% CI (Brookmeyer–Crowley). Empty where not reached.",
        "group, n (episodes), n_events (returns), prob (0.25/0.5/0.75), quantile, lower, upper",
    ),
    "returned_at": (
        "Share returned (1 − Kaplan–Meier) at 28, 91, 182 and 365 days per group, at the "
        "times where the coarsened curve (km_by_group) has an interval ending.",
        "group, time (days), n_risk (still at risk at time), n_event / n_censor (since the "
        "previous time), surv, std_err, lower, upper (of surv), returned (= 1 − surv), "
        "returned_lower, returned_upper (95% CI)",
    ),
    "rmst": (
        "Restricted mean time not yet returned (days) up to tau = 182 and 365, and the "
        "difference with the reference group (usual care, else the largest group).",
        "group, tau, rmst, std_err, lower, upper, reference, difference (group − reference), "
        "difference_se, difference_lower, difference_upper, difference_p",
    ),
    "logrank": (
        "Log-rank test of equal hazards of return across all groups.",
        "group, n, observed (returns), expected, oe2_e, oe2_v, chisq, df, p (the test, "
        "repeated on each row)",
    ),
    "cumulative_incidence": (
        "Aalen–Johansen cumulative incidence of each ending (return and every competing "
        "ending) at 28, 91, 182 and 365 days per group.",
        "group, time (days), state (1 = return, 2.. competing), cause (label), pstate "
        "(cumulative incidence), std_err, lower, upper (95% CI)",
    ),
    "cox": (
        "Cause-specific Cox model for return (competing endings censored), Efron ties, "
        "cluster-robust SE by samenwerkingsverband (swv_id).",
        "term, coef (log HR), hr, se (used for CI and p), se_model, se_robust, z, p, lower, "
        "upper (of coef), hr_lower, hr_upper",
    ),
    "fine_gray": (
        "Fine–Gray model for the cumulative incidence of return (subdistribution hazard), "
        "same terms as the Cox model, SE clustered by episode.",
        "term, coef (log subdistribution HR), hr, se, se_model, se_robust, se_cluster, z, p, "
        "lower, upper, hr_lower, hr_upper",
    ),
}


def reference_group(data: pd.DataFrame, group: str) -> str:
    """Usual care when present, else the largest group (ties: first in sort order)."""
    counts = data[group].astype(str).value_counts()
    for g in USUAL_CARE:
        if g in counts.index:
            return g
    counts = counts.sort_index(kind="stable")
    return str(counts.idxmax())


def _design(data: pd.DataFrame, group: str, reference: str) -> tuple[pd.DataFrame, list[str]]:
    """Numeric covariates: group dummies (vs reference), age, episode type, need_* flags."""
    x = pd.DataFrame(index=data.index)
    g = data[group].astype(str)
    for lev in sorted(set(g) - {reference}):
        x[f"{group}={lev}"] = (g == lev).astype(float)
    if "age" in data:
        x["age"] = data["age"].astype(float)
    if "episode_type" in data:
        et = data["episode_type"].astype(str)
        ref = et.value_counts().sort_index(kind="stable").idxmax()
        for lev in sorted(set(et) - {ref}):
            x[f"episode_type={lev}"] = (et == lev).astype(float)
    for c in sorted(c for c in data.columns if c.startswith("need_")):
        v = data[c].astype(float)
        if v.nunique() > 1 and min(v.sum(), len(v) - v.sum()) >= 1:
            x[c] = v
    x = x.loc[:, x.notna().all() & (x.nunique() > 1)]
    return x, list(x.columns)


def _suppress(df: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    cols = [c for c in COUNT_COLUMNS if c in df.columns]
    return suppress_small(df, cols, min_cell) if cols else df


def _obs_start(cohort: Cohort) -> str:
    return f"{pd.Timestamp(cohort.metadata['observation_start']):%Y-%m-%d}"


#: columns of cox.csv / fine_gray.csv, also when the model is not estimable (no rows)
_COX_COLUMNS = ["term", "coef", "hr", "se", "se_model", "se_robust", "z", "p", "lower",
                "upper", "hr_lower", "hr_upper"]


def _readme(definition: OutcomeDefinition, group: str, reference: str, min_cell: int,
            n_groups: int, not_estimable: dict[str, str] | None = None,
            n_before: int | None = None, obs_start: str | None = None) -> str:
    entry = [] if obs_start is None else [
        "",
        f"Delayed entry: the registration starts on {obs_start}. Episodes already running "
        "then are counted from that date on (left truncation), so long episodes are not "
        "over-represented"
        + (f"; {n_before} episodes that had ended before it are left out." if n_before
           else "."),
    ]
    lines = [
        "# Time to return to school",
        "",
        f"Outcome: {definition.describe()}",
        *entry,
        "",
        f"Groups: `{group}` ({n_groups} groups; the first intervention of the episode, fixed "
        f"at the origin). Reference group: `{reference}`.",
        "",
        "**These comparisons are unadjusted**: the group is known only once the intervention "
        "starts (immortal time) and pupils are not assigned at random (confounding). They "
        "describe, they do not estimate effects.",
        "",
        f"Small cells: counts below {min_cell} are shown as `<{min_cell}`; the curve is "
        f"shown at coarser times, so that no count below {min_cell} can be computed from "
        "it, and stops where fewer pupils remain at risk; where a group's returns would "
        "give back a small number without a return, they are left empty.",
        "",
        "## Tables (CSV)",
        "",
    ]
    not_estimable = not_estimable or {}
    for name in TABLES:
        what, cols = _README_COLUMNS[name]
        lines += [f"### {name}.csv", "", what, "", f"Columns: {cols}.", ""]
        if name in not_estimable:
            lines += [f"**Not estimated on this cohort** (the file has no rows): "
                      f"{not_estimable[name]}", ""]
    lines += ["## Figures (PNG)", "",
              "- `km_plot.png`: share returned (1 − Kaplan–Meier) per group, numbers at risk.",
              "- `cif_plot.png`: cumulative incidence of return and competing endings (all).",
              "- `km_vs_aj_plot.png`: 1 − KM against the Aalen–Johansen incidence (all)."]
    if "cox" not in not_estimable:
        lines.append("- `forest_plot.png`: hazard ratios of the cause-specific Cox model.")
    lines.append("")
    return "\n".join(lines)


def needed_tables(definition: OutcomeDefinition | None = None,
                  group: str | None = "intervention") -> tuple[str, ...]:
    """The cohort tables :func:`analyse_cohort` reads for this outcome and grouping.

    Pupils and episodes always; interventions for the ``intervention`` grouping or an origin
    at a referral or intervention start; attendance for an attendance-measured event
    (partial, full or sustained return); the school calendar on the school-day time scale.
    Pass the result to :meth:`Cohort.load` (``tables=``) so that the rest, millions of
    attendance rows at national scale, is neither read nor validated.

    >>> needed_tables()
    ('pupils', 'episodes', 'interventions')
    >>> needed_tables(OutcomeDefinition(event="full_return", time_scale="school_days"), None)
    ('pupils', 'episodes', 'attendance', 'school_calendar')
    """
    d = definition or OutcomeDefinition()
    out = ["pupils", "episodes"]
    if group == "intervention" or d.origin in ("referral", "intervention_start"):
        out.append("interventions")
    if d.event != "any_return":
        out.append("attendance")
    if d.time_scale == "school_days":
        out.append("school_calendar")
    return tuple(out)


@contextmanager
def _step(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    """Add the seconds spent in the block to ``timings[name]`` (when timings are kept)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0


def _write(tables: dict[str, pd.DataFrame], out: Path, min_cell: int) -> dict[str, pd.DataFrame]:
    """Hide small counts and write each table as ``out/<name>.csv``; return what was written.

    The one place where survival tables reach the disk: whatever must not leave the
    analysis environment is removed here."""
    tables = {k: _suppress(v, min_cell) for k, v in tables.items()}
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False, float_format="%.6g")
    return tables


def analyse_cohort(
    cohort: Cohort,
    out_dir: str | Path,
    definition: OutcomeDefinition | None = None,
    group: str = "intervention",
    min_cell: int = 10,
    lang: str | None = None,
    survival: SurvivalTable | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """Write the time-to-return tables, figures and README.md to ``out_dir``.

    Returns the written (suppressed) tables by name (see ``TABLES``). ``lang`` (``nl`` or
    ``en``) sets the language of the figures' text where the figure functions take one
    (``None``: their default). ``survival``: the :func:`~thuiszit_eval.outcomes.survival_table`
    of ``cohort`` for ``definition`` and ``group`` when the caller has already built it (it
    is then not built again). ``timings``: a dict that receives the seconds spent per step
    (``survival_table``, ``km_aj_logrank``, ``descriptive_tables``, ``cox``, ``fine_gray``,
    ``write_tables``, ``figures``), for benchmarks.

    The Kaplan–Meier and Aalen–Johansen fits per group and the Cox model are each fitted
    once and shared by the tables and the figures; the figures of all episodes together
    need the two pooled fits only.
    """
    definition = definition or OutcomeDefinition()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _step(timings, "survival_table"):
        st = survival if survival is not None else survival_table(cohort, definition,
                                                                  group=group)
        data = st.data.sort_values("episode_id", kind="stable").reset_index(drop=True)
        data[group] = data[group].astype(str)
        reference = reference_group(data, group)
    labels = definition.labels

    # a prevalent cohort (observation_start in the metadata): episodes already running on
    # that date enter the risk set then (left truncation) in every estimator
    entry = "entry" if "entry" in data else None
    with _step(timings, "km_aj_logrank"):
        km = kaplan_meier(data, "duration", "event", group=group, entry=entry)
        aj = aalen_johansen(data, "duration", "event", group=group, entry=entry)
        lr = logrank_test(data, "duration", "event", group=group, entry=entry)
        aj_all = aalen_johansen(data, "duration", "event", entry=entry)
        km_all = kaplan_meier(data, "duration", "event", entry=entry)

    with _step(timings, "descriptive_tables"):
        curve = km.table[km.table["n_risk"] >= min_cell].reset_index(drop=True)
        counts = pd.DataFrame({"group": km.groups, "n": km.n.to_numpy(),
                               "n_events": km.n_events.to_numpy()})
        medians = counts.merge(km.quantiles(), on="group", how="right")
        rm = []
        for tau in RMST_TAUS:
            r = km.rmst(tau)
            diffs = {g: km.rmst_difference(tau, (g, reference)).iloc[0] for g in km.groups}
            r["reference"] = reference
            for src, dst in (("difference", "difference"), ("std_err", "difference_se"),
                             ("lower", "difference_lower"), ("upper", "difference_upper"),
                             ("p", "difference_p")):
                r[dst] = [np.nan if g == reference else diffs[g][src] for g in r["group"]]
            rm.append(r)
        logrank = lr.table.assign(chisq=lr.chisq, df=lr.df, p=lr.p)
        ci = []
        for s in (c for c in aj.causes if c > 0):
            a = aj.at_times(TIMES, s)
            a.insert(3, "cause", labels.get(s, str(s)))
            ci.append(a)
        x, terms = _design(data, group, reference)
        model = pd.concat([data[["duration", "event", CLUSTER, *([entry] if entry else [])]],
                           x], axis=1)

    not_estimable: dict[str, str] = {}
    cox_table = fg_table = pd.DataFrame(columns=_COX_COLUMNS)
    try:
        # below the minimum the models are not fitted and README.md says why
        require_events(int((data["event"] == 1).sum()), len(terms), "cox")
        with quiet():
            with _step(timings, "cox"):
                cox_table = cox_ph(model, "duration", "event", terms, cluster=CLUSTER,
                                   entry=entry).table
            with _step(timings, "fine_gray"):
                fg_table = fine_gray(model, "duration", "event", terms, entry=entry).table
    except NotEstimable as exc:
        fg_exc = NotEstimable(exc.key, **{**exc.params, "what": "fine_gray"})
        not_estimable = {"cox": exc.text("en"), "fine_gray": fg_exc.text("en")}

    with _step(timings, "write_tables"):
        tables = {
            "km_by_group": curve,
            "medians": medians,
            "returned_at": km.at_times(TIMES),
            "rmst": pd.concat(rm, ignore_index=True),
            "logrank": logrank,
            "cumulative_incidence": pd.concat(ci, ignore_index=True),
            "cox": cox_table,
            "fine_gray": fg_table,
        }
        # coarsen what a reader could recompute counts from, then suppress the small counts
        tables = _write(publishable_analysis(tables, km.table, data, group, min_cell, TIMES),
                        out, min_cell)

    with _step(timings, "figures"), quiet():
        figs = {
            "km_plot": km_plot(km, min_at_risk=min_cell, **lang_kw(km_plot, lang)),
            "cif_plot": cif_plot(aj_all, labels=labels, min_at_risk=min_cell,
                                 **lang_kw(cif_plot, lang)),
            "km_vs_aj_plot": km_vs_aj_plot(km_all, aj_all, **lang_kw(km_vs_aj_plot, lang)),
        }
        if not not_estimable:
            # the hazard ratios of the Cox model fitted above: the figure does not refit
            figs["forest_plot"] = forest_plot(cox_table, **lang_kw(forest_plot, lang))
        for name, fig in figs.items():
            fig.savefig(out / f"{name}.png", dpi=120, metadata={"Software": None})
            plt.close(fig)
    (out / "README.md").write_text(
        _readme(definition, group, reference, min_cell, len(km.groups), not_estimable,
                st.n_excluded.get("ended before observation start") if entry else None,
                _obs_start(cohort) if entry else None),
        encoding="utf-8")
    return tables


# --------------------------------------------------------------------------- narrative numbers
def lang_kw(fn: Callable, lang: str | None) -> dict[str, str]:
    """``{"lang": lang}`` when ``fn`` takes a ``lang`` keyword and ``lang`` is given, else {}.

    >>> lang_kw(lambda x, lang="nl": x, "en"), lang_kw(lambda x: x, "en")
    ({'lang': 'en'}, {})
    """
    if lang is None:
        return {}
    return {"lang": lang} if "lang" in inspect.signature(fn).parameters else {}


def median_summary(medians: pd.DataFrame, wide_days: float = 90) -> dict[str, object]:
    """The numbers a sentence about the median days to return needs.

    From the ``medians`` table of :func:`analyse_cohort`: ``fastest`` / ``fastest_days``
    (the group with the shortest median), ``slowest`` / ``slowest_days`` (the longest
    median reached), ``not_reached`` (groups in which fewer than half returned during
    follow-up), ``wide`` (groups whose 95% CI is wider than ``wide_days`` days or has no
    upper limit) and ``n_groups``. Groups are codes, in table order.

    >>> m = pd.DataFrame({"group": ["a", "b", "c"], "prob": 0.5, "quantile": [40, 120, None],
    ...                   "lower": [30, 100, 200], "upper": [50, 250, None]})
    >>> s = median_summary(m)
    >>> s["fastest"], s["slowest"], s["not_reached"], s["wide"]
    ('a', 'b', ['c'], ['b', 'c'])
    """
    m = medians[medians["prob"] == 0.5]
    q = pd.to_numeric(m["quantile"], errors="coerce")
    lo = pd.to_numeric(m["lower"], errors="coerce")
    hi = pd.to_numeric(m["upper"], errors="coerce")
    reached = m[q.notna()]
    qr = q[q.notna()]
    out: dict[str, object] = {"n_groups": len(m),
                              "not_reached": m.loc[q.isna(), "group"].astype(str).tolist(),
                              "wide": m.loc[q.notna() & (hi.isna() | (hi - lo > wide_days))
                                            | q.isna(), "group"].astype(str).tolist()}
    if len(reached):
        out["fastest"] = str(reached.loc[qr.idxmin(), "group"])
        out["fastest_days"] = float(qr.min())
        out["slowest"] = str(reached.loc[qr.idxmax(), "group"])
        out["slowest_days"] = float(qr.max())
    return out


def returned_summary(returned_at: pd.DataFrame, reference: str | None = None,
                     min_cell: int = 10) -> dict[int, dict[str, object]]:
    """Per time, the numbers a sentence about the share returned needs.

    From the ``returned_at`` table of :func:`analyse_cohort`: for each time, ``low`` /
    ``high`` (the smallest and largest share returned among the groups other than
    ``reference``), ``ref`` (the reference group's share, None without one), ``spread``
    (largest minus smallest share over all groups) and ``few_at_risk`` (groups with fewer
    than ``min_cell`` pupils still at risk at that time, whose share is indicative only).

    >>> r = pd.DataFrame({"group": ["a", "b", "none"], "time": 28, "n_risk": [50, "<10", 90],
    ...                   "returned": [0.1, 0.3, 0.4]})
    >>> s = returned_summary(r, "none")[28]
    >>> s["low"], s["high"], s["ref"], round(s["spread"], 2), s["few_at_risk"]
    (0.1, 0.3, 0.4, 0.3, ['b'])
    """
    out = {}
    for t, g in returned_at.groupby("time", sort=True):
        share = pd.to_numeric(g["returned"], errors="coerce")
        other = share[g["group"].astype(str) != reference].dropna()
        ref = share[g["group"].astype(str) == reference].dropna()
        n_risk = pd.to_numeric(g["n_risk"], errors="coerce")
        out[int(t)] = {
            "low": float(other.min()) if len(other) else None,
            "high": float(other.max()) if len(other) else None,
            "ref": float(ref.iloc[0]) if len(ref) else None,
            "spread": float(share.max() - share.min()) if share.notna().any() else None,
            "few_at_risk": g.loc[n_risk.isna() | (n_risk < min_cell), "group"]
            .astype(str).tolist(),
        }
    return out
