"""Confounder-adjusted survival curves and RMST differences for a point treatment.

Time origin (read this first)
-----------------------------
A comparison of "received Back to School" against "did not" with the clock starting at the
absence start or the report is biased by immortal time: a pupil must still be at home on
the day Back to School starts to be counted as treated. This module therefore compares
interventions **at their start** (:func:`point_treatment_data`): time zero is the start
of the episode's *first* intervention, for both groups, and the groups are

* treated: the first intervention of the episode is Back to School;
* control: the first intervention is a process intervention (``thuiszitterstafel`` or
  ``agendapunt_4``: a case table or an agenda item, i.e. "usual care" in the region).

Both groups are followed from a comparable moment, so there is no immortal time. What the
estimate **can** claim: among pupils who get an intervention started, the effect of
starting with Back to School rather than with a process step, at that moment, with
whatever follows (control pupils may still get Back to School later: an
intention-to-treat contrast that *dilutes* the effect of Back to School against never
getting it). Time already spent at home before the start (``days_home``) is adjusted for.
What it **cannot** claim: the effect of Back to School against no intervention, or of
starting it earlier or later (that is the target-trial emulation's job, in
``effects.target_trial``), nor anything about unmeasured confounders.
Back to School is for pupils under 15: both groups are restricted to ``age < 15`` at time
zero, so that every pupil could have received either (positivity).

Estimators
----------
* :class:`IPTWSurvival`: inverse-probability-of-treatment-weighted Kaplan–Meier (time to
  return, competing endings censored) and Aalen–Johansen (cumulative incidence with
  competing endings) curves per group, the at-risk table of *real* pupils, adjusted RMST
  at 91 and 182 days and the RMST difference. Intervals: cluster bootstrap over pupils that
  re-fits the propensity model in every replicate (:mod:`.bootstrap`). Test of curve
  difference: the bootstrap (normal) test of the RMST difference at each horizon; next to
  it a weighted Cox model of treatment only (marginal hazard ratio) with cluster-robust
  variance, whose test ignores the estimation of the weights (conservative).
* :class:`StandardisedSurvival`: outcome-model adjustment (g-formula): a Cox model of the
  return hazard on treatment + covariates (Efron ties, Breslow baseline hazard), each
  pupil's predicted survival under both treatments averaged over the whole sample.
  Same bootstrap. It relies on the Cox model being right; IPTW relies on the propensity
  model: two different assumptions, so agreement is reassuring.

The weighted estimators (ATE weights, ``w``)::

    S_w(t) = prod_{t_j <= t} (1 - d_w(t_j) / n_w(t_j))        (weighted Kaplan–Meier)
    F_k,w(t) = sum_{t_j <= t} S_all,w(t_j-) d_k,w(t_j) / n_w(t_j)  (weighted Aalen–Johansen)

with ``d_w`` the weighted number of events and ``n_w`` the weighted number at risk; with
all weights 1 they are exactly :func:`~thuiszit_eval.survival.kaplan_meier` and
:func:`~thuiszit_eval.survival.aalen_johansen`. RMST(tau) = area under S_w up to tau: the
mean number of days at home (not yet returned) within the first tau days, in the
hypothetical world without competing endings. "Days at home saved" = RMST(control) −
RMST(treated).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import covariates as cov
from ..estimability import NotApplicable, require_arms
from ..outcomes import OutcomeDefinition, survival_table
from ..survival import cox_ph
from ._fast import (
    IPTWReplicate,
    NaiveReplicate,
    StdReplicate,
)
from .bootstrap import bootstrap_intervals, cluster_bootstrap
from .propensity import PropensityModel, design_matrix

if TYPE_CHECKING:
    from ..cohort import Cohort

__all__ = [
    "DEFAULT_COVARIATES",
    "IPTWSurvival",
    "StandardisedSurvival",
    "comparison_table",
    "default_covariates",
    "effect_numbers",
    "group_labels",
    "point_treatment_data",
    "text_count",
    "text_number",
    "truncation_numbers",
    "weighted_aalen_johansen",
    "weighted_km",
]

TAUS = (91.0, 182.0)
PROCESS_INTERVENTIONS = ("thuiszitterstafel", "agendapunt_4")
#: Baseline covariates used by default (those present in the data are used).
#: The cohort's declared extra fields (numbers, booleans, coded strings) are added to these
#: (:mod:`thuiszit_eval.covariates`; recorded by :func:`point_treatment_data`).
DEFAULT_COVARIATES = (
    "age", "days_home", "log_days_home", "episode_type", "prior_episode", "female",
    "living_situation", "swv_id", "need_autism", "need_zmolk",
    "need_school_refusal", "need_bullying_trauma", "need_psychiatric", "need_behaviour",
    "need_chronic_illness", "need_learning", "need_family", "need_other",
)
GROUP_LABELS = ("treated", "control")


# ----------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------
def point_treatment_data(
    cohort: Cohort,
    treated: str = "back_to_school",
    control: Sequence[str] = PROCESS_INTERVENTIONS,
    definition: OutcomeDefinition | None = None,
    max_age: float | None = 15.0,
    complete_case: bool = True,
) -> pd.DataFrame:
    """Episodes whose first intervention is ``treated`` or one of ``control``, from its start.

    Time zero is the start of the first intervention (``origin="intervention_start"``; any
    other origin is refused because it would bring immortal time into a point-treatment
    comparison). Adds ``treated`` (1/0), ``days_home`` (days from the absence start to
    time zero), ``log_days_home`` = log(1 + days_home), ``prior_episode`` and ``female``
    (0/1), and
    keeps pupils with ``age < max_age`` at time zero (``None``: no age limit). With
    ``complete_case`` (default) episodes with a missing default covariate are left out and
    counted in ``.attrs["missing"]``; ``False`` keeps them (for
    :func:`thuiszit_eval.imputation.mice_iptw_hazard_ratio`). Raises
    :class:`~thuiszit_eval.estimability.NotApplicable` without Back to School, and
    ``NotEstimable`` below 20 episodes or 10 returns per group.

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.demo import cohort_or_demo
    >>> df = point_treatment_data(Cohort.load(cohort_or_demo("")))  # doctest: +SKIP
    >>> sorted(df["treated"].unique())  # doctest: +SKIP
    [0, 1]
    """
    d = definition or OutcomeDefinition(origin="intervention_start")
    if d.origin != "intervention_start":
        raise ValueError(
            f"origin {d.origin!r}: a point-treatment comparison must start the clock at the "
            "intervention start (origin='intervention_start'); with an earlier origin the "
            "time before the start is immortal time for the treated. Use the target-trial "
            "emulation for a time-varying start.")
    st = survival_table(cohort, d, group="intervention")
    df = st.data
    df = df[df["intervention"].isin([treated, *control])].copy()
    absence = cohort.episodes.set_index("episode_id")["absence_start"]
    start = pd.to_datetime(df["episode_id"].map(absence))
    df["days_home"] = (pd.to_datetime(df["origin_date"]) - start).dt.days.astype(float)
    df["log_days_home"] = np.log1p(df["days_home"].clip(lower=0))
    df["prior_episode"] = (df["prior_episodes"] > 0).astype(float)
    if "sex" in df:
        df["female"] = (df["sex"] == "f").astype(float)
    if max_age is not None and "age" in df:
        df = df[df["age"] < max_age]
    df["treated"] = (df["intervention"] == treated).astype(int)
    if not df["treated"].any():
        raise NotApplicable("needs_group", need="back_to_school")
    df.attrs["extra_covariates"] = [c for c in cov.default_adjustment_set(cohort, df, base=())
                                    if c in df]
    # complete cases on the default adjustment set, counted (thuiszit_eval.imputation
    # offers multiple imputation instead)
    kept, missing = cov.complete_cases(df, default_covariates(df))
    df = (kept if complete_case else df).copy()
    grp = df.groupby("treated")
    require_arms(grp.size().reindex([0, 1], fill_value=0).to_dict(),
                 grp["event"].apply(lambda e: int((e == 1).sum())).reindex(
                     [0, 1], fill_value=0).to_dict(), what="iptw")
    df.attrs["missing"] = missing
    df.attrs["definition"] = d.describe()
    df.attrs["event_labels"] = dict(d.labels)
    df.attrs["cohort_name"] = st.cohort_name
    df.attrs["groups"] = {"treated": treated, "control": tuple(control)}
    return df.reset_index(drop=True)


def group_labels(data: pd.DataFrame, lang: str = "nl") -> tuple[str, str]:
    """Display names of the treated and control groups in ``lang``, from the code list.

    ``data`` comes from :func:`point_treatment_data`; the control group is named by its
    interventions ("thuiszitterstafel / agendapunt 4" in Dutch).

    >>> d = pd.DataFrame(); d.attrs["groups"] = {"treated": "back_to_school",
    ...     "control": ("thuiszitterstafel", "agendapunt_4")}
    >>> group_labels(d, "en")
    ('Back to School', 'case table / agenda item 4')
    """
    from ..schema import labels

    names = labels("intervention", lang)
    g = data.attrs["groups"]
    return (names.get(g["treated"], g["treated"]),
            " / ".join(names.get(c, c) for c in g["control"]))


def default_covariates(data: pd.DataFrame, spec: str | Sequence[str] | None = None
                       ) -> list[str]:
    """The :data:`DEFAULT_COVARIATES` and the cohort's extra covariates (recorded by
    :func:`point_treatment_data` in ``data.attrs``) present in ``data`` and not constant;
    or the specification ``spec`` (e.g. ``"default,-ses_index"``) against that default."""
    base = [*DEFAULT_COVARIATES, *data.attrs.get("extra_covariates", [])]
    default = [c for c in dict.fromkeys(base) if c in data.columns and data[c].nunique() > 1]
    terms = cov.parse_spec(spec, default)
    unknown = [c for c in terms if c not in data.columns]
    if unknown:
        raise cov.CovariateError(f"covariate(s) {', '.join(unknown)} not in the data")
    return terms


# ----------------------------------------------------------------------------------------
# Weighted estimators
# ----------------------------------------------------------------------------------------
def weighted_km(time: np.ndarray, event: np.ndarray, weights: np.ndarray | None = None
                ) -> pd.DataFrame:
    """Weighted Kaplan–Meier of the event indicator ``event`` (1 = event, 0 = censored).

    Returns time (every distinct time, as survfit), n_risk, n_event (weighted) and surv.
    With unit weights it equals :func:`thuiszit_eval.survival.kaplan_meier` exactly.

    >>> weighted_km(np.array([5., 8, 8, 12]), np.array([1, 0, 1, 1]))["surv"].tolist()
    [0.75, 0.5, 0.0]
    """
    t = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=float)
    w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=float)
    times, tidx = np.unique(t, return_inverse=True)
    n_event = np.bincount(tidx, weights=d * w, minlength=len(times))
    n_risk = np.bincount(tidx, weights=w, minlength=len(times))[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        haz = np.where(n_risk > 0, n_event / n_risk, 0.0)
    return pd.DataFrame({"time": times, "n_risk": n_risk, "n_event": n_event,
                         "surv": np.cumprod(1 - haz)})


def weighted_aalen_johansen(time: np.ndarray, event: np.ndarray,
                            weights: np.ndarray | None = None,
                            causes: Sequence[int] | None = None) -> pd.DataFrame:
    """Weighted Aalen–Johansen cumulative incidence per cause (event codes > 0).

    Returns one row per distinct time with n_risk (weighted), ``p0`` (event-free) and
    ``cif_<k>`` per cause. With unit weights the ``cif_k`` equal
    :func:`thuiszit_eval.survival.aalen_johansen`'s ``pstate`` exactly.
    """
    t = np.asarray(time, dtype=float)
    ev = np.asarray(event)
    w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=float)
    if causes is None:
        causes = sorted(int(c) for c in np.unique(ev) if c > 0)
    times, tidx = np.unique(t, return_inverse=True)
    nt = len(times)
    d = np.zeros((nt, len(causes)))
    for j, c in enumerate(causes):
        d[:, j] = np.bincount(tidx, weights=(ev == c).astype(float) * w, minlength=nt)
    n = np.bincount(tidx, weights=w, minlength=nt)[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        da_k = np.where(n[:, None] > 0, d / n[:, None], 0.0)
    da = da_k.sum(axis=1)
    p0 = np.cumprod(1 - da)
    p0m = np.concatenate([[1.0], p0[:-1]])
    f = np.cumsum(p0m[:, None] * da_k, axis=0)
    out = pd.DataFrame({"time": times, "n_risk": n, "p0": p0})
    for j, c in enumerate(causes):
        out[f"cif_{c}"] = f[:, j]
    return out


def _stat_names(taus: Sequence[float], grid: np.ndarray) -> list[str]:
    return ([f"rmst_treated_{t:g}" for t in taus] + [f"rmst_control_{t:g}" for t in taus]
            + [f"days_saved_{t:g}" for t in taus] + [f"surv_treated_{t:g}" for t in grid]
            + [f"surv_control_{t:g}" for t in grid])


class _AdjustedBase:
    """Shared bootstrap, tables and summary of the adjusted estimators."""

    taus: tuple[float, ...]
    labels: tuple[str, str]
    method: str

    def _setup(self, data: pd.DataFrame, treatment: str, duration: str, event: str,
               cluster: str | None) -> None:
        for c in (treatment, duration, event, cluster):
            if c is not None and c not in data.columns:
                raise KeyError(f"column {c!r} not in the data")
        self.data_ = data
        self.treatment, self.duration, self.event, self.cluster = (
            treatment, duration, event, cluster)
        self.a_ = data[treatment].to_numpy(dtype=int)
        self.time_ = data[duration].to_numpy(dtype=float)
        self.ev_ = data[event].to_numpy(dtype=int)
        self.d_ = (self.ev_ == self.event_code).astype(float)
        self.clusters_ = (data[cluster].to_numpy() if cluster is not None
                          else np.arange(len(data)))
        self.grid_ = np.arange(0.0, max(self.taus) + 1, 7.0)

    def _replicate(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _point_stats(self) -> np.ndarray:
        return self._replicate()(np.ones(len(self.a_)))

    def bootstrap(self, n_boot: int = 500, seed: int = 1, *, n_jobs: int = -1,
                  progress: bool = True, conf_level: float = 0.95) -> _AdjustedBase:
        """Cluster bootstrap over pupils re-running the whole estimator; sets intervals.

        Sets ``boot_reps_`` (n_boot × statistics), ``boot_table_`` (every statistic
        with percentile and normal intervals) and fills the interval columns of
        ``difference_`` and ``rmst_``. Deterministic per ``seed``, whatever ``n_jobs``.
        """
        fn = self._replicate()
        reps = cluster_bootstrap(fn, self.clusters_, n_boot, seed, n_jobs=n_jobs,
                                 progress=progress, desc=f"{self.method} bootstrap")
        names = _stat_names(self.taus, self.grid_)
        self.boot_reps_ = reps
        self.boot_table_ = bootstrap_intervals(self._point_stats(), reps, names, conf_level)
        self.n_boot_, self.seed_, self.conf_level_ = n_boot, seed, conf_level
        bt = self.boot_table_.set_index("term")
        for tab, key in ((self.difference_, lambda r: f"days_saved_{r['tau']:g}"),
                         (self.rmst_, lambda r: f"rmst_{r['arm']}_{r['tau']:g}")):
            keys = tab.apply(key, axis=1)
            for col in ("boot_se", "lower_pct", "upper_pct", "lower_norm", "upper_norm"):
                tab[col] = bt.loc[keys, col].to_numpy()
            if tab is self.difference_:
                tab["p_boot"] = bt.loc[keys, "p_norm"].to_numpy()
        return self

    def curve_bands(self, kind: str = "pct") -> pd.DataFrame:
        """Pointwise bootstrap bands of the adjusted survival at weekly times.

        Columns: group, time, surv, lower, upper (``kind``: "pct" percentile or "norm").
        """
        if not hasattr(self, "boot_table_"):
            raise RuntimeError("run .bootstrap() first")
        bt = self.boot_table_
        rows = []
        for arm, lab in zip(("treated", "control"), self.labels, strict=True):
            b = bt[bt["term"].str.startswith(f"surv_{arm}_")]
            rows.append(pd.DataFrame({
                "group": lab, "time": self.grid_, "surv": b["estimate"].to_numpy(),
                "lower": b[f"lower_{kind}"].clip(0, 1).to_numpy(),
                "upper": b[f"upper_{kind}"].clip(0, 1).to_numpy()}))
        return pd.concat(rows, ignore_index=True)

    def risk_table(self, times: Sequence[float] = (0, 28, 91, 182)) -> pd.DataFrame:
        """Real (unweighted) pupils and episodes still at risk at ``times`` per group."""
        rows = []
        for g, lab in ((1, self.labels[0]), (0, self.labels[1])):
            m = self.a_ == g
            for t in times:
                at = m & (self.time_ >= t)
                rows.append({"group": lab, "time": float(t), "n_risk": int(at.sum()),
                             "n_pupils": int(len(np.unique(self.clusters_[at])))})
        return pd.DataFrame(rows)

    def _rmst_tables(self, stats: np.ndarray, naive: np.ndarray | None) -> None:
        k = len(self.taus)
        rows = []
        for j, tau in enumerate(self.taus):
            for i, (arm, lab) in enumerate(zip(("treated", "control"), self.labels,
                                               strict=True)):
                rows.append({"group": lab, "arm": arm, "tau": tau,
                             "rmst": stats[i * k + j],
                             "rmst_unadjusted": naive[i * k + j] if naive is not None
                             else np.nan})
        self.rmst_ = pd.DataFrame(rows)
        self.difference_ = pd.DataFrame({
            "tau": list(self.taus), "method": self.method,
            "rmst_treated": stats[:k], "rmst_control": stats[k:2 * k],
            "days_saved": stats[2 * k:3 * k],
            "days_saved_unadjusted": naive[2 * k:3 * k] if naive is not None else np.nan,
        })

    @property
    def table(self) -> pd.DataFrame:
        """The RMST differences ("days at home saved" = RMST control − RMST treated)."""
        return self.difference_

    def summary(self) -> str:
        """Readable text: method, n, RMST per group and days saved with intervals."""
        n1, n0 = int((self.a_ == 1).sum()), int((self.a_ == 0).sum())
        lines = [f"{self.method}: {self.labels[0]} (n = {n1}) vs {self.labels[1]} "
                 f"(n = {n0}); {len(np.unique(self.clusters_))} pupils",
                 "RMST = mean days at home (not yet returned) within tau days of the start; "
                 "days saved = RMST control − RMST treated"]
        for _, r in self.difference_.iterrows():
            s = (f"tau {r['tau']:g}: treated {r['rmst_treated']:.1f}, control "
                 f"{r['rmst_control']:.1f}, days saved {r['days_saved']:.1f}")
            if "lower_pct" in r:
                s += (f" (95% bootstrap {r['lower_pct']:.1f} to {r['upper_pct']:.1f}, "
                      f"p = {r['p_boot']:.3g})")
            if np.isfinite(r.get("days_saved_unadjusted", np.nan)):
                s += f"; unadjusted {r['days_saved_unadjusted']:.1f}"
            lines.append(s)
        if hasattr(self, "n_boot_"):
            lines.append(f"Bootstrap: {self.n_boot_} cluster (pupil) replicates, seed "
                         f"{self.seed_}, every estimation step re-run in each.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


class IPTWSurvival(_AdjustedBase):
    """IPTW-adjusted Kaplan–Meier / Aalen–Johansen curves and RMST difference.

    Parameters
    ----------
    propensity:
        An unfitted :class:`PropensityModel` (its covariates define the adjustment).
    taus:
        RMST horizons in days (default 91 and 182).
    labels:
        Display names of the treated and control groups.
    event_code:
        The event of interest (1 = return); other codes are censored in the KM curve and
        competing causes in the Aalen–Johansen curves.

    Fitted attributes: ``propensity_``, ``weights_``, ``curves_`` (weighted KM: group,
    time, n_risk, n_event (real pupils), n_risk_w, n_event_w, surv, surv_unadjusted),
    ``cif_`` (weighted AJ: group, time, n_risk_w, p0, cif_k), ``rmst_``, ``difference_``,
    ``cox_`` (weighted Cox HR of treatment, cluster-robust). After :meth:`bootstrap`:
    intervals in ``difference_`` / ``rmst_``, ``boot_table_``, :meth:`curve_bands`.

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.demo import cohort_or_demo
    >>> df = point_treatment_data(Cohort.load(cohort_or_demo("")))  # doctest: +SKIP
    >>> fit = IPTWSurvival(PropensityModel(default_covariates(df))).fit(df)  # doctest: +SKIP
    >>> fit.bootstrap(200, seed=1, progress=False).difference_  # doctest: +SKIP
    """

    method = "IPTW"

    def __init__(self, propensity: PropensityModel, taus: Sequence[float] = TAUS,
                 labels: tuple[str, str] = ("back_to_school", "process_intervention"),
                 event_code: int = 1) -> None:
        self.propensity = propensity
        self.taus = tuple(float(t) for t in taus)
        self.labels = labels
        self.event_code = event_code

    def fit(self, data: pd.DataFrame, treatment: str = "treated", duration: str = "duration",
            event: str = "event", cluster: str | None = "pupil_id") -> IPTWSurvival:
        """Fit the propensity model, the weighted curves and the RMST difference."""
        self._setup(data, treatment, duration, event, cluster)
        self.propensity_ = self.propensity.fit(data, treatment)
        w = self.propensity_.weights_.to_numpy()
        self.weights_ = w
        curves, cifs = [], []
        for g, lab in ((1, self.labels[0]), (0, self.labels[1])):
            m = self.a_ == g
            kw = weighted_km(self.time_[m], self.d_[m], w[m])
            k1 = weighted_km(self.time_[m], self.d_[m])
            curves.append(pd.DataFrame({
                "group": lab, "time": kw["time"], "n_risk": k1["n_risk"],
                "n_event": k1["n_event"], "n_risk_w": kw["n_risk"],
                "n_event_w": kw["n_event"], "surv": kw["surv"],
                "surv_unadjusted": k1["surv"]}))
            causes = sorted(int(c) for c in np.unique(self.ev_) if c > 0)
            aj = weighted_aalen_johansen(self.time_[m], self.ev_[m], w[m], causes)
            cifs.append(aj.rename(columns={"n_risk": "n_risk_w"}).assign(group=lab))
        self.curves_ = pd.concat(curves, ignore_index=True)
        self.cif_ = pd.concat(cifs, ignore_index=True)
        cols = ["group", *[c for c in self.cif_.columns if c != "group"]]
        self.cif_ = self.cif_[cols]
        naive = self._replicate(adjust=False)(np.ones(len(self.a_)))
        self._rmst_tables(self._point_stats(), naive)
        cox_df = pd.DataFrame({"t": self.time_, "e": self.ev_, "treated": self.a_, "w": w,
                               "cl": self.clusters_})[w > 0]
        self.cox_ = cox_ph(cox_df, "t", "e", ["treated"], event_code=self.event_code,
                           weights="w", cluster="cl").table
        return self

    def _replicate(self, adjust: bool = True):
        if not adjust:
            return NaiveReplicate(self.time_, self.d_, self.a_, self.taus, self.grid_)
        pm = self.propensity_
        opts = {"stabilised": pm.stabilised, "trim": pm.trim, "truncate": pm.truncate}
        return IPTWReplicate(pm.exog_, pm.treated_, pm.beta0_, opts, self.time_, self.d_,
                             self.taus, self.grid_)

    def cif_at(self, times: Sequence[float] = TAUS, labels: dict[int, str] | None = None
               ) -> pd.DataFrame:
        """Weighted Aalen–Johansen cumulative incidence of every ending at ``times``.

        Columns: group, time, then ``returned`` (cause 1) and one column per competing
        cause code (``cif_2``, ... or ``labels[k]``, e.g. ``data.attrs["event_labels"]``
        from :func:`point_treatment_data`), and ``still_home`` (no ending yet).
        """
        rows = []
        for g, c in self.cif_.groupby("group", sort=False):
            idx = np.searchsorted(c["time"].to_numpy(), np.asarray(times, float),
                                  side="right") - 1
            part = c.iloc[np.maximum(idx, 0)].drop(columns=["n_risk_w"]).copy()
            part.loc[idx < 0, [k for k in part.columns if k.startswith("cif_")]] = 0.0
            part.loc[idx < 0, "p0"] = 1.0
            part["time"] = np.asarray(times, float)
            part["group"] = g
            rows.append(part)
        out = pd.concat(rows, ignore_index=True).rename(
            columns={"cif_1": "returned", "p0": "still_home"})
        out = out[["group", "time", "returned",
                   *[k for k in out.columns if k.startswith("cif_")], "still_home"]]
        if labels:
            out = out.rename(columns={f"cif_{k}": v for k, v in labels.items() if k > 1})
        return out

    def plot(self, ax=None, bands: bool = True,
             risk_times: Sequence[float] = (0, 28, 91, 182), min_cell: int = 0,
             lang: str = "nl"):
        """Adjusted curves (share still at home), bootstrap bands if run, real at-risk.

        At-risk numbers below ``min_cell`` are printed as ``<min_cell``.
        """
        from .plots import adjusted_curve_plot

        b = self.curve_bands() if bands and hasattr(self, "boot_table_") else None
        cur = self.curves_[self.curves_["time"] <= max(self.taus)]
        return adjusted_curve_plot(cur, self.risk_table(risk_times), bands=b, ax=ax,
                                   min_cell=min_cell, lang=lang)


def comparison_table(*fits: _AdjustedBase, interval: str = "pct",
                     digits: int = 1) -> pd.DataFrame:
    """Days at home saved per method and horizon, side by side, for display.

    Columns: method, tau (days), rmst_treated, rmst_control, days_saved, lower, upper
    (bootstrap ``interval``: "pct" percentile or "norm" normal), p (bootstrap normal test
    of no difference), unadjusted (the naive difference). Rounded to ``digits``.
    """
    rows = []
    for f in fits:
        d = f.difference_
        if "lower_pct" not in d:
            raise RuntimeError(f"{f.method}: run .bootstrap() first")
        rows.append(pd.DataFrame({
            "method": f.method, "tau": d["tau"], "rmst_treated": d["rmst_treated"],
            "rmst_control": d["rmst_control"], "days_saved": d["days_saved"],
            "lower": d[f"lower_{interval}"], "upper": d[f"upper_{interval}"],
            "p": d["p_boot"], "unadjusted": d["days_saved_unadjusted"]}))
    out = pd.concat(rows, ignore_index=True)
    cols = ["rmst_treated", "rmst_control", "days_saved", "lower", "upper", "unadjusted"]
    out[cols] = out[cols].round(digits)
    out["p"] = out["p"].round(3)
    return out


# ----------------------------------------------------------------------------------------
# Standardisation (outcome model)
# ----------------------------------------------------------------------------------------
class StandardisedSurvival(_AdjustedBase):
    """Outcome-model (standardisation, g-formula) adjusted curves and RMST difference.

    A Cox model of the return hazard (event ``event_code``; other endings censored) on
    treatment + covariates is fitted (Breslow ties and baseline hazard,
    :func:`breslow_cox`); every pupil's survival is predicted with treatment
    set to 1 and to 0 and averaged over the whole sample (the ATE, as IPTW). Same bootstrap
    as :class:`IPTWSurvival` (the Cox model is re-fitted in each replicate).

    Fitted: ``cox_`` (coefficient table), ``curves_`` (group, time, surv), ``rmst_``,
    ``difference_``; intervals after :meth:`bootstrap`.

    Example
    -------
    >>> fit = StandardisedSurvival(["age", "sex"]).fit(df)  # doctest: +SKIP
    """

    method = "Standardisation (Cox)"

    def __init__(self, covariates: Sequence[str], taus: Sequence[float] = TAUS,
                 labels: tuple[str, str] = ("back_to_school", "process_intervention"),
                 event_code: int = 1) -> None:
        self.covariates = list(covariates)
        self.taus = tuple(float(t) for t in taus)
        self.labels = labels
        self.event_code = event_code

    def fit(self, data: pd.DataFrame, treatment: str = "treated", duration: str = "duration",
            event: str = "event", cluster: str | None = "pupil_id") -> StandardisedSurvival:
        """Fit the Cox outcome model and the standardised curves."""
        self._setup(data, treatment, duration, event, cluster)
        x = design_matrix(data, self.covariates)
        x = x.loc[:, x.std(axis=0) > 0]
        self.design_ = pd.concat([data[[treatment]].astype(float), x], axis=1)
        rep = StdReplicate(self.design_.to_numpy(dtype=float), self.time_, self.d_,
                            self.taus, self.grid_)
        s1, s0, beta, utimes = rep.curves(np.ones(len(self.a_)))
        self.beta_ = pd.Series(beta, index=self.design_.columns)
        self.curves_ = pd.concat([
            pd.DataFrame({"group": lab, "time": utimes, "surv": s[1:]})
            for lab, s in zip(self.labels, (s1, s0), strict=True)], ignore_index=True)
        cdf = self.design_.assign(_t=self.time_, _e=self.ev_, _cl=self.clusters_)
        self.cox_ = cox_ph(cdf, "_t", "_e", list(self.design_.columns),
                           event_code=self.event_code, cluster="_cl", ties="breslow").table
        naive = NaiveReplicate(self.time_, self.d_, self.a_, self.taus, self.grid_)(
            np.ones(len(self.a_)))
        self._rmst_tables(self._point_stats(), naive)
        return self

    def _replicate(self):
        return StdReplicate(self.design_.to_numpy(dtype=float), self.time_, self.d_,
                             self.taus, self.grid_, self.beta_.to_numpy())


def effect_numbers(iptw: IPTWSurvival, std: StandardisedSurvival | None = None,
                   lang: str = "nl", digits: int = 1, interval: str = "pct"
                   ) -> dict[str, str]:
    """The numbers a sentence about the days saved needs, formatted for ``lang``.

    For the j-th horizon (1, 2, ...): ``tau<j>`` (days), ``iptw_saved<j>``,
    ``iptw_lower<j>``, ``iptw_upper<j>`` (bootstrap ``interval``), the same with ``std_``
    when ``std`` is given, and ``unadjusted<j>`` (the naive difference); also ``hr``,
    ``hr_lower``, ``hr_upper`` (weighted Cox hazard ratio of treatment) and ``n_boot``.
    Both fits must have been bootstrapped.
    """
    from ..narrative import number

    def fmt(x: float, d: int = digits) -> str:
        x = round(float(x), d)
        return number(x + 0.0 if x != 0 else 0.0, lang, d)

    out: dict[str, str] = {}
    fits = [("iptw", iptw)] + ([("std", std)] if std is not None else [])
    for prefix, f in fits:
        if "lower_pct" not in f.difference_:
            raise RuntimeError(f"{f.method}: run .bootstrap() first")
        for j, (_, r) in enumerate(f.difference_.iterrows(), 1):
            out[f"tau{j}"] = number(r["tau"], lang)
            out[f"{prefix}_saved{j}"] = fmt(r["days_saved"])
            out[f"{prefix}_lower{j}"] = fmt(r[f"lower_{interval}"])
            out[f"{prefix}_upper{j}"] = fmt(r[f"upper_{interval}"])
            if prefix == "iptw":
                out[f"unadjusted{j}"] = fmt(r["days_saved_unadjusted"])
    out["n_boot"] = number(iptw.n_boot_, lang)
    hr = iptw.cox_.set_index("term").loc["treated"]
    out.update(hr=fmt(hr["hr"], 2), hr_lower=fmt(hr["hr_lower"], 2),
               hr_upper=fmt(hr["hr_upper"], 2))
    return out


def text_number(x: float, lang: str = "nl", digits: int = 2) -> str:
    """A number for the text, as a reader of ``lang`` writes it (``digits`` decimals).

    Example
    -------
    >>> text_number(1234.567, "nl"), text_number(1234.567, "en"), text_number(0.5, "en", 0)
    ('1.234,57', '1,234.57', '0')
    """
    from ..narrative import number

    return number(x, lang, digits)


def text_count(n: int, lang: str = "nl", min_cell: int = 10) -> str:
    """A count for the text; below ``min_cell`` it is suppressed (``<min_cell``), as in the tables.

    Example
    -------
    >>> text_count(1234, "nl"), text_count(1234, "en"), text_count(7, "en", min_cell=10)
    ('1.234', '1,234', '<10')
    """
    return text_number(n, lang, 0) if n >= min_cell else f"<{min_cell}"


def truncation_numbers(cap: dict[str, float], lang: str = "nl", min_cell: int = 10
                       ) -> dict[str, str]:
    """The numbers the sentences about the weight cap need, formatted for ``lang``.

    ``cap`` is :meth:`PropensityModel.truncation_summary`: balance (``smd_*``, 2 decimals),
    the percentiles of the cap (``p_lo``/``p_hi``, whole numbers), the counts ``n_truncated``
    and ``n`` (suppressed below ``min_cell``), the caps (``cap_lo``/``cap_hi``, 2 decimals)
    and the largest uncapped weight (``max_w_uncapped``, 1 decimal).

    Example
    -------
    >>> cap = {"smd_before": 0.31, "smd_after": 0.021, "smd_after_uncapped": 0.015,
    ...        "p_lo": 1, "p_hi": 99, "n_truncated": 8, "n": 1500, "cap_lo": 1.05,
    ...        "cap_hi": 9.876, "max_w_uncapped": 41.26}
    >>> out = truncation_numbers(cap, "nl", min_cell=10)
    >>> out["smd_after"], out["p_hi"], out["n_truncated"], out["n"], out["max_w_uncapped"]
    ('0,02', '99', '<10', '1.500', '41,3')
    """
    two = ("smd_before", "smd_after", "smd_after_uncapped", "cap_lo", "cap_hi")
    out = {k: text_number(cap[k], lang) for k in two}
    out.update({k: text_number(cap[k], lang, 0) for k in ("p_lo", "p_hi")})
    out.update({k: text_count(cap[k], lang, min_cell) for k in ("n_truncated", "n")})
    out["max_w_uncapped"] = text_number(cap["max_w_uncapped"], lang, 1)
    return out
