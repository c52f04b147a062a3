"""Describing a cohort: the episode table, Table 1 with standardised mean differences, endings.

Every function returns a tidy :class:`pandas.DataFrame`; the ``*_display`` / :func:`wide`
helpers turn a tidy table into the table a report shows, **after** small-cell suppression
(:func:`suppress_small`), so that a published table never shows a count below ``min_cell``.

Columns of :func:`episode_table` (one row per episode):
``episode_id, pupil_id, episode_type, absence_start, reported_date, end_date, end_reason,
end_status, ongoing, age, age_band, sex, school_type, living_situation, swv_id,
municipality_code, need_<code>..., <extra covariates>, main_intervention,
intervention_start, days_to_report, days_to_intervention``.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> episodes = episode_table(Cohort.load(schema_dir() / "example"))
>>> t1 = table_one(episodes, variables=["sex", "age"])
>>> sorted(t1.columns)
['group', 'kind', 'level', 'n', 'sd', 'smd', 'value', 'variable']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .cohort import Cohort
from .messages import MESSAGES, by_lang
from .schema import codes, labels

__all__ = [
    "AGE_BANDS",
    "DEFAULT_VARIABLES",
    "NO_INTERVENTION",
    "ONGOING",
    "age_in_years",
    "age_band",
    "VARIABLE_LABELS",
    "bar_shares",
    "code_labels",
    "counts_table",
    "crosstab_display",
    "endings_table",
    "episode_table",
    "headers",
    "label",
    "largest_smds",
    "main_intervention",
    "smd_continuous",
    "smd_proportion",
    "suppress_small",
    "table_one",
    "variable_label",
    "wide",
]

#: Age bands (inclusive, in completed years); anything else is ``other``.
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("5-8", 5, 8),
    ("9-12", 9, 12),
    ("13-14", 13, 14),
    ("15-16", 15, 16),
    ("17-18", 17, 18),
)
#: Main intervention of an episode without any started intervention.
NO_INTERVENTION = "usual_care"
#: ``end_status`` of an episode without end date at follow-up end.
ONGOING = "ongoing"

#: Table 1 variables (``need_*`` columns are added from the cohort).
DEFAULT_VARIABLES: tuple[str, ...] = (
    "sex",
    "age",
    "age_band",
    "school_type",
    "living_situation",
    "episode_type",
    "swv_id",
)


# ---------------------------------------------------------------------------------------
# The episode table
# ---------------------------------------------------------------------------------------


def age_in_years(birth_month: pd.Series, date: pd.Series) -> pd.Series:
    """Age in years at ``date`` from a birth *month* (the day is unknown on purpose).

    Counted in whole months, ``(year diff) * 12 + (month diff)``, divided by 12: a pupil
    born in March 2012 is 12.0 in March 2024 (whatever the day) and 12.917 in February 2025.
    So ``floor(age)`` is the age in completed years, with the birthday counted as reached
    in the birth month itself.

    Example:
        >>> b = pd.Series(pd.to_datetime(["2012-03-01", "2012-03-01"]))
        >>> d = pd.Series(pd.to_datetime(["2024-03-31", "2025-02-01"]))
        >>> age_in_years(b, d).round(3).tolist()
        [12.0, 12.917]
    """
    months = (date.dt.year - birth_month.dt.year) * 12 + (date.dt.month - birth_month.dt.month)
    return months / 12.0


def age_band(age: pd.Series) -> pd.Series:
    """Age band (``5-8``, ``9-12``, ``13-14``, ``15-16``, ``17-18``, else ``other``).

    Bands are on completed years (``floor(age)``); a missing age gives ``other``. The result
    is a categorical in band order, so tables and figures list the bands young to old.

    Example:
        >>> age_band(pd.Series([4.9, 5.0, 8.99, 12.5, 14.0, 18.9, 19.0])).tolist()
        ['other', '5-8', '5-8', '9-12', '13-14', '17-18', 'other']
    """
    years = np.floor(age.to_numpy(dtype="float64", na_value=np.nan))
    out = np.full(len(age), "other", dtype=object)
    for name, lo, hi in AGE_BANDS:
        out[(years >= lo) & (years <= hi)] = name
    order = [name for name, _, _ in AGE_BANDS] + ["other"]
    return pd.Series(pd.Categorical(out, categories=order), index=age.index)


def main_intervention(
    episodes: pd.DataFrame, interventions: pd.DataFrame | None, none: str = NO_INTERVENTION
) -> pd.DataFrame:
    """The main intervention of each episode: its **first started** intervention.

    Rule: among the episode's interventions with a ``start_date``, the one that started
    first (ties: earliest ``referral_date``, then ``intervention_id``). An episode with no
    started intervention (none recorded, or only referrals) gets ``none`` (default
    ``usual_care``: care as usual, no specific intervention). Returns ``episode_id,
    main_intervention, intervention_start`` (``NaT`` for ``none``), one row per episode.

    Caution: the rule looks at what happened *after* the absence started, so comparing
    groups defined this way on time-to-return has immortal-time bias; the later notebooks
    use a target-trial design for effects. Here it only describes who got what.

    Example:
        >>> ep = pd.DataFrame({"episode_id": ["E1", "E2"]})
        >>> iv = pd.DataFrame({"episode_id": ["E1", "E1"], "intervention_id": ["I1", "I2"],
        ...     "intervention_code": ["thuiszitterstafel", "back_to_school"],
        ...     "referral_date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
        ...     "start_date": pd.to_datetime(["2024-02-01", "2024-01-15"])})
        >>> main_intervention(ep, iv)["main_intervention"].tolist()
        ['back_to_school', 'usual_care']
    """
    out = episodes[["episode_id"]].copy()
    if interventions is None or interventions.empty:
        out["main_intervention"] = none
        out["intervention_start"] = pd.NaT
        return out
    started = interventions[interventions["start_date"].notna()]
    sort_cols = [c for c in ("start_date", "referral_date", "intervention_id") if c in started]
    first = (
        started.sort_values(sort_cols, kind="mergesort")
        .drop_duplicates("episode_id", keep="first")
        .set_index("episode_id")
    )
    out["main_intervention"] = (
        out["episode_id"].map(first["intervention_code"]).fillna(none).astype(object)
    )
    out["intervention_start"] = out["episode_id"].map(first["start_date"])
    return out


def episode_table(cohort: Cohort) -> pd.DataFrame:
    """One row per episode with the pupil's baseline covariates and the main intervention.

    Adds: ``age`` (years at absence start, :func:`age_in_years`), ``age_band``,
    ``ongoing`` (no end date by the follow-up end), ``end_status`` (the end reason, or
    ``ongoing``; an end date without reason is ``unknown``), ``main_intervention`` and
    ``intervention_start`` (:func:`main_intervention`), ``days_to_report`` (absence start
    to reported to leerplicht; missing when never reported) and ``days_to_intervention``
    (absence start to start of the main intervention; missing for ``usual_care``).
    Pupil-level columns (``support_needs`` text, ``birth_month``, ``school_id``) are left
    out: only what a table needs.

    Example:
        >>> from thuiszit_eval.schema import schema_dir
        >>> ep = episode_table(Cohort.load(schema_dir() / "example"))
        >>> len(ep), bool(ep["age"].between(4, 19).all())
        (15, True)
    """
    pupils = cohort.pupils
    drop = [c for c in ("support_needs", "school_id") if c in pupils]
    ep = cohort.episodes.merge(pupils.drop(columns=drop), on="pupil_id", how="left")
    ep["age"] = age_in_years(ep["birth_month"], ep["absence_start"])
    ep["age_band"] = age_band(ep["age"])
    ep = ep.drop(columns="birth_month")
    ep["ongoing"] = ep["end_date"].isna() | (ep["end_date"] > cohort.follow_up_end)
    reason = ep["end_reason"].astype(object).where(ep["end_reason"].notna(), "unknown")
    status = reason.where(~ep["ongoing"], ONGOING)
    order = [*codes("end_reason"), ONGOING]
    ep["end_status"] = pd.Categorical(status, categories=order + sorted(set(status) - set(order)))
    main = main_intervention(cohort.episodes, cohort.interventions)
    ep = ep.merge(main, on="episode_id", how="left")
    ep["days_to_report"] = (ep["reported_date"] - ep["absence_start"]).dt.days
    ep["days_to_intervention"] = (ep["intervention_start"] - ep["absence_start"]).dt.days
    return ep


# ---------------------------------------------------------------------------------------
# Standardised mean differences (Austin 2009)
# ---------------------------------------------------------------------------------------


def smd_continuous(m1: float, s1: float, m0: float, s0: float) -> float:
    """SMD of a continuous variable: ``(m1 - m0) / sqrt((s1² + s0²) / 2)``.

    Example:
        >>> round(smd_continuous(12.0, 2.0, 10.0, 2.0), 3)
        1.0
    """
    denom = np.sqrt((s1**2 + s0**2) / 2.0)
    return float((m1 - m0) / denom) if denom > 0 else (0.0 if m1 == m0 else np.nan)


def smd_proportion(p1: float, p0: float) -> float:
    """SMD of a binary variable (or one level of a categorical one), proportions in [0, 1].

    ``(p1 - p0) / sqrt((p1(1 - p1) + p0(1 - p0)) / 2)``.

    Example:
        >>> round(smd_proportion(0.5, 0.3), 3)
        0.417
    """
    denom = np.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2.0)
    return float((p1 - p0) / denom) if denom > 0 else (0.0 if p1 == p0 else np.nan)


# ---------------------------------------------------------------------------------------
# Table 1
# ---------------------------------------------------------------------------------------


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "binary"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "continuous"
    return "categorical"


def table_one(
    episodes: pd.DataFrame,
    by: str = "main_intervention",
    variables: Sequence[str] | None = None,
    reference: str = NO_INTERVENTION,
) -> pd.DataFrame:
    """Table 1: per group n and mean (SD) or n (%), with the SMD versus ``reference``.

    ``variables`` default to :data:`DEFAULT_VARIABLES` plus every ``need_*`` column.
    Kinds follow the dtype: boolean → ``binary`` (levels ``yes`` and ``no``; a display
    shows ``yes``), numeric → ``continuous``, else ``categorical`` (one row per level
    present in the data, a missing value is level ``missing``).

    Tidy long format, one row per variable × level × group:
    ``variable, level, kind, group, n, value, sd, smd`` where ``n`` is the count (for a
    continuous variable: the non-missing count), ``value`` the percentage of the group
    (continuous: the mean), ``sd`` the SD (continuous only) and ``smd`` the standardised
    mean difference versus the reference group (Austin 2009; NaN for the reference group
    itself and when the reference group is absent). The first rows (variable ``n``) give
    the group sizes. Groups are in order of size, the reference first.

    Example:
        >>> ep = pd.DataFrame({"main_intervention": ["a", "a", "usual_care", "usual_care"],
        ...                    "age": [10.0, 12.0, 10.0, 10.0]})
        >>> t = table_one(ep, variables=["age"])
        >>> t.loc[t["variable"] == "age", ["group", "n", "value"]].values.tolist()
        [['usual_care', 2, 10.0], ['a', 2, 11.0]]
    """
    if variables is None:
        needs = [c for c in episodes.columns if c.startswith("need_")]
        variables = [v for v in DEFAULT_VARIABLES if v in episodes] + needs
    sizes = episodes[by].value_counts(sort=False)
    order = sorted(sizes.index, key=lambda g: (g != reference, -sizes[g], str(g)))
    rows: list[dict[str, object]] = [
        {"variable": "n", "level": "", "kind": "n", "group": g, "n": int(sizes[g])} for g in order
    ]
    groups = episodes.groupby(by, sort=False, observed=True)
    for var in variables:
        col = episodes[var]
        kind = _kind(col)
        if kind == "continuous":
            stats = groups[var].agg(["count", "mean", "std"])
            for g in order:
                rows.append(
                    {
                        "variable": var,
                        "level": "",
                        "kind": kind,
                        "group": g,
                        "n": int(stats.loc[g, "count"]),
                        "value": stats.loc[g, "mean"],
                        "sd": stats.loc[g, "std"],
                    }
                )
            continue
        if kind == "binary":
            text = col.map({True: "yes", False: "no"}).astype(object)
            levels = ["yes", "no"]
        else:
            text = col.astype(object).where(col.notna(), "missing").astype(str)
            levels = _levels(col, text)
        counts = pd.crosstab(text, episodes[by]).reindex(index=levels, columns=order, fill_value=0)
        for lev in levels:
            for g in order:
                n = int(counts.loc[lev, g])
                rows.append(
                    {
                        "variable": var,
                        "level": lev,
                        "kind": kind,
                        "group": g,
                        "n": n,
                        "value": 100.0 * n / sizes[g],
                    }
                )
    out = pd.DataFrame(rows, columns=["variable", "level", "kind", "group", "n", "value", "sd"])
    out["smd"] = _smds(out, reference)
    return out


def _levels(col: pd.Series, text: pd.Series) -> list[str]:
    """Levels present in the data: in category order for a categorical, else sorted."""
    present = set(text.unique())
    if isinstance(col.dtype, pd.CategoricalDtype):
        order = [str(c) for c in col.cat.categories] + ["missing"]
        return [lev for lev in order if lev in present]
    return sorted(present)


def _smds(t: pd.DataFrame, reference: str) -> pd.Series:
    """SMD of each row versus the reference group's row of the same variable and level."""
    ref = t[t["group"] == reference].set_index(["variable", "level"])
    smd = pd.Series(np.nan, index=t.index)
    if ref.empty:
        return smd
    for i, row in t.iterrows():
        if row["group"] == reference or row["kind"] == "n":
            continue
        r = ref.loc[(row["variable"], row["level"])]
        if row["kind"] == "continuous":
            smd[i] = smd_continuous(row["value"], row["sd"], r["value"], r["sd"])
        else:
            smd[i] = smd_proportion(row["value"] / 100.0, r["value"] / 100.0)
    return smd


