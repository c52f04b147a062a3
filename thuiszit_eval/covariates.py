"""The cohort's own baseline covariates of an episode, and the default adjustment set.

Every model in the package (the Cox models of ``regression``, the propensity and outcome
models of ``effects``, the weight models of the target-trial emulation) takes its design
from here, so a cohort that names its covariates differently, lacks some, or declares its
own is analysed on *its* covariates — never on the simulator's.

Where the covariates come from
------------------------------
* **Schema fields** of ``pupils`` and ``episodes`` (``data_schema/tables``): sex, school
  type, living situation, the multi-valued ``support_needs`` (one 0/1 ``need_<code>``
  column per code of the code list), the region ``swv_id``, the episode type.
* **Derived** at the episode's origin: ``age`` (years, birth taken as the 1st of the birth
  month), ``age_12plus`` (completed years by month, as the validator counts age),
  ``female``, ``living_out_of_home`` (foster, residential or kleinschalig verblijf),
  ``absoluut_verzuim`` and ``dreigend`` (episode type), ``prior_episodes`` (earlier
  episodes of the pupil) and ``prior_episode`` (at least one).
* **Extra fields** the cohort declares in ``datapackage.json`` (``extra_fields`` of the
  ``pupils`` or ``episodes`` resource), typed as declared.

The default adjustment set
--------------------------
:data:`STANDARD_TERMS` (episode type, age 12+, girl, earlier episode, living out of home
and seven support needs) **plus every declared extra field that is a number, an integer, a
boolean or a string with a code list** — free-text extra fields are not adjusted for by
default (a column of 300 distinct neighbourhood names is not a covariate). A term is used
only when it is present and varies among the analysed episodes. Override it with a
specification string (API, ``--covariates`` on the command line, the ``covariates``
notebook parameter):

* ``"default"`` (or empty): the default set;
* ``"age_12plus,female,ses_index"``: exactly these;
* ``"default,-ses_index,+school_type"``: the default set without / with terms.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> cohort = Cohort.load(schema_dir() / "example")
>>> [f.name for f in extra_fields(cohort)]
['ses_index']
>>> "ses_index" in default_adjustment_set(cohort)
True
>>> parse_spec("default,-female,+school_type", ["female", "age_12plus"])
['age_12plus', 'school_type']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import schema as S

__all__ = [
    "STANDARD_TERMS",
    "NEEDS",
    "CovariateError",
    "extra_fields",
    "pupil_frame",
    "episode_covariates",
    "default_adjustment_set",
    "parse_spec",
    "resolve",
    "missing_report",
    "complete_cases",
    "catalogue",
    "missing_note",
]

#: Support needs in the standard adjustment set (the code list has more; these are the ones
#: the field's literature names as confounders of both referral and return).
NEEDS: tuple[str, ...] = ("autism", "zmolk", "school_refusal", "bullying_trauma",
                          "psychiatric", "behaviour", "family")
#: The documented core of the default adjustment set (before the cohort's extra fields).
STANDARD_TERMS: tuple[str, ...] = (
    "episode_type", "age_12plus", "female", "prior_episode", "living_out_of_home",
    *(f"need_{c}" for c in NEEDS),
)
OUT_OF_HOME = ("kleinschalig_verblijf", "residential", "foster")
#: Declared extra-field types that are adjusted for by default.
_NUMERIC_TYPES = ("number", "integer")


class CovariateError(ValueError):
    """A covariate specification names a column the cohort does not have."""


# ----------------------------------------------------------------------------------------
# What the cohort declares
# ----------------------------------------------------------------------------------------
def _tables(data: Any) -> dict[str, pd.DataFrame | None]:
    if isinstance(data, Mapping):
        return dict(data)
    if hasattr(data, "tables") and isinstance(data.tables, Mapping):  # a SimulatedCohort
        return dict(data.tables)
    return {t: getattr(data, t, None) for t in S.TABLES}


def extra_fields(data: Any) -> list[S.FieldSpec]:
    """The covariate columns the cohort declares beyond the schema (pupils, then episodes).

    For a loaded :class:`~thuiszit_eval.cohort.Cohort` these are its declared
    ``extra_fields``; for a dict of tables, the columns the schema does not know (their
    type read from the values).
    """
    declared = getattr(data, "extra_fields", None)
    tables = _tables(data)
    out: list[S.FieldSpec] = []
    for name in ("pupils", "episodes"):
        df = tables.get(name)
        if df is None:
            continue
        known = set(S.table_schema(name).field_names)
        if declared is not None:
            for d in declared.get(name, []):
                if d.get("name") in df.columns and d["name"] not in known:
                    out.append(S.FieldSpec.from_json(d, extra=True))
            continue
        for c in df.columns:
            if c in known or c.startswith("need_"):
                continue
            s = df[c]
            kind = ("boolean" if pd.api.types.is_bool_dtype(s) else
                    "number" if pd.api.types.is_numeric_dtype(s) else "string")
            out.append(S.FieldSpec(name=c, type=kind, extra=True))
    return out


def _is_default_extra(f: S.FieldSpec) -> bool:
    return f.type in _NUMERIC_TYPES or f.type == "boolean" or (
        f.type == "string" and f.codelist is not None)


# ----------------------------------------------------------------------------------------
# One row per episode
# ----------------------------------------------------------------------------------------
def pupil_frame(data: Any) -> pd.DataFrame:
    """The pupils table with one boolean ``need_<code>`` column per support-need code
    (expanded from ``support_needs`` where the table has only that text), indexed by
    ``pupil_id``."""
    pu = _tables(data)["pupils"].drop_duplicates("pupil_id").set_index("pupil_id")
    missing = [c for c in S.codes("support_need") if f"need_{c}" not in pu]
    if "support_needs" in pu and missing:  # a loaded Cohort has them all already
        text = pu["support_needs"].astype(object).where(pu["support_needs"].notna(), "")
        parts = text.astype(str).str.split(S.MULTI_SEPARATOR)
        for code in missing:
            pu[f"need_{code}"] = parts.map(lambda x, c=code: c in x).astype(bool)
    return pu


def _month_index(values: pd.Series) -> np.ndarray:
    p = pd.PeriodIndex(pd.to_datetime(values), freq="M")
    return np.asarray(p.year * 12 + p.month - 1, dtype=float)


def episode_covariates(data: Any, episodes: pd.DataFrame | None = None,
                       origin: pd.Series | str = "absence_start") -> pd.DataFrame:
    """Baseline covariates of each episode, measured at its origin.

    Args:
        data: a :class:`~thuiszit_eval.cohort.Cohort` or a dict of typed tables (pupils,
            episodes).
        episodes: the episode rows to describe (default: all); needs ``episode_id`` and
            ``pupil_id``.
        origin: the date the covariates are measured at: a column name of ``episodes`` or
            a Series of dates aligned with it.

    Returns:
        One row per row of ``episodes`` (same index): ``age``, ``age_12plus``,
        ``episode_type``, ``absoluut_verzuim``, ``dreigend``, ``prior_episodes``,
        ``prior_episode``, ``female``, ``living_out_of_home``, then every pupil column
        except ``support_needs`` and ``birth_month`` (sex, school type, ids, ``need_*``,
        the extra fields) and the episodes table's own extra fields. Missing source values
        stay missing.
    """
    tables = _tables(data)
    all_ep = tables["episodes"]
    ep = all_ep if episodes is None else episodes
    at = ep[origin] if isinstance(origin, str) else origin
    at = pd.to_datetime(pd.Series(np.asarray(at), index=ep.index))
    pu = pupil_frame(data)
    p = pu.drop(columns=["support_needs"], errors="ignore").reindex(ep["pupil_id"])
    out = pd.DataFrame(index=ep.index)
    if "birth_month" in p:
        bm = pd.to_datetime(p["birth_month"])
        out["age"] = np.round((at.to_numpy() - bm.to_numpy()) / np.timedelta64(1, "D")
                              / 365.25, 2)
        months = _month_index(at) - _month_index(bm)
        out["age_12plus"] = pd.array(np.where(np.isnan(months), None, months >= 144),
                                     dtype="boolean")
    if "episode_type" in ep:
        et = ep["episode_type"].astype(object)
        out["episode_type"] = et.to_numpy()
        out["absoluut_verzuim"] = (et == "absoluut_verzuim").to_numpy()
        out["dreigend"] = (et == "dreigend").to_numpy()
    order = all_ep.sort_values(["pupil_id", "absence_start"], kind="stable")
    rank = pd.Series(order.groupby("pupil_id").cumcount().to_numpy(),
                     index=order["episode_id"].to_numpy())
    out["prior_episodes"] = ep["episode_id"].map(rank).to_numpy()
    out["prior_episode"] = out["prior_episodes"] > 0
    if "sex" in p:
        out["female"] = pd.array(np.where(p["sex"].isna(), None, p["sex"] == "f"),
                                 dtype="boolean")
    if "living_situation" in p:
        ls = p["living_situation"]
        out["living_out_of_home"] = pd.array(
            np.where(ls.isna(), None, ls.isin(OUT_OF_HOME)), dtype="boolean")
    for c in p.columns:
        if c != "birth_month":
            out[c] = p[c].to_numpy()
    declared = {f.name for f in extra_fields(data)}
    for c in ep.columns:  # the episodes table's own extra fields
        if c in declared and c not in out:
            out[c] = ep[c].to_numpy()
    # complete boolean columns as plain bool (the models read them as 0/1)
    for c in out.columns:
        if isinstance(out[c].dtype, pd.BooleanDtype) and out[c].notna().all():
            out[c] = out[c].astype(bool)
    return out


# ----------------------------------------------------------------------------------------
# Which covariates a model adjusts for
# ----------------------------------------------------------------------------------------
def default_adjustment_set(data: Any, rows: pd.DataFrame | None = None,
                           base: Sequence[str] = STANDARD_TERMS) -> list[str]:
    """The default adjustment set for this cohort: ``base`` plus its default extra fields
    (numbers, integers, booleans, coded strings), each only where present in ``rows`` (the
    analysed episodes, default: all covariates of the cohort) and not constant there."""
    extras = [f.name for f in extra_fields(data) if _is_default_extra(f)]
    terms = list(dict.fromkeys([*base, *extras]))
    if rows is None:
        rows = episode_covariates(data)
    return [c for c in terms if c in rows.columns and rows[c].nunique(dropna=True) > 1]


def parse_spec(spec: str | Sequence[str] | None, default: Sequence[str]) -> list[str]:
    """A covariate specification as a list of terms.

    ``None``, ``""`` or ``"default"`` give ``default``; ``"a,b"`` gives exactly ``a, b``;
    items written ``+x`` / ``-x`` add to or remove from the default set. A list is taken as
    it is.

    >>> parse_spec("default,-b", ["a", "b"])
    ['a']
    >>> parse_spec("+c", ["a"])
    ['a', 'c']
    """
    if spec is None:
        return list(default)
    if not isinstance(spec, str):
        return list(spec)
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if not items or items == ["default"]:
        return list(default)
    relative = any(s == "default" or s[0] in "+-" for s in items)
    out = list(default) if relative else []
    for s in items:
        if s == "default":
            continue
        name = s[1:].strip() if s[0] in "+-" else s
        if s[0] == "-":
            out = [c for c in out if c != name]
        elif name not in out:
            out.append(name)
    return out


def resolve(spec: str | Sequence[str] | None, data: Any, rows: pd.DataFrame,
            base: Sequence[str] = STANDARD_TERMS) -> list[str]:
    """The terms a model adjusts for: the default set (see :func:`default_adjustment_set`)
    or the user's ``spec``, checked against the columns of ``rows``.

    Raises :class:`CovariateError` naming the unknown columns and the ones available.
    """
    default = default_adjustment_set(data, rows, base)
    terms = parse_spec(spec, default)
    unknown = [c for c in terms if c not in rows.columns]
    if unknown:
        avail = sorted(c for c in rows.columns if not c.endswith("_id"))
        raise CovariateError(
            f"covariate(s) {', '.join(unknown)} not in this cohort; available: "
            f"{', '.join(avail)}")
    return terms


def missing_report(rows: pd.DataFrame, terms: Sequence[str]) -> pd.DataFrame:
    """Episodes with a missing value per adjustment term (only terms with any missing),
    and the episodes a complete-case analysis drops in all.

    Columns ``covariate``, ``n_missing``; the last row, ``covariate = "any"``, counts the
    episodes with at least one missing term.
    """
    miss = rows[list(terms)].isna()
    per = miss.sum()
    per = per[per > 0]
    out = pd.DataFrame({"covariate": per.index, "n_missing": per.to_numpy(int)})
    any_row = pd.DataFrame({"covariate": ["any"], "n_missing": [int(miss.any(axis=1).sum())]})
    return pd.concat([out, any_row], ignore_index=True)


def complete_cases(rows: pd.DataFrame, terms: Sequence[str]) -> tuple[pd.DataFrame,
                                                                       pd.DataFrame]:
    """The rows with every term observed, and :func:`missing_report` of what was dropped."""
    keep = rows[list(terms)].notna().all(axis=1)
    return rows[keep], missing_report(rows, terms)


def catalogue(data: Any) -> pd.DataFrame:
    """Every covariate the cohort offers: name, source (schema / derived / extra), type,
    and whether it is in the default adjustment set."""
    rows = episode_covariates(data)
    default = set(default_adjustment_set(data, rows))
    extras = {f.name: f for f in extra_fields(data)}
    derived = {"age", "age_12plus", "female", "living_out_of_home", "absoluut_verzuim",
               "dreigend", "prior_episodes", "prior_episode"}
    out = []
    for c in rows.columns:
        if c.endswith("_id") or c == "municipality_code":
            continue
        src = "extra" if c in extras else "derived" if c in derived else "schema"
        s = rows[c]
        kind = ("boolean" if pd.api.types.is_bool_dtype(s) or isinstance(s.dtype,
                                                                          pd.BooleanDtype)
                else "number" if pd.api.types.is_numeric_dtype(s) else "categorical")
        out.append({"covariate": c, "source": src, "type": kind, "default": c in default,
                    "n_missing": int(s.isna().sum())})
    return pd.DataFrame(out)


def missing_note(report: pd.DataFrame | None, lang: str = "nl", min_cell: int = 10):
    """The sentence under a model that says how many episodes it left out for a missing
    covariate value, and which covariates (IPython Markdown; empty when none were left
    out, as ``display(None)`` would print "None"). Counts below ``min_cell`` are shown as
    "fewer than ``min_cell``".

    >>> rep = pd.DataFrame({"covariate": ["ses_index", "any"], "n_missing": [42, 42]})
    >>> missing_note(rep, "en").data.split(" (")[0]
    '*42 episodes were left out because a covariate value was missing'
    """
    from IPython.display import Markdown

    from .messages import t
    from .narrative import number

    if report is None or report.empty:
        return Markdown("")
    total = int(report.loc[report["covariate"] == "any", "n_missing"].sum())
    if total == 0:
        return Markdown("")

    def n(x: int) -> str:
        return number(x, lang) if x >= min_cell else t("fewer_than", lang, n=min_cell)

    from .disclosure import escape_markdown

    # a covariate name is the cohort's own text: escaped, as Markdown passes HTML through
    parts = [f"{escape_markdown(r.covariate)}: {n(int(r.n_missing))}"
             for r in report.itertuples() if r.covariate != "any"]
    return Markdown("*" + t("missing_left_out", lang, n=n(total), which="; ".join(parts))
                    + "*")
