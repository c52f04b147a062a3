"""Regression models of time to return: Cox models with interventions as time-varying
exposures, the "ever received" contrast, a proportional-hazards check and competing risks.

Everything here returns **tidy, publishable tables**: hazard ratios with their confidence
intervals and the numbers of episodes and returns behind each term, small counts
suppressed (:func:`~thuiszit_eval.describe.suppress_small`; the estimates of a suppressed
row are hidden too). No pupil-level rows leave these functions.

Models
------
* :func:`fit_cox_models` fits two cause-specific Cox models of return to school, side by
  side (column ``model``):

  - ``"time-varying"``: the counting-process form of :func:`~thuiszit_eval.outcomes.
    counting_process`: each intervention is an exposure that switches on at its start
    date, so the days a pupil waited for it count as *unexposed* time. This is the model
    to read.
  - ``"ever received"``: one row per episode with a 0/1 indicator "the intervention was
    started at some point in the episode". It credits the intervention with the waiting
    time before it started, time in which the pupil could not yet have "returned after the
    intervention" (*immortal time*): pupils who return quickly never get the chance to
    start. The hazard ratio is biased towards "no effect or harm". It is shown only to make
    that bias visible.

  Both models adjust for the same baseline covariates (the cohort's default adjustment
  set, :mod:`thuiszit_eval.covariates`), are stratified by samenwerkingsverband
  (``swv_id``: each region has its own baseline hazard) and use a sandwich variance
  clustered on the pupil (``se="region"``: on the region, with t on G − 1 df). Competing
  endings (exemptions, moving, ageing out) are censored: the hazard ratios are
  *cause-specific*.
* :func:`ph_check` is the ``cox.zph`` test of proportional hazards of the time-varying
  model, with a plain reading per term.
* :func:`competing_risks_summary` sets the cause-specific hazard ratio beside the
  Fine–Gray subdistribution hazard ratio for each baseline covariate, and gives the
  Aalen–Johansen cumulative incidence per cause at 28, 91, 182 and 365 days with the
  overstatement of 1 − Kaplan–Meier (competing endings treated as censoring).

Covariate coding
----------------
:func:`add_derived_covariates` adds the codings of the simulator's ``truth.json``:
``age_12plus`` (age at the time origin ≥ 12), ``female`` (sex ``f``), ``prior_episode`` (an
earlier episode of the pupil), ``living_out_of_home`` (foster care, residential or
kleinschalig verblijf). :func:`design_matrix` then turns categorical columns into 0/1
dummies against a stated reference level (default: the most frequent level), booleans
into 0/1 and drops constant columns.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.demo import cohort_or_demo
>>> cohort = Cohort.load(cohort_or_demo(""))                     # doctest: +SKIP
>>> tab = fit_cox_models(cohort)                                 # doctest: +SKIP
>>> tab.loc[tab.term == "back_to_school", ["model", "hr"]]       # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from . import covariates as cov
from . import messages
from .covariates import STANDARD_TERMS
from .describe import code_labels, suppress_small
from .disclosure import escape_markdown
from .estimability import NotEstimable, quiet, require_events
from .narrative import markdown, number
from .outcomes import OutcomeDefinition, counting_process, survival_table
from .schema import labels as codelist_labels
from .survival import aalen_johansen, cox_ph, fine_gray, kaplan_meier
from .survival.competing import AalenJohansenResult
from .survival.cox import CoxResult
from .survival.km import KaplanMeierResult

if TYPE_CHECKING:
    from .cohort import Cohort

__all__ = [
    "DEFAULT_COVARIATES",
    "REPORT_DAYS",
    "CompetingRisksSummary",
    "add_derived_covariates",
    "competing_risks_summary",
    "compare_models",
    "compare_reading",
    "design_matrix",
    "display_competing",
    "display_hazard_ratios",
    "display_incidence",
    "fit_cox_models",
    "hr_differences",
    "model_label",
    "ph_check",
    "ph_terms_text",
    "truth_hazard_ratios",
    "truth_reading",
]

#: The standard part of the Cox models' adjustment set; the cohort's declared extra fields
#: (numbers, booleans, coded strings) are added to it (:mod:`thuiszit_eval.covariates`).
DEFAULT_COVARIATES: tuple[str, ...] = STANDARD_TERMS
#: A covariate specification: None / "default" (the cohort's default set), a string such
#: as "default,-ses_index" or "age_12plus,female", or a list of columns.
CovariateSpec = str | Sequence[str] | None
#: Standard errors of the Cox hazard ratios. "pupil" (default): sandwich clustered on the
#: pupil (episodes of one pupil are not independent); "region": clustered on the
#: samenwerkingsverband with a t distribution on G - 1 degrees of freedom (few clusters
#: make the plain sandwich too narrow); "model": model-based (inverse information).
SE_TYPES: tuple[str, ...] = ("pupil", "region", "model")
#: Days at which cumulative incidence is reported (4 weeks, 3, 6 and 12 months).
REPORT_DAYS: tuple[int, ...] = (28, 91, 182, 365)
OUT_OF_HOME = ("kleinschalig_verblijf", "residential", "foster")
REGION = "swv_id"
MODELS = ("time-varying", "ever received")

_COVARIATE_LABELS = {
    "age_12plus": "age 12 or older",
    "female": "girl",
    "prior_episode": "earlier episode",
    "living_out_of_home": "living out of home",
    "ses_score": "SES score (per SD)",
    "episode_type": "episode type",
    "age": "age (per year)",
    "prior_episodes": "number of earlier episodes",
}
#: Labels and headers of the tables are message keys ``regression.<key>`` (English:
#: also ``_COVARIATE_LABELS``); ``lang="en"`` (default) keeps the English of earlier versions.


def _tx(key: str, lang: str = "en", **fmt: object) -> str:
    return messages.t(f"regression.{key}", lang, **fmt)


def _has_tx(key: str) -> bool:
    return f"regression.{key}" in messages.MESSAGES


def model_label(model: str, lang: str = "en") -> str:
    """The name of a model of :func:`fit_cox_models` (``time-varying`` / ``ever received``)
    in ``lang``.

    >>> model_label("ever received", "nl")
    'ooit ontvangen'
    """
    return _tx(model, lang) if _has_tx(model) else model


_COUNT_COLS = ("n_episodes", "n_events", "n_episodes_ref", "n_events_ref")
_ESTIMATES = ("hr", "hr_lower", "hr_upper", "p")


# --------------------------------------------------------------------------- design
def add_derived_covariates(data: pd.DataFrame) -> pd.DataFrame:
    """Add the binary codings of ``truth.json`` to a survival or counting-process table.

    ``age_12plus`` = age ≥ 12, ``female`` = sex ``"f"``, ``prior_episode`` =
    ``prior_episodes > 0``, ``living_out_of_home`` = living situation foster,
    residential or kleinschalig verblijf. Columns whose source is missing are not added;
    missing source values stay missing. Returns a copy.

    Example
    -------
    >>> df = pd.DataFrame({"age": [11.9, 12.0], "sex": ["m", "f"], "prior_episodes": [0, 2]})
    >>> add_derived_covariates(df)[["age_12plus", "female", "prior_episode"]].values.tolist()
    [[False, False, False], [True, True, True]]
    """
    out = data.copy()
    # columns the covariate table already holds (thuiszit_eval.covariates) stay as they are

    def derive(src: str, fn) -> pd.Series:
        s = out[src]
        return fn(s).astype("boolean").where(s.notna()).astype(
            bool if s.notna().all() else "boolean")

    for col, src, fn in (("age_12plus", "age", lambda s: s >= 12),
                         ("female", "sex", lambda s: s == "f"),
                         ("prior_episode", "prior_episodes", lambda s: s > 0),
                         ("living_out_of_home", "living_situation",
                          lambda s: s.isin(OUT_OF_HOME))):
        if src in out and col not in out:
            out[col] = derive(src, fn)
    return out


def _is_categorical(s: pd.Series) -> bool:
    return (isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(s)
            or pd.api.types.is_string_dtype(s)) and not pd.api.types.is_bool_dtype(s)


def design_matrix(data: pd.DataFrame, covariates: Sequence[str],
                  reference: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Numeric model matrix for :func:`~thuiszit_eval.survival.cox_ph` / ``fine_gray``.

    Coding, per covariate (in the order given):

    * **categorical** (object, string or category dtype): one 0/1 column ``"col=level"``
      per level except the *reference level*: ``reference[col]`` when given, otherwise the
      most frequent level (ties: the first in sorted order). A missing value is its own
      level ``"missing"``. Levels are in sorted order (categories order for a categorical).
    * **boolean**: 0/1 (missing stays missing), column name unchanged.
    * **numeric**: as float, column name unchanged (per unit of the covariate).
    * **constant** columns (one distinct non-missing value, e.g. a need nobody has) are
      dropped: their effect cannot be estimated.

    Returns a float DataFrame on ``data``'s index. ``.attrs`` holds ``"reference"``
    (column → reference level), ``"terms"`` (term → (column, level or None)) and
    ``"dropped"`` (constant columns and dummies left out).

    Example
    -------
    >>> df = pd.DataFrame({"type": ["lrv", "dreigend", "lrv", "absoluut"],
    ...                    "girl": [True, False, False, True], "z": [1.0, 2.0, 3.0, 4.0],
    ...                    "all_same": [1, 1, 1, 1]})
    >>> X = design_matrix(df, ["type", "girl", "z", "all_same"])
    >>> X.columns.tolist(), X.attrs["reference"], X.attrs["dropped"]
    (['type=absoluut', 'type=dreigend', 'girl', 'z'], {'type': 'lrv'}, ['all_same'])
    >>> X["type=dreigend"].tolist()
    [0.0, 1.0, 0.0, 0.0]
    """
    reference = dict(reference or {})
    missing = [c for c in covariates if c not in data.columns]
    if missing:
        raise KeyError(f"covariates not in the data: {missing}")
    cols: dict[str, pd.Series] = {}
    terms: dict[str, tuple[str, str | None]] = {}
    refs: dict[str, str] = {}
    dropped: list[str] = []
    for c in covariates:
        s = data[c]
        if _is_categorical(s):
            v = s.astype(object).where(s.notna(), "missing").astype(str)
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [str(x) for x in s.cat.categories if str(x) in set(v)]
                levels += sorted(set(v) - set(levels))
            else:
                levels = sorted(set(v))
            if len(levels) < 2:
                dropped.append(c)
                continue
            counts = v.value_counts()
            ref = reference.get(c)
            if ref is None:
                ref = min(levels, key=lambda lv: (-counts.get(lv, 0), lv))
            elif ref not in levels:
                raise ValueError(f"reference level {ref!r} of {c!r} not in the data: {levels}")
            refs[c] = ref
            for lv in levels:
                if lv != ref:
                    cols[f"{c}={lv}"] = (v == lv).astype(float)
                    terms[f"{c}={lv}"] = (c, lv)
            continue
        if pd.api.types.is_bool_dtype(s):
            x = s.astype("boolean").astype("Float64").astype(float)
        else:
            x = pd.to_numeric(s, errors="raise").astype(float)
        if x.dropna().nunique() < 2:
            dropped.append(c)
            continue
        cols[c] = x
        terms[c] = (c, None)
    out = pd.DataFrame(cols, index=data.index, dtype=float)
    out.attrs.update({"reference": refs, "terms": terms, "dropped": dropped})
    return out


