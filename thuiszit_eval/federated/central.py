"""Central functions: run once, send partial tasks to every region, combine the answers.

Each takes the (mock) algorithm client first, as vantage6's ``@algorithm_client`` passes
it, and returns JSON. What is *exact* (equal to the analysis of the pooled cohort up to
floating point):

* survival counts → Kaplan–Meier, Aalen–Johansen, unstratified log-rank: exact on the time
  grid used. Exact times leave a region only when every per-time count obeys the minimum
  cell size (in practice: ``min_cell=1``, with the data-protection officer's consent);
  otherwise time is coarsened to bins every region accepts (weeks, merged where a region
  would show a small count, see :func:`_partition`) and the result is exactly the pooled
  analysis of the same coarsened times.
* region-stratified log-rank: exact on exact times (only per-region sums leave).
* region-stratified Cox: exact on exact times (per-region log-likelihood, score and
  information in each Newton step, as the pooled fit with ``strata=region``).
* unstratified Cox: exact on the grid used (per-time risk-set sums; same rule as the
  survival counts).
* random-effects meta-analysis: an approximation by design (per-region estimates).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..survival._coxcore import newton
from ._v6 import algorithm_client
from .combine import efron_from_risksets, efron_hazard_terms
from .disclosure import START_BIN, from_table
from .local import DEFAULT_DEFINITION, merge_bins, start_boundaries
from .meta import random_effects

DEFAULT_MIN_CELL = 10


class FederationError(RuntimeError):
    """A federated analysis could not be done within the disclosure rules; says why."""


def _orgs(client, organizations: Sequence[int] | None) -> list[int]:
    return list(organizations) if organizations else [o["id"] for o in
                                                      client.organization.list()]


_LOG: list[dict] | None = None


@contextmanager
def recording() -> Iterator[list[dict]]:
    """Record every message the central functions receive from the regions (method,
    organization, decoded message) -- with any client, also vantage6's own mock, whose
    child clients keep their results to themselves.

    >>> with recording() as log:
    ...     pass
    >>> log
    []
    """
    global _LOG
    previous, _LOG = _LOG, []
    try:
        yield _LOG
    finally:
        _LOG = previous


def _run(client, method: str, orgs: list[int], **kwargs: Any) -> list[dict]:
    task = client.task.create(input_={"method": method, "kwargs": kwargs},
                              organizations=orgs, name=method,
                              description=f"thuiszit-eval {method}")
    results = client.wait_for_results(task_id=task["id"])
    if _LOG is not None:
        _LOG.extend({"method": method, "organization": o, "message": r}
                    for o, r in zip(orgs, results, strict=True))
    return results


def _all_ok(results: list[dict], what: str) -> list[dict]:
    bad = [r for r in results if not r.get("ok")]
    if bad:
        why = "; ".join(f"{r.get('region', '?')}: {r.get('reason', 'refused')}" for r in bad)
        raise FederationError(f"{what}: {len(bad)} region(s) refused ({why})")
    return results


def _partition(client, orgs: list[int], kind: str, definition: Mapping[str, Any],
               width: float, min_cell: int, **kw: Any) -> list[float]:
    """Bin boundaries every region accepts: start from bins of ``width`` days up to the
    horizon, ask each region which bins would hold a small count (bin numbers only), merge
    those bins with a neighbour, repeat until no region objects."""
    horizon = definition.get("horizon_days")
    if horizon is None:
        raise FederationError("a coarsened time axis needs a horizon: set horizon_days in "
                              "the definition (e.g. 365)")
    b = start_boundaries(width, horizon)
    while True:
        res = _all_ok(_run(client, "partial_bin_check", orgs, boundaries=b, kind=kind,
                           definition=definition, min_cell=min_cell, **kw), "time bins")
        flow = sorted({i for r in res for i in r["flow_fail"]})
        stock = sorted({i for r in res for i in r["stock_fail"]})
        if not flow and not stock:
            return b
        nb = merge_bins(b, flow, stock)
        if nb is None:
            raise FederationError(
                f"no time axis gives every region at least {min_cell} per cell up to day "
                f"{horizon:g}; use a shorter horizon or fewer groups")
        b = nb


@algorithm_client
def central_validation(client, min_cell: int = DEFAULT_MIN_CELL,
                       organizations: Sequence[int] | None = None) -> dict:
    """Validation counts of every region, and their totals per table (a region's count
    below ``min_cell`` is unknown: ``cells_suppressed`` says how many the total misses,
    so with a nonzero value the total is a lower bound)."""
    res = _run(client, "partial_validation", _orgs(client, organizations), min_cell=min_cell)
    cols = ["rows_read", "rows_accepted", "rows_rejected", "rows_warned"]
    totals: dict[str, dict[str, Any]] = {}
    for r in res:
        if not r.get("ok"):
            continue
        tab = from_table(r["counts"])
        for row in tab.itertuples(index=False):
            t = totals.setdefault(row.table, {"table": row.table, **dict.fromkeys(cols, 0),
                                              "cells_suppressed": 0})
            for c in cols:
                v = getattr(row, c)
                if v is None or v != v:  # suppressed in that region: the total is a floor
                    t["cells_suppressed"] += 1
                else:
                    t[c] += int(v)
    return {"regions": res, "totals": list(totals.values())}


@algorithm_client
def central_survival(client, definition: Mapping[str, Any] | None = None,
                     group: str | None = None, grid: float | str | None = "auto",
                     collapse: str = "competing", min_cell: int = DEFAULT_MIN_CELL,
                     organizations: Sequence[int] | None = None) -> dict:
    """Per-time counts from every region on a time axis all regions accept.

    ``grid``: ``None`` = exact times only (fails if a region refuses); ``"auto"`` = exact
    times if every region accepts, else bins merged from weeks (:func:`_partition`); a
    number = bins merged from that width. Returns ``{"grid", "regions", "tables"}``
    (``grid``: None or the bin boundaries); pool with
    :func:`~thuiszit_eval.federated.combine.pool_counts`.
    """
    d = dict(DEFAULT_DEFINITION if definition is None else definition)
    orgs = _orgs(client, organizations)
    common = {"definition": d, "group": group, "collapse": collapse, "min_cell": min_cell}
    if grid in (None, "auto"):
        res = _run(client, "partial_survival_counts", orgs, grid=None, **common)
        if all(r.get("ok") for r in res) or grid is None:
            _all_ok(res, "survival counts on exact times")
            return {"grid": None, "regions": [r["region"] for r in res],
                    "tables": [r["table"] for r in res]}
    width = START_BIN if grid == "auto" else float(grid)
    b = _partition(client, orgs, "survival", d, width, min_cell, group=group,
                   collapse=collapse)
    res = _all_ok(_run(client, "partial_survival_counts", orgs, grid=b, **common),
                  "survival counts")
    return {"grid": b, "regions": [r["region"] for r in res],
            "tables": [r["table"] for r in res]}


@algorithm_client
def central_logrank_strata(client, definition: Mapping[str, Any] | None = None,
                           group: str = "intervention", event_code: int = 1,
                           min_cell: int = DEFAULT_MIN_CELL,
                           organizations: Sequence[int] | None = None) -> dict:
    """The regions' log-rank sums (exact times) for the region-stratified test."""
    res = _all_ok(_run(client, "partial_logrank_sums", _orgs(client, organizations),
                       definition=definition, group=group, event_code=event_code,
                       min_cell=min_cell), "stratified log-rank")
    return {"regions": res}


