"""The whole pipeline against R: cohort folder -> validation -> outcome -> estimate.

R's own data sets (``lung``, ``veteran``, ``mgus2`` and the hand-made ``ties`` set, as
exported by ``tests/r/reference_survival.R`` to ``tests/fixtures/r_survival/ds_*.csv``) are
written as full cohort folders by :func:`r_dataset_to_cohort`:

* one pupil and one ``lrv`` episode per subject; pseudonymous ids, a birth month that makes
  the pupil 6-17 years old at the absence start;
* an event (status 1) at time ``t``: ``end_date = absence_start + t`` with a ``returned_*``
  end reason (the four return reasons in turn); a competing event (status 2) likewise with
  the end reason ``exemption_5a`` (the first default competing reason, so code 2 again);
* a censored time ``t``: the episode is ongoing (no end date) and starts ``t`` days before
  the follow-up end, so that administrative censoring lands exactly at ``t``;
* the covariates are pupil columns ``r_<name>``, declared as ``extra_fields``, so they reach
  the survival table.

Times are taken as days one to one (mgus2's months included: R's reference values are in
the same units). Dates hold whole days, so the mapping refuses fractional times.

The cohort must validate without a single rejection, :func:`survival_table` must give back
R's times and status, and the estimators run on that survival table must equal R's values
in ``tests/fixtures/r_survival/`` (1e-6 points, 1e-4 standard errors and intervals).
The folders are committed under ``tests/fixtures/r_cohorts/``; when R is installed,
``tests/r/cohort_datasets.R`` reads them from R's side and checks that they hold R's own
data sets exactly.

The second half tests :func:`thuiszit_eval.outcomes.relapse_table`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval import survival as sv
from thuiszit_eval.cohort import Cohort
from thuiszit_eval.outcomes import (
    RETURN_REASONS,
    OutcomeDefinition,
    SurvivalTable,
    relapse_table,
    survival_table,
)
from thuiszit_eval.schema import schema_dir

FIX = Path(__file__).parent / "fixtures" / "r_survival"
COHORTS = Path(__file__).parent / "fixtures" / "r_cohorts"
POINT = 1e-6
SE = 1e-4
FOLLOW_UP_END = "2024-07-31"
COMPETING_REASON = "exemption_5a"  # code 2 under the default OutcomeDefinition


def ref(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / name)


def dataset(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"ds_{name}.csv")


def close(actual, expected, rtol: float, atol: float = 1e-12) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float),
                               np.asarray(expected, dtype=float), rtol=rtol, atol=atol,
                               equal_nan=True)


# --------------------------------------------------------------------------- the mapping
def _pseudo(prefix: str, name: str, i: int) -> str:
    return prefix + hashlib.sha256(f"{name}-{i}".encode()).hexdigest()[:16]


def _field_type(s: pd.Series) -> str:
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_numeric_dtype(s):
        return "number"
    return "string"


def r_dataset_to_cohort(data: pd.DataFrame, folder: Path, name: str, *,
                        time: str = "time", status: str = "status",
                        covariates: list[str] | None = None,
                        follow_up_end: str = FOLLOW_UP_END) -> Path:
    """Write an R survival data set (0 censored, 1 event, 2 competing) as a cohort folder.

    Row ``i`` of ``data`` becomes pupil ``_pseudo("P", name, i)`` with one episode; see the
    module docstring for the date rules. ``covariates`` (default: every other column) become
    pupil columns ``r_<column>`` declared as extra fields. Returns ``folder``.
    """
    t = data[time].to_numpy(dtype=float)
    st = data[status].to_numpy(dtype=int)
    if np.any(t != np.round(t)) or np.any(t < 1):
        raise ValueError("times must be whole days >= 1: a date cannot hold a fraction")
    if not set(np.unique(st)) <= {0, 1, 2}:
        raise ValueError("status must be 0 (censored), 1 (event) or 2 (competing)")
    covariates = [c for c in data.columns if c not in (time, status)] \
        if covariates is None else covariates
    fu = pd.Timestamp(follow_up_end)
    n = len(data)
    days = t.astype(int)
    # events end on absence_start + t <= follow-up end; spread the starts over 60 days
    base = fu - pd.Timedelta(days=int(days.max()) + 60)
    start = np.where(st == 0, fu - pd.to_timedelta(days, unit="D"),
                     base + pd.to_timedelta(np.arange(n) % 60, unit="D"))
    start = pd.to_datetime(start)
    end = (start + pd.to_timedelta(days, unit="D")).where(st > 0)
    reason = np.where(st == 1, np.array(RETURN_REASONS, dtype=object)[np.arange(n) % 4],
                      np.where(st == 2, COMPETING_REASON, ""))
    years = 6 + np.arange(n) % 12  # age at absence start 6-17
    birth = pd.to_datetime({"year": start.year - years, "month": start.month, "day": 1})

    pupil_id = [_pseudo("P", name, i) for i in range(n)]
    pupils = pd.DataFrame({
        "pupil_id": pupil_id,
        "birth_month": birth.dt.strftime("%Y-%m"),
        "sex": np.array(["m", "f"], dtype=object)[np.arange(n) % 2],
        "school_type": np.where(years < 12, "po", "vo"),
        "school_id": [_pseudo("S", f"{name}-school", i % 7) for i in range(n)],
        "swv_id": "SWV9999",
        "municipality_code": "GM0363",
        "living_situation": "home",
        "support_needs": "",
    })
    extra = []
    for c in covariates:
        pupils[f"r_{c}"] = data[c].to_numpy()
        extra.append({"name": f"r_{c}", "type": _field_type(data[c]),
                      "description": f"R data set {name}: column {c}"})
    episodes = pd.DataFrame({
        "episode_id": [_pseudo("E", f"{name}-episode", i) for i in range(n)],
        "pupil_id": pupil_id,
        "episode_type": "lrv",
        "absence_start": start.strftime("%Y-%m-%d"),
        "reported_date": "",
        "end_date": pd.Series(end).dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
        "end_reason": reason,
    })
    folder.mkdir(parents=True, exist_ok=True)
    pupils.to_csv(folder / "pupils.csv", index=False, float_format="%.15g")
    episodes.to_csv(folder / "episodes.csv", index=False)
    dp = {
        "profile": "data-package",
        "name": f"r-{name}",
        "title": f"R data set {name} mapped into the cohort format (tests)",
        "thuiszit": {"cohort_name": f"r-{name}", "follow_up_end": follow_up_end,
                     "pseudonymised": True, "simulated": True,
                     "source": f"R {name}, via tests/fixtures/r_survival/ds_{name}.csv"},
        "resources": [
            {"name": "pupils", "path": "pupils.csv", "format": "csv", "encoding": "utf-8",
             "extra_fields": extra},
            {"name": "episodes", "path": "episodes.csv", "format": "csv", "encoding": "utf-8"},
        ],
    }
    (folder / "datapackage.json").write_text(json.dumps(dp, indent=2) + "\n",
                                             encoding="utf-8")
    return folder


# data set -> columns carried as covariates
R_SETS = {
    "lung": ["sex", "age", "ph_ecog", "inst"],
    "veteran": ["trt", "celltype", "karno", "age", "prior"],
    "mgus2": ["age", "male"],
    "ties": ["group", "x", "cluster", "strat"],
}


@functools.cache
def _folder(name: str) -> Path:
    return COHORTS / name


@functools.cache
def table(name: str) -> SurvivalTable:
    """The survival table of the committed cohort folder, rows in the data set's order."""
    cohort = Cohort.load(_folder(name))
    st = survival_table(cohort, OutcomeDefinition())
    order = {_pseudo("E", f"{name}-episode", i): i for i in range(len(dataset(name)))}
    st.data = st.data.sort_values("episode_id", key=lambda s: s.map(order)) \
        .reset_index(drop=True)
    d = st.data
    if name == "ties":
        d["group_B"] = (d["r_group"] == "B").astype(float)
    return st


