"""Tests of the cohort simulator: format, determinism, realism and the known truth."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval import simulate as S
from thuiszit_eval.simulate import (
    BETA,
    GAMMA,
    counting_process,
    demo_cohort_path,
    episode_covariates,
    simulate_cohort,
    write_simulated_cohort,
)

FU = pd.Timestamp(S.FOLLOW_UP_END)


def _load_cohort(folder: Path):
    cohort = pytest.importorskip(
        "thuiszit_eval.cohort", reason="the validator (thuiszit_eval.cohort) is not there yet"
    )
    return cohort.Cohort.load(folder)


@pytest.fixture(scope="module")
def sim() -> S.SimulatedCohort:
    return simulate_cohort(3000, seed=7, progress=False)


@pytest.fixture(scope="module")
def big() -> S.SimulatedCohort:
    return simulate_cohort(5000, seed=11, progress=False)


# ---------------------------------------------------------------- format and determinism
def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_same_seed_gives_identical_bytes(tmp_path):
    a = _files(write_simulated_cohort(tmp_path / "a", 400, seed=3, progress=False))
    b = _files(write_simulated_cohort(tmp_path / "b", 400, seed=3, progress=False))
    c = _files(write_simulated_cohort(tmp_path / "c", 400, seed=4, progress=False))
    assert a == b
    assert a["episodes.csv"] != c["episodes.csv"]
    assert a["school_calendar.csv"] == c["school_calendar.csv"]
    assert set(a) == {f"{t}.csv" for t in S.TABLES} | {"datapackage.json", "truth.json"}


def test_messy_mode_is_deterministic(tmp_path):
    a = _files(write_simulated_cohort(tmp_path / "a", 300, seed=3, messy_rate=0.03,
                                      progress=False))
    b = _files(write_simulated_cohort(tmp_path / "b", 300, seed=3, messy_rate=0.03,
                                      progress=False))
    assert a == b and "injected_errors.csv" in a


def test_datapackage_shape(tmp_path):
    folder = write_simulated_cohort(tmp_path, 100, seed=1, progress=False)
    dp = json.loads((folder / "datapackage.json").read_text())
    assert dp["profile"] == "data-package" and dp["name"] == "sim-cohort-seed-1"
    meta = dp["thuiszit"]
    assert meta["follow_up_end"] == "2025-06-30" and meta["simulated"] is True
    assert meta["seed"] == 1 and meta["intervention_tolerance_days"] == 14
    assert [r["name"] for r in dp["resources"]] == S.TABLES
    assert all(r["path"] == f"{r['name']}.csv" and r["encoding"] == "utf-8"
               for r in dp["resources"])
    pupils = dp["resources"][0]
    assert {f["name"] for f in pupils["extra_fields"]} == {"ses_score", "neighbourhood_type"}
    header = (folder / "pupils.csv").read_text().splitlines()[0]
    assert header.startswith("pupil_id,birth_month,sex,school_type")


def test_csv_conventions(tmp_path):
    folder = write_simulated_cohort(tmp_path, 300, seed=2, progress=False)
    ep = pd.read_csv(folder / "episodes.csv", dtype=str, keep_default_na=False)
    assert ep["absence_start"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert ((ep["end_date"] == "") == (ep["end_reason"] == "")).all()
    iv = pd.read_csv(folder / "interventions.csv", dtype=str, keep_default_na=False)
    assert set(iv["coaching_child"]) <= {"true", "false", ""}
    pu = pd.read_csv(folder / "pupils.csv", dtype=str, keep_default_na=False)
    assert pu["birth_month"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert pu["support_needs"].str.contains("|", regex=False).any()


# ---------------------------------------------------------------- validator
def test_clean_cohort_has_no_rejections(tmp_path):
    folder = write_simulated_cohort(tmp_path, 1500, seed=5, progress=False)
    cohort = _load_cohort(folder)
    assert cohort.report.n_rejected == 0, cohort.report.problems.head(20).to_string()
    counts = cohort.report.counts.set_index("table")
    assert counts.loc["pupils", "rows_accepted"] == 1500


def test_clean_parquet_cohort_has_no_rejections(tmp_path):
    folder = write_simulated_cohort(tmp_path, 500, seed=6, file_format="parquet",
                                    progress=False)
    assert (folder / "episodes.parquet").exists() and not (folder / "episodes.csv").exists()
    cohort = _load_cohort(folder)
    assert cohort.report.n_rejected == 0, cohort.report.problems.head(20).to_string()


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_every_injected_error_is_caught(tmp_path, file_format):
    folder = write_simulated_cohort(tmp_path, 1500, seed=8, messy_rate=0.02,
                                    file_format=file_format, progress=False)
    errors = pd.read_csv(folder / "injected_errors.csv", dtype=str, keep_default_na=False)
    errors["row"] = errors["row"].astype(int)
    kinds = {k for table in S.MESSY_KINDS.values() for k, _ in table}
    assert set(errors["kind"]) == kinds
    assert not errors.duplicated(["table", "row"]).any()
    cohort = _load_cohort(folder)
    problems = cohort.report.problems
    rejected = problems[problems["severity"] == "reject"]
    hit = set(zip(rejected["table"], rejected["row"].astype(int), strict=True))
    # an impossible age is detected on the pupil's episodes (age at absence start)
    episodes = pd.read_csv(folder / "episodes.csv", dtype=str, keep_default_na=False) \
        if file_format == "csv" else pd.read_parquet(folder / "episodes.parquet")
    pupils = (pd.read_csv(folder / "pupils.csv", sep=";", encoding="cp1252", dtype=str,
                          keep_default_na=False) if file_format == "csv"
              else pd.read_parquet(folder / "pupils.parquet"))["pupil_id"].to_numpy()
    missed = []
    for e in errors.itertuples():
        if (e.table, e.row) in hit:
            continue
        if e.kind == "age_out_of_range":
            pid = pupils[e.row - 2]
            rows = set(np.flatnonzero(episodes["pupil_id"].to_numpy() == pid) + 2)
            if any(("episodes", r) in hit for r in rows):
                continue
        missed.append(e)
    assert not missed, pd.DataFrame(missed).to_string()


def test_messy_mode_encodings_load_cleanly(tmp_path):
    folder = write_simulated_cohort(tmp_path, 400, seed=9, messy_rate=0.01, progress=False)
    dp = json.loads((folder / "datapackage.json").read_text())
    res = {r["name"]: r for r in dp["resources"]}
    assert res["pupils"]["encoding"] == "cp1252"
    assert res["pupils"]["dialect"] == {"delimiter": ";"}
    raw = (folder / "pupils.csv").read_bytes()
    assert "ï".encode("cp1252") in raw and raw.decode("cp1252").splitlines()[0].count(";") > 5
    cohort = _load_cohort(folder)
    cal = cohort.report.counts.set_index("table").loc["school_calendar"]
    assert cal["rows_rejected"] == 0 and cal["rows_read"] > 100


# ---------------------------------------------------------------- realism
def _age_months(later: pd.Series, birth_month: pd.Series) -> np.ndarray:
    b = pd.PeriodIndex(birth_month.astype(str), freq="M")
    d = pd.PeriodIndex(later, freq="M")
    return np.asarray((d.year - b.year) * 12 + (d.month - b.month))


def test_back_to_school_only_ages_5_to_14(sim):
    iv = sim.tables["interventions"]
    bts = iv[iv["intervention_code"] == "back_to_school"]
    assert len(bts) > 100
    birth = sim.tables["pupils"].set_index("pupil_id").loc[bts["pupil_id"], "birth_month"]
    age = _age_months(bts["start_date"], birth.reset_index(drop=True)) // 12
    assert age.min() >= 5 and age.max() <= 14
    # fidelity: mostly on protocol, some out of protocol
    dp = bts["dayparts_per_week"]
    assert (dp <= 3).mean() > 0.8 and (dp > 3).any()
    assert (~bts["coaching_teacher"].astype(bool)).any()


def test_episode_length_and_share_home(sim):
    from lifelines import KaplanMeierFitter

    ep = sim.tables["episodes"]
    t = (ep["end_date"].fillna(FU) - ep["absence_start"]).dt.days
    km = KaplanMeierFitter().fit(t, ep["end_date"].notna())
    assert 60 <= km.median_survival_time_ <= 120
    assert 0.30 <= float(km.predict(91)) <= 0.55
    reasons = ep["end_reason"].value_counts()
    assert {"exemption_5a", "moved", "aged_out", "returned_partial"} <= set(reasons.index)
    assert ep["end_date"].isna().mean() > 0.05  # administrative censoring
    assert ep.groupby("pupil_id").size().max() >= 2  # relapses


def test_dates_are_consistent(sim):
    ep = sim.tables["episodes"].set_index("episode_id")
    iv = sim.tables["interventions"].join(ep[["reported_date", "absence_start"]],
                                          on="episode_id")
    started = iv[iv["start_date"].notna()]
    assert (started["start_date"] > started["reported_date"]).all()
    assert (started["referral_date"] <= started["start_date"]).all()
    delay = (ep["reported_date"] - ep["absence_start"]).dt.days.dropna()
    assert delay.between(0, 42).all() and ep["reported_date"].isna().any()
    att = sim.tables["attendance"]
    assert (att["attended_dayparts"] <= att["scheduled_dayparts"]).all()
    assert (att["week_start"].dt.dayofweek == 0).all()
    assert not att.duplicated(["pupil_id", "week_start"]).any()
    fac = att[att["location"] == "facility"]
    assert len(fac) > 0 and fac["scheduled_dayparts"].max() <= 4
    assert len(att) / len(ep) < 30
    for name, col in [("attendance", "week_start"), ("process_events", "event_date"),
                      ("school_calendar", "date")]:
        assert sim.tables[name][col].max() <= FU


def test_school_calendar():
    cal = S.school_calendar(dt.date(2024, 8, 1), dt.date(2025, 6, 30)).set_index("date")
    assert cal.loc["2024-12-25", "reason"] == "public_holiday"
    assert cal.loc["2025-04-21", "reason"] == "public_holiday"  # Easter Monday
    assert cal.loc["2024-10-21", "reason"] == "holiday"  # autumn week 43
    assert pd.Timestamp("2024-11-12") not in cal.index
    assert (cal.index.dayofweek < 5).all()


# ---------------------------------------------------------------- the truth
def test_truth_contents(sim):
    truth = sim.truth
    assert truth["hazard_ratios"]["back_to_school"] == pytest.approx(1.5)
    assert set(truth["beta"]) == set(truth["covariate_coding"]) == set(BETA)
    tt = truth["target_trial"]
    assert tt["n_draws"] >= 200_000
    for tau in ("91", "182"):
        r = tt["rmst"][tau]
        assert r["difference"] == pytest.approx(
            r["strategy_A_start_within_28d"] - r["strategy_B_no_start_within_28d"])
        assert r["difference"] < 0 and r["difference_mc_se"] < 0.2
    json.dumps(truth)  # serialisable


def test_time_varying_cox_recovers_back_to_school_hr(big):
    from lifelines import CoxTimeVaryingFitter

    cp = counting_process(big.tables)
    covs = [*BETA, *S.MAIN_INTERVENTIONS]
    ctv = CoxTimeVaryingFitter()
    ctv.fit(cp[[*covs, "episode_id", "start", "stop", "event", "swv_id"]],
            id_col="episode_id", event_col="event", start_col="start", stop_col="stop",
            strata=["swv_id"], show_progress=False)
    row = ctv.summary.loc["back_to_school"]
    true_hr = big.truth["hazard_ratios"]["back_to_school"]
    assert row["exp(coef) lower 95%"] <= true_hr <= row["exp(coef) upper 95%"]
    # and the covariates are on the stated coding
    for name in ("need_psychiatric", "dreigend", "ses_score"):
        lo, hi = ctv.summary.loc[name, ["coef lower 95%", "coef upper 95%"]]
        assert lo <= BETA[name] <= hi


def test_naive_ever_vs_never_comparison_is_biased(big):
    from lifelines import CoxPHFitter

    cov = episode_covariates(big.tables)
    iv = big.tables["interventions"]
    ever = set(iv.loc[iv["intervention_code"] == "back_to_school", "episode_id"])
    birth = big.tables["pupils"].set_index("pupil_id").loc[cov["pupil_id"], "birth_month"]
    rep = cov["reported_date"]
    age_rep = _age_months(rep.fillna(FU), birth.reset_index(drop=True)) // 12
    el = cov[cov["episode_type"].isin(["lrv", "absoluut_verzuim"]) & rep.notna()
             & (age_rep >= 5) & (age_rep <= 14)].copy()
    el["T"] = (el["end_date"].fillna(FU) - el["reported_date"]).dt.days
    el["E"] = el["end_reason"].str.startswith("returned").astype(int)
    el["bts"] = el["episode_id"].isin(ever).astype(int)
    naive = CoxPHFitter().fit(el[["T", "E", "bts"]], "T", "E").summary.loc["bts"]
    # truth: HR 1.5 (faster return); naive ever/never: immortal time + confounding
    # by indication make Back to School look harmful
    assert naive["exp(coef) upper 95%"] < 1.0 < np.exp(GAMMA["back_to_school"])


def test_counting_process_matches_episodes(sim):
    cp = counting_process(sim.tables)
    ep = sim.tables["episodes"]
    assert cp["event"].sum() == ep["end_reason"].str.startswith("returned").sum()
    assert cp["episode_id"].nunique() == len(ep)
    treated = cp[cp["back_to_school"] == 1]
    assert (treated["start"] > 0).all()


# ---------------------------------------------------------------- demo cohort
def test_demo_cohort_path_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("THUISZIT_EVAL_CACHE", str(tmp_path))
    path = demo_cohort_path()
    assert path.parent == tmp_path and (path / "datapackage.json").exists()
    stamp = (path / "episodes.csv").stat().st_mtime_ns
    assert demo_cohort_path() == path
    assert (path / "episodes.csv").stat().st_mtime_ns == stamp
    meta = json.loads((path / "datapackage.json").read_text())["thuiszit"]
    assert meta["seed"] == S.DEMO_SEED
    assert demo_cohort_path(refresh=True) == path


# ---------------------------------------------------------------- the target-trial truth
def _ccw_rmst(sim: S.SimulatedCohort, taus=(91, 182)) -> dict[int, float]:
    """Clone-censor-weight estimate of RMST(A) - RMST(B), time zero = report.

    Arm B weights use the true initiation model and the competing-event weights use the
    true competing hazards (oracle nuisance models); arm A's weight at the end of the
    grace period is a logistic regression of "started by day 28" among clones still home
    at day 28. Daily discrete-time weighted Kaplan-Meier.
    """
    import statsmodels.api as sm

    cov = episode_covariates(sim.tables)
    rep = cov["reported_date"]
    birth = sim.tables["pupils"].set_index("pupil_id").loc[cov["pupil_id"], "birth_month"]
    age_rep = _age_months(rep.fillna(FU), birth.reset_index(drop=True)) // 12
    el = cov[cov["episode_type"].isin(["lrv", "absoluut_verzuim"]) & rep.notna()
             & (age_rep >= 5) & (age_rep <= 14)
             & (cov["end_date"].isna() | (cov["end_date"] > rep))].copy()
    iv = sim.tables["interventions"]
    bts = iv[iv["intervention_code"] == "back_to_school"].set_index("episode_id")["start_date"]
    s = (el["episode_id"].map(bts) - el["reported_date"]).dt.days.fillna(np.inf).to_numpy()
    time = (el["end_date"].fillna(FU) - el["reported_date"]).dt.days.to_numpy()
    ret = el["end_reason"].fillna("").str.startswith("returned").to_numpy()
    x = {k: el[k].to_numpy(float) for k in BETA}
    x["weeks_home_at_report"] = ((el["reported_date"] - el["absence_start"]).dt.days / 7
                                 ).to_numpy()
    region = el["swv_id"].str[-2:].astype(int).to_numpy() - 1
    mult = np.exp(sum(v * x[k] for k, v in S.ALPHA.items()) + S.REGION_BTS_ACCESS[region])
    crate = sum(base * np.exp(sum(b * x[k] for k, b in S.COMPETING_BETA[c].items()))
                for c, base in S.COMPETING_BASE.items())
    days = np.arange(1, max(taus) + 1)
    at_risk = time[:, None] >= days[None, :]
    event = (time[:, None] == days[None, :]) & ret[:, None]
    w_comp = np.exp(crate[:, None] * (days[None, :] - 1))
    grace = days[None, :] <= S.GRACE_DAYS
    # arm A: censored at day 28 unless started by then
    started = s <= S.GRACE_DAYS
    home = time > S.GRACE_DAYS
    z = np.column_stack([x[k] for k in [*BETA, "weeks_home_at_report"]]
                        + [(region == r).astype(float) for r in range(1, 8)])
    z = sm.add_constant(z[:, z[home].std(0) > 0])
    p = sm.Logit(started[home].astype(float), z[home]).fit(disp=0).predict(z)
    unc_a = np.where(grace, True, started[:, None])
    w_a = np.where(grace, 1.0, 1 / p[:, None])
    # arm B: censored on starting within the grace period
    unc_b = np.where(grace, s[:, None] >= days[None, :], ~started[:, None])
    cum = np.array([S._init_cum(min(d - 1, S.GRACE_DAYS), S.BTS_RATES) for d in days])
    w_b = np.exp(mult[:, None] * cum[None, :])

    def rmst(unc: np.ndarray, w: np.ndarray) -> np.ndarray:
        ww = w * w_comp * at_risk * unc
        surv = np.concatenate([[1.0], np.cumprod(1 - (ww * event).sum(0) / ww.sum(0))])
        return np.array([surv[:tau].sum() for tau in taus])

    return dict(zip(taus, rmst(unc_a, w_a) - rmst(unc_b, w_b), strict=True))


def test_ccw_estimate_matches_target_trial_truth():
    """The truth is what a correctly specified clone-censor-weight analysis estimates."""
    sim = simulate_cohort(40_000, seed=3, progress=False)
    est = _ccw_rmst(sim)
    rmst = sim.truth["target_trial"]["rmst"]
    assert est[91] == pytest.approx(rmst["91"]["difference"], abs=1.0)
    assert est[182] == pytest.approx(rmst["182"]["difference"], abs=3.0)


def test_counting_process_same_after_write_and_load(tmp_path):
    folder = write_simulated_cohort(tmp_path, 600, seed=12, progress=False)
    cohort = _load_cohort(folder)
    loaded = counting_process({t: getattr(cohort, t) for t in
                               ("pupils", "episodes", "interventions")}, cohort.follow_up_end)
    direct = counting_process(simulate_cohort(600, seed=12, progress=False).tables)
    cols = ["episode_id", "start", "stop", "event", *BETA, *S.MAIN_INTERVENTIONS]
    pd.testing.assert_frame_equal(loaded[cols].reset_index(drop=True),
                                  direct[cols].reset_index(drop=True), check_dtype=False)


# ---------------------------------------------------------------- default output is pinned
#: sha256 of every file of default cohorts, computed with the simulator before shapes were
#: added (commit e52fee1). Stored notebooks hold outputs of the demo cohort, so the default
#: output must never change by accident; a deliberate change updates these hashes.
PINNED = {
    (300, 1, 0.0): {
        "attendance.csv": "4b16f207aa70e2bfb6ca37a57b6fe4dc85369624f188732c3208cdfc252bbd0e",
        "datapackage.json": "25068c953712c0d273c8c28c6777434968fd1511ad608fd7fbbb11f4c16a1ae9",
        "episodes.csv": "b3bedacda0befdbddb72fad319d58b173adf5fd792e45a758628a7351cb1611f",
        "interventions.csv": "9a6cbabf72b6c99b15450581297d6b0820e45a9245a7a395494f56676caf5c34",
        "process_events.csv": "8dece419c3e9ca967c840b8ce44138b3b5a7488e062ca15cd168b9c360fd34b5",
        "pupils.csv": "0cc3d32af9bc9c26afe59a06a9b0207912b9a720680f82a964ed8eee19678b26",
        "school_calendar.csv": "504540401a83fe9d1d8563134c30e3fa68dff329153526d34ba5fe521c4f5ef5",
        "truth.json": "d0b4a899262931e3e772ee1a4a37956bacb63f1ff96b89c9ff7c7de010b8c050",
    },
    (S.DEMO_PUPILS, S.DEMO_SEED, 0.0): {
        "attendance.csv": "9055cf16d7686e2608367d39c79d0be2a6b39a56b5e47522d68ebe38843ba6bb",
        "datapackage.json": "afc807a865c30bd3fc395870a171b2891bd79d433192c255f2c7b173bfbdc3c1",
        "episodes.csv": "646d4f98b05e5655fb12a4eff4f99c7005762f381a8a420a2f38a937091bd7dd",
        "interventions.csv": "448e9dbc493015d5ae7b9cacce031d45e44b1faf8de5d5fee4c5caa8c1871a12",
        "process_events.csv": "8cc153582d89e90bdf610f25f8513c98391d1ca093a06560a85cff5dc5e13bdb",
        "pupils.csv": "7c92c0d9cd29c894ab6ad265ea3bae8f90cb7a60ceac07cc8e788ba7f5e28521",
        "school_calendar.csv": "504540401a83fe9d1d8563134c30e3fa68dff329153526d34ba5fe521c4f5ef5",
        "truth.json": "aa7bdda628952566ddf9cf886abccc3c48e6d6c0ce8dd268f00faa78df630ebe",
    },
    (300, 3, 0.03): {
        "attendance.csv": "490198501b7cd8566c3fd1121f76cd0d52fb1192e7eb0867202e2965c79f3187",
        "datapackage.json": "ed56b1a1e3263ab15fce943c80f35efd59c96390fc6ba33bd1d024f73ff0c8f4",
        "episodes.csv": "65ae437d45e02415ca02a2bb9a5a9299d08586f05b3cd147985d719ca3a1d1c9",
        "injected_errors.csv": "8aa471961bcb319c2cdbda63217ae5e0a5a9e2032e6b1f6c2f13331de6c7416b",
        "interventions.csv": "0676d16460b3d37f77c46d1eb5275e830bf16f8e4ee789a45215b95b0985d9ff",
        "process_events.csv": "54201dd08f98a095aafcc267425479daf027c6a8439a1fbba115fc8c31aae235",
        "pupils.csv": "48d96492cfd1b972a647f4ebb175d696174523b95461db0be51f3a2b97891904",
        "school_calendar.csv": "6011abf96ceef0ab8e1a26a14ddcff25bcd5a175171ca85ea17c74894ef37df4",
        "truth.json": "83edbe83753ddf6a99e2b950992412df8b54855c67ffd48697ed3249ec06f1e5",
    },
}


@pytest.mark.parametrize("key", list(PINNED), ids=["300", "demo", "messy"])
def test_default_output_is_byte_identical_to_before_shapes(tmp_path, key):
    import hashlib

    n, seed, messy = key
    folder = write_simulated_cohort(tmp_path, n, seed=seed, messy_rate=messy, progress=False)
    got = {name: hashlib.sha256(data).hexdigest() for name, data in _files(folder).items()}
    assert got == PINNED[key]


# ---------------------------------------------------------------- shapes
def _read(folder: Path, table: str) -> pd.DataFrame:
    """A written table as text, whatever its format."""
    for fmt in S.FILE_FORMATS:
        path = folder / f"{table}.{fmt}"
        if path.exists():
            from thuiszit_eval.reading import read_table

            return read_table(path).frame
    raise FileNotFoundError(table)


def _dp(folder: Path) -> dict:
    return json.loads((folder / "datapackage.json").read_text())


def _truth(folder: Path) -> dict:
    return json.loads((folder / "truth.json").read_text())


@pytest.mark.parametrize("name", list(S.SHAPES))
def test_every_preset_shape_validates_without_rejections(tmp_path, name):
    folder = S.write_shape(name, tmp_path, seed=21)
    kwargs = S.SHAPES[name]
    fmt = kwargs.get("file_format", "csv")
    tables = list(kwargs.get("tables", S.TABLES))
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{t}.{fmt}" for t in tables] + ["datapackage.json", "truth.json"])
    cohort = _load_cohort(folder)
    assert cohort.report.n_rejected == 0, cohort.report.problems.head(20).to_string()
    assert len(cohort.pupils) <= kwargs["n_pupils"] and len(cohort.episodes) > 0
    for t in set(S.TABLES) - set(tables):
        assert getattr(cohort, t) is None
    assert _truth(folder)["cohort"]["seed"] == 21


def test_report_matrix_and_write_shape():
    assert set(S.REPORT_MATRIX) <= set(S.SHAPES)
    assert S.SHAPES["tiny"]["n_pupils"] == 40
    with pytest.raises(ValueError, match="unknown shape 'nope'; choose from default, tiny"):
        S.write_shape("nope", "unused")


@pytest.mark.parametrize("n", [15, 40])
@pytest.mark.parametrize("shape", ["default", "required_only_renamed", "no_bts",
                                   "single_region", "prevalent", "excel"])
def test_small_cohorts_work_in_every_shape(tmp_path, n, shape):
    folder = S.write_shape(shape, tmp_path, seed=n, n_pupils=n)
    cohort = _load_cohort(folder)
    assert cohort.report.n_rejected == 0, cohort.report.problems.head(20).to_string()
    assert 0 < len(cohort.pupils) <= n
    assert _truth(folder)["cohort"]["n_pupils"] == n


def test_tables_left_out_are_absent_and_the_rest_unchanged(tmp_path):
    full = write_simulated_cohort(tmp_path / "full", 300, seed=4, progress=False)
    folder = tmp_path / "part"
    write_simulated_cohort(folder, 300, seed=4, progress=False)  # stale files to remove
    write_simulated_cohort(folder, 300, seed=4, progress=False,
                           tables=["pupils", "interventions", "episodes"])
    assert sorted(p.name for p in folder.iterdir()) == [
        "datapackage.json", "episodes.csv", "interventions.csv", "pupils.csv", "truth.json"]
    assert [r["name"] for r in _dp(folder)["resources"]] == ["pupils", "episodes",
                                                            "interventions"]
    # the random draws do not depend on the tables written
    for t in ("pupils", "episodes", "interventions"):
        assert (folder / f"{t}.csv").read_bytes() == (full / f"{t}.csv").read_bytes()
    assert _truth(folder)["shape"]["tables"] == ["pupils", "episodes", "interventions"]
    sim = simulate_cohort(40, seed=4, progress=False, tables=["episodes", "pupils"])
    assert list(sim.tables) == ["pupils", "episodes"]
    with pytest.raises(ValueError, match="must include pupils and episodes"):
        simulate_cohort(40, progress=False, tables=["pupils"])
    with pytest.raises(ValueError, match="unknown table"):
        simulate_cohort(40, progress=False, tables=["pupils", "episodes", "absences"])


def test_renamed_covariates_are_declared_and_named_in_the_truth(tmp_path):
    default = simulate_cohort(300, seed=5, progress=False).tables["pupils"]
    folder = write_simulated_cohort(
        tmp_path, 300, seed=5, progress=False,
        covariate_names={"ses_score": "sociaal_economische_status",
                         "neighbourhood_type": "buurttype"})
    header = (folder / "pupils.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["sociaal_economische_status", "buurttype"]
    pupils = _dp(folder)["resources"][0]
    assert [(f["name"], f["type"]) for f in pupils["extra_fields"]] == [
        ("sociaal_economische_status", "number"), ("buurttype", "string")]
    truth = _truth(folder)
    for key in ("beta", "hazard_ratios_covariates", "covariate_coding"):
        assert "sociaal_economische_status" in truth[key] and "ses_score" not in truth[key]
    assert truth["beta"]["sociaal_economische_status"] == BETA["ses_score"]
    assert truth["covariate_coding"]["sociaal_economische_status"].startswith(
        "pupils.sociaal_economische_status (extra field)")
    cohort = _load_cohort(folder)
    assert cohort.report.n_rejected == 0
    ses = pd.to_numeric(cohort.pupils["sociaal_economische_status"])
    np.testing.assert_allclose(ses.to_numpy(), default["ses_score"].to_numpy())
    assert "unknown_column" not in set(cohort.report.problems["rule"])
    cov = episode_covariates({"pupils": cohort.pupils, "episodes": cohort.episodes},
                             ses_column="sociaal_economische_status")
    assert cov["sociaal_economische_status"].notna().all()


def test_no_extra_covariates(tmp_path):
    folder = write_simulated_cohort(tmp_path, 200, seed=5, progress=False,
                                    covariate_names={"ses_score": None,
                                                     "neighbourhood_type": None})
    header = (folder / "pupils.csv").read_text().splitlines()[0]
    assert header.endswith(",support_needs")
    assert "extra_fields" not in _dp(folder)["resources"][0]
    truth = _truth(folder)
    assert "ses_score" not in truth["beta"]
    assert truth["unmeasured_covariates"]["ses_score"]["log_hr"] == BETA["ses_score"]
    assert _load_cohort(folder).report.n_rejected == 0


@pytest.mark.parametrize("names, message", [
    ({"ses_score": "sex"}, "clash with a pupils field"),
    ({"ses_score": "need_money"}, "clash with a pupils field"),
    ({"ses_score": "SES Index"}, "lower-case letters"),
    ({"ses_score": "x", "neighbourhood_type": "x"}, "must differ"),
    ({"income": "inkomen"}, "cannot be renamed"),
])
def test_bad_covariate_names_are_refused(names, message):
    with pytest.raises(ValueError, match=message):
        simulate_cohort(20, progress=False, covariate_names=names)


@pytest.mark.parametrize("n_regions", [1, 5, 12])
def test_number_of_regions_and_their_ids(n_regions):
    sim = simulate_cohort(1500, seed=6, progress=False, n_regions=n_regions,
                          region_prefix="SWV23")
    pupils = sim.tables["pupils"]
    ids = [f"SWV23{r:02d}" for r in range(1, n_regions + 1)]
    assert sorted(pupils["swv_id"].unique()) == ids
    truth = sim.truth
    assert list(truth["region_log_hr"]) == ids == truth["shape"]["region_ids"]
    assert list(truth["initiation"]["bts_region_access_log_rr"]) == ids
    k = min(n_regions, 8)  # the first regions keep the demo's effects
    np.testing.assert_allclose(list(truth["region_log_hr"].values())[:k], S.REGION_LOG_HR[:k])
    # a municipality belongs to one region; schools carry the region number
    assert (pupils.groupby("municipality_code")["swv_id"].nunique() == 1).all()
    # the target-trial truth is for this cohort's regions
    assert truth["target_trial"]["rmst"]["182"]["difference"] < 0


def test_more_regions_extend_fewer_regions():
    a, b = S._regions(10, "X-"), S._regions(12, "X-")
    np.testing.assert_array_equal(a.log_hr, b.log_hr[:10])
    assert a.munis == b.munis[:10]
    demo = S._regions(8, "SWV-")  # the demo's constants, shares not renormalised
    for got, want in ((demo.log_hr, S.REGION_LOG_HR), (demo.share, S.REGION_SHARE),
                      (demo.access, S.REGION_BTS_ACCESS)):
        np.testing.assert_array_equal(got, want)
    assert demo.ids[0] == "SWV-01"
    with pytest.raises(ValueError, match="n_regions must be 1 to 99"):
        simulate_cohort(20, progress=False, n_regions=0)
    with pytest.raises(ValueError, match="region_prefix"):
        simulate_cohort(20, progress=False, region_prefix="SWV 23")


def test_cohort_without_back_to_school(tmp_path):
    folder = S.write_shape("no_bts", tmp_path, seed=8)
    default = write_simulated_cohort(tmp_path / "default", 600, seed=8, progress=False)
    iv = _read(folder, "interventions")
    assert "back_to_school" not in set(iv["intervention_code"])
    assert {"expert_begeleider", "onderwijs_zorg_maatwerk"} <= set(iv["intervention_code"])
    assert "facility" not in set(_read(folder, "attendance")["location"])
    # the same draws: same pupils, and only what Back to School changes differs
    assert (folder / "pupils.csv").read_bytes() == (default / "pupils.csv").read_bytes()
    truth = _truth(folder)
    assert truth["target_trial"] == {"available": False, "reason": truth["target_trial"][
        "reason"]} and "Back to School is absent" in truth["target_trial"]["reason"]
    assert "back_to_school" not in truth["hazard_ratios"]
    assert truth["hazard_ratios"]["expert_begeleider"] == pytest.approx(1.3)
    assert list(truth["interventions_absent"]) == ["back_to_school"]
    cohort = _load_cohort(folder)
    assert cohort.report.n_rejected == 0


def test_only_some_interventions(tmp_path):
    sim = simulate_cohort(1500, seed=9, progress=False,
                          arms=["onderwijs_zorg_maatwerk", "thuiszitterstafel"])
    codes = set(sim.tables["interventions"]["intervention_code"])
    assert codes == {"onderwijs_zorg_maatwerk", "thuiszitterstafel"}
    assert set(sim.tables["process_events"]["event_code"]) >= {"case_table"}
    assert "agendapunt_4" not in set(sim.tables["process_events"]["event_code"])
    assert set(sim.truth["hazard_ratios"]) == {"onderwijs_zorg_maatwerk", "thuiszitterstafel"}
    none = simulate_cohort(100, seed=9, progress=False, arms=[])
    assert none.tables["interventions"].empty
    with pytest.raises(ValueError, match="unknown intervention"):
        simulate_cohort(20, progress=False, arms=["bts"])


@pytest.mark.parametrize("file_format", ["parquet", "xlsx"])
def test_other_formats_load_as_the_csv_cohort(tmp_path, file_format):
    csv = _load_cohort(write_simulated_cohort(tmp_path / "csv", 200, seed=10, progress=False))
    folder = write_simulated_cohort(tmp_path / file_format, 200, seed=10, progress=False,
                                    file_format=file_format,
                                    covariate_names={"ses_score": "ses_index"})
    assert not list(folder.glob("*.csv"))
    res = _dp(folder)["resources"]
    assert all(r["path"] == f"{r['name']}.{file_format}" and r["format"] == file_format
               for r in res)
    other = _load_cohort(folder)
    assert other.report.n_rejected == 0, other.report.problems.head(20).to_string()
    for t in S.TABLES:
        a, b = getattr(csv, t), getattr(other, t)
        if t == "pupils":
            b = b.rename(columns={"ses_index": "ses_score"})
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                      check_dtype=False)


def test_excel_cells_are_typed_and_bytes_reproducible(tmp_path):
    from openpyxl import load_workbook

    a = write_simulated_cohort(tmp_path / "a", 60, seed=11, progress=False, file_format="xlsx")
    b = write_simulated_cohort(tmp_path / "b", 60, seed=11, progress=False, file_format="xlsx")
    assert _files(a) == _files(b)
    ws = load_workbook(a / "episodes.xlsx", read_only=True).worksheets[0]
    header, first = list(ws.iter_rows(max_row=2, values_only=True))
    row = dict(zip(header, first, strict=True))
    assert isinstance(row["absence_start"], dt.datetime)  # a date cell, as Excel exports
    ws = load_workbook(a / "pupils.xlsx", read_only=True).worksheets[0]
    header, first = list(ws.iter_rows(max_row=2, values_only=True))
    row = dict(zip(header, first, strict=True))
    assert isinstance(row["ses_score"], float) and isinstance(row["birth_month"], str)


def test_prevalent_cohort_keeps_episodes_running_on_observation_start(tmp_path):
    start = pd.Timestamp("2024-01-01")
    full = simulate_cohort(1000, seed=12, progress=False).tables
    folder = write_simulated_cohort(tmp_path, 1000, seed=12, progress=False,
                                    observation_start="2024-01-01")
    assert _dp(folder)["thuiszit"]["observation_start"] == "2024-01-01"
    cohort = _load_cohort(folder)
    assert cohort.report.n_rejected == 0, cohort.report.problems.head(20).to_string()
    ep = cohort.episodes
    assert (ep["end_date"].isna() | (ep["end_date"] > start)).all()
    ended_before = full["episodes"]["end_date"] <= start
    assert ended_before.sum() > 20  # the filter removes something
    assert set(ep["episode_id"]) == set(full["episodes"].loc[~ended_before, "episode_id"])
    assert (ep["absence_start"] < start).sum() > 20  # left-truncated episodes are kept
    assert set(cohort.pupils["pupil_id"]) == set(ep["pupil_id"])
    assert set(cohort.interventions["episode_id"]) <= set(ep["episode_id"])
    assert set(cohort.process_events["episode_id"]) <= set(ep["episode_id"])
    assert set(cohort.attendance["pupil_id"]) <= set(ep["pupil_id"])
    truth = _truth(folder)
    assert truth["hazard_ratios"]["back_to_school"] == pytest.approx(1.5)
    assert truth["observation_start"]["date"] == "2024-01-01"
    assert "delayed entry" in truth["observation_start"]["meaning"]
    assert truth["cohort"]["n_episodes"] == len(ep)
    with pytest.raises(ValueError, match="observation_start must lie after"):
        simulate_cohort(20, progress=False, observation_start="2026-01-01")
    with pytest.raises(ValueError, match="not a date"):
        simulate_cohort(20, progress=False, observation_start="1 januari")


def test_prevalent_cohort_truth_holds_with_delayed_entry():
    """The hazard ratio of Back to School is recovered from a prevalent export when each
    episode enters the risk set at observation_start (the truth.json reading)."""
    from lifelines import CoxTimeVaryingFitter

    start = pd.Timestamp("2024-06-01")
    sim = simulate_cohort(6000, seed=13, progress=False, observation_start=start)
    cp = counting_process(sim.tables, observation_start=start)
    late = cp.groupby("episode_id")["start"].min() > 0
    assert late.sum() > 500  # many episodes enter late
    entry = (start - sim.tables["episodes"].set_index("episode_id")["absence_start"]).dt.days
    np.testing.assert_array_equal(cp.groupby("episode_id")["start"].min()[late],
                                  entry[late[late].index])
    covs = [*BETA, *S.MAIN_INTERVENTIONS]
    ctv = CoxTimeVaryingFitter().fit(
        cp[[*covs, "episode_id", "start", "stop", "event", "swv_id"]], id_col="episode_id",
        event_col="event", start_col="start", stop_col="stop", strata=["swv_id"],
        show_progress=False)
    lo, hi = ctv.summary.loc["back_to_school", ["exp(coef) lower 95%", "exp(coef) upper 95%"]]
    assert lo <= sim.truth["hazard_ratios"]["back_to_school"] <= hi
    # Kaplan-Meier of return: with delayed entry as in the whole (incident) cohort,
    # without it time at home is overstated (length bias)
    from lifelines import KaplanMeierFitter

    def still_home_at_91(cp: pd.DataFrame, entry: bool) -> float:
        ep = cp.groupby("episode_id").agg(entry=("start", "min"), T=("stop", "max"),
                                          E=("event", "max"))
        km = KaplanMeierFitter().fit(ep["T"], ep["E"], entry=ep["entry"] if entry else None)
        return float(km.predict(91))

    whole = still_home_at_91(counting_process(
        simulate_cohort(6000, seed=13, progress=False).tables), False)
    assert still_home_at_91(cp, True) == pytest.approx(whole, abs=0.03)
    assert still_home_at_91(counting_process(sim.tables), False) > whole + 0.05


def test_messy_mode_with_fewer_tables(tmp_path):
    folder = write_simulated_cohort(tmp_path, 400, seed=14, messy_rate=0.02, progress=False,
                                    tables=["pupils", "episodes"])
    errors = pd.read_csv(folder / "injected_errors.csv", dtype=str)
    assert set(errors["table"]) == {"pupils", "episodes"}


def test_cli_simulate_shape_options(tmp_path, capsys):
    from thuiszit_eval.cli import main

    out = tmp_path / "c"
    code = main(["simulate", "--pupils", "40", "--seed", "3", "--out", str(out), "--quiet",
                 "--tables", "pupils,episodes,interventions", "--covariates",
                 "ses_score=ses_index,neighbourhood_type=", "--regions", "5",
                 "--region-prefix", "SWV23", "--without", "back_to_school",
                 "--observation-start", "2024-01-01", "--format", "xlsx"])
    assert code == 0 and "40 pupils (seed 3)" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "datapackage.json", "episodes.xlsx", "interventions.xlsx", "pupils.xlsx", "truth.json"]
    dp = _dp(out)
    assert dp["thuiszit"]["observation_start"] == "2024-01-01"
    assert [f["name"] for f in dp["resources"][0]["extra_fields"]] == ["ses_index"]
    shape = _truth(out)["shape"]
    assert shape["n_regions"] == 5 and shape["interventions_absent"] == ["back_to_school"]
    assert _load_cohort(out).report.n_rejected == 0
    # a preset, with an option overriding it
    assert main(["simulate", "--shape", "single_region", "--pupils", "30", "--out",
                 str(tmp_path / "s"), "--quiet"]) == 0
    assert _truth(tmp_path / "s")["shape"]["region_ids"] == ["SWV2301"]
    assert _truth(tmp_path / "s")["cohort"]["n_pupils"] == 30


@pytest.mark.parametrize("args, message", [
    (["--shape", "nope"], "unknown shape 'nope'"),
    (["--covariates", "ses_score"], "write OLD=NEW"),
    (["--tables", "pupils,interventions"], "must include pupils and episodes"),
    (["--without", "bts"], "unknown intervention"),
    (["--observation-start", "2030-01-01"], "observation_start must lie after"),
])
def test_cli_simulate_bad_shape_options(tmp_path, capsys, args, message):
    from thuiszit_eval.cli import main

    assert main(["simulate", "--out", str(tmp_path), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_messy_excel_cohort_errors_are_caught(tmp_path):
    folder = write_simulated_cohort(tmp_path, 400, seed=8, messy_rate=0.02,
                                    file_format="xlsx", progress=False)
    errors = pd.read_csv(folder / "injected_errors.csv", dtype=str, keep_default_na=False)
    assert set(errors["kind"]) == {k for table in S.MESSY_KINDS.values() for k, _ in table}
    problems = _load_cohort(folder).report.problems
    rejected = problems[problems["severity"] == "reject"]
    hit = set(zip(rejected["table"], rejected["row"].astype(int), strict=True))
    missed = [e for e in errors.itertuples() if (e.table, int(e.row)) not in hit]
    assert not missed, pd.DataFrame(missed).to_string()