# ---------------------------------------------------------------------------------------
# Small-cell suppression
# ---------------------------------------------------------------------------------------


def suppress_small(
    df: pd.DataFrame,
    count_cols: Sequence[str],
    min_cell: int = 10,
    *,
    hide: Mapping[str, Sequence[str]] | None = None,
    within: Sequence[Sequence[str]] = (),
    complement: Sequence[Sequence[str]] = (),
) -> pd.DataFrame:
    """Replace every count below ``min_cell`` by ``"<min_cell"``, so none can be read back.

    1. **Primary**: a count ``< min_cell`` (zero included) becomes the text ``"<10"``
       (for ``min_cell=10``), and the columns ``hide[col]`` of that row (its percentage,
       mean, SMD, ...) become missing.
    2. **Secondary**: ``within`` lists groupings of rows whose counts add up to a total
       that is shown elsewhere (e.g. ``["variable", "group"]``: the levels of a variable
       add up to the group's n). Where such a set has exactly one suppressed count, it
       could be recovered by subtraction, so the smallest other count of the set is
       suppressed too; repeated over all groupings until nothing changes.
    3. **Complement**: ``complement`` lists groupings whose total is *shown* (e.g. Table
       1's group sizes). The total minus the shown counts is the sum of the suppressed
       ones ("76 (91,6%)" of 83 leaves 7 for the other levels); where that sum is 1 to
       ``min_cell − 1``, the smallest shown count of the set is suppressed too, until the
       hidden rest is 0 or at least ``min_cell``.

    Returns a copy; the count columns become ``object`` (ints and texts).

    Example:
        >>> t = pd.DataFrame({"level": ["m", "f", "x"], "n": [40, 25, 3], "pct": [59., 37., 4.]})
        >>> suppress_small(t, ["n"], hide={"n": ["pct"]}, within=[[]])["n"].tolist()
        [40, '<10', '<10']
    """
    out = df.copy()
    hide = hide or {}
    for col in count_cols:
        x = pd.to_numeric(df[col], errors="coerce")
        sup = (x < min_cell) & x.notna()
        changed = True
        while changed:
            changed = False
            for keys in complement:
                key = [df[k] for k in keys] if keys else np.zeros(len(df), dtype=int)
                rest = x.where(sup, 0).groupby(key, dropna=False).transform("sum")
                cand = x.where((rest >= 1) & (rest < min_cell) & ~sup & x.notna())
                if cand.notna().any():
                    pick = cand.groupby(key, dropna=False).idxmin().dropna()
                    sup.loc[pick.to_numpy()] = True
                    changed = True
            for keys in within:
                key = [df[k] for k in keys] if keys else np.zeros(len(df), dtype=int)
                n_sup = sup.groupby(key, dropna=False).transform("sum")
                size = sup.groupby(key, dropna=False).transform("size")
                cand = x.where((n_sup == 1) & (size > 1) & ~sup & x.notna())
                if cand.notna().any():
                    pick = cand.groupby(key, dropna=False).idxmin().dropna()
                    sup.loc[pick.to_numpy()] = True
                    changed = True
        shown = out[col].astype(object)
        shown[sup] = f"<{min_cell}"
        out[col] = shown
        for other in hide.get(col, ()):
            out[other] = out[other].astype(object).where(~sup, None)
    return out