def surv(name: str) -> pd.DataFrame:
    return table(name).data


@pytest.mark.parametrize("name", list(R_SETS))
def test_committed_cohort_folder_is_what_the_mapping_writes(name, tmp_path):
    # tests/fixtures/r_cohorts/<name>/ is r_dataset_to_cohort's output: regenerate with
    # r_dataset_to_cohort(dataset(name), COHORTS / name, name, covariates=R_SETS[name])
    new = r_dataset_to_cohort(dataset(name), tmp_path / name, name, covariates=R_SETS[name])
    for f in ["datapackage.json", "pupils.csv", "episodes.csv"]:
        assert (new / f).read_text() == (_folder(name) / f).read_text(), f


@pytest.mark.parametrize("name", list(R_SETS))
def test_cohort_validates_without_rejections(name):
    cohort = Cohort.load(_folder(name))
    n = len(dataset(name))
    assert cohort.report.n_rejected == 0 and cohort.report.ok
    assert not len(cohort.report.problems), cohort.report.summary()
    assert len(cohort.pupils) == len(cohort.episodes) == n
    ages = surv(name)["age"]
    assert ages.between(4, 23).all()


@pytest.mark.parametrize("name", list(R_SETS))
def test_survival_table_gives_back_r_times_status_and_covariates(name):
    r = dataset(name)
    st = table(name)
    d = st.data
    assert st.n_excluded == {}
    assert len(d) == len(r)
    close(d["duration"], r["time"], 0, atol=0)
    assert d["event"].tolist() == r["status"].tolist()
    # censored rows stop exactly at follow-up end: administrative censoring at t
    cens = d["event"] == 0
    assert (d.loc[cens, "stop_date"] == pd.Timestamp(FOLLOW_UP_END)).all()
    assert set(d.loc[d.event == 1, "end_reason"]) <= set(RETURN_REASONS)
    for c in R_SETS[name]:
        if pd.api.types.is_numeric_dtype(r[c]):
            close(d[f"r_{c}"], r[c], 0, atol=0)
        else:
            assert d[f"r_{c}"].tolist() == r[c].tolist()