def _term_label(term: str, ref: Mapping[str, str], iv_labels: Mapping[str, str],
                lang: str = "en") -> str:
    if term in iv_labels:
        return iv_labels[term]
    col, _, level = term.partition("=")
    if lang == "en" and col in _COVARIATE_LABELS:
        name = _COVARIATE_LABELS[col]
    elif _has_tx(col):
        name = _tx(col, lang)
    elif col.startswith("need_"):
        need = col.removeprefix("need_")
        name = f"{_tx('need', lang)}: {codelist_labels('support_need', lang).get(need, need)}"
    else:
        name = col.replace("_", " ")
    if level:
        r = ref.get(col, "?")
        if col == REGION:
            return f"{_tx('region', lang)} {level} ({_tx('ref', lang)} {r})"
        if col == "episode_type":  # code-list labels in every language, never the codes
            lab = codelist_labels("episode_type", lang)
            level, r = lab.get(level, level), lab.get(r, r)
        return f"{name}: {level} ({_tx('ref', lang)} {r})"
    return name


def _available(data: pd.DataFrame, covariates: CovariateSpec, cohort: Cohort) -> list[str]:
    """The terms to adjust for: the cohort's default adjustment set
    (:func:`~thuiszit_eval.covariates.default_adjustment_set`: present and not constant in
    ``data``) or the user's specification, checked against ``data``."""
    default = not isinstance(covariates, str) and (
        covariates is None or tuple(covariates) == DEFAULT_COVARIATES)
    return cov.resolve(None if default else covariates, cohort, data, base=DEFAULT_COVARIATES)