# ---------------------------------------------------------------------------------------
# Display of Table 1
# ---------------------------------------------------------------------------------------


def _dec(x: float, digits: int = 1, lang: str = "en") -> str:
    """``x`` with ``digits`` decimals in ``lang`` (thuiszit_eval.formatting: one convention
    for the whole report, counts from 1000 grouped, never "-0,00")."""
    from .formatting import number

    return number(x, lang, digits)


def _fmt_smd(v: object, lang: str = "en") -> str:
    return "" if v is None or pd.isna(v) else _dec(float(v), 2, lang)


def wide(
    t1: pd.DataFrame, min_cell: int = 10, lang: str = "en", group_labels: bool = True
) -> pd.DataFrame:
    """Table 1 for display: one row per variable × level, ``n (%)`` / ``mean (SD)`` per
    group and one ``SMD <group>`` column per non-reference group, after suppression.

    Suppression (:func:`suppress_small`) runs on the tidy table, with the levels of a
    variable within a group and the groups within a level as sets with known totals.
    A suppressed count hides its percentage and its SMD (which would give the count back);
    a suppressed reference cell hides the SMD of every group on that row. Binary variables
    show only their ``yes`` row (the ``no`` row took part in the suppression). Groups get
    English labels from the intervention code list unless ``group_labels=False``.

    Example:
        >>> ep = pd.DataFrame({"main_intervention": ["a"] * 30 + ["usual_care"] * 30,
        ...                    "sex": ["m"] * 20 + ["f", "x"] * 5 + ["m", "f", "x"] * 10})
        >>> wide(table_one(ep, variables=["sex"]), group_labels=False).values.tolist()
        [['n', '', '30', '30', ''], ['sex', 'f', '<10', '<10', ''], \
['sex', 'm', '10 (33.3%)', '20 (66.7%)', '0.71'], ['sex', 'x', '<10', '<10', '']]
    """
    counted = t1["kind"] != "continuous"
    s = suppress_small(
        t1,
        ["n"],
        min_cell,
        hide={"n": ["value", "sd", "smd"]},
        within=[["variable", "group"], ["variable", "level"]],
        complement=[["variable", "group"]],  # the levels add up to the group's n, shown
    )
    # continuous rows take part too: a mean over fewer than min_cell pupils is hidden
    ref_hidden = s.loc[s["n"].map(lambda v: isinstance(v, str)) & counted]
    ref = t1["group"].iloc[0] if len(t1) else None
    bad = set(
        map(
            tuple,
            ref_hidden.loc[ref_hidden["group"] == ref, ["variable", "level"]].to_numpy().tolist(),
        )
    )
    key = list(zip(s["variable"], s["level"], strict=True))
    s.loc[[k in bad for k in key], "smd"] = None
    s = s[~((s["kind"] == "binary") & (s["level"] == "no"))]

    def cell(row: pd.Series) -> str:
        if isinstance(row["n"], str):
            return row["n"]
        if row["kind"] == "n":
            return _dec(row["n"], 0, lang)
        if row["kind"] == "continuous":
            return f"{_dec(row['value'], 1, lang)} ({_dec(row['sd'], 1, lang)})"
        return f"{_dec(row['n'], 0, lang)} ({_dec(row['value'], 1, lang)}%)"

    s = s.assign(cell=s.apply(cell, axis=1), smd_text=s["smd"].map(lambda v: _fmt_smd(v, lang)))
    groups = list(dict.fromkeys(t1["group"]))
    index = list(dict.fromkeys(zip(s["variable"], s["level"], strict=True)))
    cells = s.pivot(index=["variable", "level"], columns="group", values="cell")
    smds = s.pivot(index=["variable", "level"], columns="group", values="smd_text")
    out = cells.reindex(index=index, columns=groups)
    for g in groups[1:]:
        out[f"SMD {g}"] = smds.reindex(index=index)[g].fillna("")
    names = labels("intervention", lang) if group_labels else {}
    out = out.rename(columns=lambda c: _label_col(c, names)).fillna("")
    out.columns.name = None
    out = out.reset_index()
    if group_labels:
        out["level"] = [
            _level_label(v, lev, lang) for v, lev in zip(out["variable"], out["level"], strict=True)
        ]
        out["variable"] = out["variable"].map(lambda v: variable_label(v, lang))
    return out