def model_spec(level_messages: Sequence[dict], reference: Mapping[str, str] | None = None
               ) -> dict:
    """One covariate coding for all regions from their level counts.

    The reference level of a categorical covariate is ``reference[name]`` or else the
    level with the most episodes over the regions (suppressed counts count as 0; ties:
    the first in sorted order), as :func:`~thuiszit_eval.regression.design_matrix`.
    Exposures: every intervention code some region has.
    """
    reference = dict(reference or {})
    kinds: dict[str, str] = {}
    for m in level_messages:
        for c, k in m["kinds"].items():
            if kinds.get(c, k) != k:
                raise FederationError(f"covariate {c!r} is numeric in one region and "
                                      "categorical in another; recode it the same way")
            kinds[c] = k
    exposures = sorted({e for m in level_messages for e in m["exposures"]})
    covs, terms = [], list(exposures)
    for c, k in kinds.items():
        if k == "categorical":
            tot: dict[str, int] = {}
            for m in level_messages:
                for lv, n in m["levels"].get(c, {}).items():
                    tot[lv] = tot.get(lv, 0) + (n or 0)
            levels = sorted(tot)
            if len(levels) < 2:
                continue
            ref = reference.get(c) or min(levels, key=lambda lv: (-tot[lv], lv))
            covs.append({"name": c, "kind": k, "levels": levels, "reference": ref})
            terms += [f"{c}={lv}" for lv in levels if lv != ref]
        else:
            covs.append({"name": c, "kind": k})
            terms.append(c)
    return {"terms": terms, "exposures": exposures, "covariates": covs}