# --------------------------------------------------------------------------- Cox models
def _intervention_codes(cohort: Cohort) -> list[str]:
    iv = cohort.interventions
    if iv is None or len(iv) == 0:
        return []
    return sorted(iv.loc[iv["start_date"].notna(), "intervention_code"].dropna().unique())


def _region(data: pd.DataFrame) -> pd.Series:
    if REGION not in data:
        return pd.Series("all", index=data.index)
    return data[REGION].astype(object).where(data[REGION].notna(), "missing").astype(str)


def _counts(exposed: pd.DataFrame, ref: pd.DataFrame, event: pd.Series,
            episode: pd.Series) -> pd.DataFrame:
    """Episodes and returns in the exposed rows and in the comparison rows, per term."""
    out = {}
    for t in exposed.columns:
        e, r = exposed[t].to_numpy(bool), ref[t].to_numpy(bool)
        out[t] = (episode[e].nunique(), int(event[e].sum()),
                  episode[r].nunique(), int(event[r].sum()))
    return pd.DataFrame.from_dict(out, orient="index", columns=list(_COUNT_COLS))


def _term_counts(data: pd.DataFrame, X: pd.DataFrame, event: pd.Series,
                 episode: pd.Series) -> pd.DataFrame:
    """Counts behind each 0/1 term (continuous terms: missing)."""
    terms = X.attrs.get("terms", {c: (c, None) for c in X.columns})
    binary = [t for t in X.columns if set(np.unique(X[t].dropna())) <= {0.0, 1.0}]
    exposed = X[binary] == 1
    ref = pd.DataFrame(index=X.index)
    for t in binary:
        col, level = terms.get(t, (t, None))
        if level is None:
            ref[t] = X[t] == 0
        else:  # reference level of the categorical
            ref[t] = (X[[u for u, (c, lv) in terms.items() if c == col and lv is not None]]
                      == 0).all(axis=1)
    out = _counts(exposed, ref, event, episode).reindex(list(X.columns))
    # whole numbers (not 202.0); continuous terms have no counts
    return pd.DataFrame({c: pd.Series([None if pd.isna(v) else int(v) for v in out[c]],
                                      index=out.index, dtype=object) for c in out.columns})