def test_mapping_refuses_fractional_times(tmp_path):
    with pytest.raises(ValueError, match="whole days"):
        r_dataset_to_cohort(pd.DataFrame({"time": [1.5], "status": [1]}), tmp_path, "x")


# --------------------------------------------------------------------------- Kaplan-Meier
# (R dataset label in the fixtures, cohort, group column in the survival table)
KM_SETS = [("lung", "lung", "r_sex"), ("veteran", "veteran", "r_trt"),
           ("ties", "ties", "r_group"), ("ties1", "ties", None)]
CONF_TYPES = ["log", "log-log", "plain", "logit"]


@pytest.mark.parametrize("conf_type", CONF_TYPES)
@pytest.mark.parametrize(("label", "name", "group"), KM_SETS)
def test_km_on_cohort_matches_survfit(label, name, group, conf_type):
    r = ref("km.csv")
    r = r[(r.dataset == label) & (r.conf_type == conf_type)].reset_index(drop=True)
    fit = sv.kaplan_meier(surv(name), "duration", "event", group, conf_type=conf_type)
    t = fit.table
    assert list(t["group"]) == [str(g) for g in r["group"]]
    for col in ["time", "n_risk", "n_event", "n_censor", "surv"]:
        close(t[col], r[col], POINT)
    for col in ["std_err", "std_err_log", "lower", "upper"]:
        close(t[col], r[col], SE)
    if conf_type == "log":
        q = ref("km_quantiles.csv")
        q = q[(q.dataset == label) & (q.conf_type == conf_type)]
        q = q.sort_values(["group", "prob"]).reset_index(drop=True)
        mine = fit.quantiles().sort_values(["group", "prob"])
        for col in ["quantile", "lower", "upper"]:
            close(mine[col], q[col], POINT)
        rm = ref("km_rmean.csv").query("dataset == @label").reset_index(drop=True)
        m = fit.rmst(float(rm["tau"].iloc[0]))
        close(m["rmst"], rm["rmean"], POINT)
        close(m["std_err"], rm["se"], SE)


LR_CASES = [("lung", "plain", "lung", "r_sex", None),
            ("veteran", "plain", "veteran", "r_trt", None),
            ("veteran", "strata_celltype", "veteran", "r_trt", "r_celltype"),
            ("veteran", "celltype_4groups", "veteran", "r_celltype", None),
            ("ties", "plain", "ties", "r_group", None),
            ("ties", "strata_strat", "ties", "r_group", "r_strat")]