def _fit(terms_fn, p: int) -> tuple[np.ndarray, Any]:
    beta = newton(terms_fn, p)
    return beta, terms_fn(beta)


class _Terms:
    def __init__(self, loglik: float, score: np.ndarray, information: np.ndarray):
        self.loglik, self.score, self.information = loglik, score, information


@algorithm_client
def central_cox(client, definition: Mapping[str, Any] | None = None,
                covariates: Sequence[str] | None = None,
                reference: Mapping[str, str] | None = None, stratified: bool = True,
                variance: str = "cluster-region", grid: float | str | None = None,
                min_cell: int = DEFAULT_MIN_CELL,
                organizations: Sequence[int] | None = None) -> dict:
    """Cox model of return with the time-varying interventions and ``covariates``.

    ``stratified=True``: each region its own baseline hazard (strata = region); Newton on
    the sum of the regions' log-likelihood, score and information — exact, as
    ``cox_ph(pooled, strata=region)``. ``variance``: ``"model"``, ``"cluster-region"``
    (the toolkit's default for the regional models) or ``"cluster-pupil"``.

    ``stratified=False``: one pooled baseline; each Newton step collects per-time risk-set
    sums at the pooled return times (on ``grid``, ``"auto"`` = exact days if every region
    accepts, else merged bins); ``variance`` as above: the sandwich takes one more round,
    in which the central sends the pooled per-time hazard pieces back and each region
    returns its clustered score residuals.
    """
    d = dict(DEFAULT_DEFINITION if definition is None else definition)
    orgs = _orgs(client, organizations)
    lv = _all_ok(_run(client, "partial_model_levels", orgs, definition=d,
                      covariates=list(covariates) if covariates is not None else None,
                      min_cell=min_cell), "model levels")
    spec = model_spec(lv, reference)
    p = len(spec["terms"])
    calls = {"n": 0}
    if stratified:
        grid = None if grid == "auto" else grid  # per-region sums need no time axis

        def terms_fn(beta):
            calls["n"] += 1
            res = _all_ok(_run(client, "partial_cox_stratified", orgs, beta=list(map(float,
                          beta)), spec=spec, definition=d, grid=grid, variance="model",
                          min_cell=min_cell), "stratified Cox")
            return _Terms(sum(r["loglik"] for r in res),
                          sum(np.asarray(r["score"]) for r in res),
                          sum(np.asarray(r["information"]) for r in res))
        beta = newton(terms_fn, p)
        res = _all_ok(_run(client, "partial_cox_stratified", orgs, beta=list(map(float, beta)),
                           spec=spec, definition=d, grid=grid, variance=variance,
                           min_cell=min_cell), "stratified Cox")
        info = sum(np.asarray(r["information"]) for r in res)
        loglik = sum(r["loglik"] for r in res)
        v = np.linalg.inv(info)
        vr = None
        if variance == "cluster-region":
            u = np.array([r["resid_sum"] for r in res])
            vr = v @ (u.T @ u) @ v
        elif variance == "cluster-pupil":
            vr = v @ sum(np.asarray(r["meat"]) for r in res) @ v
        used_grid = grid
        n_pupils = sum(r["n_pupils"] for r in res)
        n_events = sum(r["n_events"] for r in res)
    else:
        used_grid, times = None, None
        if grid in (None, "auto"):
            et = _run(client, "partial_cox_event_times", orgs, spec=spec, definition=d,
                      grid=None, min_cell=min_cell)
            if all(r.get("ok") for r in et):
                times = sorted({t for r in et for t in from_table(r["table"])["time"]})
            elif grid is None:
                _all_ok(et, "unstratified Cox: return times")
        if times is None:
            width = START_BIN if grid == "auto" else float(grid)
            used_grid = _partition(client, orgs, "cox", d, width, min_cell, spec=spec)
            times = used_grid[1:]

        def rs(beta):
            calls["n"] += 1
            return _all_ok(_run(client, "partial_cox_risksets", orgs,
                                beta=list(map(float, beta)), spec=spec, times=times,
                                definition=d, grid=used_grid, min_cell=min_cell),
                           "unstratified Cox: risk sets")

        def terms_fn(beta):
            return _Terms(*efron_from_risksets(rs(beta), np.asarray(beta)))
        beta = newton(terms_fn, p)
        res = rs(beta)
        loglik, _, info = efron_from_risksets(res, beta)
        v, vr = np.linalg.inv(info), None
        n_pupils = None
        if variance in ("cluster-pupil", "cluster-region"):
            # second round: the pooled hazard pieces go back, each region returns its
            # clustered score residuals (the sandwich's meat)
            meat = _all_ok(_run(client, "partial_cox_meat", orgs, beta=list(map(float, beta)),
                                spec=spec, times=times, hazard=efron_hazard_terms(res, beta),
                                definition=d, grid=used_grid,
                                cluster=variance.split("-")[1], min_cell=min_cell),
                           "unstratified Cox: sandwich variance")
            if variance == "cluster-region":
                u = np.array([m["resid_sum"] for m in meat])
                vr = v @ (u.T @ u) @ v
            else:
                vr = v @ sum(np.asarray(m["meat"]) for m in meat) @ v
            n_pupils = sum(m["n_pupils"] for m in meat)
        else:
            variance = "model"
        n_events = int(sum(np.sum(r["n_event"]) for r in res))
    return {"terms": spec["terms"], "spec": spec, "coef": beta.tolist(),
            "var_model": v.tolist(), "var_robust": None if vr is None else vr.tolist(),
            "loglik": float(loglik), "variance": variance, "stratified": stratified,
            "grid": used_grid, "n_pupils": n_pupils, "n_events": n_events,
            "rounds": calls["n"] + 1}