def _model_frame(data: pd.DataFrame, exposures: list[str], covariates: list[str],
                 reference: Mapping[str, str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    X = design_matrix(data, [*exposures, *covariates], reference)
    ok = X.notna().all(axis=1).to_numpy()
    return X[ok], data[ok]


def _fit(data: pd.DataFrame, X: pd.DataFrame, duration: str, start: str | None,
         event: str, se: str = "pupil") -> CoxResult:
    """The Cox model stratified by region, with the standard error ``se`` (:data:`SE_TYPES`).

    With ``se="region"`` the intervals and p-values use a t distribution on G − 1 degrees
    of freedom (G regions): the sandwich from few clusters underestimates the variance, and
    normal quantiles then give intervals that cover too rarely (benchmarks/cox_coverage.py).
    """
    if se not in SE_TYPES:
        raise ValueError(f"se must be one of {', '.join(SE_TYPES)}, not {se!r}")
    df = X.copy()
    df["_stop"] = data[duration].to_numpy(float)
    df["_event"] = data[event].to_numpy(int)
    df["_region"] = _region(data).to_numpy()
    df["_pupil"] = data["pupil_id"].to_numpy() if "pupil_id" in data else np.arange(len(df))
    if start:
        df["_start"] = data[start].to_numpy(float)
    cluster = {"pupil": "_pupil", "region": "_region", "model": None}[se]
    try:
        fit = cox_ph(df, "_stop", "_event", list(X.columns), start="_start" if start else None,
                     strata="_region", cluster=cluster)
    except np.linalg.LinAlgError as exc:  # e.g. a term without any event: no finite estimate
        raise NotEstimable("singular", what="cox") from exc
    if se == "region":
        g = int(df["_region"].nunique())
        if g < 3:
            raise NotEstimable("se_region_few", g=g)
        tab = fit.table
        q = stats.t.ppf(0.5 + fit.conf_level / 2, g - 1)
        tab["p"] = 2 * stats.t.sf(np.abs(tab["z"]), g - 1)
        tab["lower"], tab["upper"] = tab["coef"] - q * tab["se"], tab["coef"] + q * tab["se"]
        tab["hr_lower"], tab["hr_upper"] = np.exp(tab["lower"]), np.exp(tab["upper"])
    return fit


def _tidy(fit: CoxResult, counts: pd.DataFrame, X: pd.DataFrame, model: str,
          exposures: Sequence[str], iv_labels: Mapping[str, str],
          lang: str = "en") -> pd.DataFrame:
    t = fit.table.set_index("term")
    ref = X.attrs.get("reference", {})
    out = pd.DataFrame({
        "model": model,
        "term": t.index,
        "label": [_term_label(x, ref, iv_labels, lang) for x in t.index],
        "kind": ["intervention" if x in exposures else "covariate" for x in t.index],
    })
    out = pd.concat([out.reset_index(drop=True),
                     counts.reindex(t.index).reset_index(drop=True),
                     t[list(_ESTIMATES)].reset_index(drop=True)], axis=1)
    return out


def _suppress(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    cols = [c for c in _COUNT_COLS if c in table]
    hidden = [c for c in table.columns if c in _ESTIMATES or c.startswith(("cs_", "fg_"))]
    out = suppress_small(table, cols, min_cell, hide={c: hidden for c in cols})
    for c in hidden:
        out[c] = pd.to_numeric(out[c], errors="coerce")
    return out


def _time_varying_frame(cohort: Cohort, d: OutcomeDefinition, covariates: CovariateSpec,
                        reference: Mapping[str, str] | None):
    cp = add_derived_covariates(counting_process(cohort, d))
    ivs = [c for c in _intervention_codes(cohort) if c in cp]
    if not ivs:
        raise NotEstimable("no_interventions", what="cox")
    covs = _available(cp, covariates, cohort)
    X, cpx = _model_frame(cp, ivs, covs, reference)
    first = cp.drop_duplicates("episode_id")
    X.attrs["missing"] = cov.missing_report(first, covs)
    X.attrs["covariates"] = covs
    require_events(int(cpx["event"].sum()), X.shape[1], "cox")
    return cpx, X, [c for c in ivs if c in X.columns]


def fit_cox_models(cohort: Cohort, definition: OutcomeDefinition | None = None,
                   covariates: CovariateSpec = None, *,
                   reference: Mapping[str, str] | None = None,
                   min_cell: int = 10, lang: str = "en", se: str = "pupil") -> pd.DataFrame:
    """Cause-specific Cox models of return: time-varying interventions vs "ever received".

    Both models hold every started intervention of the cohort (reference: no intervention
    started *yet*, i.e. usual care up to that moment) plus the baseline ``covariates``
    (default: the cohort's adjustment set, :func:`~thuiszit_eval.covariates.
    default_adjustment_set`; or a specification such as ``"default,-ses_index"``), are
    stratified by ``swv_id`` and use the standard error ``se``: ``"pupil"`` (default,
    sandwich clustered on the pupil), ``"region"`` (clustered on ``swv_id`` with t on G − 1
    degrees of freedom) or ``"model"``; ``benchmarks/cox_coverage.py`` shows the coverage
    of each. Episodes with a missing covariate value are left out of both models and
    counted in ``.attrs["missing"]``. Raises :class:`~thuiszit_eval.estimability.
    NotEstimable` when the cohort has no started intervention or fewer than 10 returns per
    model term.

    * ``"time-varying"``: counting-process rows; an intervention is 1 from its start date on.
    * ``"ever received"``: one row per episode; 1 when the intervention was started in the
      episode at any time (the immortal-time-biased comparison).

    Returns
    -------
    DataFrame
        One row per model × term: model, term, label, kind (``intervention`` /
        ``covariate``), n_episodes and n_events (episodes with the term = 1 — for a
        time-varying intervention: episodes in which it started — and the returns observed
        while it was 1), n_episodes_ref and n_events_ref (the same for the comparison: the
        term 0 or the reference level), hr, hr_lower, hr_upper (95% CI), p. Continuous terms
        have no counts. Counts below ``min_cell`` are shown as ``"<10"`` and hide the
        estimates of their row. ``label`` is in ``lang`` (``en`` default, or ``nl``).
        ``.attrs``: ``reference`` levels, ``n_episodes``,
        ``n_events``, ``definition`` (text).

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.demo import cohort_or_demo
    >>> tab = fit_cox_models(Cohort.load(cohort_or_demo("")))   # doctest: +SKIP
    >>> compare_models(tab)                                      # doctest: +SKIP
    """
    d = definition or OutcomeDefinition()
    iv_labels = code_labels("main_intervention", lang)
    # (a) time-varying
    cpx, X, ivs = _time_varying_frame(cohort, d, covariates, reference)
    with quiet():
        fit_tv = _fit(cpx, X, "stop", "start", "event", se)
    cnt_tv = _term_counts(cpx, X, cpx["event"], cpx["episode_id"])
    # (b) ever received, on the same episodes
    st = add_derived_covariates(survival_table(cohort, d).data)
    st = st[st["episode_id"].isin(set(cpx["episode_id"]))].reset_index(drop=True)
    iv = cohort.interventions
    for c in ivs:
        got = iv.loc[(iv["intervention_code"] == c) & iv["start_date"].notna(), "episode_id"]
        st[c] = st["episode_id"].isin(set(got)).astype(int)
    covs = _available(st, covariates, cohort)
    Xe, stx = _model_frame(st, ivs, covs, X.attrs["reference"])
    ev = (stx["event"] == 1).astype(int)
    with quiet():
        # a prevalent cohort: the episodes enter at ``entry`` (delayed entry)
        fit_ever = _fit(stx.assign(_ev=ev), Xe, "duration",
                        "entry" if "entry" in stx else None, "_ev", se)
    cnt_ever = _term_counts(stx, Xe, ev, stx["episode_id"])
    out = pd.concat([_tidy(fit_tv, cnt_tv, X, MODELS[0], ivs, iv_labels, lang),
                     _tidy(fit_ever, cnt_ever, Xe, MODELS[1], ivs, iv_labels, lang)],
                    ignore_index=True)
    out = _suppress(out, min_cell)
    g = int(_region(cpx).nunique())
    out.attrs.update({"reference": dict(X.attrs["reference"]),
                      "n_episodes": int(cpx["episode_id"].nunique()),
                      "n_events": int(cpx["event"].sum()), "definition": d.describe(),
                      "se": se, "se_text": se_text(se, lang, g), "n_regions": g,
                      "covariates": list(X.attrs["covariates"]),
                      "missing": X.attrs["missing"]})
    return out


def se_note(models: pd.DataFrame, lang: str = "en"):
    """The sentence under a hazard-ratio table that says which standard error it used
    (IPython Markdown, for a notebook)."""
    from IPython.display import Markdown

    return Markdown("*" + messages.t("se.note", lang, se=se_text(
        models.attrs.get("se", "pupil"), lang, models.attrs.get("n_regions", 0))) + "*")


def se_text(se: str, lang: str = "en", n_regions: int = 0) -> str:
    """Which standard error a table used, in words (shown under every hazard-ratio table).

    >>> se_text("region", "en", 8).split(", ")[-1]
    't distribution on 7 degrees of freedom'
    """
    return messages.t(f"se.{se}", lang, df=max(n_regions - 1, 1))


def compare_models(table: pd.DataFrame, kind: str = "intervention",
                   truth: Mapping[str, float] | None = None,
                   lang: str = "en") -> pd.DataFrame:
    """Side-by-side display of the two models of :func:`fit_cox_models`.

    One row per term of ``kind`` (``"intervention"`` or ``"covariate"``; ``None`` = all),
    columns "HR (95% CI)" per model, formatted ``1.52 (1.21–1.91)`` (empty when
    suppressed), and, when ``truth`` (term → true HR, e.g. :func:`truth_hazard_ratios`) is
    given, a column with the true value. Headers and numbers in ``lang`` (``en`` default:
    a decimal point; ``nl``: a decimal comma).

    Example
    -------
    >>> t = pd.DataFrame({"model": ["time-varying", "ever received"], "term": ["bts"] * 2,
    ...                   "label": ["Back to School"] * 2, "kind": ["intervention"] * 2,
    ...                   "hr": [1.5, 0.8], "hr_lower": [1.2, 0.7], "hr_upper": [1.9, 0.9]})
    >>> compare_models(t).iloc[0].tolist()
    ['1.50 (1.20–1.90)', '0.80 (0.70–0.90)']
    """
    t = table if kind is None else table[table["kind"] == kind]

    def fmt(r: pd.Series) -> str:
        if pd.isna(r["hr"]):
            return ""
        return _fmt_ci(r["hr"], r["hr_lower"], r["hr_upper"], lang=lang)

    t = t.assign(shown=t.apply(fmt, axis=1))
    order = list(dict.fromkeys(t["label"]))
    wide = t.pivot(index="label", columns="model", values="shown").reindex(order)
    wide = wide[[m for m in MODELS if m in wide.columns]]
    wide.columns = [_tx("hr_model_ci", lang, model=model_label(m, lang)) for m in wide.columns]
    if truth is not None:
        lab = t.drop_duplicates("label").set_index("label")["term"]
        wide[_tx("true_hr", lang)] = [
            number(truth[lab[x]], lang, 2) if lab[x] in truth else "" for x in wide.index]
    wide.index.name = None
    return wide


def truth_hazard_ratios(cohort_folder: str | Path) -> dict[str, float] | None:
    """True hazard ratios from a simulated cohort's ``truth.json`` (None for real data).

    Interventions and the covariate codings of :func:`add_derived_covariates` (keys as
    term names: ``back_to_school``, ``female``, ``need_autism``, ``episode_type=dreigend``,
    ...).

    Example
    -------
    >>> truth_hazard_ratios("/nonexistent") is None
    True
    """
    path = Path(cohort_folder) / "truth.json"
    if not path.is_file():
        return None
    truth = json.loads(path.read_text())
    out = dict(truth.get("hazard_ratios", {}))
    for k, v in truth.get("hazard_ratios_covariates", {}).items():
        key = {"dreigend": "episode_type=dreigend",
               "absoluut_verzuim": "episode_type=absoluut_verzuim"}.get(k, k)
        out[key] = float(v)
    return out


def ph_check(cohort: Cohort, definition: OutcomeDefinition | None = None,
             covariates: CovariateSpec = None, *,
             reference: Mapping[str, str] | None = None, transform: str = "km",
             alpha: float = 0.05, lang: str = "en") -> pd.DataFrame:
    """Proportional-hazards test (R ``cox.zph``) of the time-varying model, read per term.

    The test asks whether a hazard ratio drifts with time since the absence start
    (``transform="km"``: time on the Kaplan–Meier scale, R's default). A small p-value
    means the hazard ratio is not constant: the model's single number is then an average
    over follow-up. Columns: term, label, chisq, df, p, reading; the last row is the
    global test (``GLOBAL``). No counts are shown.

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.demo import cohort_or_demo
    >>> ph_check(Cohort.load(cohort_or_demo(""))).tail(1)   # doctest: +SKIP
    """
    d = definition or OutcomeDefinition()
    cpx, X, ivs = _time_varying_frame(cohort, d, covariates, reference)
    z = _fit(cpx, X, "stop", "start", "event").zph(transform).table
    iv_labels = code_labels("main_intervention", lang)
    ref = X.attrs["reference"]
    z.insert(1, "label", [(_tx("all_terms", lang) if t == "GLOBAL" else
                           _term_label(t, ref, iv_labels, lang)) for t in z["term"]])
    z["reading"] = np.where(z["p"] < alpha,
                            _tx("ph_changes", lang, alpha=number(alpha, lang, 2)),
                            _tx("ph_constant", lang))
    return z


# --------------------------------------------------------------------------- competing
@dataclass
class CompetingRisksSummary:
    """Result of :func:`competing_risks_summary` (tables already suppressed).

    ``hazard_ratios``: per baseline covariate term the cause-specific HR (cs_hr,
    cs_lower, cs_upper) and the Fine–Gray subdistribution HR (fg_hr, fg_lower, fg_upper)
    for ``event_code``, with n_episodes / n_events / n_episodes_ref / n_events_ref.
    ``cumulative_incidence``: per cause and day: cause, label, day, n_risk (episodes still
    at risk), n_events (that cause up to the day), incidence (Aalen–Johansen), lower,
    upper; for the return (cause 1) also one_minus_km (competing endings censored) and
    overstatement_pp = (1 − KM − incidence) in percentage points. ``endings``: how the
    episodes ended (label, n, pct). ``aj``/``km``: the fitted curves for
    :func:`~thuiszit_eval.plots.cif_plot` and :func:`~thuiszit_eval.plots.km_vs_aj_plot`;
    ``labels``: cause code → label. ``horizon``: the curves (and the table) stop at the
    last time with at least ``min_cell`` episodes at risk: follow-up beyond it is censored
    there, so no step of a plotted curve rests on fewer pupils.
    """

    hazard_ratios: pd.DataFrame
    cumulative_incidence: pd.DataFrame
    endings: pd.DataFrame
    aj: AalenJohansenResult = field(repr=False)
    km: KaplanMeierResult = field(repr=False)
    labels: dict[int, str]
    horizon: float = np.inf
    definition: str = ""
    lang: str = "en"


def _cause_labels(d: OutcomeDefinition, lang: str = "en") -> dict[int, str]:
    end = code_labels("end_status", lang)
    out = {1: _tx("returned", lang)}
    for k, reasons in d.causes.items():
        if k >= 2:
            out[k] = end.get(reasons[0], reasons[0])
    return out


def competing_risks_summary(cohort: Cohort, definition: OutcomeDefinition | None = None,
                            covariates: CovariateSpec = None, *,
                            event_code: int = 1, days: Sequence[float] = REPORT_DAYS,
                            reference: Mapping[str, str] | None = None,
                            adjust_region: bool = True,
                            min_cell: int = 10, lang: str = "en") -> CompetingRisksSummary:
    """Cause-specific vs Fine–Gray hazard ratios, and cumulative incidence per cause.

    On the survival table (one row per episode; baseline covariates only — interventions
    start during the episode and belong in :func:`fit_cox_models`):

    * **cause-specific Cox** for ``event_code`` (competing endings censored): how the
      covariate changes the *rate* of return among pupils still at home;
    * **Fine–Gray** for ``event_code``: how it changes the *cumulative share* that returns,
      pupils who left through a competing ending staying in the risk set (they can no
      longer return). A covariate that makes exemption more likely lowers the Fine–Gray HR
      of return even when it does not change the rate of return.

    Both models hold the same terms (region as ``swv_id`` dummies when ``adjust_region``).
    Variances: cause-specific cluster-robust by pupil, Fine–Gray robust by episode (R's
    ``finegray`` + ``coxph(cluster = id)``). The cumulative incidence is Aalen–Johansen
    at ``days``; ``one_minus_km`` is 1 − Kaplan–Meier with competing endings censored,
    which always lies at or above it. Both are computed up to the last time with at least
    ``min_cell`` episodes at risk (``horizon``; later follow-up is censored there).

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.demo import cohort_or_demo
    >>> cr = competing_risks_summary(Cohort.load(cohort_or_demo("")))   # doctest: +SKIP
    >>> cr.cumulative_incidence.query("cause == 1")                     # doctest: +SKIP
    """
    d = definition or OutcomeDefinition()
    labels = _cause_labels(d, lang)
    st = add_derived_covariates(survival_table(cohort, d).data)
    entry = "entry" if "entry" in st else None
    # ---- hazard ratios
    covs = _available(st, covariates, cohort)
    if adjust_region and REGION in st:
        st[REGION] = _region(st)
        covs = [*covs, REGION]
    X, stx = _model_frame(st, [], covs, reference)
    ev = (stx["event"] == event_code).astype(int)
    require_events(int(ev.sum()), X.shape[1], "fine_gray")
    df = X.assign(duration=stx["duration"].to_numpy(), event=stx["event"].to_numpy(),
                  pupil=stx["pupil_id"].to_numpy(),
                  **({"entry": stx["entry"].to_numpy()} if entry else {}))
    with quiet():
        cs = cox_ph(df, "duration", "event", list(X.columns), event_code=event_code,
                    cluster="pupil", entry=entry).table.set_index("term")
        fg = fine_gray(df, "duration", "event", list(X.columns),
                       event_code=event_code, entry=entry).table.set_index("term")
    counts = _term_counts(stx, X, ev, stx["episode_id"])
    ref = X.attrs["reference"]
    hr = pd.DataFrame({
        "term": X.columns,
        "label": [_term_label(t, ref, {}, lang) for t in X.columns],
        "kind": ["region" if t.startswith(f"{REGION}=") else "covariate" for t in X.columns],
    })
    hr = pd.concat([hr, counts.reset_index(drop=True)], axis=1)
    for pre, tab in (("cs", cs), ("fg", fg)):
        for c in ("hr", "hr_lower", "hr_upper"):
            hr[f"{pre}_{c.replace('hr_', '')}" if c != "hr" else f"{pre}_hr"] = \
                tab.loc[X.columns, c].to_numpy()
    hr = _suppress(hr, min_cell)
    hr.attrs["reference"] = dict(ref)
    # ---- cumulative incidence per cause, curves cut where fewer than min_cell are at risk
    ent = st["entry"].to_numpy(float) if entry else np.zeros(len(st))
    dur = np.sort(st["duration"].to_numpy())
    e_sorted = np.sort(ent)

    def n_at_risk(t: np.ndarray) -> np.ndarray:  # entry < t <= duration
        n = len(dur) - np.searchsorted(dur, t, side="left")
        return n - (len(e_sorted) - np.searchsorted(e_sorted, t, side="left")) if entry else n

    at_risk = n_at_risk(dur)
    horizon = float(dur[at_risk >= min_cell].max()) if (at_risk >= min_cell).any() else 0.0
    data = pd.DataFrame({
        "duration": np.minimum(st["duration"].to_numpy(), horizon),
        "event": np.where(st["duration"].to_numpy() > horizon, 0, st["event"].to_numpy()),
        **({"entry": ent} if entry else {}),
    })
    if entry:
        data = data[data["entry"] < data["duration"]].reset_index(drop=True)
    aj = aalen_johansen(data, entry=entry)
    km = kaplan_meier(data, event_code=event_code, entry=entry)
    days_a = np.asarray(days, dtype=float)
    n_risk = n_at_risk(days_a)
    rows = []
    for cause in [c for c in aj.causes if c > 0]:
        at = aj.at_times(days_a, cause)
        times = data.loc[data["event"] == cause, "duration"].to_numpy()
        n_ev = np.array([(times <= t).sum() for t in days_a])
        part = pd.DataFrame({"cause": cause, "label": labels.get(cause, str(cause)),
                             "day": days_a.astype(int), "n_risk": n_risk, "n_events": n_ev,
                             "incidence": at["pstate"].to_numpy(),
                             "lower": at["lower"].to_numpy(), "upper": at["upper"].to_numpy()})
        if cause == event_code:
            part["one_minus_km"] = km.at_times(days_a)["returned"].to_numpy()
            part["overstatement_pp"] = 100 * (part["one_minus_km"] - part["incidence"])
        rows.append(part)
    ci = pd.concat(rows, ignore_index=True)
    est = ["incidence", "lower", "upper", "one_minus_km", "overstatement_pp"]
    # a cumulative incidence times n gives its count back: hide it with the count
    ci = suppress_small(ci, ["n_risk", "n_events"], min_cell,
                        hide={"n_risk": [c for c in est if c in ci],
                              "n_events": [c for c in est if c in ci]})
    for c in est:
        if c in ci:
            ci[c] = pd.to_numeric(ci[c], errors="coerce")
    # ---- endings
    lab = {0: _tx("censored", lang), **labels}
    n = st["event"].map(lab).value_counts().reindex(list(dict.fromkeys(
        lab[k] for k in sorted(lab)))).fillna(0).astype(int)
    endings = pd.DataFrame({"ending": n.index, "n": n.to_numpy(),
                            "pct": np.round(100 * n.to_numpy() / max(len(st), 1), 1)})
    endings = endings[endings["n"] > 0].reset_index(drop=True)
    endings = suppress_small(endings, ["n"], min_cell, hide={"n": ["pct"]}, within=[[]])
    return CompetingRisksSummary(hr, ci, endings, aj, km, labels, horizon, d.describe(), lang)


# --------------------------------------------------------------------------- display
def _fmt_ci(est: object, lo: object, hi: object, pct: bool = False, lang: str = "en") -> str:
    if est is None or pd.isna(est):
        return ""
    if pct:
        return (f"{number(100 * est, lang, 1)}% "
                f"({number(100 * lo, lang, 1)}–{number(100 * hi, lang, 1)})")
    return f"{number(est, lang, 2)} ({number(lo, lang, 2)}–{number(hi, lang, 2)})"


def _fmt_p(p: object, lang: str = "en") -> str:
    if p is None or pd.isna(p):
        return ""
    return f"<{number(0.001, lang, 3)}" if p < 0.001 else number(p, lang, 3)


def display_hazard_ratios(table: pd.DataFrame, model: str = "time-varying",
                          lang: str = "en") -> pd.DataFrame:
    """One model of :func:`fit_cox_models` for reading: counts, "HR (95% CI)", p.

    Headers and numbers in ``lang`` (``en`` default, or ``nl``).

    Example
    -------
    >>> t = pd.DataFrame({"model": ["time-varying"], "term": ["bts"], "label": ["BtS"],
    ...                   "kind": ["intervention"], "n_episodes": [655], "n_events": [472],
    ...                   "n_episodes_ref": [2319], "n_events_ref": [1104], "hr": [1.517],
    ...                   "hr_lower": [1.33], "hr_upper": [1.73], "p": [1e-9]})
    >>> display_hazard_ratios(t).iloc[0, 2:].tolist()
    ['1.52 (1.33–1.73)', '<0.001']
    """
    t = table[table["model"] == model]
    out = pd.DataFrame({
        _tx("episodes_with", lang): t["n_episodes"].where(t["n_episodes"].notna(), ""),
        _tx("returns_exposed", lang): t["n_events"].where(t["n_events"].notna(), ""),
        _tx("hr_ci", lang): [_fmt_ci(*r, lang=lang)
                             for r in t[["hr", "hr_lower", "hr_upper"]].to_numpy()],
        "p": [_fmt_p(p, lang) for p in t["p"]],
    })
    out.index = pd.Index(t["label"].to_numpy(), name=None)
    return out


def display_competing(summary: CompetingRisksSummary, region: bool = False,
                      lang: str | None = None) -> pd.DataFrame:
    """Cause-specific and Fine–Gray hazard ratios side by side, formatted for reading.

    Region rows are left out unless ``region``. Headers and numbers in ``lang`` (default:
    the summary's). Example: see :func:`competing_risks_summary`.
    """
    lang = lang or summary.lang
    t = summary.hazard_ratios
    if not region:
        t = t[t["kind"] != "region"]
    out = pd.DataFrame({
        _tx("episodes_with", lang): t["n_episodes"].where(t["n_episodes"].notna(), ""),
        _tx("returns", lang): t["n_events"].where(t["n_events"].notna(), ""),
        _tx("cs_hr", lang): [
            _fmt_ci(*r, lang=lang) for r in t[["cs_hr", "cs_lower", "cs_upper"]].to_numpy()],
        _tx("fg_hr", lang): [
            _fmt_ci(*r, lang=lang) for r in t[["fg_hr", "fg_lower", "fg_upper"]].to_numpy()],
    })
    out.index = pd.Index(t["label"].to_numpy(), name=None)
    return out


def display_incidence(summary: CompetingRisksSummary, lang: str | None = None) -> pd.DataFrame:
    """Cumulative incidence per cause (rows) at each reported day (columns), in percent
    with 95% CI; for the return also 1 − KM and the overstatement in percentage points.
    Suppressed cells are empty. Headers and numbers in ``lang`` (default: the summary's).
    Example: see :func:`competing_risks_summary`.
    """
    lang = lang or summary.lang
    day = lambda d: _tx("day", lang, day=f"{d:g}")  # noqa: E731
    ci = summary.cumulative_incidence
    rows = {}
    for (_, label), g in ci.groupby(["cause", "label"], sort=True):
        rows[label] = {day(d): _fmt_ci(e, lo, hi, pct=True, lang=lang) for d, e, lo, hi in
                       g[["day", "incidence", "lower", "upper"]].to_numpy()}
        if "one_minus_km" in g and g["one_minus_km"].notna().any():
            rows[_tx("one_minus_km", lang)] = {
                day(d): "" if pd.isna(v) else f"{number(100 * v, lang, 1)}%"
                for d, v in g[["day", "one_minus_km"]].to_numpy()}
            rows[_tx("overstatement", lang)] = {
                day(d): "" if pd.isna(v) else number(v, lang, 1)
                for d, v in g[["day", "overstatement_pp"]].to_numpy()}
    return pd.DataFrame.from_dict(rows, orient="index")


def hr_differences(summary: CompetingRisksSummary, close: float = 0.05) -> pd.DataFrame:
    """Baseline terms by how far their Fine–Gray HR lies from their cause-specific HR.

    One row per covariate term with both HRs (region rows and hidden estimates left out):
    label, cs_hr, fg_hr, log_ratio (log fg_hr − log cs_hr; below 0: the share returned is
    lower than the rate of return alone suggests) and close (the two differ by less than
    ``close`` on the HR scale), largest absolute log ratio first. The numbers a sentence
    about notebook 05's table needs. Example: see :func:`competing_risks_summary`.
    """
    t = summary.hazard_ratios
    t = t[(t["kind"] != "region")].copy()
    cs = pd.to_numeric(t["cs_hr"], errors="coerce")
    fg = pd.to_numeric(t["fg_hr"], errors="coerce")
    out = pd.DataFrame({"label": t["label"].to_numpy(), "cs_hr": cs.to_numpy(),
                        "fg_hr": fg.to_numpy()}).dropna(subset=["cs_hr", "fg_hr"])
    out["log_ratio"] = np.log(out["fg_hr"]) - np.log(out["cs_hr"])
    out["close"] = (out["fg_hr"] - out["cs_hr"]).abs() < close
    order = out["log_ratio"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)


def _intervention_estimates(models: pd.DataFrame) -> pd.DataFrame:
    """Intervention rows of :func:`fit_cox_models`, one row per term, columns
    (``hr``/``hr_lower``/``hr_upper``, model); terms missing in a model are dropped."""
    iv = models[models["kind"] == "intervention"]
    return iv.pivot(index="term", columns="model",
                    values=["hr", "hr_lower", "hr_upper"]).dropna()


def compare_reading(models: pd.DataFrame) -> dict[str, int]:
    """The counts the sentence comparing the two intervention models needs.

    ``n_iv``: interventions estimated in both models; ``n_lower``: of those, how many have
    a lower "ever received" HR than the time-varying one; ``n_harm`` / ``n_harm_tv``: how
    many have an upper confidence limit below 1 in the "ever received" / time-varying model.

    Example
    -------
    >>> rows = [("a", "time-varying", 1.5, 1.2, 1.9), ("a", "ever received", 0.7, 0.5, 0.9),
    ...         ("b", "time-varying", 0.8, 0.6, 0.95), ("b", "ever received", 0.9, 0.7, 1.1)]
    >>> models = pd.DataFrame(rows, columns=["term", "model", "hr", "hr_lower", "hr_upper"])
    >>> compare_reading(models.assign(kind="intervention"))
    {'n_iv': 2, 'n_lower': 1, 'n_harm': 1, 'n_harm_tv': 1}
    """
    est = _intervention_estimates(models)
    hr, upper = est["hr"], est["hr_upper"]
    return {"n_iv": len(est),
            "n_lower": int((hr["ever received"] < hr["time-varying"]).sum()),
            "n_harm": int((upper["ever received"] < 1).sum()),
            "n_harm_tv": int((upper["time-varying"] < 1).sum())}


def truth_reading(models: pd.DataFrame, truth: Mapping[str, float], lang: str = "en"
                  ) -> tuple[dict[str, object], str]:
    """The numbers the sentence comparing the models with the true HRs needs, and the missed terms.

    Only interventions estimated in both models and present in ``truth`` count. Returns
    ``(numbers, missed)``: ``numbers`` has ``n_truth``, ``n_tv_cover`` / ``n_ever_cover``
    (intervals of the time-varying / "ever received" model covering the true HR), ``top``
    (label of the intervention with the largest true HR), ``top_true`` and ``top_tv`` /
    ``top_ever`` (HR with interval, formatted for ``lang``); ``missed`` lists the labels
    (in italics) whose time-varying interval misses the truth, "" when none does.

    Example
    -------
    >>> rows = [("a", "time-varying", 1.5, 1.2, 1.9), ("a", "ever received", 0.7, 0.5, 0.9),
    ...         ("b", "time-varying", 0.8, 0.6, 0.95), ("b", "ever received", 0.9, 0.7, 1.1)]
    >>> models = pd.DataFrame(rows, columns=["term", "model", "hr", "hr_lower", "hr_upper"])
    >>> models = models.assign(kind="intervention", label=models["term"].str.upper())
    >>> numbers, missed = truth_reading(models, {"a": 1.6, "b": 1.0}, "nl")
    >>> numbers["n_tv_cover"], numbers["n_ever_cover"], numbers["top"], numbers["top_tv"]
    (1, 1, 'A', '1,50 (1,20–1,90)')
    >>> missed
    '*B*'
    """
    est = _intervention_estimates(models)
    label = models.drop_duplicates("term").set_index("term")["label"]

    def ci(term: str, m: str) -> str:
        hr, lo, hi = (number(est.loc[term, (c, m)], lang, 2)
                      for c in ("hr", "hr_lower", "hr_upper"))
        return f"{hr} ({lo}–{hi})"

    def covers(term: str, m: str) -> bool:
        return bool(est.loc[term, ("hr_lower", m)] <= truth[term] <= est.loc[term, ("hr_upper", m)])

    terms = [x for x in est.index if x in truth]
    top = max(terms, key=lambda x: truth[x])
    numbers = {"n_truth": len(terms),
               "n_tv_cover": sum(covers(x, "time-varying") for x in terms),
               "n_ever_cover": sum(covers(x, "ever received") for x in terms),
               "top": label[top], "top_true": number(truth[top], lang, 2),
               "top_tv": ci(top, "time-varying"), "top_ever": ci(top, "ever received")}
    missed = markdown(", ".join(f"*{escape_markdown(label[x])}*" for x in terms
                                if not covers(x, "time-varying")))
    return numbers, missed


def ph_terms_text(rows: pd.DataFrame, lang: str = "en") -> str:
    """Terms of :func:`ph_check` for the text: label in italics with its p-value.

    Example
    -------
    >>> rows = pd.DataFrame({"label": ["girl", "age"], "p": [0.0123, 0.04]})
    >>> ph_terms_text(rows, "nl")
    '*girl* (p = 0,012), *age* (p = 0,040)'
    """
    return markdown(", ".join(f"*{escape_markdown(r.label)}* (p = {number(r.p, lang, 3)})"
                              for r in rows.itertuples()))
