"""Landmark analysis of a time-varying start: started by day L vs not, among those home at L.

The landmark analysis avoids immortal time differently from the target-trial emulation:
the clock restarts at a landmark day ``L`` after the report, only pupils still at home
(and in follow-up) at ``L`` are compared, and the groups are "started by ``L``" and "not
started by ``L``" (who may still start later: an intention-to-treat contrast from the
landmark). Confounding by indication is handled by stabilised inverse-probability-of-
treatment weights from a logistic propensity model on baseline covariates; competing
endings after the landmark by the same pooled logistic censoring weights as in
:func:`~thuiszit_eval.effects.target_trial.clone_censor_weight`.

It answers a narrower question than the target trial: the effect of having started by
day ``L`` *for pupils still home at day L*, on the days at home between ``L`` and the
horizon. Its RMST difference is therefore not the target-trial contrast (it leaves out
the first ``L`` days and the pupils who returned before ``L``).

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.demo import cohort_or_demo
>>> from thuiszit_eval.effects.landmark import landmark_analysis
>>> res = landmark_analysis(Cohort.load(cohort_or_demo("")))
>>> res.rmst["tau"].tolist()
[91, 182]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from .target_trial import (
    EffectResult,
    TargetTrial,
    _Arrays,
    _arrays,
    _bootstrap,
    _censoring_weights,
    _cluster_se,
    _curves,
    _is_prepared,
    _logit,
    _rmst_table,
    _truncate,
    _weights_summary,
    _wkm,
    adjustment_terms,
    eligible_episodes,
    require_trial,
)

__all__ = ["landmark_analysis"]


def _shift(a: _Arrays, landmark: int) -> _Arrays:
    """The episodes home after day ``landmark``, times relative to the landmark."""
    keep = a.time > landmark
    b = a.take(np.flatnonzero(keep))
    b.time = b.time - landmark
    return b


def _landmark_core(a: _Arrays, o: dict[str, Any], full: bool) -> dict[str, Any]:
    lm, taus = o["landmark"], o["taus"]
    horizons = [t - lm for t in taus]
    h = max(horizons)
    n = len(a.time)
    treated = a.start <= lm
    xa = np.column_stack([np.ones(n), a.x])
    if treated.any() and (~treated).any():
        beta = _logit(xa, treated.astype(float), np.ones(n))
        ps = 1 / (1 + np.exp(-(xa @ beta)))
    else:
        ps = np.full(n, treated.mean())
    pbar = treated.mean()
    w_t = np.where(treated, pbar / ps, (1 - pbar) / (1 - ps))
    # the episode's arrays are already relative to the landmark (time = days after L)
    w_c = _censoring_weights(a, h, o["censor_edges"], o["admin"])
    days = np.arange(1, h + 1)[None, :]
    at_risk = a.time[:, None] >= days
    event = a.returned[:, None] & (a.time[:, None] == days)
    w = w_t[:, None] * w_c
    r1, r0 = at_risk & treated[:, None], at_risk & ~treated[:, None]
    w = _truncate(w, at_risk, o["truncate"])
    res = {"A": _wkm(r1, event, w, horizons, influence=full),
           "B": _wkm(r0, event, w, horizons, influence=full)}
    if full:
        res["weights"] = {"A": (w, r1), "B": (w, r0)}
        res["iptw"] = w_t
        res["treated"] = treated
    return res


def _landmark_point(a0: _Arrays, o: dict[str, Any]) -> np.ndarray:
    """Point estimate from all eligible episodes (the bootstrap resamples those)."""
    r = _landmark_core(_shift(a0, o["landmark"]), o, full=False)
    return r["A"]["rmst"] - r["B"]["rmst"]


def landmark_analysis(
    data: Any,
    protocol: TargetTrial | None = None,
    landmark_days: int = 28,
    *,
    covariates: str | Sequence[str] | None = None,
    region: str | None = "swv_id",
    censor_bands: Sequence[int] = (0, 28, 91, 182),
    admin_censoring: Literal["independent", "weighted"] = "independent",
    truncate: float | None = None,
    hazard_ratio: bool = True,
    n_boot: int = 0,
    seed: int = 1,
    n_jobs: int = -1,
    progress: bool = True,
    follow_up_end: dt.date | str | None = None,
) -> EffectResult:
    """Landmark analysis: started by ``landmark_days`` vs not, among pupils home then.

    Args:
        data: a cohort (``Cohort``, folder, ``SimulatedCohort``, dict of tables) or the
            output of :func:`~thuiszit_eval.effects.target_trial.eligible_episodes`.
        protocol: eligibility, treatment and horizons (``taus``, days since the report;
            the RMST runs from the landmark to ``tau``).
        landmark_days: the landmark (days since the report).
        covariates, region: the propensity and censoring models' covariates (None: the
            adjustment set of ``eligible_episodes``) and the region column.
        censor_bands: day bands (since the landmark) of the competing-ending model.
        admin_censoring: ``"independent"`` or ``"weighted"``.
        truncate: cap the weights at this quantile (None = no truncation).
        hazard_ratio: also fit an IPT-weighted Cox model (robust SE) of the return.
        n_boot: bootstrap replicates over pupils re-fitting all models (0: robust
            influence-function SE with the weights taken as known).
        seed, n_jobs, progress: bootstrap settings.
        follow_up_end: only for a dict of tables.

    Returns:
        An :class:`~thuiszit_eval.effects.target_trial.EffectResult`; arm A = started by
        the landmark, B = not started by the landmark; ``rmst_A``/``rmst_B`` are mean
        days at home between the landmark and ``tau``.

    Example:
        >>> from thuiszit_eval.cohort import Cohort
        >>> from thuiszit_eval.demo import cohort_or_demo
        >>> res = landmark_analysis(Cohort.load(cohort_or_demo("")),
        ...                         landmark_days=28, hazard_ratio=False)
        >>> bool(res.rmst["rmst_A"].le(182 - 28).all())
        True
    """
    protocol = protocol or TargetTrial()
    if any(t <= landmark_days for t in protocol.taus):
        raise ValueError("every tau must lie after the landmark")
    el = data if _is_prepared(data) else eligible_episodes(data, protocol, follow_up_end)
    require_trial(el, protocol, "landmark")
    a0 = _arrays(el, adjustment_terms(el, covariates), region)
    keep = np.flatnonzero(a0.time > landmark_days)
    a = _shift(a0, landmark_days)
    a.cluster = pd.factorize(a.cluster)[0]
    if len(a.time) == 0:
        raise ValueError("nobody is still at home at the landmark")
    o = {"landmark": landmark_days, "taus": tuple(protocol.taus),
         "censor_edges": tuple(censor_bands), "admin": admin_censoring, "truncate": truncate}
    r = _landmark_core(a, o, full=True)
    se = _cluster_se(r["A"]["if"] - r["B"]["if"], a.cluster)
    boot = None
    if n_boot > 0:
        boot = _bootstrap(a0, o, _landmark_point, n_boot, seed, n_jobs, progress,
                          "landmark bootstrap")
    tab = _rmst_table(protocol.taus, r["A"]["rmst"], r["B"]["rmst"], se, boot)
    hr = None
    if hazard_ratio and r["treated"].any() and (~r["treated"]).any():
        from lifelines import CoxPHFitter

        tau = max(protocol.taus) - landmark_days
        t = np.minimum(a.time, tau)
        df = pd.DataFrame({"T": np.maximum(t, 0.5),
                           "E": (a.returned & (a.time <= tau)).astype(int),
                           "started": r["treated"].astype(int), "w": r["iptw"],
                           "cl": a.cluster})
        cph = CoxPHFitter().fit(df, "T", "E", weights_col="w", cluster_col="cl",
                                robust=True)
        row = cph.summary.loc["started"]
        hr = pd.Series({"hr": row["exp(coef)"], "lower": row["exp(coef) lower 95%"],
                        "upper": row["exp(coef) upper 95%"], "se_log": row["se(coef)"]})
    tr = protocol.treatment_label
    desc = (f"Landmark analysis at day {landmark_days} after the report: among eligible "
            f"episodes still at home and in follow-up on day {landmark_days} "
            f"({len(keep):,} of {len(el):,}), A = started {tr} by day {landmark_days}, "
            f"B = not started by then (may start later). Adjusted by stabilised IPT "
            "weights (logistic propensity on baseline covariates and region); competing "
            "endings removed by IPC weights. RMST counts days at home from the landmark "
            "to tau.")
    el_lm = el.iloc[keep]
    return EffectResult(
        method="landmark", description=desc, rmst=tab,
        curves=_curves({f"started by day {landmark_days}": r["A"],
                        f"not started by day {landmark_days}": r["B"]},
                       offset=landmark_days),
        n_episodes=len(el_lm), n_pupils=int(el_lm["pupil_id"].nunique()),
        protocol=protocol, hazard_ratio=hr, weights=_weights_summary(r["weights"]),
        bootstrap=None if boot is None else pd.DataFrame(
            boot, columns=[f"difference_{t}" for t in protocol.taus]),
        notes=["the groups are compared from the landmark; pupils who returned before "
               "it are not in the comparison"])