#: Readable names of Table 1 variables (``need_<code>`` uses the support-need code list).
_VARIABLE_LABELS_BY_LANG = by_lang("describe.variable", (
    "n", "sex", "age", "age_band", "school_type", "living_situation", "episode_type", "swv_id"))
VARIABLE_LABELS: dict[str, str] = _VARIABLE_LABELS_BY_LANG["en"]
_VARIABLE_LABELS_NL: dict[str, str] = _VARIABLE_LABELS_BY_LANG["nl"]


def label(key: str, lang: str = "en", **fmt: object) -> str:
    """The short label ``describe.<key>`` of the message catalogue in ``lang``.

    The key itself if the catalogue has no such label.

    Example:
        >>> label("total", "nl"), label("rows_read", "en"), label("SWV-01", "nl")
        ('totaal', 'rows read', 'SWV-01')
    """
    if lang not in ("nl", "en"):
        raise ValueError(f"language {lang!r} not available; choose one of nl, en")
    text = MESSAGES.get(f"describe.{key}", {}).get(lang, key)
    return text.format(**fmt) if fmt else text


def cohort_name(cohort: Cohort, lang: str = "en") -> str:
    """The cohort's name for a reader of ``lang``: its own ``cohort_name``, except that a
    cohort the simulator made is called so in ``lang`` (its stored name is English).

    Example:
        >>> from thuiszit_eval.cohort import Cohort
        >>> from thuiszit_eval.schema import schema_dir
        >>> cohort_name(Cohort.load(schema_dir() / "example"), "nl") == Cohort.load(
        ...     schema_dir() / "example").name
        True
    """
    meta = getattr(cohort, "metadata", {}) or {}
    if meta.get("simulated") and meta.get("seed") is not None:
        return label("simulated_cohort", lang, seed=meta["seed"])
    return cohort.name


