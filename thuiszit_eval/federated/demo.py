"""The mock federation of the demo cohort: one region per samenwerkingsverband.

:func:`split_cohort` writes one cohort folder per value of ``swv_id`` (each with its own
``datapackage.json`` naming the region), as each samenwerkingsverband would hold its own
data. :func:`run_federated` runs the whole pooled analysis through a mock vantage6
federation; :func:`run_pooled` runs the same analysis on one machine on the pooled cohort;
:func:`comparison` puts the figures side by side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..survival import aalen_johansen, cox_ph, kaplan_meier, logrank_test
from ._v6 import load_region_cohort
from .central import FederationError
from .combine import (
    aj_from_counts,
    km_from_counts,
    logrank_from_counts,
    logrank_from_strata,
    pool_counts,
)
from .local import DEFAULT_DEFINITION, cox_arrays, model_frame, survival_rows

#: Tables linked to a pupil (by pupil_id); the school calendar is shared by all regions.
_PUPIL_TABLES = ("episodes", "interventions", "attendance", "process_events")


def split_cohort(folder: str | Path, out: str | Path, by: str = "swv_id") -> list[Path]:
    """Write one cohort folder per value of the pupils' ``by`` column; return the folders.

    The files are copied as text (no re-typing), rows kept where the pupil belongs to the
    region. Each region's ``datapackage.json`` is the original with ``thuiszit.region``
    set to the region's value.

    Example
    -------
    >>> from thuiszit_eval.simulate import demo_cohort_path
    >>> folders = split_cohort(demo_cohort_path(), "regions")    # doctest: +SKIP
    >>> [f.name for f in folders][:2]                            # doctest: +SKIP
    ['SWV-01', 'SWV-02']
    """
    folder, out = Path(folder), Path(out)
    dp = json.loads((folder / "datapackage.json").read_text(encoding="utf-8-sig"))
    paths = {r["name"]: r.get("path", f"{r['name']}.csv") for r in dp.get("resources", [])}

    def read(name: str) -> pd.DataFrame | None:
        p = folder / paths.get(name, f"{name}.csv")
        return pd.read_csv(p, dtype=str, keep_default_na=False) if p.exists() else None

    pupils = read("pupils")
    if pupils is None or by not in pupils:
        raise ValueError(f"{folder}: pupils table with a {by!r} column needed to split")
    tables = {n: read(n) for n in _PUPIL_TABLES}
    cal = read("school_calendar")
    done = []
    for region, pr in pupils.groupby(by, sort=True):
        if region == "":
            continue
        target = out / str(region)
        target.mkdir(parents=True, exist_ok=True)
        ids = set(pr["pupil_id"])
        pr.to_csv(target / paths.get("pupils", "pupils.csv"), index=False)
        for name, t in tables.items():
            if t is not None:
                t[t["pupil_id"].isin(ids)].to_csv(target / paths.get(name, f"{name}.csv"),
                                                  index=False)
        if cal is not None:
            cal.to_csv(target / paths.get("school_calendar", "school_calendar.csv"),
                       index=False)
        meta = json.loads(json.dumps(dp))
        meta["name"] = f"{dp.get('name', 'cohort')}-{region}"
        meta.setdefault("thuiszit", {})["region"] = str(region)
        meta["thuiszit"]["cohort_name"] = f"{meta['thuiszit'].get('cohort_name', '')} " \
                                          f"({by} {region})".strip()
        (target / "datapackage.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        done.append(target)
    return done


def _central(client, method: str, **kwargs: Any) -> dict:
    """Start a central task on the first organization and return its result."""
    orgs = [o["id"] for o in client.organization.list()]
    task = client.task.create(input_={"method": method, "kwargs": kwargs},
                              organizations=[orgs[0]], name=method)
    return client.wait_for_results(task_id=task["id"])[0]


def run_federated(client, definition: Mapping[str, Any] | None = None,
                  group: str = "female", min_cell: int = 10,
                  covariates: Sequence[str] | None = None, meta_method: str = "REML"
                  ) -> dict[str, Any]:
    """The pooled analysis through ``client``: validation, KM, AJ, log-rank (pooled on the
    time axis the regions accept; region-stratified on exact times), region-stratified and
    one-baseline Cox, and the random-effects meta-analysis.

    An analysis the cell rule does not allow is not an error: its entry is the reason, in
    words (a ``str``), and the other analyses still run.
    """
    d = dict(DEFAULT_DEFINITION if definition is None else definition)
    out: dict[str, Any] = {"definition": d, "min_cell": min_cell, "group": group}

    def attempt(key: str, fn) -> None:
        try:
            out[key] = fn()
        except FederationError as exc:
            out[key] = str(exc)

    attempt("validation", lambda: _central(client, "central_validation", min_cell=min_cell))
    for key, collapse, make in (("km", "censor", km_from_counts),
                                ("aj", "competing", aj_from_counts)):
        def one(collapse=collapse, make=make):
            r = _central(client, "central_survival", definition=d, group=None, grid="auto",
                         collapse=collapse, min_cell=min_cell)
            return r["grid"], make(pool_counts(r["tables"]))
        attempt(key, one)
        out[f"{key}_grid"], out[key] = (out[key] if isinstance(out[key], tuple)
                                        else (None, out[key]))

    def lr():
        r = _central(client, "central_survival", definition=d, group=group, grid="auto",
                     collapse="censor", min_cell=min_cell)
        return r["grid"], logrank_from_counts(pool_counts(r["tables"]))
    attempt("logrank", lr)
    out["logrank_grid"], out["logrank"] = (out["logrank"] if isinstance(out["logrank"], tuple)
                                           else (None, out["logrank"]))
    attempt("logrank_strata", lambda: logrank_from_strata(_central(
        client, "central_logrank_strata", definition=d, group=group,
        min_cell=min_cell)["regions"]))
    attempt("cox_strata", lambda: _central(client, "central_cox", definition=d,
                                           covariates=covariates, stratified=True,
                                           variance="cluster-region", min_cell=min_cell))
    attempt("cox_pooled", lambda: _central(client, "central_cox", definition=d,
                                           covariates=covariates, stratified=False,
                                           grid="auto", min_cell=min_cell))
    attempt("meta", lambda: _central(client, "central_meta", definition=d,
                                     covariates=covariates, meta_method=meta_method,
                                     min_cell=min_cell))
    attempt("target_trial", lambda: _central(client, "central_target_trial",
                                             meta_method=meta_method, min_cell=min_cell))
    return out


def pooled_rows(folders: Sequence[str | Path], definition=None, group=None, grid=None,
                collapse: str = "none") -> pd.DataFrame:
    """Survival rows of all regions stacked (on one machine: the reference)."""
    parts = []
    for f in folders:
        c = load_region_cohort(f)
        parts.append(survival_rows(c, definition, group, grid, collapse).assign(
            region=str(c.metadata.get("region"))))
    return pd.concat(parts, ignore_index=True)


def pooled_cox_frame(folders: Sequence[str | Path], spec: Mapping[str, Any],
                     definition=None, grid=None) -> pd.DataFrame:
    """Counting-process model rows of all regions stacked, coded by ``spec``."""
    parts = []
    for f in folders:
        c = load_region_cohort(f)
        a = cox_arrays(model_frame(c, definition), spec, grid)
        df = pd.DataFrame(a["x"], columns=spec["terms"])
        df["start"], df["stop"], df["event"] = a["start"], a["stop"], a["event"]
        df["pupil"], df["region"] = a["pupil"], str(c.metadata.get("region"))
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def run_pooled(folders: Sequence[str | Path], fed: Mapping[str, Any],
               group: str = "female") -> dict[str, Any]:
    """The single-machine analysis of the pooled rows with the same definition, time axes
    and coding as the federated run ``fed`` (the toolkit's own estimators); analyses the
    federated run could not do are skipped."""
    d = fed["definition"]
    out: dict[str, Any] = {}
    ok = {k: not isinstance(fed.get(k), str) for k in
          ("km", "aj", "logrank", "logrank_strata", "cox_strata", "cox_pooled")}
    if ok["km"]:
        out["km"] = kaplan_meier(pooled_rows(folders, d, None, fed["km_grid"], "censor"))
    if ok["aj"]:
        out["aj"] = aalen_johansen(pooled_rows(folders, d, None, fed["aj_grid"], "competing"))
    if ok["logrank"]:
        g = pooled_rows(folders, d, group, fed["logrank_grid"], "censor")
        out["logrank"] = logrank_test(g, group="group")
    if ok["logrank_strata"]:
        out["logrank_strata"] = logrank_test(pooled_rows(folders, d, group, None),
                                             group="group", strata="region")
    if ok["cox_strata"]:
        spec = fed["cox_strata"]["spec"]
        cf = pooled_cox_frame(folders, spec, d, None)
        out["cox_strata"] = cox_ph(cf, "stop", "event", spec["terms"], start="start",
                                   strata="region", cluster="region")
    if ok["cox_pooled"]:
        spec = fed["cox_pooled"]["spec"]
        cg = pooled_cox_frame(folders, spec, d, fed["cox_pooled"]["grid"])
        out["cox_pooled"] = cox_ph(cg, "stop", "event", spec["terms"], start="start")
    return out


def comparison(fed: Mapping[str, Any], pooled: Mapping[str, Any],
               times: Sequence[float] = (91.0, 182.0, 365.0)) -> pd.DataFrame:
    """Federated and single-machine figures side by side, with their absolute difference
    (curves at ``times``, or at the bin ends of a binned time axis)."""
    rows = []

    def at(key: str) -> Sequence[float]:  # bin ends on a binned axis (nothing known within)
        g = fed[f"{key}_grid"]
        return times if g is None else [float(x) for x in g[1:]]
    if "km" in pooled:
        kf, kp = fed["km"].at_times(at("km")), pooled["km"].at_times(at("km"))
        for t, a, b in zip(at("km"), kf["returned"], kp["returned"], strict=True):
            rows.append(("Kaplan–Meier: share returned", f"day {t:g}", a, b))
    if "aj" in pooled:
        af, ap = fed["aj"].at_times(at("aj")), pooled["aj"].at_times(at("aj"))
        for t, a, b in zip(at("aj"), af["pstate"], ap["pstate"], strict=True):
            rows.append(("Aalen–Johansen: cumulative incidence of return", f"day {t:g}", a,
                         b))
    for key, label in (("logrank", "log-rank chi² (pooled)"),
                       ("logrank_strata", "log-rank chi² (stratified by region)")):
        if key in pooled:
            rows.append((label, f"df {fed[key].df}", fed[key].chisq, pooled[key].chisq))
    for key, label in (("cox_strata", "Cox, region-stratified: HR"),
                       ("cox_pooled", "Cox, pooled baseline: HR")):
        if key not in pooled:
            continue
        f, p = fed[key], pooled[key].table.set_index("term")
        for term, b in zip(f["terms"], f["coef"], strict=True):
            if term in set(f["spec"]["exposures"]):
                rows.append((label, term, float(np.exp(b)), float(p.at[term, "hr"])))
    tab = pd.DataFrame(rows, columns=["analysis", "at", "federated", "single_machine"])
    tab["abs_difference"] = (tab["federated"] - tab["single_machine"]).abs()
    return tab


def _fmt_grid(b) -> str:
    if b is None:
        return "exact days"
    return "bins ending at day " + ", ".join(f"{x:g}" for x in b[1:])


def demo_text(min_cell: int = 10, group: str = "female", workdir: str | Path | None = None,
              progress: bool = True) -> str:
    """What ``thuiszit-eval federated-demo`` prints: the demo cohort split by
    samenwerkingsverband, the pooled analysis through a mock vantage6 federation beside the
    single-machine analysis of the same rows."""
    import tempfile

    from ..demo import cohort_or_demo
    from ._v6 import HAVE_VANTAGE6, mock_client

    def say(msg: str) -> None:
        if progress:
            print(msg, flush=True)

    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="thuiszit-fed-"))
    folders = split_cohort(cohort_or_demo(""), work)
    say(f"{len(folders)} regions (one cohort folder per samenwerkingsverband) in {work}")
    survival_rows(load_region_cohort(folders[0]), None, group)  # a bad group fails now
    client = mock_client(folders)
    say("federated run (every region answers with aggregates only) ...")
    from .central import recording
    with recording() as log:
        fed = run_federated(client, group=group, min_cell=min_cell)
    say("single-machine run on the pooled rows ...")
    pooled = run_pooled(folders, fed, group=group)
    cmp = comparison(fed, pooled)
    kind = ("vantage6's MockAlgorithmClient" if HAVE_VANTAGE6 else
            "the vantage6-compatible stand-in MockAlgorithmClient (vantage6-algorithm-tools "
            "is not installed)")
    lines = [
        f"Federated analysis of the demo cohort: {len(folders)} regions, minimum cell size "
        f"{min_cell}, through {kind}.",
        f"Outcome: {fed['definition']}",
        "Region-stratified log-rank and Cox: exact days (only per-region sums leave).",
    ]
    for key, what in (("km", "Kaplan–Meier"), ("aj", "Aalen–Johansen"),
                      ("logrank", f"pooled log-rank by {group}")):
        if not isinstance(fed[key], str):
            lines.append(f"Time axis {what}: {_fmt_grid(fed[f'{key}_grid'])}")
    if not isinstance(fed["cox_pooled"], str):
        lines.append(f"Time axis pooled Cox: {_fmt_grid(fed['cox_pooled']['grid'])}")
    for key in ("validation", "km", "aj", "logrank", "logrank_strata", "cox_strata",
                "cox_pooled", "meta"):
        if isinstance(fed[key], str):
            lines.append(f"Not possible within the cell rule: {fed[key]}")
    lines += ["", cmp.to_string(index=False, float_format=lambda v: f"{v:.6g}"), "",
              f"Largest difference federated vs single machine: "
              f"{cmp['abs_difference'].max():.2g}", "",
              "Random-effects meta-analysis of the per-region estimates (REML):"]
    for p in ([] if isinstance(fed["meta"], str) else fed["meta"]["pooled"]):
        est = np.exp(p["estimate"]) if p["measure"] == "log_hr" else p["estimate"]
        lo = np.exp(p["lower"]) if p["measure"] == "log_hr" else p["lower"]
        hi = np.exp(p["upper"]) if p["measure"] == "log_hr" else p["upper"]
        what = (f"HR {p['term']}" if p["measure"] == "log_hr"
                else f"share returned by day {p['term']}")
        lines.append(f"  {what}: {est:.3f} ({lo:.3f}–{hi:.3f}), {p['k']} regions, "
                     f"tau² = {p['tau2']:.3g}, I² = {100 * p['i2']:.0f}%")
    tt = fed.get("target_trial")
    if isinstance(tt, dict):
        lines += ["", "Target trial (Back to School within 28 days vs not; clone-censor-weight "
                  "per region, pooled by random-effects meta-analysis, not exact):"]
        for p in tt["pooled"]:
            lines.append(f"  RMST difference at day {p['tau']}: {p['estimate']:.1f} days at "
                         f"home ({p['lower']:.1f} to {p['upper']:.1f}), {p['k']} regions, "
                         f"I² = {100 * p['i2']:.0f}%")
    n_bad = sum(1 for m in log if not m["message"].get("ok"))
    lines += ["", f"{len(log)} messages left the regions ({n_bad} of them refusals without "
              "numbers); each was checked for small cells and identifiers before it left."]
    return "\n".join(lines)