@pytest.mark.parametrize(("label", "test", "name", "group", "strata"), LR_CASES)
def test_logrank_on_cohort_matches_survdiff(label, test, name, group, strata):
    r = ref("logrank.csv").query("dataset == @label and test == @test").iloc[0]
    rg = ref("logrank_groups.csv").query("dataset == @label and test == @test")
    res = sv.logrank_test(surv(name), "duration", "event", group, strata=strata)
    assert res.df == r["df"]
    close(res.chisq, r["chisq"], POINT)
    close(res.p, r["p"], POINT)
    close(res.table["observed"], rg["observed"], POINT)
    close(res.table["expected"], rg["expected"], POINT)


# --------------------------------------------------------------------------- Aalen-Johansen
AJ_SETS = [("mgus2", "mgus2", None), ("mgus2_sex", "mgus2", "r_male"),
           ("ties", "ties", None), ("ties_group", "ties", "r_group")]


@pytest.mark.parametrize(("label", "name", "group"), AJ_SETS)
def test_aalen_johansen_on_cohort_matches_multistate_survfit(label, name, group):
    r = ref("aj.csv").query("dataset == @label").copy()
    r["state"] = r["state"].replace("(s0)", "0").astype(int)
    r = r.sort_values(["group", "state", "time"], kind="stable").reset_index(drop=True)
    aj = sv.aalen_johansen(surv(name), "duration", "event", group)
    t = aj.table.sort_values(["group", "state", "time"], kind="stable").reset_index(drop=True)
    assert len(t) == len(r)
    assert list(t["group"]) == [str(g) for g in r["group"]]
    for col in ["time", "n_risk", "pstate"]:
        close(t[col], r[col], POINT)
    for col in ["std_err", "lower", "upper"]:
        close(t[col], r[col], SE)
    # and cmprsk::cuminc's point estimates at fixed times
    ci = ref("cuminc.csv").query("dataset == @label")
    for (g, cause), rc in ci.groupby(["group", "cause"]):
        a = aj.at_times(rc["time"], state=int(cause))
        close(a.loc[a["group"] == str(g), "pstate"], rc["est"], POINT)


# --------------------------------------------------------------------------- Cox
COX_CASES = {
    ("lung", "efron"): ("lung", dict(covariates=["r_age", "r_sex", "r_ph_ecog"])),
    ("lung", "breslow"): ("lung", dict(covariates=["r_age", "r_sex", "r_ph_ecog"],
                                       ties="breslow")),
    ("lung", "robust"): ("lung", dict(covariates=["r_age", "r_sex", "r_ph_ecog"],
                                      robust=True)),
    ("lung", "cluster_inst"): ("lung", dict(covariates=["r_age", "r_sex", "r_ph_ecog"],
                                            cluster="r_inst")),
    ("veteran", "efron"): ("veteran", dict(covariates=["r_trt", "r_karno", "r_age"])),
    ("veteran", "strata_celltype"): ("veteran", dict(covariates=["r_trt", "r_karno", "r_age"],
                                                     strata="r_celltype")),
    ("ties", "efron"): ("ties", dict(covariates=["r_x", "group_B"])),
    ("ties", "cluster"): ("ties", dict(covariates=["r_x", "group_B"], cluster="r_cluster")),
    ("mgus2", "cause_specific_1"): ("mgus2", dict(covariates=["r_age", "r_male"])),
    ("mgus2", "cause_specific_2"): ("mgus2", dict(covariates=["r_age", "r_male"],
                                                  event_code=2)),
}


@pytest.mark.parametrize("key", list(COX_CASES))
def test_cox_on_cohort_matches_coxph(key):
    label, model = key
    r = ref("cox.csv").query("dataset == @label and model == @model").reset_index(drop=True)
    name, kw = COX_CASES[key]
    fit = sv.cox_ph(surv(name), "duration", "event", **kw)
    t = fit.table
    close(t["coef"], r["coef"], POINT)
    close(t["se_model"], r["se"], SE)
    if r["robust_se"].notna().all():
        close(t["se_robust"], r["robust_se"], SE)
    close(t["z"], r["z"], SE)
    close(t["p"], r["p"], SE)
    close(fit.loglik, r["loglik"].iloc[0], POINT)
    assert fit.n == r["n"].iloc[0] and fit.n_events == r["nevent"].iloc[0]