def headers(df: pd.DataFrame, lang: str = "en", values: Sequence[str] = ()) -> pd.DataFrame:
    """``df`` with readable column headers in ``lang`` (and the words in ``values`` columns).

    Example:
        >>> f = pd.DataFrame({"table": ["pupils"], "stage": ["read"], "rows": [12]})
        >>> headers(f, "nl", values=["stage"]).columns.tolist()
        ['tabel', 'stap', 'aantal rijen']
        >>> headers(f, "nl", values=["stage"])["stap"].tolist()
        ['ingelezen']
    """
    out = df.copy()
    for col in values:
        out[col] = out[col].map(lambda v: label(v, lang) if isinstance(v, str) else v)
    return out.rename(columns=lambda c: label(c, lang) if isinstance(c, str) else c)


def variable_label(variable: str, lang: str = "en") -> str:
    """Readable name of a Table 1 variable (``need_<code>``: "support need").

    Example:
        >>> variable_label("age_band", "nl"), variable_label("need_autism", "en")
        ('leeftijdsgroep (jaren)', 'support need')
    """
    if variable.startswith("need_"):
        return label("support_need", lang)
    names = _VARIABLE_LABELS_NL if lang == "nl" else VARIABLE_LABELS
    return names.get(variable, variable)


_LEVEL_CODELISTS = {
    "sex": "sex",
    "school_type": "school_type",
    "living_situation": "living_situation",
    "episode_type": "episode_type",
    "end_status": "end_reason",
    "main_intervention": "intervention",
}