@algorithm_client
def central_meta(client, definition: Mapping[str, Any] | None = None,
                 covariates: Sequence[str] | None = None,
                 reference: Mapping[str, str] | None = None,
                 times: Sequence[float] = (91.0, 182.0, 365.0), meta_method: str = "REML",
                 min_cell: int = DEFAULT_MIN_CELL,
                 organizations: Sequence[int] | None = None) -> dict:
    """Per-region estimates and their random-effects pooling (``meta_method`` "DL" or
    "REML"):
    each term's log hazard ratio and the share returned at ``times``."""
    d = dict(DEFAULT_DEFINITION if definition is None else definition)
    orgs = _orgs(client, organizations)
    lv = _all_ok(_run(client, "partial_model_levels", orgs, definition=d,
                      covariates=list(covariates) if covariates is not None else None,
                      min_cell=min_cell), "model levels")
    spec = model_spec(lv, reference)
    res = _run(client, "partial_region_estimates", orgs, spec=spec, definition=d,
               times=list(times), min_cell=min_cell)
    ok = [r for r in res if r.get("ok")]
    pooled = []
    for term in spec["terms"]:
        est = [(r["region"], c["coef"], c["se"]) for r in ok for c in r["cox"]
               if c["term"] == term]
        if len(est) >= 2:
            m = random_effects([e[1] for e in est], [e[2] for e in est], method=meta_method)
            pooled.append({"measure": "log_hr", "term": term, **m})
    for t in times:
        est = [(r["region"], k["returned"], k["se"]) for r in ok for k in r["km"]
               if k["time"] == t]
        if len(est) >= 2:
            m = random_effects([e[1] for e in est], [e[2] for e in est], method=meta_method)
            pooled.append({"measure": "returned", "term": f"{t:g}", **m})
    return {"spec": spec, "regions": ok, "refused": [r for r in res if not r.get("ok")],
            "pooled": pooled, "method": meta_method}


@algorithm_client
def central_target_trial(client, taus: Sequence[int] = (91, 182),
                         meta_method: str = "REML", min_cell: int = DEFAULT_MIN_CELL,
                         organizations: Sequence[int] | None = None) -> dict:
    """Target-trial RMST difference (days at home, A − B) per region and pooled by
    random-effects meta-analysis — *not* exact: the clone-censor-weight models are fitted
    within each region. (An exact pooled version would fit the weight models federatedly,
    by summed score and information as the Cox model, and pool weighted per-day counts;
    not implemented.)"""
    res = _run(client, "partial_target_trial", _orgs(client, organizations), taus=list(taus),
               min_cell=min_cell)
    ok = [r for r in res if r.get("ok")]
    pooled = []
    for t in taus:
        est = [(r["region"], x["difference"], x["se"]) for r in ok for x in r["rmst"]
               if x["tau"] == int(t)]
        if len(est) >= 2:
            pooled.append({"tau": int(t), **random_effects([e[1] for e in est],
                                                           [e[2] for e in est],
                                                           method=meta_method)})
    return {"regions": ok, "refused": [r for r in res if not r.get("ok")],
            "pooled": pooled, "method": meta_method}
