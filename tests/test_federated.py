"""Federated analysis (thuiszit_eval.federated) against the single-machine analysis.

Three regional cohorts (SWV-01..03 of the demo cohort) form a mock vantage6 federation.
Which results are exact, and how they are compared:

* exact times (``min_cell=1``: disclosure control off) -- Kaplan–Meier, Aalen–Johansen,
  log-rank (pooled and region-stratified) and the region-stratified Cox model equal the
  toolkit's estimators on the pooled rows to 1e-8; the unstratified Cox model to 1e-6;
* the minimum cell size 10 -- time is coarsened to bins every region accepts, and the
  federated results equal the same estimators on the pooled rows coarsened to those bins
  (to 1e-8; Cox to 1e-6). The region-stratified log-rank and Cox need no coarsening.
* every message a partial function returned passes the disclosure check.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.federated import central as C
from thuiszit_eval.federated import mock_client, partial_messages
from thuiszit_eval.federated.combine import (
    aj_from_counts,
    km_from_counts,
    logrank_from_counts,
    logrank_from_strata,
    pool_counts,
)
from thuiszit_eval.federated.demo import _central, pooled_cox_frame, pooled_rows, split_cohort
from thuiszit_eval.federated.disclosure import check_message, coarsen
from thuiszit_eval.survival import aalen_johansen, cox_ph, kaplan_meier, logrank_test

DEF = {"horizon_days": 365}
GROUP = "female"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from thuiszit_eval.simulate import demo_cohort_path
    out = tmp_path_factory.mktemp("regions")
    return split_cohort(demo_cohort_path(), out)[:3]


def _close(a, b, tol):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.nanmax(np.abs(a - b), initial=0.0) <= tol


def _same_table(fed, ref, cols, tol=1e-8):
    assert len(fed) == len(ref)
    for c in cols:
        _close(fed[c], ref[c], tol)


# ---------------------------------------------------------------- exact times
@pytest.fixture(scope="module")
def exact(folders):
    client = mock_client(folders)
    out = {"client": client}
    for key, collapse, group in (("surv", "none", None), ("grp", "censor", GROUP)):
        out[key] = _central(client, "central_survival", definition=DEF, group=group,
                            grid=None, collapse=collapse, min_cell=1)
    out["strata"] = _central(client, "central_logrank_strata", definition=DEF, group=GROUP,
                             min_cell=1)
    out["cox"] = _central(client, "central_cox", definition=DEF, stratified=True,
                          variance="cluster-region", min_cell=1)
    out["cox_pupil"] = _central(client, "central_cox", definition=DEF, stratified=True,
                                variance="cluster-pupil", min_cell=1)
    out["cox_pooled"] = _central(client, "central_cox", definition=DEF, stratified=False,
                                 grid=None, variance="cluster-pupil", min_cell=1)
    return out


def test_exact_km_equals_pooled(folders, exact):
    assert exact["surv"]["grid"] is None
    fed = km_from_counts(pool_counts(exact["surv"]["tables"]))
    ref = kaplan_meier(pooled_rows(folders, DEF))
    _same_table(fed.table, ref.table, ["time", "n_risk", "n_event", "n_censor", "surv",
                                       "std_err", "lower", "upper"])
    _close(fed.rmst(365)["rmst"], ref.rmst(365)["rmst"], 1e-8)


def test_exact_aalen_johansen_equals_pooled(folders, exact):
    fed = aj_from_counts(pool_counts(exact["surv"]["tables"]))
    ref = aalen_johansen(pooled_rows(folders, DEF))
    assert fed.causes == ref.causes and len(ref.causes) > 2
    _same_table(fed.table, ref.table, ["time", "state", "n_risk", "n_event", "pstate",
                                       "std_err", "lower", "upper"])


def test_exact_logrank_equals_pooled(folders, exact):
    fed = logrank_from_counts(pool_counts(exact["grp"]["tables"]))
    ref = logrank_test(pooled_rows(folders, DEF, GROUP), group="group")
    _close(fed.chisq, ref.chisq, 1e-8)
    _same_table(fed.table, ref.table, ["n", "observed", "expected"])
    assert fed.df == 1  # survdiff: groups with expected > 0, minus 1


def test_stratified_logrank_equals_pooled(folders, exact):
    fed = logrank_from_strata(exact["strata"]["regions"])
    ref = logrank_test(pooled_rows(folders, DEF, GROUP), group="group", strata="region")
    _close(fed.chisq, ref.chisq, 1e-8)
    _same_table(fed.table, ref.table, ["n", "observed", "expected"])


def _cox_ref(folders, fed, grid=None, **kw):
    spec = fed["spec"]
    frame = pooled_cox_frame(folders, spec, DEF, grid)
    return cox_ph(frame, "stop", "event", spec["terms"], start="start", **kw)


def test_stratified_cox_equals_pooled(folders, exact):
    fed = exact["cox"]
    ref = _cox_ref(folders, fed, strata="region", cluster="region").table
    assert fed["terms"] == ref["term"].tolist() and len(fed["terms"]) >= 10
    _close(fed["coef"], ref["coef"], 1e-8)
    _close(np.sqrt(np.diag(fed["var_model"])), ref["se_model"], 1e-8)
    _close(np.sqrt(np.diag(fed["var_robust"])), ref["se_robust"], 1e-8)
    fp = exact["cox_pupil"]
    refp = _cox_ref(folders, fp, strata="region", cluster="pupil").table
    _close(np.sqrt(np.diag(fp["var_robust"])), refp["se_robust"], 1e-8)


def test_unstratified_cox_equals_pooled(folders, exact):
    fed = exact["cox_pooled"]
    assert fed["grid"] is None
    ref = _cox_ref(folders, fed, cluster="pupil")
    _close(fed["coef"], ref.table["coef"], 1e-6)
    _close(np.sqrt(np.diag(fed["var_model"])), ref.table["se_model"], 1e-6)
    _close(np.sqrt(np.diag(fed["var_robust"])), ref.table["se_robust"], 1e-6)
    _close(fed["loglik"], ref.loglik, 1e-6)


# ---------------------------------------------------------------- minimum cell size 10
@pytest.fixture(scope="module")
def safe(folders):
    client = mock_client(folders)
    out = {"client": client}
    with C.recording() as log:
        _safe_runs(client, out)
    out["log"] = log
    return out


def _safe_runs(client, out):
    out["km"] = _central(client, "central_survival", definition=DEF, collapse="censor")
    out["aj"] = _central(client, "central_survival", definition=DEF, collapse="competing")
    out["strata"] = _central(client, "central_logrank_strata", definition=DEF, group=GROUP)
    out["cox"] = _central(client, "central_cox", definition=DEF)
    out["cox_pooled"] = _central(client, "central_cox", definition=DEF, stratified=False,
                                 grid="auto")
    out["validation"] = _central(client, "central_validation")
    out["meta"] = _central(client, "central_meta", definition=DEF)
    out["tt"] = _central(client, "central_target_trial")


def test_cells_force_a_coarser_time_axis(safe):
    for key in ("km", "aj"):
        b = safe[key]["grid"]
        assert b is not None and b[0] == 0 and b[-1] == 365 and len(b) >= 2
        for tab in safe[key]["tables"]:
            counts = pd.DataFrame(tab["rows"], columns=tab["columns"])
            v = counts[[c for c in counts if c.startswith("n_")]].to_numpy()
            assert not ((v > 0) & (v < 10)).any()


def test_coarsened_km_and_aj_equal_pooled_on_the_same_bins(folders, safe):
    fed = km_from_counts(pool_counts(safe["km"]["tables"]))
    ref = kaplan_meier(pooled_rows(folders, DEF, None, safe["km"]["grid"]))
    _same_table(fed.table, ref.table, ["time", "n_risk", "n_event", "surv", "std_err"])
    assert set(fed.table["time"]) <= set(safe["km"]["grid"])
    fa = aj_from_counts(pool_counts(safe["aj"]["tables"]))
    ra = aalen_johansen(pooled_rows(folders, DEF, None, safe["aj"]["grid"], "competing"))
    _same_table(fa.table, ra.table, ["time", "state", "pstate", "std_err"])
    # the return curve does not depend on merging the competing causes
    rn = aalen_johansen(pooled_rows(folders, DEF, None, safe["aj"]["grid"]))
    _close(fa.cumulative_incidence(1)["std_err"], rn.cumulative_incidence(1)["std_err"], 1e-8)


def test_safe_stratified_analyses_are_exact_without_coarsening(folders, safe, exact):
    _close(logrank_from_strata(safe["strata"]["regions"]).chisq,
           logrank_from_strata(exact["strata"]["regions"]).chisq, 1e-12)
    _close(safe["cox"]["coef"], exact["cox"]["coef"], 1e-12)


def test_coarsened_unstratified_cox_equals_pooled_on_the_same_bins(folders, safe):
    fed = safe["cox_pooled"]
    assert fed["grid"] is not None and fed["variance"] == "cluster-region"
    ref = _cox_ref(folders, fed, grid=fed["grid"], cluster="region")
    _close(fed["coef"], ref.table["coef"], 1e-6)
    _close(np.sqrt(np.diag(fed["var_model"])), ref.table["se_model"], 1e-6)
    _close(np.sqrt(np.diag(fed["var_robust"])), ref.table["se_robust"], 1e-6)


def test_validation_counts_add_up(folders, safe):
    regions = safe["validation"]["regions"]
    assert len(regions) == 3
    read = {t: 0 for t in ("pupils", "episodes")}
    for r in regions:
        tab = pd.DataFrame(r["counts"]["rows"], columns=r["counts"]["columns"])
        for t in read:
            read[t] += int(tab.loc[tab["table"] == t, "rows_read"].iloc[0])
    want = {t: sum(len(getattr(Cohort.load(f), t)) for f in folders) for t in read}
    assert read == want
    totals = {t["table"]: t for t in safe["validation"]["totals"]}
    assert {t: totals[t]["rows_read"] for t in read} == want
    assert totals["pupils"]["cells_suppressed"] == 0


def test_meta_analysis_has_a_row_per_region(safe):
    m = safe["meta"]
    assert len(m["regions"]) == 3
    pooled = {(p["measure"], p["term"]): p for p in m["pooled"]}
    bts = pooled[("log_hr", "back_to_school")]
    assert bts["k"] == 3 and bts["tau2"] >= 0 and 0 <= bts["i2"] <= 1
    assert bts["lower"] < bts["estimate"] < bts["upper"]


def test_target_trial_rmst_is_the_regions_own_emulation_meta_analysed(folders, safe):
    from thuiszit_eval.effects.target_trial import (
        TargetTrial,
        clone_censor_weight,
        eligible_episodes,
    )
    from thuiszit_eval.federated.meta import random_effects
    tt = safe["tt"]
    by_region = {r["region"]: r for r in tt["regions"]}
    assert len(by_region) + len(tt["refused"]) == 3 and len(by_region) >= 2
    for f in folders:
        c = Cohort.load(f)
        if c.metadata["region"] not in by_region:
            continue
        local = clone_censor_weight(eligible_episodes(c, TargetTrial()), TargetTrial(),
                                    region=None, n_boot=0, n_jobs=1, progress=False).rmst
        sent = by_region[c.metadata["region"]]["rmst"]
        _close([x["difference"] for x in sent], local["difference"], 1e-10)
        _close([x["se"] for x in sent], local["se"], 1e-10)
    p91 = next(p for p in tt["pooled"] if p["tau"] == 91)
    d = [x["difference"] for r in tt["regions"] for x in r["rmst"] if x["tau"] == 91]
    s = [x["se"] for r in tt["regions"] for x in r["rmst"] if x["tau"] == 91]
    assert p91["estimate"] == pytest.approx(random_effects(d, s)["estimate"])


# ---------------------------------------------------------------- disclosure
def _ids(folder):
    c = Cohort.load(folder)
    return (set(c.pupils["pupil_id"].astype(str)) | set(c.episodes["episode_id"].astype(str))
            | set(c.pupils["school_id"].astype(str)))


def test_every_partial_message_is_safe(folders, safe):
    from thuiszit_eval import federated
    msgs = safe["log"]  # what the central functions received, with any mock client
    if not federated.HAVE_VANTAGE6:  # the stand-in also keeps them, as a server would
        assert [m["message"] for m in partial_messages(safe["client"])] == \
            [m["message"] for m in msgs]
    methods = {m["method"] for m in msgs}
    exported = {n for n in federated.__all__ if n.startswith("partial_")} - {"partial_messages"}
    # every partial function ran (the exact-times event list only when exact times pass)
    assert exported - methods <= {"partial_cox_event_times"}
    ids = {i: _ids(f) for i, f in enumerate(folders)}
    for m in msgs:
        assert check_message(m["message"], 10, ids[m["organization"]]) == [], m["method"]
        text = json.dumps(m["message"])
        assert not any(f'"{x}"' in text for x in list(ids[m["organization"]])[:500])
    # the refusals on exact times carry no numbers
    refused = [m["message"] for m in msgs if not m["message"].get("ok")]
    assert refused and all(set(r) <= {"ok", "region", "reason", "grid"} for r in refused)


def test_the_check_catches_small_cells_and_identifiers(folders):
    ids = _ids(folders[0])
    pid = sorted(ids)[0]
    bad = {"table": {"columns": ["time", "n"], "rows": [[7.0, 3]], "counts": ["n"],
                     "keys": ["time"]}}
    assert check_message(bad, 10)
    assert check_message({"who": pid}, 10, ids)
    assert check_message({"pupil_id": "x"}, 10)
    assert check_message({"n": [4], "count_fields": ["n"]}, 10)
    assert check_message({"x": float("nan")}, 10)


def test_partial_refuses_small_cells(folders):
    from thuiszit_eval.federated import partial_survival_counts
    msg = partial_survival_counts(definition=DEF, grid=None, min_cell=10,
                                  mock_data=[str(folders[0])])
    assert msg["ok"] is False and "table" not in msg and "between 0 and 10" in msg["reason"]
    ok = partial_survival_counts(definition=DEF, grid=None, min_cell=1,
                                 mock_data=[str(folders[0])])
    assert ok["ok"] is True


def test_no_time_axis_possible_is_said_in_words(folders):
    client = mock_client(folders)
    with pytest.raises(C.FederationError, match="no time axis gives every region"):
        _central(client, "central_survival", definition=DEF, group="school_type",
                 collapse="none")


def test_coarsen_moves_times_to_bin_ends():
    assert coarsen(np.array([0.0, 0.5, 7.0, 7.5]), [0, 7, 28]).tolist() == [0, 7, 7, 28]
    with pytest.raises(ValueError, match="exceeds the last bin"):
        coarsen(np.array([30.0]), [0, 7, 28])