def _level_label(variable: str, level: str, lang: str = "en") -> str:
    """English (or Dutch) label of a level; for ``need_<code>``, the need's name."""
    if variable.startswith("need_"):
        return labels("support_need", lang).get(variable[5:], variable[5:])
    if variable in _LEVEL_CODELISTS:
        return labels(_LEVEL_CODELISTS[variable], lang).get(level, level)
    if lang != "en" and level in ("yes", "no", "missing", "other"):
        return label(level, lang)
    return level


def largest_smds(
    t1: pd.DataFrame,
    group: str,
    min_cell: int = 10,
    threshold: float = 0.1,
    lang: str = "en",
) -> pd.DataFrame:
    """The characteristics on which ``group`` differs from the reference by |SMD| > threshold.

    Uses the SMDs that :func:`wide` shows (after suppression: an SMD of a suppressed cell
    is never used), so a sentence built from them reveals nothing a table hides. Returns
    ``variable, level, smd, name`` sorted by |SMD| (largest first), where ``name`` is a
    short readable name in ``lang`` (a support need's name, "age", or "school type:
    primary education"); empty when ``group`` is not in ``t1``.

    Example:
        >>> ep = pd.DataFrame({"main_intervention": ["a"] * 30 + ["usual_care"] * 30,
        ...                    "sex": ["m"] * 20 + ["f"] * 10 + ["m"] * 10 + ["f"] * 20})
        >>> d = largest_smds(table_one(ep, variables=["sex"]), "a")
        >>> d[["level", "smd"]].round(2).values.tolist()
        [['f', -0.71], ['m', 0.71]]
    """
    cols = ["variable", "level", "smd", "name"]
    if group not in set(t1["group"]):
        return pd.DataFrame(columns=cols)
    w = wide(t1, min_cell, "en", group_labels=False)  # codes, and SMDs with a decimal point
    smd = pd.to_numeric(w[f"SMD {group}"], errors="coerce") if f"SMD {group}" in w else None
    if smd is None:
        return pd.DataFrame(columns=cols)
    out = w[["variable", "level"]].assign(smd=smd)
    out = out[out["smd"].abs() > threshold]
    out = out.iloc[np.argsort(-out["smd"].abs().to_numpy(), kind="mergesort")]

    def name(variable: str, level: str) -> str:
        if variable.startswith("need_"):
            return _level_label(variable, level, lang)
        if variable == "age":
            return label("age_short", lang)
        return f"{variable_label(variable, lang)}: {_level_label(variable, level, lang)}"

    out["name"] = [name(v, lev) for v, lev in zip(out["variable"], out["level"], strict=True)]
    return out[cols].reset_index(drop=True)


