"""Partial functions: what runs at each region, on the region's own cohort folder.

Each returns a JSON message of aggregates that passed
:func:`~thuiszit_eval.federated.disclosure.check_message`, or a refusal
``{"ok": false, "region": ..., "reason": ...}`` without numbers. No message holds a pupil,
episode or school identifier or a per-person value. What each returns is listed in the
README's disclosure-risk section.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..survival._coxcore import cox_terms
from ._v6 import cohort_data
from .disclosure import DisclosureError, check_message, coarsen, ensure_safe, small, table
from .local import (
    covariate_kinds,
    cox_arrays,
    cox_bin_failures,
    default_covariates,
    definition_from,
    exposures_of,
    model_frame,
    region_name,
    survival_bin_failures,
    survival_counts,
    survival_rows,
)

DEFAULT_MIN_CELL = 10
_CACHE: dict[tuple, Any] = {}


def _ids(cohort) -> set[str]:
    out = set(cohort.pupils["pupil_id"].astype(str)) | set(cohort.episodes["episode_id"]
                                                           .astype(str))
    if "school_id" in cohort.pupils:
        out |= set(cohort.pupils["school_id"].dropna().astype(str))
    return out


def _refuse(cohort, reason: str, **extra: Any) -> dict:
    return {"ok": False, "region": region_name(cohort), "reason": reason, **extra}


def _finish(cohort, msg: dict, min_cell: int) -> dict:
    """Self-check before anything leaves: a failing message becomes a refusal."""
    problems = check_message(msg, min_cell, _ids(cohort))
    if problems:
        return _refuse(cohort, "; ".join(problems[:3]))
    return msg


def _cached(key: tuple, make):
    if key not in _CACHE:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = make()
    return _CACHE[key]


# ------------------------------------------------------------------------- validation
@cohort_data
def partial_validation(cohort, min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """Rows read, accepted, rejected and warned per table, and rejected rows per rule.

    Counts between 0 and ``min_cell`` are sent as ``null`` (the central says "fewer than
    min_cell").
    """
    rep = cohort.report
    counts = rep.counts[["table", "rows_read", "rows_accepted", "rows_rejected",
                         "rows_warned"]].copy()
    flow = rep.flow()
    rules = flow[flow["stage"] == "rejected"][["table", "rule", "rows"]].copy()
    n_sup = 0
    for df, cols in ((counts, ["rows_read", "rows_accepted", "rows_rejected", "rows_warned"]),
                     (rules, ["rows"])):
        for c in cols:
            x = df[c].astype(object)
            bad = x.map(lambda v: v is not None and 0 < v < min_cell)
            n_sup += int(bad.sum())
            df[c] = x.where(~bad, None)
    msg = {"ok": True, "region": region_name(cohort), "min_cell": min_cell,
           "suppressed": n_sup,
           "counts": table(counts, ["rows_read", "rows_accepted", "rows_rejected",
                                    "rows_warned"], ["table"]),
           "rejected_by_rule": table(rules, ["rows"], ["table", "rule"])}
    return _finish(cohort, msg, min_cell)


# ------------------------------------------------------------------------- survival
def _rows(cohort, definition, group, grid, collapse):
    key = ("rows", id(cohort), json.dumps(definition, sort_keys=True), group, collapse)
    rows = _cached(key, lambda: survival_rows(cohort, definition, group, None, collapse))
    return rows.assign(duration=coarsen(rows["duration"].to_numpy(float), grid))


@cohort_data
def partial_survival_counts(cohort, definition: Mapping[str, Any] | None = None,
                            group: str | None = None,
                            grid: float | Sequence[float] | None = None,
                            collapse: str = "competing",
                            min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """Per group and time bin: at risk, censored, events per cause (KM, AJ, log-rank).

    ``grid``: ``None`` (exact times), a bin width or the bin boundaries the central fixed.
    ``collapse``: ``"competing"`` (competing causes as one code 2), ``"censor"`` (as
    censored) or ``"none"``, see :func:`~thuiszit_eval.federated.local.survival_rows`.
    Refuses (``ok: false``) when a count is between 0 and ``min_cell``.
    """
    d = definition_from(definition)
    rows = _rows(cohort, definition, group, grid, collapse)
    n_causes = {"competing": 2, "censor": 1}.get(collapse, max(d.causes))
    counts = survival_counts(rows, n_causes)
    cnt_cols = [c for c in counts.columns if c.startswith("n_")]
    bad = sum(len(small(counts[c], min_cell)) for c in cnt_cols)
    if bad:
        return _refuse(cohort, f"{bad} count(s) between 0 and {min_cell} on this time axis")
    msg = {"ok": True, "region": region_name(cohort), "n_causes": n_causes,
           "table": table(counts, cnt_cols, ["group", "time"])}
    return _finish(cohort, msg, min_cell)


@cohort_data
def partial_bin_check(cohort, boundaries: Sequence[float], kind: str = "survival",
                      definition: Mapping[str, Any] | None = None, group: str | None = None,
                      collapse: str = "competing", spec: Mapping[str, Any] | None = None,
                      min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """Which bins of the proposed time axis would hold a small count in this region.

    Returns only bin numbers (no counts): ``flow_fail`` (bins with 1 to min_cell − 1
    exits of some kind) and ``stock_fail`` (bins starting with 1 to min_cell − 1 at risk).
    ``kind``: ``"survival"`` (the survival counts) or ``"cox"`` (the Cox rows of ``spec``).
    """
    if kind == "survival":
        rows = _rows(cohort, definition, group, list(boundaries), collapse)
        flow, stock = survival_bin_failures(rows, boundaries, min_cell)
    else:
        a = _arrays(cohort, definition, spec, list(boundaries))
        flow, stock = cox_bin_failures(a, boundaries, min_cell)
    return _finish(cohort, {"ok": True, "region": region_name(cohort), "flow_fail": flow,
                            "stock_fail": stock}, min_cell)


@cohort_data
def partial_logrank_sums(cohort, definition: Mapping[str, Any] | None = None,
                         group: str = "intervention", event_code: int = 1,
                         min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """The region's log-rank sums on exact times: n, observed, expected per group and the
    variance matrix (the region is a stratum of the region-stratified test)."""
    d = definition_from(definition)
    rows = survival_rows(cohort, d, group, None)
    levels = sorted(rows["group"].unique())
    k = len(levels)
    gi = pd.Categorical(rows["group"], categories=levels).codes
    t = rows["duration"].to_numpy(float)
    dd = (rows["event"].to_numpy(int) == event_code).astype(float)
    times, tidx = np.unique(t, return_inverse=True)
    cnt = np.zeros((len(times), k))
    dev = np.zeros((len(times), k))
    np.add.at(cnt, (tidx, gi), 1.0)
    np.add.at(dev, (tidx, gi), dd)
    nrisk = cnt[::-1].cumsum(axis=0)[::-1]
    n = nrisk.sum(axis=1)
    dt = dev.sum(axis=1)
    keep = dt > 0
    nrisk, n, dt, dev = nrisk[keep], n[keep], dt[keep], dev[keep]
    e = nrisk * (dt / n)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(n > 1, dt * (n - dt) / (n - 1), 0.0) / n
    p = nrisk / n[:, None]
    var = np.diag(np.einsum("t,tg->g", f * n, p)) - np.einsum("t,tg,th->gh", f * n, p, p)
    n_per = np.bincount(gi, minlength=k)
    obs = dev.sum(axis=0)
    if small(n_per, min_cell) or small(obs, min_cell):
        return _refuse(cohort, f"a group has fewer than {min_cell} episodes or returns")
    msg = {"ok": True, "region": region_name(cohort), "groups": levels,
           "n": [int(v) for v in n_per], "observed": [int(v) for v in obs],
           "expected": e.sum(axis=0).tolist(), "variance": var.tolist(),
           "count_fields": ["n", "observed"]}
    return _finish(cohort, msg, min_cell)


# ------------------------------------------------------------------------- Cox
@cohort_data
def partial_model_levels(cohort, definition: Mapping[str, Any] | None = None,
                         covariates: Sequence[str] | None = None,
                         min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """What the central needs to fix one coding for all regions: the exposures, the kind
    of each covariate and the episodes per level (``null`` below ``min_cell``)."""
    frame = _cached(("frame", id(cohort), json.dumps(definition, sort_keys=True)),
                    lambda: model_frame(cohort, definition))
    covs = list(covariates) if covariates is not None else default_covariates(frame)
    kinds = covariate_kinds(frame, covs)
    first = frame.drop_duplicates("episode_id")
    levels: dict[str, dict[str, int | None]] = {}
    for c, kind in kinds.items():
        if kind == "categorical":
            v = first[c].astype(object).where(first[c].notna(), "missing").astype(str)
            vc = v.value_counts()
            levels[c] = {str(lv): (int(n) if n >= min_cell else None) for lv, n in vc.items()}
    exp = {}
    for code in exposures_of(cohort):
        if code in frame:
            n = int(frame.loc[frame[code] == 1, "episode_id"].nunique())
            exp[code] = n if n >= min_cell else None
    msg = {"ok": True, "region": region_name(cohort), "kinds": kinds, "levels": levels,
           "exposures": exp, "missing_covariates": [c for c in covs if c not in kinds]}
    return _finish(cohort, msg, min_cell)


def _arrays(cohort, definition, spec, grid):
    key = ("cox", id(cohort), json.dumps(definition, sort_keys=True),
           json.dumps(spec, sort_keys=True), json.dumps(grid))

    def make():
        frame = _cached(("frame", id(cohort), json.dumps(definition, sort_keys=True)),
                        lambda: model_frame(cohort, definition))
        return cox_arrays(frame, spec, grid)
    return _cached(key, make)


def _cox_counts_ok(a: dict, min_cell: int) -> str | None:
    n_ep = len(np.unique(a["pupil"]))
    n_ev = int(a["event"].sum())
    if 0 < n_ep < min_cell or 0 < n_ev < min_cell:
        return f"fewer than {min_cell} pupils or returns in the model"
    return None


@cohort_data
def partial_cox_stratified(cohort, beta: Sequence[float], spec: Mapping[str, Any],
                           definition: Mapping[str, Any] | None = None,
                           grid: float | None = None, variance: str = "model",
                           min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """The region's Cox partial log-likelihood, score and information at ``beta`` (the
    region is its own stratum; Efron ties, as the local fit).

    ``variance``: ``"model"``; ``"cluster-region"`` adds the region's summed score
    residuals (p numbers); ``"cluster-pupil"`` adds Σ over pupils of the outer products of
    their summed score residuals (p × p).
    """
    a = _arrays(cohort, definition, spec, grid)
    why = _cox_counts_ok(a, min_cell)
    if why:
        return _refuse(cohort, why)
    b = np.asarray(beta, dtype=float)
    need_res = variance in ("cluster-region", "cluster-pupil")
    w = np.ones(len(a["stop"]))
    t = cox_terms(a["start"], a["stop"], a["event"], a["x"], w,
                  np.zeros(len(w), dtype=int), b, ties="efron", resid=need_res)
    msg = {"ok": True, "region": region_name(cohort), "loglik": float(t.loglik),
           "score": t.score.tolist(), "information": t.information.tolist(),
           "n_pupils": int(len(np.unique(a["pupil"]))), "n_events": int(a["event"].sum()),
           "count_fields": ["n_pupils", "n_events"]}
    if variance == "cluster-region":
        msg["resid_sum"] = t.resid.sum(axis=0).tolist()
    elif variance == "cluster-pupil":
        u = pd.DataFrame(t.resid).groupby(a["pupil"], sort=False).sum().to_numpy()
        msg["meat"] = (u.T @ u).tolist()
    return _finish(cohort, msg, min_cell)


@cohort_data
def partial_cox_event_times(cohort, spec: Mapping[str, Any],
                            definition: Mapping[str, Any] | None = None,
                            grid: float | None = None,
                            min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """The region's return times (on ``grid``) with the returns at each: the time axis of
    the unstratified Cox model."""
    a = _arrays(cohort, definition, spec, grid)
    tt, dd = np.unique(a["stop"][a["event"] == 1], return_counts=True)
    if small(dd, min_cell):
        return _refuse(cohort, f"returns between 0 and {min_cell} at a time on grid "
                       f"{grid or 'exact'}", grid=grid)
    tab = table(pd.DataFrame({"time": tt, "n_event": dd}), ["n_event"], ["time"])
    return _finish(cohort, {"ok": True, "region": region_name(cohort), "grid": grid,
                            "table": tab}, min_cell)


@cohort_data
def partial_cox_risksets(cohort, beta: Sequence[float], spec: Mapping[str, Any],
                         times: Sequence[float], definition: Mapping[str, Any] | None = None,
                         grid: float | None = None, min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """Risk-set sums at each pooled return time: n at risk, Σ r, Σ r·x, Σ r·x·xᵀ over the
    region's rows at risk, and the same over its returns there (r = exp(x·beta)), for the
    unstratified Cox model with a pooled baseline (Efron ties from pooled sums)."""
    a = _arrays(cohort, definition, spec, grid)
    t = np.asarray(times, dtype=float)
    x, b = a["x"], np.asarray(beta, dtype=float)
    r = np.exp(x @ b)
    start, stop, ev = a["start"], a["stop"], a["event"]
    # at risk at t: start < t <= stop; sums by sorted cumulative sums (no loop over time)
    o_stop, o_start = np.argsort(stop, kind="stable"), np.argsort(start, kind="stable")

    def at_risk(v):
        def rev(key, order):
            cs = np.concatenate([np.cumsum(v[order][::-1], axis=0)[::-1],
                                 np.zeros((1, *v.shape[1:]))])
            return cs[np.searchsorted(key[order], t, side="left")]
        return rev(stop, o_stop) - rev(start, o_start)

    rx = r[:, None] * x
    rxx = rx[:, :, None] * x[:, None, :]
    n_risk = at_risk(np.ones(len(r))).round().astype(int)
    dm = ev == 1
    di = np.searchsorted(t, stop[dm])
    if np.any(di >= len(t)) or np.any(t[np.minimum(di, len(t) - 1)] != stop[dm]):
        return _refuse(cohort, "a return time of this region is not among the pooled times")
    nt, p = len(t), x.shape[1]
    d = np.bincount(di, minlength=nt)
    d0 = np.bincount(di, weights=r[dm], minlength=nt)
    d1 = np.zeros((nt, p))
    np.add.at(d1, di, rx[dm])
    d2 = np.zeros((nt, p, p))
    np.add.at(d2, di, rxx[dm])
    sx = np.zeros((nt, p))
    np.add.at(sx, di, x[dm])
    if small(n_risk, min_cell) or small(d, min_cell):
        return _refuse(cohort, f"fewer than {min_cell} at risk or returning at a pooled time")
    msg = {"ok": True, "region": region_name(cohort), "n_risk": n_risk.tolist(),
           "n_event": d.tolist(), "s0": at_risk(r).tolist(), "s1": at_risk(rx).tolist(),
           "s2": at_risk(rxx).tolist(), "d0": d0.tolist(), "d1": d1.tolist(),
           "d2": d2.tolist(), "sum_x_events": sx.tolist(),
           "count_fields": ["n_risk", "n_event"]}
    return _finish(cohort, msg, min_cell)


@cohort_data
def partial_cox_meat(cohort, beta: Sequence[float], spec: Mapping[str, Any],
                     times: Sequence[float], hazard: Mapping[str, Sequence],
                     definition: Mapping[str, Any] | None = None,
                     grid: float | Sequence[float] | None = None, cluster: str = "pupil",
                     min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """The region's part of the sandwich variance of the one-baseline Cox model: its rows'
    Efron score residuals at the fitted ``beta``, computed from the pooled per-time
    ``hazard`` pieces the central sends, summed per pupil (``cluster="pupil"``: the
    p × p sum of their outer products) or over the region (``"region"``: p numbers)."""
    a = _arrays(cohort, definition, spec, grid)
    why = _cox_counts_ok(a, min_cell)
    if why:
        return _refuse(cohort, why)
    t = np.asarray(times, dtype=float)
    x, b = a["x"], np.asarray(beta, dtype=float)
    eh = np.exp(x @ b)
    h, h2 = np.asarray(hazard["h"], float), np.asarray(hazard["h2"], float)
    g, g2 = np.asarray(hazard["g"], float), np.asarray(hazard["g2"], float)
    xm = np.asarray(hazard["xmean"], float)
    ch = np.concatenate([[0.0], np.cumsum(h)])
    cg = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(g, axis=0)])
    i_stop = np.searchsorted(t, a["stop"], side="right")
    i_start = np.searchsorted(t, a["start"], side="right")
    rr = -eh[:, None] * (x * (ch[i_stop] - ch[i_start])[:, None] - (cg[i_stop] - cg[i_start]))
    dm = a["event"] == 1
    di = np.searchsorted(t, a["stop"][dm])
    rr[dm] += x[dm] - xm[di] - eh[dm, None] * (x[dm] * (h2 - h)[di, None] - (g2 - g)[di])
    msg = {"ok": True, "region": region_name(cohort),
           "n_pupils": int(len(np.unique(a["pupil"]))), "count_fields": ["n_pupils"]}
    if cluster == "region":
        msg["resid_sum"] = rr.sum(axis=0).tolist()
    else:
        u = pd.DataFrame(rr).groupby(a["pupil"], sort=False).sum().to_numpy()
        msg["meat"] = (u.T @ u).tolist()
    return _finish(cohort, msg, min_cell)


# ------------------------------------------------------------------------- per region
@cohort_data
def partial_region_estimates(cohort, spec: Mapping[str, Any],
                             definition: Mapping[str, Any] | None = None,
                             times: Sequence[float] = (91.0, 182.0, 365.0),
                             min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """The region's own estimates for the random-effects meta-analysis: the Cox model
    (log hazard ratios with model-based SEs; a term is sent only when at least
    ``min_cell`` episodes and returns are exposed and unexposed) and the share returned
    at ``times`` (Kaplan–Meier, with Greenwood SE)."""
    from ..survival import kaplan_meier
    from ..survival._coxcore import newton_cox
    a = _arrays(cohort, definition, spec, None)
    why = _cox_counts_ok(a, min_cell)
    if why:
        return _refuse(cohort, why)
    terms = list(spec["terms"])
    x = a["x"]
    usable = []
    for j in range(x.shape[1]):
        col = x[:, j]
        if set(np.unique(col)) <= {0.0, 1.0}:
            on = col == 1
            ok = all(v >= min_cell for v in (
                len(np.unique(a["pupil"][on])), int(a["event"][on].sum()),
                len(np.unique(a["pupil"][~on])), int(a["event"][~on].sum())))
        else:
            ok = np.unique(col).size > 1
        usable.append(ok)
    keep = np.flatnonzero(usable)
    w = np.ones(len(a["stop"]))
    s0 = np.zeros(len(w), dtype=int)
    cox = []
    if len(keep):
        xs = x[:, keep]
        with np.errstate(all="ignore"):
            beta = newton_cox(a["start"], a["stop"], a["event"], xs, w, s0)
            info = cox_terms(a["start"], a["stop"], a["event"], xs, w, s0, beta).information
        try:
            se = np.sqrt(np.diag(np.linalg.inv(info)))
        except np.linalg.LinAlgError:
            se = np.full(len(keep), np.nan)
        for k, j in enumerate(keep):
            if np.isfinite(beta[k]) and np.isfinite(se[k]) and se[k] > 0:
                cox.append({"term": terms[j], "coef": float(beta[k]), "se": float(se[k])})
    rows = survival_rows(cohort, definition, None, None)
    km = kaplan_meier(rows).at_times(times)
    share = [{"time": float(r.time), "returned": float(r.returned),
              "se": float(r.std_err)} for r in km.itertuples() if r.n_risk >= min_cell]
    msg = {"ok": True, "region": region_name(cohort), "cox": cox, "km": share,
           "n_pupils": int(len(np.unique(a["pupil"]))), "n_events": int(a["event"].sum()),
           "count_fields": ["n_pupils", "n_events"]}
    return _finish(cohort, msg, min_cell)


@cohort_data
def partial_target_trial(cohort, taus: Sequence[int] = (91, 182),
                         min_cell: int = DEFAULT_MIN_CELL) -> dict:
    """The region's emulated target trial (Back to School within 28 days, clone-censor-
    weight, notebook 07's default protocol): RMST difference A − B at ``taus`` with its
    robust SE (weights taken as known), for the meta-analysis. Sent only when each
    strategy has at least ``min_cell`` followed episodes and the region at least
    ``min_cell`` returns."""
    from ..effects.target_trial import TargetTrial, clone_censor_weight, eligible_episodes
    protocol = TargetTrial(taus=tuple(int(t) for t in taus))
    try:
        el = eligible_episodes(cohort, protocol)
    except KeyError as exc:  # the emulation's covariates are not all in this cohort
        return _refuse(cohort, f"the target-trial emulation needs the column {exc}")
    if not len(el):
        return _refuse(cohort, "no eligible episodes for the target trial")
    import warnings
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # a failed fit shows as non-finite, below
            res = clone_censor_weight(el, protocol, region=None, n_boot=0, n_jobs=1,
                                      progress=False)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return _refuse(cohort, f"the weight models could not be fitted ({exc})")
    n = int(res.n_episodes)
    arms = res.curves.groupby("arm", sort=False)
    # followed clones per strategy at the end of the grace period (A: the starters)
    at_grace = [int(g.loc[g["day"] <= protocol.grace_days, "n_at_risk"].iloc[-1])
                for _, g in arms]
    if n < min_cell or any(v < min_cell for v in at_grace):
        return _refuse(cohort, f"fewer than {min_cell} episodes in a strategy")
    tab = res.rmst
    ok = np.isfinite(tab["se"]) & (tab["se"] > 0) & np.isfinite(tab["difference"])
    if not ok.any():
        return _refuse(cohort, "the weights of the target trial are not finite in this "
                       "region (too few pupils per strategy for the weight models)")
    msg = {"ok": True, "region": region_name(cohort), "n_episodes": n,
           "rmst": [{"tau": int(t), "difference": float(dd), "se": float(se)}
                    for t, dd, se, k in zip(tab["tau"], tab["difference"], tab["se"], ok,
                                            strict=True) if k],
           "count_fields": ["n_episodes"]}
    return _finish(cohort, msg, min_cell)


__all__ = [
    "DisclosureError",
    "ensure_safe",
    "partial_bin_check",
    "partial_cox_event_times",
    "partial_cox_meat",
    "partial_cox_risksets",
    "partial_cox_stratified",
    "partial_logrank_sums",
    "partial_model_levels",
    "partial_region_estimates",
    "partial_survival_counts",
    "partial_target_trial",
    "partial_validation",
]