# --------------------------------------------------------------------------- Fine-Gray
FG_SETS = [("mgus2", ["r_age", "r_male"]), ("ties", ["r_x"])]


@pytest.mark.parametrize(("name", "cov"), FG_SETS)
def test_fine_gray_on_cohort_matches_finegray_coxph_and_crr(name, cov):
    r = ref("finegray.csv").query("dataset == @name and model == 'finegray_coxph'")
    t = sv.fine_gray(surv(name), "duration", "event", cov).table
    close(t["coef"], r["coef"], POINT)
    close(t["se_model"], r["se_naive"], SE)
    close(t["se_robust"], r["se_robust"], SE)
    close(t["se_cluster"], r["se_cluster_id"], SE)
    rc = ref("finegray.csv").query("dataset == @name and model == 'crr'")
    crr = sv.fine_gray(surv(name), "duration", "event", cov, method="crr").table
    close(crr["coef"], rc["coef"], POINT)


@pytest.mark.skipif(__import__("shutil").which("Rscript") is None, reason="Rscript not found")
def test_r_reads_the_cohort_folders_as_its_own_data_sets(tmp_path):
    """tests/r/cohort_datasets.R: R derives time and status from the folders' dates and end
    reasons, checks they equal lung/veteran/mgus2/ties exactly, and fits on them."""
    import subprocess

    out = tmp_path / "cohort_fits.csv"
    script = Path(__file__).parent / "r" / "cohort_datasets.R"
    proc = subprocess.run(["Rscript", str(script), str(COHORTS), str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0 and "there is no package called" in proc.stderr:
        pytest.skip("R package survival or cmprsk missing")
    assert proc.returncode == 0, proc.stderr
    r = pd.read_csv(out).set_index(["dataset", "quantity"])["value"]
    mine = {}
    for name, cov in [("lung", ["age", "sex", "ph_ecog"]), ("veteran", ["trt", "karno", "age"])]:
        t = sv.cox_ph(surv(name), "duration", "event", [f"r_{c}" for c in cov]).table
        mine.update({(name, f"coxph_coef_{c}"): v for c, v in zip(cov, t["coef"], strict=True)})
    km = sv.kaplan_meier(surv("veteran")).at_times([30, 90, 180])
    mine.update({("veteran", f"km_surv_{t:g}"): v
                 for t, v in zip(km["time"], km["surv"], strict=True)})
    crr = sv.fine_gray(surv("mgus2"), covariates=["r_age", "r_male"], method="crr").table
    mine.update({("mgus2", f"crr_coef_{c}"): v
                 for c, v in zip(["age", "male"], crr["coef"], strict=True)})
    aj = sv.aalen_johansen(surv("mgus2"))
    for k in (1, 2):
        a = aj.at_times([60, 120, 240], state=k)
        mine.update({("mgus2", f"cuminc_{k}_{t:g}"): v
                     for t, v in zip(a["time"], a["pstate"], strict=True)})
    assert set(mine) == set(r.index)
    for key, v in mine.items():
        close(v, r[key], POINT)


# =========================================================================== relapse
EXAMPLE = schema_dir() / "example"


@functools.cache
def example_cohort() -> Cohort:
    return Cohort.load(EXAMPLE)


def _relapse_row(rt: SurvivalTable, episode_id: str) -> pd.Series:
    return rt.data.set_index("episode_id").loc[episode_id]


def test_relapse_hand_checked_on_the_example_cohort():
    rt = relapse_table(example_cohort())
    d = rt.data
    # only episodes that ended in a return; E0005a (exemption), E0013a (unknown), the
    # ongoing E0002a/E0014a and the other non-return endings are not at risk of relapse
    assert sorted(d["episode_id"]) == ["E0001a", "E0003a", "E0004a", "E0006a", "E0008a",
                                       "E0009a", "E0015a"]
    assert set(d["end_reason"]) <= set(RETURN_REASONS)
    # P3f9a1c0e7b2d4a61 returned 2023-04-17 (E0001a), new episode E0002a on 2023-10-02
    r = _relapse_row(rt, "E0001a")
    assert (r.pupil_id, r.origin_date, r.stop_date) == (
        "P3f9a1c0e7b2d4a61", pd.Timestamp("2023-04-17"), pd.Timestamp("2023-10-02"))
    assert (r.duration, r.event, r.event_label, r.next_episode_id) == (
        168.0, 1, "relapse", "E0002a")
    # P5b7e2d9c1a0f3e82 returned 2023-02-06 (E0003a), next episode E0015a on 2023-11-06
    r = _relapse_row(rt, "E0003a")
    assert (r.duration, r.event, r.next_episode_id) == (273.0, 1, "E0015a")
    # ... returned again 2024-06-03 (E0015a): no new episode, censored at 2024-07-31
    r = _relapse_row(rt, "E0015a")
    assert (r.duration, r.event, r.stop_date) == (58.0, 0, pd.Timestamp("2024-07-31"))
    # E0009a returned 2024-01-29, censored at follow-up end 2024-07-31 (2024 is a leap year)
    assert (_relapse_row(rt, "E0009a").duration, _relapse_row(rt, "E0009a").event) == (184, 0)
    assert int(d["event"].sum()) == 2
    assert rt.n_excluded == {}
    # covariates measured at the return, as in survival_table
    assert _relapse_row(rt, "E0001a").age == pytest.approx(
        (pd.Timestamp("2023-04-17") - pd.Timestamp("2014-03-01")).days / 365.25, abs=0.01)
    assert _relapse_row(rt, "E0001a").ses_index == -0.4
    assert rt.data.columns[:7].tolist() == ["episode_id", "pupil_id", "origin_date",
                                            "stop_date", "duration", "event", "event_label"]


def _add_episodes(folder: Path) -> None:
    """P0c4d8e2f6a1b5c93 (E0004a, dreigend, returned 2023-05-22) gets a new dreigend
    episode 2023-09-04 .. 2023-10-02 (returned) and then an ongoing lrv from 2024-01-08."""
    path = folder / "episodes.csv"
    ep = pd.read_csv(path, dtype=str, keep_default_na=False)
    new = pd.DataFrame([
        ["E0016a", "P0c4d8e2f6a1b5c93", "dreigend", "2023-09-04", "", "2023-10-02",
         "returned_full"],
        ["E0017a", "P0c4d8e2f6a1b5c93", "lrv", "2024-01-08", "2024-01-22", "", ""],
    ], columns=ep.columns)
    pd.concat([ep, new]).to_csv(path, index=False)


def test_relapse_next_types_any_or_thuiszitten_only(example):
    _add_episodes(example)
    cohort = Cohort.load(example)
    assert cohort.report.n_rejected == 0
    anyt = relapse_table(cohort)
    r = _relapse_row(anyt, "E0004a")
    assert (r.duration, r.event, r.next_episode_id, r.next_episode_type) == (
        105.0, 1, "E0016a", "dreigend")  # 2023-05-22 -> 2023-09-04
    r = _relapse_row(anyt, "E0016a")
    assert (r.duration, r.event, r.next_episode_id) == (98.0, 1, "E0017a")  # -> 2024-01-08
    # only a new lrv / absoluut verzuim episode counts: the dreigend episode is passed over
    th = relapse_table(cohort, next_types="thuiszitten")
    r = _relapse_row(th, "E0004a")
    assert (r.duration, r.event, r.next_episode_id, r.next_episode_type) == (
        231.0, 1, "E0017a", "lrv")  # 2023-05-22 -> 2024-01-08
    assert _relapse_row(th, "E0016a").duration == 98.0
    assert relapse_table(cohort, next_types=("lrv", "absoluut_verzuim")).data.equals(th.data)
    only_dreigend = relapse_table(cohort, next_types="dreigend")
    assert _relapse_row(only_dreigend, "E0004a").next_episode_id == "E0016a"
    assert _relapse_row(only_dreigend, "E0001a").event == 0


def test_relapse_horizon_school_days_group_and_return_on_follow_up_end(example):
    cohort = example_cohort()
    h = relapse_table(cohort, OutcomeDefinition(horizon_days=100))
    r = _relapse_row(h, "E0001a")
    assert (r.duration, r.event, r.stop_date) == (100.0, 0, pd.Timestamp("2023-07-26"))
    sd = relapse_table(cohort, OutcomeDefinition(time_scale="school_days"))
    hol = pd.to_datetime(cohort.school_calendar["date"]).to_numpy().astype("datetime64[D]")
    assert _relapse_row(sd, "E0001a").duration == np.busday_count(
        np.datetime64("2023-04-17"), np.datetime64("2023-10-02"), holidays=hol)
    g = relapse_table(cohort, group="intervention")
    assert g.group == "intervention"
    assert _relapse_row(g, "E0001a").intervention == "back_to_school"
    with pytest.raises(ValueError, match="not a covariate"):
        relapse_table(cohort, group="nonsense")
    # a return on the follow-up end day has no time at risk: excluded, and counted
    ep = pd.read_csv(example / "episodes.csv", dtype=str, keep_default_na=False)
    ep.loc[ep.episode_id == "E0015a", "end_date"] = "2024-07-31"
    ep.to_csv(example / "episodes.csv", index=False)
    rt = relapse_table(Cohort.load(example))
    assert "E0015a" not in set(rt.data["episode_id"])
    assert rt.n_excluded == {"return on follow-up end": 1}


@functools.cache
def _demo_relapse() -> tuple[Cohort, SurvivalTable]:
    from thuiszit_eval.simulate import demo_cohort_path

    cohort = Cohort.load(demo_cohort_path())
    return cohort, relapse_table(cohort, group="episode_type")


def test_relapse_on_demo_cohort_agrees_with_a_pupil_by_pupil_loop():
    cohort, rt = _demo_relapse()
    fu = cohort.follow_up_end
    ep = cohort.episodes.sort_values(["pupil_id", "absence_start"])
    expect = {}
    for _, g in ep.groupby("pupil_id"):
        rows = list(g.itertuples())
        for i, e in enumerate(rows):
            if e.end_reason in RETURN_REASONS and e.end_date < fu:
                nxt = rows[i + 1] if i + 1 < len(rows) else None
                stop = nxt.absence_start if nxt is not None else fu
                expect[e.episode_id] = ((stop - e.end_date).days, int(nxt is not None))
    d = rt.data.set_index("episode_id")
    assert sorted(d.index) == sorted(expect)
    got = {k: (int(v.duration), int(v.event)) for k, v in d.iterrows()}
    assert got == expect
    assert 0 < d["event"].mean() < 1


def test_km_of_relapse_runs_on_the_demo_cohort():
    _, rt = _demo_relapse()
    fit = sv.kaplan_meier(rt.data, "duration", "event", "episode_type")
    t = fit.table
    assert set(t["group"]) == set(rt.data["episode_type"])
    assert t["surv"].between(0, 1).all()
    assert (t.groupby("group")["surv"].apply(lambda s: s.is_monotonic_decreasing)).all()
    a = fit.at_times([91, 182, 365])
    assert a["returned"].notna().all()  # here: the cumulative share that relapsed


@pytest.mark.skipif(__import__("shutil").which("Rscript") is None, reason="Rscript not found")
def test_km_of_relapse_on_demo_equals_r_survfit(tmp_path):
    import subprocess

    _, rt = _demo_relapse()
    data = tmp_path / "relapse.csv"
    out = tmp_path / "km.csv"
    rt.data[["duration", "event", "episode_type"]].to_csv(data, index=False)
    code = (
        "suppressPackageStartupMessages(library(survival));"
        f"d <- read.csv('{data}');"
        "f <- survfit(Surv(duration, event) ~ episode_type, data = d);"
        "g <- sub('^[^=]*=', '', rep(names(f$strata), f$strata));"
        "write.csv(data.frame(group = g, time = f$time, n_risk = f$n.risk, surv = f$surv,"
        " std_err = f$surv * f$std.err, lower = f$lower, upper = f$upper),"
        f" '{out}', row.names = FALSE)"
    )
    proc = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True,
                          timeout=60, check=False)
    if proc.returncode != 0 and "there is no package called" in proc.stderr:
        pytest.skip("R package survival missing")
    assert proc.returncode == 0, proc.stderr
    r = pd.read_csv(out)
    t = sv.kaplan_meier(rt.data, "duration", "event", "episode_type").table
    assert list(t["group"]) == list(r["group"])
    for col in ["time", "n_risk", "surv"]:
        close(t[col], r[col], POINT)
    for col in ["std_err", "lower", "upper"]:
        close(t[col], r[col], SE)