def code_labels(name: str, lang: str = "en") -> dict[str, str]:
    """Labels for the codes of a column of :func:`episode_table` (``ongoing`` included).

    Example:
        >>> code_labels("end_status")["ongoing"]
        'ongoing at follow-up end'
    """
    out = dict(labels(_LEVEL_CODELISTS.get(name, name), lang))
    if name == "end_status":
        out[ONGOING] = label(ONGOING, lang)
    return out


def _label_col(col: str, names: Mapping[str, str]) -> str:
    if col.startswith("SMD "):
        return "SMD " + names.get(col[4:], col[4:])
    return names.get(col, col)


# ---------------------------------------------------------------------------------------
# Counts: endings, regions, ...
# ---------------------------------------------------------------------------------------


def counts_table(episodes: pd.DataFrame, row: str, col: str | None = None) -> pd.DataFrame:
    """Counts of ``row`` within each ``col`` (or overall): ``col, row, n, pct`` (tidy).

    ``pct`` is the percentage of the column's total; a missing value is level ``missing``;
    every combination is listed (zeros included).

    Example:
        >>> ep = pd.DataFrame({"t": ["a", "a", "b"], "r": ["x", "y", "x"]})
        >>> counts_table(ep, "r", "t")["n"].tolist()
        [1, 1, 1, 0]
    """
    data = episodes.assign(_all="all")
    col = col or "_all"
    r = data[row].astype(object).where(data[row].notna(), "missing").astype(str)
    ct = pd.crosstab(r, data[col]).reindex(_levels(data[row], r))
    tidy = ct.stack().rename("n").reset_index()
    tidy.columns = [row, col, "n"]
    tidy = tidy[[col, row, "n"]].sort_values(col, kind="mergesort")
    tidy["pct"] = 100.0 * tidy["n"] / tidy.groupby(col)["n"].transform("sum")
    if col == "_all":
        tidy = tidy.drop(columns="_all")
    return tidy.reset_index(drop=True)


