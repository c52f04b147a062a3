"""Target-trial emulation of a time-varying start by clone-censor-weight (CCW).

Back to School starts weeks after the report, so "ever vs never" comparisons count the
waiting time before the start as treated (immortal time) and mix that with confounding by
indication. A target-trial emulation asks a question a randomised trial could answer:

    *Among pupils reported as staying home (5-14 years, lrv or absoluut verzuim), what
    is the time at home under "start Back to School within 28 days of the report" versus
    "do not start within 28 days"?*

:class:`TargetTrial` writes that protocol down and prints it in plain words.
:func:`clone_censor_weight` emulates it: every eligible episode is *cloned* into both
arms at time zero (the report), each clone is *censored* on the day its observed course
deviates from its arm's strategy, and the remaining clones are *weighted* by the inverse
probability of staying uncensored:

* arm B ("not within 28 days") clones are censored on the day Back to School starts in
  the grace period; weights ``1 / P(not started by day d-1 | X)`` from a pooled logistic
  model of the daily initiation hazard on person-days 1..28 (fitted on person-day data
  aggregated per episode and time band: the same likelihood, a fraction of the rows);
* arm A ("within 28 days") clones still home and not started at the end of the grace
  period are censored there; from then on the starters get weight
  ``1 / P(started by day 28 | X, still home at day 28)`` (logistic model among the pupils
  still home at day 28 -- conditioning on being home matters because starting speeds up
  the return);
* competing endings (exemptions, moving, ageing out) are removed by
  inverse-probability-of-censoring weights from a pooled logistic model of their daily
  hazard on baseline covariates and time bands (administrative censoring at follow-up end
  is taken as independent, or weighted as well with ``admin_censoring="weighted"``).

Weighted Kaplan-Meier curves per arm give the RMST ("days at home") at 91 and 182 days and
their difference. Intervals come from a bootstrap over pupils that re-fits every weight
model (joblib, all cores), or -- without bootstrap -- from a robust influence-function
variance clustered on pupils that treats the weights as known.

:func:`naive_analysis` is the biased contrast (ever vs never Back to School, clock from
the report) and :func:`thuiszit_eval.effects.landmark.landmark_analysis` the landmark one.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.demo import cohort_or_demo
>>> from thuiszit_eval.effects.target_trial import TargetTrial, clone_censor_weight
>>> sim = Cohort.load(cohort_or_demo(""))
>>> res = clone_censor_weight(sim, TargetTrial(), n_boot=0)
>>> list(res.rmst.columns[:4])
['tau', 'rmst_A', 'rmst_B', 'difference']
>>> "Time zero" in res.protocol.describe()
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from .. import covariates as cov
from .. import estimability, messages
from ..estimability import NotEstimable
from ._fast import xtwx
from .marginal_hr import marginal_hazard_ratio

__all__ = [
    "TargetTrial",
    "EffectResult",
    "DEFAULT_COVARIATES",
    "eligible_episodes",
    "clones",
    "clone_censor_weight",
    "naive_analysis",
]

#: the standard baseline covariates of the weight models (:mod:`thuiszit_eval.covariates`);
#: the cohort's declared extra fields are added to them (:func:`eligible_episodes`), and
#: region dummies (``swv_id``) by the design
DEFAULT_COVARIATES: tuple[str, ...] = (
    "female", "age_12plus", "need_autism", "need_psychiatric", "need_zmolk",
    "need_school_refusal", "need_bullying_trauma", "need_behaviour", "need_family",
    "living_out_of_home", "absoluut_verzuim", "prior_episode", "weeks_home_at_report",
)
#: fewest episodes that start (and that do not start) the treatment in the grace period,
#: and fewest returns, for the weight models to be models (thuiszit_eval.estimability)
MIN_STARTERS = 20
MIN_RETURNS = 20
RETURN_PREFIX = "returned"


# ----------------------------------------------------------------------------------------
# The protocol
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetTrial:
    """The protocol of the emulated trial.

    Attributes:
        treatment: intervention code whose start defines the strategies.
        grace_days: the grace period: strategy A means starting within this many days
            of time zero, strategy B means not starting within it.
        episode_types: eligible episode types.
        min_age, max_age: eligible ages (completed years, month-based) at time zero; the
            treatment can start until the pupil turns ``max_age + 1``.
        taus: horizons (days since time zero) of the restricted mean time at home.
        name_a, name_b: short labels of the strategies.

    Example:
        >>> p = TargetTrial()
        >>> print(p.describe().splitlines()[0])
        Emulated target trial: Back to School within 28 days of the report
        >>> p.to_frame().loc["Time zero", "specification"][:13]
        'the report to'
    """

    treatment: str = "back_to_school"
    grace_days: int = 28
    episode_types: tuple[str, ...] = ("lrv", "absoluut_verzuim")
    min_age: int = 5
    max_age: int = 14
    taus: tuple[int, ...] = (91, 182)
    name_a: str = "A: start within 28 days"
    name_b: str = "B: no start within 28 days"

    @property
    def treatment_label(self) -> str:
        """Readable name of the treatment."""
        return self.treatment.replace("_", " ").title().replace("To", "to")

    def components(self, lang: str = "en") -> dict[str, str]:
        """Protocol component -> specification in plain words (``lang``: ``en`` or ``nl``).

        Example:
            >>> TargetTrial().components("nl")["Respijtperiode"][:8]
            '28 dagen'
        """
        if lang == "nl":
            return self._components_nl()
        if lang != "en":
            raise ValueError(f"language {lang!r} not available; choose one of nl, en")
        from ..schema import labels

        g, tr = self.grace_days, self.treatment_label
        names = labels("episode_type", "en")
        types = " or ".join(names.get(c, c) for c in self.episode_types)
        return {
            "Eligibility": f"episodes of type {types}, reported to the attendance officer, "
                           f"pupil aged {self.min_age}-{self.max_age} at the report, and "
                           "still at home on the day of the report",
            "Strategies": f"A: start {tr} within {g} days of the report; "
                          f"B: do not start {tr} within {g} days (it may start later)",
            "Grace period": f"{g} days: under A a pupil still at home and not started by "
                            f"day {g} deviates; under B a start on day 1-{g} deviates",
            "Assignment": "each eligible episode is cloned into both arms at time zero "
                          "(no one is assigned by the data; the clones share day 0)",
            "Time zero": "the report to the attendance officer, when "
                         "eligibility is met and the strategies start",
            "Outcome": "return to school (any ending that is a return, in full, partial, to "
                       "special education or to another school); time at home counted in "
                       f"days since the report; restricted mean time at home up to "
                       f"{' and '.join(str(t) for t in self.taus)} days",
            "Follow-up": "from the report until return, deviation from the arm's strategy "
                         "(artificial censoring), a competing ending or the end of "
                         "follow-up",
            "Causal contrast": "per-protocol effect of the strategies; estimand is "
                               "hypothetical: the return-time distribution had no pupil "
                               "been able to leave otherwise (exemptions, moving, ageing "
                               "out and administrative censoring removed)",
            "Analysis": "clone-censor-weight: inverse-probability weights for the "
                        "artificial censoring (initiation in the grace period) and for "
                        "competing endings, both from baseline covariates; weighted "
                        "Kaplan-Meier per arm; RMST difference A - B (negative: fewer "
                        "days at home under A)",
            "Assumptions": "no unmeasured confounding of the start and of competing "
                           "endings given the baseline covariates, positivity (every "
                           "pupil could start or not start), correct weight models",
        }

    def _components_nl(self) -> dict[str, str]:
        """The protocol in plain Dutch (the words of :meth:`components` for ``nl``)."""
        from ..schema import labels

        g, tr = self.grace_days, self.treatment_label
        names = labels("episode_type", "nl")
        types = " of ".join(names.get(c, c) for c in self.episode_types)
        return {
            "Geschiktheid": f"episodes van het type {types}, gemeld bij de "
                            f"leerplichtambtenaar, leerling {self.min_age}-{self.max_age} "
                            "jaar oud bij de melding en op de dag van de melding nog thuis",
            "Strategieën": f"A: {tr} start binnen {g} dagen na de melding; "
                           f"B: {tr} start niet binnen {g} dagen (later starten mag)",
            "Respijtperiode": f"{g} dagen: onder A wijkt een leerling af die op dag {g} nog "
                              f"thuis is en niet gestart; onder B wijkt een start op dag "
                              f"1-{g} af",
            "Toewijzing": "elke geschikte episode wordt op tijdstip nul in beide armen "
                          "gekloond (de gegevens wijzen niemand toe; de klonen delen dag 0)",
            "Tijdstip nul": "de melding bij de leerplichtambtenaar: dan is "
                            "aan de geschiktheid voldaan en beginnen de strategieën",
            "Uitkomst": "terugkeer naar school (elke afloop die een terugkeer is: volledig, "
                        "gedeeltelijk, in speciaal onderwijs of op een andere school); "
                        "tijd thuis in dagen "
                        "sinds de melding; beperkt gemiddelde tijd thuis (RMST) tot "
                        f"{' en '.join(str(t) for t in self.taus)} dagen",
            "Follow-up": "vanaf de melding tot terugkeer, afwijking van de strategie van de "
                         "arm (kunstmatige censurering), een andere uitstroom of het einde "
                         "van de follow-up",
            "Causaal contrast": "per-protocoleffect van de strategieën; de effectmaat is "
                                "hypothetisch: de tijd tot terugkeer als geen leerling op een "
                                "andere manier had kunnen uitstromen (vrijstellingen, "
                                "verhuizing, einde leerplicht en administratieve censurering "
                                "weggenomen)",
            "Analyse": "clone-censor-weight: inverse-kansgewichten voor de kunstmatige "
                       "censurering (start binnen de respijtperiode) en voor andere "
                       "uitstroom, beide uit de kenmerken bij de melding; gewogen "
                       "Kaplan-Meier per arm; RMST-verschil A - B (negatief: minder dagen "
                       "thuis onder A)",
            "Aannames": "geen ongemeten confounding van de start en van andere uitstroom "
                        "gegeven de kenmerken bij de melding, positiviteit (elke leerling "
                        "kon starten of niet starten), juiste gewichtsmodellen",
        }

    def to_frame(self, lang: str = "en") -> pd.DataFrame:
        """The protocol as a table (component, specification), in ``lang`` (en or nl)."""
        comp = self.components(lang)
        col = messages.t("target_trial.col_specification", lang)
        idx = messages.t("target_trial.col_component", lang)
        return pd.DataFrame({col: list(comp.values())}, index=pd.Index(list(comp), name=idx))

    def describe(self, lang: str = "en") -> str:
        """The emulated protocol in plain words (printed by every result); ``lang`` en/nl.

        Example:
            >>> print(TargetTrial().describe("nl").splitlines()[0])
            Geëmuleerde target trial: Back to School binnen 28 dagen na de melding
        """
        comp = self.components(lang)
        first = messages.t("target_trial.title", lang, treatment=self.treatment_label,
                           grace_days=self.grace_days)
        return "\n".join([first, *(f"  {k}: {v}" for k, v in comp.items())])

    def __str__(self) -> str:
        return self.describe()


# ----------------------------------------------------------------------------------------
# Data: one row per eligible episode
# ----------------------------------------------------------------------------------------
def _tables_and_fu(data: Any, follow_up_end: Any) -> tuple[dict[str, pd.DataFrame],
                                                            pd.Timestamp]:
    if isinstance(data, str | Path):
        from ..cohort import Cohort

        data = Cohort.load(data)
    if hasattr(data, "tables"):  # SimulatedCohort
        tables = data.tables
        fu = follow_up_end or data.metadata.get("follow_up_end")
    elif isinstance(data, dict):
        tables = data
        fu = follow_up_end
    elif hasattr(data, "episodes"):  # Cohort
        tables = {t: getattr(data, t) for t in ("pupils", "episodes", "interventions")}
        fu = follow_up_end or data.follow_up_end
    else:
        raise TypeError("pass a Cohort, a SimulatedCohort, a dict of tables or a folder")
    if fu is None or pd.isna(pd.Timestamp(fu)):
        # never guessed: the censoring date decides who is still at home
        raise ValueError("follow_up_end is needed with a dict of tables: the date up to "
                         "which the data are complete")
    return tables, pd.Timestamp(fu)


def _is_prepared(data: Any) -> bool:
    return isinstance(data, pd.DataFrame) and {"time", "start_day", "returned"} <= set(
        data.columns)


def eligible_episodes(data: Any, protocol: TargetTrial | None = None,
                      follow_up_end: dt.date | str | None = None,
                      covariates: str | Sequence[str] | None = None) -> pd.DataFrame:
    """One row per eligible episode with the times the emulation needs.

    Args:
        data: a :class:`~thuiszit_eval.cohort.Cohort`, a cohort folder, a
            :class:`~thuiszit_eval.simulate.SimulatedCohort` or a dict of typed tables.
        protocol: the :class:`TargetTrial` (default: the Back to School protocol).
        follow_up_end: needed (only) for a dict of tables; never guessed.
        covariates: the weight models' adjustment set: None (default: the standard terms
            :data:`DEFAULT_COVARIATES` plus the cohort's declared extra fields, those that
            vary) or a specification as in :func:`thuiszit_eval.covariates.parse_spec`.

    Returns:
        Columns ``episode_id``, ``pupil_id``, ``swv_id``, ``reported_date``, ``time``
        (days from the report to the end or to follow-up end), ``returned``,
        ``competing`` (a non-return ending), ``start_day`` (days from the report to the
        treatment start, NaN if none), ``age_limit_day`` (first day since the report on
        which the pupil is too old to start), the adjustment covariates and
        ``age_at_report``. Episodes with a missing covariate value are left out;
        ``.attrs["covariates"]`` lists the adjustment set and ``.attrs["missing"]`` counts
        what was left out (:func:`thuiszit_eval.covariates.missing_report`).

    Example:
        >>> from thuiszit_eval.cohort import Cohort
        >>> from thuiszit_eval.demo import cohort_or_demo
        >>> el = eligible_episodes(Cohort.load(cohort_or_demo("")))
        >>> bool((el["time"] > 0).all() and el["age_at_report"].between(5, 14).all())
        True
    """
    protocol = protocol or TargetTrial()
    tables, fu = _tables_and_fu(data, follow_up_end)
    source = data if hasattr(data, "episodes") and not isinstance(data, dict) else tables
    ep = tables["episodes"].copy()
    for c in ("absence_start", "reported_date", "end_date"):
        ep[c] = pd.to_datetime(ep[c])
    ep = ep.sort_values(["pupil_id", "absence_start"], kind="stable").reset_index(drop=True)
    covs = cov.episode_covariates(source, ep, origin="absence_start")
    base = ep[["episode_id", "pupil_id", "episode_type", "absence_start", "reported_date",
               "end_date", "end_reason"]]
    cov_cols = covs.drop(columns=[c for c in base.columns if c in covs])
    cov_ = pd.concat([base, cov_cols], axis=1)
    if "swv_id" not in cov_:
        cov_["swv_id"] = "all"
    rep = cov_["reported_date"]
    pupils = tables["pupils"].drop_duplicates("pupil_id").set_index("pupil_id")
    bm = pd.PeriodIndex(pd.to_datetime(pupils.loc[cov_["pupil_id"], "birth_month"]), freq="M")
    birth_idx = np.asarray(bm.year * 12 + bm.month - 1)
    rp = pd.PeriodIndex(rep.fillna(fu), freq="M")
    age_rep = (np.asarray(rp.year * 12 + rp.month - 1) - birth_idx) // 12
    end = cov_["end_date"]
    keep = (cov_["episode_type"].isin(protocol.episode_types).to_numpy()
            & rep.notna().to_numpy()
            & (rep <= fu).to_numpy() & (age_rep >= protocol.min_age)
            & (age_rep <= protocol.max_age) & (end.isna() | (end > rep)).to_numpy())
    el = cov_.loc[keep].reset_index(drop=True)
    el["age_at_report"] = age_rep[keep]
    el["weeks_home_at_report"] = (el["reported_date"] - el["absence_start"]).dt.days / 7.0
    el["time"] = (el["end_date"].fillna(fu).clip(upper=fu) - el["reported_date"]).dt.days
    reason = el["end_reason"].fillna("").astype(str)
    ended = el["end_date"].notna() & (el["end_date"] <= fu)
    el["returned"] = ended & reason.str.startswith(RETURN_PREFIX)
    el["competing"] = ended & ~el["returned"]
    iv = tables.get("interventions")
    if iv is not None and len(iv):
        iv = iv[(iv["intervention_code"] == protocol.treatment) & iv["start_date"].notna()]
        first = pd.to_datetime(iv["start_date"]).groupby(iv["episode_id"]).min()
        start = el["episode_id"].map(first)
        el["start_day"] = (start - el["reported_date"]).dt.days.astype(float)
        el.loc[el["start_day"] > el["time"], "start_day"] = np.nan  # after the episode
        el["start_day"] = el["start_day"].clip(lower=0)
    else:
        el["start_day"] = np.nan
    limit_month = birth_idx[keep] + (protocol.max_age + 1) * 12
    limit = pd.to_datetime({"year": limit_month // 12, "month": limit_month % 12 + 1,
                            "day": 1})
    el["age_limit_day"] = (limit - el["reported_date"]).dt.days.to_numpy()
    terms = cov.resolve(covariates, source, el, base=DEFAULT_COVARIATES)
    terms = [t for t in terms if t not in ("episode_type", "dreigend")]  # eligibility fixes them
    cols = ["episode_id", "pupil_id", "swv_id", "episode_type", "reported_date",
            "end_date", "end_reason", "time", "returned", "competing", "start_day",
            "age_limit_day", "age_at_report", *terms]
    el, missing = cov.complete_cases(el[list(dict.fromkeys(cols))], terms)
    el = el.reset_index(drop=True)
    el.attrs.update({"covariates": terms, "missing": missing,
                     "follow_up_end": fu.strftime("%Y-%m-%d")})
    return el


@dataclass
class _Arrays:
    """Numpy view of the eligible episodes (what the estimators and bootstrap use)."""

    time: np.ndarray  # int days
    returned: np.ndarray  # bool
    competing: np.ndarray  # bool
    start: np.ndarray  # float, inf = no start
    age_limit: np.ndarray  # int days
    x: np.ndarray  # design without intercept
    names: list[str]
    cluster: np.ndarray  # pupil codes 0..m-1

    def take(self, idx: np.ndarray, cluster: np.ndarray | None = None) -> _Arrays:
        return _Arrays(self.time[idx], self.returned[idx], self.competing[idx],
                       self.start[idx], self.age_limit[idx], self.x[idx], self.names,
                       self.cluster[idx] if cluster is None else cluster)


def adjustment_terms(el: pd.DataFrame, covariates: str | Sequence[str] | None = None
                     ) -> list[str]:
    """The weight models' covariates: those :func:`eligible_episodes` chose (its
    ``.attrs["covariates"]``), else the standard ones present, or a specification."""
    if covariates is None:
        chosen = el.attrs.get("covariates")
        if chosen is not None:
            return list(chosen)
        return [c for c in DEFAULT_COVARIATES if c in el and el[c].nunique() > 1]
    terms = cov.parse_spec(covariates, adjustment_terms(el))
    unknown = [c for c in terms if c not in el]
    if unknown:
        raise cov.CovariateError(f"covariate(s) {', '.join(unknown)} not in the eligible "
                                 "episodes; pass them to eligible_episodes(covariates=...)")
    return terms


def _numeric(el: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numbers and booleans as they are; a coded (text) covariate as 0/1 dummies against
    its most frequent level."""
    cols, names = [], []
    for c in covariates:
        s = el[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or isinstance(
                s.dtype, pd.BooleanDtype):
            cols.append(s.astype(float).to_numpy()[:, None])
            names.append(c)
            continue
        levels = s.astype(str).value_counts().index.tolist()
        for lv in levels[1:]:
            cols.append((s.astype(str) == lv).to_numpy(float)[:, None])
            names.append(f"{c}={lv}")
    x = np.hstack(cols) if cols else np.empty((len(el), 0))
    return x, names


def _arrays(el: pd.DataFrame, covariates: Sequence[str], region: str | None) -> _Arrays:
    x, names = _numeric(el, covariates)
    if region and region in el:
        dummies = pd.get_dummies(el[region].astype(str), prefix=region, drop_first=True,
                                 dtype=float)
        x = np.column_stack([x, dummies.to_numpy()])
        names += list(dummies.columns)
    return _Arrays(
        time=el["time"].to_numpy(np.int64),
        returned=el["returned"].to_numpy(bool),
        competing=el["competing"].to_numpy(bool),
        start=el["start_day"].fillna(np.inf).to_numpy(float),
        age_limit=el["age_limit_day"].to_numpy(np.int64),
        x=x, names=names,
        cluster=pd.factorize(el["pupil_id"])[0],
    )


# ----------------------------------------------------------------------------------------
# Pooled logistic models on aggregated person-time
# ----------------------------------------------------------------------------------------
def _logit(x: np.ndarray, success: np.ndarray, trials: np.ndarray,
           n_lead: int = 1, band: np.ndarray | None = None) -> np.ndarray:
    """Binomial GLM (logit) of success/trials; returns the coefficients.

    Equivalent to a logistic regression on the expanded person-days. Rows with
    ``trials == 0`` are dropped. The first ``n_lead`` columns (intercept or time-band
    dummies) are kept when not all zero; the other columns only when they vary, so a rare
    dummy missing from a bootstrap sample gets coefficient 0 instead of breaking the fit.
    """
    use = trials > 0
    xs, s, n = x[use], success[use], trials[use]
    beta = np.zeros(x.shape[1])
    if not len(xs):
        return beta
    keep = np.abs(xs).sum(0) > 0
    keep[n_lead:] &= xs[:, n_lead:].std(0) > 0
    start = np.zeros(x.shape[1])
    if band is not None:  # start the band dummies at the crude logit per band
        b = band[use]
        for k in range(n_lead):
            m = b == k
            rate = np.clip(s[m].sum() / max(n[m].sum(), 1e-12), 1e-8, 1 - 1e-8)
            start[k] = np.log(rate / (1 - rate))
    beta[keep] = _binomial_newton(xs[:, keep], s, n, start[keep])
    return beta


def _binomial_newton(x: np.ndarray, s: np.ndarray, n: np.ndarray,
                     beta0: np.ndarray | None = None, max_iter: int = 50,
                     tol: float = 1e-9) -> np.ndarray:
    """Maximum likelihood of the binomial logit model by Newton-Raphson.

    The same estimate as ``statsmodels.api.GLM(np.column_stack([s, n - s]), x,
    family=Binomial()).fit()`` (checked in the tests), on a p x p Cholesky solve per
    iteration instead of a least-squares SVD of the full design: fast enough to re-fit
    every weight model in each bootstrap replicate. Coefficients are bounded to +-30 so
    (quasi-)separation gives hazards of ~0 or ~1 instead of an error.
    """
    beta = np.zeros(x.shape[1]) if beta0 is None else beta0.astype(float).copy()
    p0 = np.clip(s.sum() / max(n.sum(), 1e-12), 1e-10, 1 - 1e-10)
    if beta0 is None and x.shape[1] and np.allclose(x[:, 0], 1):
        beta[0] = np.log(p0 / (1 - p0))
    ridge = 1e-9 * np.eye(x.shape[1])
    for _ in range(max_iter):
        eta = np.clip(x @ beta, -30, 30)
        p = 1 / (1 + np.exp(-eta))
        grad = x.T @ (s - n * p)
        # blocked Xᵀ W X: one multithreaded BLAS call on these small designs costs ~5×
        # more than it saves on a busy 2-core machine (see _fast.xtwx)
        hess = xtwx(x, n * p * (1 - p)) + ridge
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        step = np.clip(step, -5, 5)
        beta = np.clip(beta + step, -30, 30)
        if np.max(np.abs(step)) < tol or abs(grad @ step) < tol:
            break
    return beta


def _band_design(x: np.ndarray, nb: int) -> np.ndarray:
    """Stack ``x`` for each of ``nb`` bands with band dummies in front (no intercept)."""
    n = len(x)
    bands = np.kron(np.eye(nb), np.ones((n, 1)))
    return np.column_stack([bands, np.tile(x, (nb, 1))])


def _daily_hazard(x: np.ndarray, at_risk_upto: np.ndarray, event_day: np.ndarray,
                  edges: np.ndarray, stabilise: bool) -> tuple[np.ndarray, np.ndarray]:
    """Pooled logistic model of a daily hazard with piecewise-constant time bands.

    ``at_risk_upto[i]``: last day (1-based) episode i is at risk; ``event_day[i]``: day of
    the event (0 = none, only counted if <= at_risk_upto). Bands are ``(edges[k],
    edges[k+1]]``. Returns the per-day fitted hazards (n, edges[-1]) for the covariate
    model and for the time-only (stabilising) model.
    """
    n, nb = len(x), len(edges) - 1
    lo, hi = edges[:-1], edges[1:]
    trials = np.clip(at_risk_upto[:, None] - lo[None, :], 0, (hi - lo)[None, :])
    ev_ok = (event_day > 0) & (event_day <= at_risk_upto)
    success = (ev_ok[:, None] & (event_day[:, None] > lo[None, :])
               & (event_day[:, None] <= hi[None, :])).astype(float)
    tr, su = trials.T.ravel().astype(float), success.T.ravel()
    design = _band_design(x, nb)
    beta = _logit(design, su, tr, n_lead=nb, band=np.repeat(np.arange(nb), n))
    lp_band = beta[:nb][None, :] + (x @ beta[nb:])[:, None]  # (n, nb)
    band_of_day = np.searchsorted(hi, np.arange(1, edges[-1] + 1), side="left")
    h = 1 / (1 + np.exp(-lp_band[:, band_of_day]))
    if stabilise:
        tot_s, tot_t = success.sum(0), trials.sum(0)
        h0 = np.where(tot_t > 0, tot_s / np.maximum(tot_t, 1), 0.0)[band_of_day]
        h0 = np.broadcast_to(h0, h.shape)
    else:
        h0 = np.zeros_like(h)
    return h, np.asarray(h0)


def _surv_before(h: np.ndarray, horizon: int) -> np.ndarray:
    """prod_{j<d} (1 - h_j) for d = 1..horizon (h has at least horizon-1 columns)."""
    n = len(h)
    cum = np.cumprod(1 - h[:, :max(horizon - 1, 0)], axis=1)
    return np.column_stack([np.ones(n), cum])[:, :horizon]


def _censoring_weights(a: _Arrays, horizon: int, edges: Sequence[int],
                       admin: Literal["independent", "weighted"]) -> np.ndarray:
    """Stabilised IPC weights for competing endings (n, horizon), day d = column d-1."""
    e = np.unique(np.clip(np.asarray(edges, int), 0, horizon))
    e = np.union1d(e, [0, horizon])
    upto = np.minimum(a.time, horizon)
    ev = a.competing | ((admin == "weighted") & ~a.returned & ~a.competing)
    event_day = np.where(ev, a.time, 0)
    h, h0 = _daily_hazard(a.x, upto, event_day, e, stabilise=True)
    return _surv_before(h0, horizon) / _surv_before(h, horizon)


def _truncate(w: np.ndarray, mask: np.ndarray, q: float | None) -> np.ndarray:
    if q is None or not mask.any():
        return w
    cap = np.quantile(w[mask], q)
    return np.minimum(w, cap)


# ----------------------------------------------------------------------------------------
# Weighted Kaplan-Meier with influence functions
# ----------------------------------------------------------------------------------------
def _wkm(r: np.ndarray, e: np.ndarray, w: np.ndarray, horizons: Sequence[int],
         influence: bool = True) -> dict[str, Any]:
    """Weighted KM on daily grids: columns = days 1..H (relative).

    Returns survival ``S`` (length H+1, S[0] = 1), RMST per horizon ``sum_{t<h} S(t)``
    and, if asked, per-row influence contributions of each RMST (sum of squares over
    independent units = variance, weights taken as known).
    """
    ww = w * r
    b = ww.sum(0)
    a_ = (ww * e).sum(0)
    lam = np.where(b > 0, a_ / np.where(b > 0, b, 1), 0.0)
    s = np.concatenate([[1.0], np.cumprod(1 - lam)])
    rmst = np.array([s[:h].sum() for h in horizons])
    out: dict[str, Any] = {"S": s, "rmst": rmst, "n_risk": r.sum(0),
                           "n_event": (r & e).sum(0), "w_risk": b}
    if influence:
        denom = np.where((b > 0) & (lam < 1), b * (1 - lam), np.inf)
        phi = ww * (e - lam[None, :]) / denom[None, :]
        g = np.cumsum(phi, axis=1)
        out["if"] = np.column_stack([-(g[:, :h - 1] @ s[1:h]) for h in horizons])
    return out


def _cluster_se(phi: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """sqrt of the sum over clusters of squared summed influence contributions."""
    m = cluster.max() + 1 if len(cluster) else 0
    tot = np.column_stack([np.bincount(cluster, weights=phi[:, k], minlength=m)
                           for k in range(phi.shape[1])])
    return np.sqrt((tot ** 2).sum(0))


# ----------------------------------------------------------------------------------------
# Clones
# ----------------------------------------------------------------------------------------
def _uncensored(a: _Arrays, grace: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, horizon) masks: clone still following arm A / arm B on day d (column d-1)."""
    d = np.arange(1, horizon + 1)[None, :]
    s = a.start[:, None]
    in_grace = d <= grace
    started = s <= grace
    unc_a = in_grace | started
    unc_b = np.where(in_grace, s >= d, ~started)
    return unc_a, unc_b


def clones(data: Any, protocol: TargetTrial | None = None, horizon: int | None = None,
           follow_up_end: dt.date | str | None = None) -> pd.DataFrame:
    """The cloned data: one row per eligible episode and arm, with its follow-up.

    ``last_day`` is the last day (since the report) the clone is in the risk set and
    ``status`` how its follow-up ends by ``horizon`` (default the largest tau):
    ``returned``, ``artificially_censored`` (deviated from the arm's strategy: a start
    in the grace period under B -- censored on the start day; no start by the end of the
    grace period under A -- censored on its last day), ``competing``, ``censored``
    (follow-up end) or ``at_home`` (still home at the horizon).

    Example:
        >>> from thuiszit_eval.cohort import Cohort
        >>> from thuiszit_eval.demo import cohort_or_demo
        >>> c = clones(Cohort.load(cohort_or_demo("")))
        >>> c.groupby("arm").size().nunique()  # every episode in both arms
        1
    """
    protocol = protocol or TargetTrial()
    horizon = horizon or max(protocol.taus)
    el = data if _is_prepared(data) else eligible_episodes(data, protocol, follow_up_end)
    a = _arrays(el, [], None)
    unc_a, unc_b = _uncensored(a, protocol.grace_days, horizon)
    at_risk = a.time[:, None] >= np.arange(1, horizon + 1)[None, :]
    rows = []
    for arm, unc in (("A", unc_a), ("B", unc_b)):
        r = unc & at_risk
        last = r.sum(1)
        followed = unc.all(1) | (last == np.minimum(a.time, horizon))
        status = np.select(
            [~followed, a.time > horizon, a.returned, a.competing],
            ["artificially_censored", "at_home", "returned", "competing"], "censored")
        rows.append(pd.DataFrame({
            "episode_id": el["episode_id"].to_numpy(), "pupil_id": el["pupil_id"].to_numpy(),
            "arm": arm, "start_day": el["start_day"].to_numpy(), "time": a.time,
            "last_day": last, "status": status}))
    return pd.concat(rows, ignore_index=True)


# ----------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------
@dataclass
class EffectResult:
    """Result of an effect analysis (CCW, landmark or naive), tidy tables.

    Attributes:
        method: ``"clone-censor-weight"``, ``"landmark"`` or ``"naive"``.
        description: what was compared, in plain words (for CCW: the protocol).
        rmst: one row per horizon: ``tau``, ``rmst_A``, ``rmst_B``, ``difference``,
            ``se``, ``lower``, ``upper`` (95%), ``se_method``.
        curves: per arm and day: ``arm``, ``day``, ``survival`` (still home),
            ``cumulative_return``, ``n_at_risk`` (real, unweighted clones/pupils),
            ``n_events``.
        hazard_ratio: ``hr``, ``lower``, ``upper``, ``se_log`` (or None); for CCW also
            ``follow_up_days`` (the marginal HR's horizon) and ``se_method``.
        weights: summary of the weights per arm (or None).
        n_episodes, n_pupils: eligible episodes and pupils in the analysis.
        bootstrap: replicate estimates (or None).
        protocol: the :class:`TargetTrial`.
    """

    method: str
    description: str
    rmst: pd.DataFrame
    curves: pd.DataFrame
    n_episodes: int
    n_pupils: int
    protocol: TargetTrial
    hazard_ratio: pd.Series | None = None
    weights: pd.DataFrame | None = None
    bootstrap: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def difference(self, tau: int) -> float:
        """RMST difference A - B at ``tau`` days."""
        return float(self.rmst.set_index("tau").loc[tau, "difference"])

    def summary(self) -> str:
        """Plain-text report: what was compared, the RMST table, notes."""
        tab = self.rmst.copy()
        num = tab.select_dtypes("number").columns.drop("tau")
        tab[num] = tab[num].round(2)
        parts = [self.description, "",
                 f"{self.method}: {self.n_episodes:,} episodes of {self.n_pupils:,} pupils",
                 "Restricted mean days at home (A - B; negative = fewer days at home "
                 "under A):", tab.to_string(index=False)]
        if self.hazard_ratio is not None:
            h = self.hazard_ratio
            upto = (f", marginal, up to day {int(h['follow_up_days'])}"
                    if "follow_up_days" in h else "")
            parts.append(f"Hazard ratio of return A vs B{upto}: {h['hr']:.2f} "
                         f"(95% CI {h['lower']:.2f}-{h['upper']:.2f})")
        parts += [f"Note: {n}" for n in self.notes]
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax: Any = None) -> Any:
        """Cumulative return per arm (step curves); returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        for arm, g in self.curves.groupby("arm", sort=False):
            ax.step(g["day"], g["cumulative_return"], where="post", label=str(arm))
        ax.set_xlabel("days since time zero")
        ax.set_ylabel("cumulative share returned")
        ax.set_ylim(0, 1)
        ax.legend(frameon=False)
        ax.set_title(self.method)
        return ax


def _curves(res: dict[str, dict[str, Any]], offset: int = 0) -> pd.DataFrame:
    out = []
    for arm, r in res.items():
        s = r["S"]
        out.append(pd.DataFrame({
            "arm": arm, "day": np.arange(len(s)) + offset, "survival": s,
            "cumulative_return": 1 - s,
            "n_at_risk": np.concatenate([[r["n_risk"][0]], r["n_risk"]]),
            "n_events": np.concatenate([[0], r["n_event"]])}))
    return pd.concat(out, ignore_index=True)


def _rmst_table(taus: Sequence[int], ra: np.ndarray, rb: np.ndarray, se: np.ndarray,
                boot: np.ndarray | None) -> pd.DataFrame:
    diff = ra - rb
    tab = pd.DataFrame({"tau": list(taus), "rmst_A": ra, "rmst_B": rb, "difference": diff})
    if boot is not None and len(boot) > 1:
        tab["se"] = boot.std(0, ddof=1)
        tab["lower"] = np.quantile(boot, 0.025, axis=0)
        tab["upper"] = np.quantile(boot, 0.975, axis=0)
        tab["se_method"] = f"bootstrap over pupils ({len(boot)} replicates, percentile CI)"
    else:
        tab["se"] = se
        tab["lower"] = diff - 1.959964 * se
        tab["upper"] = diff + 1.959964 * se
        tab["se_method"] = "robust (influence function, clustered on pupils, weights known)"
    return tab


def _weights_summary(ws: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    rows = []
    for arm, (w, mask) in ws.items():
        v = w[mask]
        if not len(v):
            continue
        rows.append({"arm": arm, "n_person_days": int(mask.sum()), "mean": v.mean(),
                     "min": v.min(), "p50": np.median(v), "p99": np.quantile(v, 0.99),
                     "max": v.max()})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------
# Clone-censor-weight
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _CCWOptions:
    grace: int
    taus: tuple[int, ...]
    init_edges: tuple[int, ...]
    censor_edges: tuple[int, ...]
    admin: Literal["independent", "weighted"]
    truncate: float | None


def _ccw_core(a: _Arrays, o: _CCWOptions, full: bool) -> dict[str, Any]:
    horizon = max(o.taus)
    g = o.grace
    n = len(a.time)
    days = np.arange(1, horizon + 1)[None, :]
    at_risk = a.time[:, None] >= days
    event = a.returned[:, None] & (a.time[:, None] == days)
    unc_a, unc_b = _uncensored(a, g, horizon)
    # (i-B) initiation in the grace period: pooled logistic on person-days 1..g
    ones = np.ones((n, 1))
    edges = np.union1d(np.clip(np.asarray(o.init_edges, int), 0, g), [0, g])
    s_cap = np.where(np.isfinite(a.start), np.minimum(a.start, g), g).astype(np.int64)
    upto = np.clip(np.minimum.reduce([a.time - 1, s_cap, a.age_limit - 1]), 0, g)
    start_day = np.where(np.isfinite(a.start), a.start, 0).astype(np.int64)
    h, h0 = _daily_hazard(a.x, upto, start_day, edges, stabilise=True)
    too_old = np.arange(1, g + 1)[None, :] >= a.age_limit[:, None]
    h = np.where(too_old, 0.0, h)
    p_b = _surv_before(h, g + 1)  # P(no start on days < d), d = 1..g+1
    p_b0 = _surv_before(h0, g + 1)
    idx = np.minimum(days[0] - 1, g)  # day d uses prod over j <= min(d-1, g)
    w_b = (p_b0 / p_b)[:, idx]
    # (i-A) started by day g among those still home after day g
    home = a.time > g
    started = a.start <= g
    xa = np.column_stack([ones, a.x])
    if home.any() and started[home].any() and (~started[home]).any():
        beta = _logit(xa[home], started[home].astype(float), np.ones(home.sum()))
        p_a = 1 / (1 + np.exp(-(xa @ beta)))
        p_a0 = started[home].mean()
    else:
        p_a = np.ones(n)
        p_a0 = 1.0
    w_a = np.where(days <= g, 1.0, (p_a0 / p_a)[:, None])
    # (ii) competing endings
    w_c = _censoring_weights(a, horizon, o.censor_edges, o.admin)
    ra, rb = unc_a & at_risk, unc_b & at_risk
    wa, wb = w_a * w_c, w_b * w_c
    wa, wb = _truncate(wa, ra, o.truncate), _truncate(wb, rb, o.truncate)
    res_a = _wkm(ra, event, wa, o.taus, influence=full)
    res_b = _wkm(rb, event, wb, o.taus, influence=full)
    # the marginal HR: weighted Cox of the arm on the clones, up to the largest tau
    hr = marginal_hazard_ratio(ra, rb, event, wa, wb, a.cluster, robust=full)
    out = {"A": res_a, "B": res_b, "hr": hr}
    if full:
        out["weights"] = {"A": (wa, ra), "B": (wb, rb)}
    return out


def _boot_chunk(a: _Arrays, o: _CCWOptions, seeds: list[np.random.SeedSequence],
                fn: Any) -> np.ndarray:
    order = np.argsort(a.cluster, kind="stable")
    counts = np.bincount(a.cluster)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    m = len(counts)
    out = []
    for ss in seeds:
        rng = np.random.default_rng(ss)
        draw = rng.integers(0, m, m)
        c = counts[draw]
        rep = np.repeat(offsets[draw], c) + (np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c))
        idx = order[rep]
        new_cluster = np.repeat(np.arange(m), c)
        out.append(fn(a.take(idx, new_cluster), o))
    return np.array(out)


def _ccw_point(a: _Arrays, o: _CCWOptions) -> np.ndarray:
    """RMST differences at each tau, then the log hazard ratio (one bootstrap replicate)."""
    r = _ccw_core(a, o, full=False)
    return np.append(r["A"]["rmst"] - r["B"]["rmst"], r["hr"]["beta"])


def _bootstrap(a: _Arrays, o: _CCWOptions, fn: Any, n_boot: int, seed: int, n_jobs: int,
               progress: bool, desc: str) -> np.ndarray:
    seeds = np.random.SeedSequence(seed).spawn(n_boot)
    n_workers = n_jobs if n_jobs > 0 else max(1, (__import__("os").cpu_count() or 1))
    n_chunks = min(n_boot, max(1, 4 * n_workers))
    chunks = [list(c) for c in np.array_split(np.array(seeds, dtype=object), n_chunks)]
    chunks = [c for c in chunks if c]
    gen = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_boot_chunk)(a, o, c, fn) for c in chunks)
    res = [r for r in tqdm(gen, total=len(chunks), desc=desc, disable=not progress)]
    return np.concatenate(res, axis=0)


def clone_censor_weight(
    data: Any,
    protocol: TargetTrial | None = None,
    *,
    covariates: str | Sequence[str] | None = None,
    region: str | None = "swv_id",
    init_bands: Sequence[int] = (0, 7, 14, 21, 28),
    censor_bands: Sequence[int] = (0, 28, 91, 182),
    admin_censoring: Literal["independent", "weighted"] = "independent",
    truncate: float | None = None,
    n_boot: int = 200,
    seed: int = 1,
    n_jobs: int = -1,
    progress: bool = True,
    follow_up_end: dt.date | str | None = None,
) -> EffectResult:
    """Emulate the target trial by clone-censor-weight.

    Args:
        data: a cohort (``Cohort``, folder, ``SimulatedCohort``, dict of tables) or the
            output of :func:`eligible_episodes`.
        protocol: the :class:`TargetTrial` (default: Back to School within 28 days).
        covariates: baseline covariates of all weight models (plus region dummies); None
            = the adjustment set of :func:`eligible_episodes` (see
            :func:`adjustment_terms`).
        region: column for region dummies (None: no region adjustment).
        init_bands: day bands (edges) of the pooled logistic initiation model in the
            grace period.
        censor_bands: day bands of the competing-ending model.
        admin_censoring: ``"independent"`` (default: end of follow-up is unrelated to
            the return, as with a calendar cut-off) or ``"weighted"`` (model it too).
        truncate: cap the weights at this quantile of their distribution per arm
            (e.g. 0.99); None = no truncation.
        n_boot: bootstrap replicates over pupils, each re-fitting every weight model
            (0: robust influence-function intervals, weights taken as known).
        seed: bootstrap seed (results do not depend on ``n_jobs``).
        n_jobs: joblib workers (-1 = all cores).
        progress: show a tqdm bar for the bootstrap.
        follow_up_end: only for a dict of tables.

    Returns:
        An :class:`EffectResult`; ``print(result)`` states the emulated protocol.

    Example:
        >>> from thuiszit_eval.cohort import Cohort
        >>> from thuiszit_eval.demo import cohort_or_demo
        >>> res = clone_censor_weight(Cohort.load(cohort_or_demo("")),
        ...                           n_boot=20, seed=1, n_jobs=1, progress=False)
        >>> res.rmst["tau"].tolist(), res.rmst["se_method"].str[:9].iloc[0]
        ([91, 182], 'bootstrap')
    """
    protocol = protocol or TargetTrial()
    el = data if _is_prepared(data) else eligible_episodes(data, protocol, follow_up_end)
    require_trial(el, protocol, "ccw")
    a = _arrays(el, adjustment_terms(el, covariates), region)
    o = _CCWOptions(protocol.grace_days, tuple(protocol.taus), tuple(init_bands),
                    tuple(censor_bands), admin_censoring, truncate)
    r = _ccw_core(a, o, full=True)
    phi = r["A"]["if"] - r["B"]["if"]
    se = _cluster_se(phi, a.cluster)
    boot = None
    k = len(protocol.taus)
    if n_boot > 0:
        boot = _bootstrap(a, o, _ccw_point, n_boot, seed, n_jobs, progress,
                          "CCW bootstrap")
    tab = _rmst_table(protocol.taus, r["A"]["rmst"], r["B"]["rmst"], se,
                      None if boot is None else boot[:, :k])
    hr = _hr_series(r["hr"], None if boot is None else boot[:, k], max(protocol.taus))
    curves = _curves({protocol.name_a: r["A"], protocol.name_b: r["B"]})
    notes = [
        "arm A clones not started by the end of the grace period are weighted by the "
        "starters with the same covariates; arm B clones are censored when they start "
        "in the grace period",
        f"competing endings removed by IPC weights ({admin_censoring} administrative "
        "censoring)",
        f"the hazard ratio is marginal: a weighted Cox model of the arm on the clones up "
        f"to day {max(protocol.taus)}; hazards are not proportional (A starts early, B "
        "may start later), so it averages the contrast over that follow-up",
    ]
    return EffectResult(
        method="clone-censor-weight", description=protocol.describe(), rmst=tab,
        curves=curves, n_episodes=len(el), n_pupils=int(el["pupil_id"].nunique()),
        protocol=protocol, hazard_ratio=hr, weights=_weights_summary(r["weights"]),
        bootstrap=None if boot is None else pd.DataFrame(
            boot, columns=[*(f"difference_{t}" for t in protocol.taus), "log_hr"]),
        notes=notes)


def _hr_series(fit: dict[str, Any], boot: np.ndarray | None, horizon: int) -> pd.Series:
    """The HR row of a result: robust (weights known) or bootstrap percentile interval."""
    if boot is not None and len(boot) > 1:
        lo, hi = np.exp(np.quantile(boot, [0.025, 0.975]))
        se = float(boot.std(ddof=1))
        how = f"bootstrap over pupils ({len(boot)} replicates, percentile CI)"
    else:
        lo, hi, se = fit["lower"], fit["upper"], fit["se_log"]
        how = "robust (sandwich, clustered on pupils, weights known)"
    return pd.Series({"hr": fit["hr"], "lower": float(lo), "upper": float(hi),
                      "se_log": se, "follow_up_days": horizon, "se_method": how})


def require_trial(el: pd.DataFrame, protocol: TargetTrial, what: str = "ccw") -> None:
    """Raise :class:`~thuiszit_eval.estimability.NotEstimable` unless the eligible episodes
    hold :data:`MIN_STARTERS` that start the treatment within the grace period, as many
    that do not, and :data:`MIN_RETURNS` returns."""
    start = el["start_day"].to_numpy(float) if len(el) else np.array([])
    if not np.isfinite(start).any():
        raise NotEstimable("no_treatment", what=what, treatment=protocol.treatment_label)
    early = int((start <= protocol.grace_days).sum())
    if estimability._RELAXED:
        return
    if (early < MIN_STARTERS or len(el) - early < MIN_STARTERS
            or int(el["returned"].sum()) < MIN_RETURNS):
        raise NotEstimable("arms", what=what, min_n=MIN_STARTERS, min_events=MIN_RETURNS)


# ----------------------------------------------------------------------------------------
# Naive: ever vs never, clock from the report
# ----------------------------------------------------------------------------------------
def naive_analysis(data: Any, protocol: TargetTrial | None = None,
                   follow_up_end: dt.date | str | None = None) -> EffectResult:
    """The biased comparison: episodes that ever got the treatment vs those that never did.

    The clock starts at the report for both groups, so the waiting time before a start
    counts as treated time (immortal time), and no covariate is adjusted for
    (confounding by indication). Unweighted Kaplan-Meier per group (competing endings
    censored), RMST difference "ever - never" with a robust (Greenwood-equivalent,
    pupil-clustered) SE, and an unadjusted Cox hazard ratio.

    Example:
        >>> from thuiszit_eval.cohort import Cohort
        >>> from thuiszit_eval.demo import cohort_or_demo
        >>> res = naive_analysis(Cohort.load(cohort_or_demo("")))
        >>> res.difference(182) > 0  # looks as if the programme keeps pupils home
        True
    """
    from lifelines import CoxPHFitter

    protocol = protocol or TargetTrial()
    el = data if _is_prepared(data) else eligible_episodes(data, protocol, follow_up_end)
    a = _arrays(el, [], None)
    ever = np.isfinite(a.start)
    horizon = max(protocol.taus)
    days = np.arange(1, horizon + 1)[None, :]
    at_risk = a.time[:, None] >= days
    event = a.returned[:, None] & (a.time[:, None] == days)
    w = np.ones(at_risk.shape)
    res = {"ever": _wkm(at_risk & ever[:, None], event, w, protocol.taus),
           "never": _wkm(at_risk & ~ever[:, None], event, w, protocol.taus)}
    se = _cluster_se(res["ever"]["if"] - res["never"]["if"], a.cluster)
    tab = _rmst_table(protocol.taus, res["ever"]["rmst"], res["never"]["rmst"], se, None)
    df = pd.DataFrame({"T": np.maximum(a.time, 0.5), "E": a.returned.astype(int),
                       "ever": ever.astype(int), "cl": a.cluster})
    hr = None
    if 0 < ever.sum() < len(ever):
        cph = CoxPHFitter().fit(df, "T", "E", cluster_col="cl")
        row = cph.summary.loc["ever"]
        hr = pd.Series({"hr": row["exp(coef)"], "lower": row["exp(coef) lower 95%"],
                        "upper": row["exp(coef) upper 95%"], "se_log": row["se(coef)"]})
    g = protocol.treatment_label
    desc = (f"Naive comparison: episodes that ever started {g} (A = ever) vs never "
            f"(B = never), clock from the report, no adjustment. Biased by immortal time "
            "and confounding by indication; shown for contrast only.")
    return EffectResult(method="naive", description=desc, rmst=tab,
                        curves=_curves({"ever": res["ever"], "never": res["never"]}),
                        n_episodes=len(el), n_pupils=int(el["pupil_id"].nunique()),
                        protocol=protocol, hazard_ratio=hr)