def endings_table(episodes: pd.DataFrame) -> pd.DataFrame:
    """How episodes ended, per episode type: ``episode_type, end_status, n, pct``.

    ``end_status`` is the end reason, or ``ongoing`` (no end date at follow-up end);
    ``pct`` is the percentage of the episode type. Needs :func:`episode_table` columns.

    Example:
        >>> ep = pd.DataFrame({"episode_type": ["lrv", "lrv"],
        ...                    "end_status": ["returned_full", "ongoing"]})
        >>> endings_table(ep)[["end_status", "pct"]].values.tolist()
        [['ongoing', 50.0], ['returned_full', 50.0]]
    """
    return counts_table(episodes, "end_status", "episode_type")


def crosstab_display(
    tidy: pd.DataFrame,
    row: str,
    col: str | None = None,
    min_cell: int = 10,
    row_labels: Mapping[str, str] | None = None,
    col_labels: Mapping[str, str] | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """A :func:`counts_table` as a display table of ``n (%)``, small cells suppressed.

    Both the rows within a column and the columns within a row count as sets with a known
    total (see :func:`suppress_small`). With ``col``, a ``total`` column is added (its small
    cells suppressed the same way), named in ``lang`` ("totaal" for ``nl``).

    Example:
        >>> ep = pd.DataFrame({"r": ["x"] * 30 + ["y"] * 3 + ["z"] * 12})
        >>> crosstab_display(counts_table(ep, "r"), "r")["n (%)"].tolist()
        ['30 (66.7%)', '<10', '<10']
    """
    if col is not None:
        total = tidy.groupby(row, sort=False, as_index=False)["n"].sum()
        total[col] = label("total", lang)
        total["pct"] = 100.0 * total["n"] / total["n"].sum()
        tidy = pd.concat([tidy, total[tidy.columns]], ignore_index=True)
        within: list[list[str]] = [[col], [row]]
    else:
        within = [[]]
    s = suppress_small(tidy, ["n"], min_cell, hide={"n": ["pct"]}, within=within)
    s["cell"] = [
        n if isinstance(n, str) else f"{_dec(n, 0, lang)} ({_dec(p, 1, lang)}%)"
        for n, p in zip(s["n"], s["pct"], strict=True)
    ]
    s[row] = s[row].map(lambda v: (row_labels or {}).get(v, v))
    if col is None:
        return s[[row, "cell"]].rename(columns={"cell": "n (%)"}).reset_index(drop=True)
    s[col] = s[col].map(lambda v: (col_labels or {}).get(v, v))
    out = s.pivot(index=row, columns=col, values="cell")
    out = out.reindex(index=list(dict.fromkeys(s[row])), columns=list(dict.fromkeys(s[col])))
    out.columns.name = None
    return out.reset_index()


def bar_shares(
    tidy: pd.DataFrame,
    row: str,
    col: str,
    min_cell: int = 10,
    title: str = "",
    row_labels: Mapping[str, str] | None = None,
    col_labels: Mapping[str, str] | None = None,
    lang: str = "en",
) -> Figure:
    """Horizontal bars of ``pct`` (of each ``col``) for every ``row`` level; small cells left out.

    Bars are drawn from a :func:`counts_table` after :func:`suppress_small` (same sets as
    :func:`crosstab_display`), so a figure never shows what a table would hide. The axis
    title is in ``lang``.
    """
    s = suppress_small(tidy, ["n"], min_cell, hide={"n": ["pct"]}, within=[[col], [row]])
    s = s.assign(pct=pd.to_numeric(s["pct"], errors="coerce"))
    s[row] = s[row].map(lambda v: (row_labels or {}).get(v, v))
    s[col] = s[col].map(lambda v: (col_labels or {}).get(v, v))
    pivot = s.pivot(index=row, columns=col, values="pct")
    pivot = pivot.reindex(
        index=list(dict.fromkeys(s[row]))[::-1], columns=list(dict.fromkeys(s[col]))
    )
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(pivot) * len(pivot.columns) ** 0.5 + 1.8))
    pivot.plot.barh(ax=ax, width=0.8)
    ax.set_xlabel(label("pct_of_episodes", lang, min_cell=min_cell))
    ax.set_ylabel("")
    ax.set_title(title)
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], title=None, fontsize="small", loc="lower right")
    fig.tight_layout()
    return fig
