"""Issue 14 additions to thuiszit_eval.survival against R (tests/fixtures/r_survival_extra/).

The fixtures were written by ``Rscript tests/r/reference_survival_extra.R``; R is never
called here. Point estimates must agree to 1e-6 relative, standard errors and limits to 1e-4.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval import survival as sv

FIX = Path(__file__).parent / "fixtures" / "r_survival_extra"
POINT = 1e-6
SE = 1e-4


@functools.cache
def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / name)


def ref(name: str) -> pd.DataFrame:
    return _read(name).copy()


def dataset(name: str) -> pd.DataFrame:
    return ref(f"ds_{name}.csv")


def close(actual, expected, rtol: float, atol: float = 1e-10) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float),
                               np.asarray(expected, dtype=float), rtol=rtol, atol=atol,
                               equal_nan=True)


# --------------------------------------------------------------------------- log-rank
def test_issue_reproducer_has_one_df():
    d = pd.DataFrame({"duration": [7, 4, 8, 1, 5, 10], "event": [0, 1, 1, 0, 1, 0],
                      "group": list("babbbb")})
    res = sv.logrank_test(d, "duration", "event", "group")
    assert res.df == 1
    assert res.chisq == pytest.approx(4.0, rel=1e-9)
    assert res.p == pytest.approx(0.0455002638963585, rel=1e-9)


def test_logrank_on_random_sample_matches_survdiff():
    """Every committed random data set: df and chisq as survdiff, plain and stratified."""
    data = dataset("logrank_random")
    r = ref("logrank_random.csv")
    assert len(r) > 300  # the sample is really there
    by_id = dict(tuple(data.groupby("id")))
    for row in r.itertuples():
        d = by_id[row.id]
        res = sv.logrank_test(d, "time", "status", "group",
                              strata="strat" if row.stratified else None)
        assert res.df == row.df, f"data set {row.id}"
        close(res.chisq, row.chisq, POINT, atol=1e-9)
        if row.df > 0:
            close(res.p, row.p, POINT, atol=1e-12)


def test_logrank_df_and_statistic_do_not_depend_on_label_order():
    rng = np.random.default_rng(14)
    for _ in range(200):
        n = int(rng.integers(6, 50))
        k = int(rng.integers(2, 5))
        d = pd.DataFrame({"time": rng.integers(1, 12, n), "status": rng.integers(0, 2, n),
                          "group": rng.choice(list("abcd")[:k], n)})
        d.loc[0, "status"] = 1
        res = sv.logrank_test(d, "time", "status", "group")
        # df = groups with expected events − 1, never more
        assert res.df == int((res.table["expected"] > 0).sum()) - 1
        relabel = {"a": "z", "b": "y", "c": "x", "d": "w"}
        res2 = sv.logrank_test(d.assign(group=d["group"].map(relabel)), "time", "status",
                               "group")
        assert res2.df == res.df
        assert res2.chisq == pytest.approx(res.chisq, rel=1e-9, abs=1e-12)


RHO_CASES = [("veteran", "celltype", "celltype", None), ("veteran", "trt_strata_celltype", "trt",
                                                          "celltype"),
             ("lung", "ph_ecog", "ph_ecog", None)]


@pytest.mark.parametrize("rho", [0, 0.5, 1])
@pytest.mark.parametrize(("name", "test", "group", "strata"), RHO_CASES)
def test_weighted_logrank_and_trend_match_survdiff(name, test, group, strata, rho):
    r = ref("logrank_rho_trend.csv")
    r = r[(r.dataset == name) & (r.test == f"{test}_rho{rho:g}")]
    res = sv.logrank_test(dataset(name), "time", "status", group, strata=strata, rho=rho)
    assert res.df == r["df"].iloc[0]
    close(res.chisq, r["chisq"].iloc[0], POINT)
    close(res.p, r["p"].iloc[0], POINT)
    close(res.table["observed"], r["observed"], POINT)
    close(res.table["expected"], r["expected"], POINT)
    tr = res.trend()
    close(tr.chisq, r["trend_chisq"].iloc[0], POINT)
    close(tr.p, r["trend_p"].iloc[0], POINT)
    if rho == 0 and strata is None and name == "veteran":
        # an independent route: the score test of coxph(~ score, ties = "exact")
        close(tr.chisq, r["trend_coxph_exact"].iloc[0], POINT)


ENTRY_LR = [("lung", "sex", "sex", None, "entry"), ("lung", "ph_ecog", "ph_ecog", None, "entry"),
            ("veteran", "trt_strata_celltype", "trt", "celltype", "entry"),
            ("pbc", "trt", "trt", None, "entry"), ("lung", "sex_no_entry", "sex", None, None)]


@pytest.mark.parametrize(("name", "test", "group", "strata", "entry"), ENTRY_LR)
def test_logrank_with_delayed_entry_matches_exact_score_test(name, test, group, strata, entry):
    r = ref("entry_logrank.csv").query("dataset == @name and test == @test").iloc[0]
    res = sv.logrank_test(dataset(name), "time", "status", group, strata=strata, entry=entry)
    assert res.df == r["df"]
    close(res.chisq, r["chisq"], POINT)


# --------------------------------------------------------------------------- Kaplan-Meier
KM_CASES = [("lung_entry", "lung", "sex", "entry", None), ("mgus2_entry", "mgus2", None,
                                                            "entry", None),
            ("lung_w", "lung", "sex", None, "w"), ("lung_wi", "lung", "sex", None, "wi"),
            ("lung_entry_w", "lung", "sex", "entry", "w"),
            ("lung_robust", "lung", "sex", None, None)]


@pytest.mark.parametrize("conf_type", ["log", "log-log"])
@pytest.mark.parametrize(("name", "file", "group", "entry", "weights"), KM_CASES)
def test_km_with_entry_and_weights_matches_survfit(name, file, group, entry, weights,
                                                    conf_type):
    r = ref("km.csv")
    r = r[(r.dataset == name) & (r.conf_type == conf_type)].reset_index(drop=True)
    fit = sv.kaplan_meier(dataset(file), "time", "status", group, entry=entry,
                          weights=weights, conf_type=conf_type,
                          robust=True if name == "lung_robust" else None)
    t = fit.table
    assert list(t["group"]) == [str(g) for g in r["group"]]
    for col in ["time", "n_risk", "n_event", "n_censor", "surv"]:
        close(t[col], r[col], POINT)
    for col in ["std_err", "lower", "upper"]:
        close(t[col], r[col], SE)


def test_km_at_times_counts_delayed_entries_at_risk():
    r = ref("km_entry_times.csv")
    fit = sv.kaplan_meier(dataset("lung"), "time", "status", "sex", entry="entry")
    a = fit.at_times(sorted(r["time"].unique()))
    close(a["n_risk"], r["n_risk"], POINT)
    close(a["surv"], r["surv"], POINT)
    close(a["lower"], r["lower"], SE)
    close(a["upper"], r["upper"], SE)


# --------------------------------------------------------------------------- Aalen-Johansen
AJ_CASES = [("mgus2_entry", None, "entry", None), ("mgus2_entry_male", "male", "entry", None),
            ("mgus2_w", "male", None, "w"), ("mgus2_entry_w", None, "entry", "w")]


@pytest.mark.parametrize(("name", "group", "entry", "weights"), AJ_CASES)
def test_aalen_johansen_with_entry_and_weights_matches_survfit(name, group, entry, weights):
    r = ref("aj.csv").query("dataset == @name").copy()
    r["state"] = r["state"].replace("(s0)", "0").astype(int)
    r = r.sort_values(["group", "state", "time"], kind="stable").reset_index(drop=True)
    aj = sv.aalen_johansen(dataset("mgus2"), "time", "status", group, entry=entry,
                           weights=weights)
    t = aj.table.sort_values(["group", "state", "time"], kind="stable").reset_index(drop=True)
    assert len(t) == len(r)
    close(t["time"], r["time"], POINT)
    close(t["n_risk"], r["n_risk"], POINT)
    close(t["pstate"], r["pstate"], POINT)
    close(t["std_err"], r["std_err"], SE)
    # where everyone has left, R's pstate is rounding noise (~1e-15) with limits around it;
    # ours is 0 without limits: only limits of real probabilities are compared
    real = r["pstate"].abs() > 1e-10
    close(t.loc[real, "lower"], r.loc[real, "lower"], SE)
    close(t.loc[real, "upper"], r.loc[real, "upper"], SE)


def test_aalen_johansen_limits_before_first_exit_are_zero_as_summary():
    r = ref("aj_times.csv")
    r["state"] = r["state"].replace("(s0)", "0").astype(int)
    aj = sv.aalen_johansen(dataset("mgus2"), "time", "status", "male")
    times = sorted(r["time"].unique())
    for state in (1, 2):
        a = aj.at_times(times, state).sort_values(["group", "time"]).reset_index(drop=True)
        rr = r[r.state == state].sort_values(["group", "time"]).reset_index(drop=True)
        close(a["pstate"], rr["pstate"], POINT)
        close(a["std_err"], rr["std_err"], SE)
        close(a["lower"], rr["lower"], SE)
        close(a["upper"], rr["upper"], SE)
        assert a.loc[a.time < 1, ["lower", "upper"]].eq(0).all().all()
    # state 0 (still home) is 1 before the first exit; R prints limits 0 and 0 there, we
    # give 1 and 1 (an interval that holds its own estimate)
    a0 = aj.at_times([0.5], 0)
    assert a0[["pstate", "lower", "upper"]].eq(1).all().all()
    assert r.loc[(r.state == 0) & (r.time == 0.5), ["lower", "upper"]].eq(0).all().all()


# --------------------------------------------------------------------------- Cox
COX_TERMS = {"lung": ["age", "female", "ph_ecog"], "mgus2": ["age", "male"]}


@pytest.mark.parametrize(("name", "model", "kw"), [
    ("lung", "entry", {}), ("lung", "entry_cluster_inst", {"cluster": "inst"}),
    ("mgus2", "entry_cause_specific_1", {})])
def test_cox_with_delayed_entry_matches_coxph(name, model, kw):
    r = ref("cox_entry.csv").query("dataset == @name and model == @model")
    fit = sv.cox_ph(dataset(name), "time", "status", COX_TERMS[name], entry="entry", **kw)
    close(fit.table["coef"], r["coef"], POINT)
    close(fit.table["se_model"], r["se"], SE)
    if kw:
        close(fit.table["se_robust"], r["robust_se"], SE)
    close(fit.loglik, r["loglik"].iloc[0], POINT)


def _lung_fit(**kw) -> sv.CoxResult:
    return sv.cox_ph(dataset("lung"), "time", "status", COX_TERMS["lung"], **kw)


PROFILES = pd.DataFrame({"age": [50, 65, 75], "female": [0, 1, 0], "ph_ecog": [0, 1, 2]})


@pytest.mark.parametrize(("name", "kw"), [("lung", {}), ("lung_cluster", {"cluster": "inst"}),
                                          ("lung_breslow", {"ties": "breslow"}),
                                          ("lung_entry", {"entry": "entry"}),
                                          ("lung_weights", {"weights": "w", "robust": True})])
def test_cox_predicted_survival_matches_survfit_newdata(name, kw):
    # with fractional weights R's coxph uses the robust variance by default: robust=True
    r = ref("cox_predict.csv").query("dataset == @name")
    p = _lung_fit(**kw).predict_survival(PROFILES, times=sorted(r["time"].unique()))
    assert len(p) == len(r)
    close(p["time"], r["time"], POINT)
    close(p["cumhaz"], r["cumhaz"], POINT)
    close(p["surv"], r["surv"], POINT)
    close(p["std_err"], r["std_err"], SE)
    close(p["lower"], r["lower"], SE)
    close(p["upper"], r["upper"], SE)


def test_stratified_cox_prediction_uses_the_profiles_stratum():
    r = ref("cox_predict_strata.csv").query("dataset == 'veteran_strata'")
    fit = sv.cox_ph(dataset("veteran"), "time", "status", ["trt", "karno", "age"],
                    strata="celltype")
    nd = pd.DataFrame({"trt": [1, 2], "karno": [60, 80], "age": [60, 50],
                       "celltype": ["large", "squamous"]})
    p = fit.predict_survival(nd, times=[10, 30, 90, 180])
    assert p["strata"].tolist() == r["strata"].tolist()
    for col in ["cumhaz", "surv"]:
        close(p[col], r[col], POINT)
    for col in ["std_err", "lower", "upper"]:
        close(p[col], r[col], SE)


def test_baseline_hazard_matches_basehaz():
    r = ref("cox_basehaz.csv")
    fits = {"lung": _lung_fit(), "lung_weights": _lung_fit(weights="w"),
            "veteran_strata": sv.cox_ph(dataset("veteran"), "time", "status",
                                        ["trt", "karno", "age"], strata="celltype")}
    for (name, centered), rr in r.groupby(["dataset", "centered"]):
        b = fits[name].baseline_hazard(centered=bool(centered))
        if "strata" in b:
            b = b.sort_values(["strata", "time"], kind="stable")
            rr = rr.sort_values(["strata", "time"], kind="stable")
            assert b["strata"].tolist() == rr["strata"].tolist()
        close(b["time"], rr["time"], POINT)
        close(b["hazard"], rr["hazard"], POINT)


def test_concordance_matches_r():
    r = ref("cox_concordance.csv").set_index("dataset")
    fits = {
        "lung": _lung_fit(), "lung_entry": _lung_fit(entry="entry"),
        "lung_weights": _lung_fit(weights="w"),
        "veteran_strata": sv.cox_ph(dataset("veteran"), "time", "status",
                                    ["trt", "karno", "age"], strata="celltype"),
        "mgus2": sv.cox_ph(dataset("mgus2"), "time", "status", ["age", "male"]),
    }
    for name, fit in fits.items():
        c = fit.concordance().iloc[0]
        for col in ["concordant", "discordant", "tied_x", "tied_y", "tied_xy", "concordance"]:
            close(c[col], r.at[name, col], POINT)
        close(c["std_err"], r.at[name, "std_err"], SE)


def test_directly_standardised_curves_match_mean_of_survfit_newdata():
    r = ref("cox_adjusted.csv")
    a = _lung_fit().adjusted_survival(dataset("lung"), {"female=0": {"female": 0},
                                                        "female=1": {"female": 1}},
                                      times=sorted(r["time"].unique()))
    assert a["setting"].tolist() == r["setting"].tolist()
    close(a["surv"], r["surv"], POINT)
    close(a["returned"], 1 - r["surv"], POINT)


# --------------------------------------------------------------------------- Fine-Gray
FG_CASES = [("pbc_entry", ["age", "bili", "trt"], {"entry": "entry"}),
            ("pbc_strata_sex", ["age", "bili"], {"strata": "sex"}),
            ("pbc", ["age", "bili", "trt"], {})]


@pytest.mark.parametrize(("name", "terms", "kw"), FG_CASES)
def test_fine_gray_with_entry_and_strata_matches_finegray_coxph(name, terms, kw):
    r = ref("finegray.csv").query("dataset == @name")
    d = dataset("pbc")
    fit = sv.fine_gray(d, "time", "status", terms, **kw)
    close(fit.table["coef"], r["coef"], POINT)
    close(fit.table["se_model"], r["se_naive"], SE)
    close(fit.table["se_robust"], r["se_robust"], SE)
    close(fit.table["se_cluster"], r["se_cluster_id"], SE)
    tot = ref("finegray_data.csv").query("dataset == @name").iloc[0]
    ex = sv.finegray_expand(d, "time", "status", **kw)
    assert len(ex) == tot["nrow"] == fit.n_expanded
    close(ex["fgwt"].sum(), tot["sum_fgwt"], POINT)
    close((ex["fgwt"] * ex["fgstop"]).sum(), tot["sum_wt_stop"], POINT)
    close((ex["fgwt"] * ex["fgstart"]).sum(), tot["sum_wt_start"], POINT)
    assert ex["fgstatus"].sum() == tot["n_fgstatus"]


@pytest.mark.parametrize(("name", "kw"), [("fg_pbc", {}), ("fg_pbc_entry", {"entry": "entry"})])
def test_fine_gray_predicted_cif_matches_survfit(name, kw):
    r = ref("cox_predict.csv").query("dataset == @name")
    fit = sv.fine_gray(dataset("pbc"), "time", "status", ["age", "bili", "trt"], **kw)
    nd = pd.DataFrame({"age": [40, 55], "bili": [1, 3], "trt": [1, 2]})
    p = fit.predict_cif(nd, times=sorted(r["time"].unique()))
    close(p["cif"], 1 - r["surv"], POINT)
    close(p["std_err"], r["std_err"], SE)
    close(p["lower"], 1 - r["upper"], SE)
    close(p["upper"], 1 - r["lower"], SE)


def test_stratified_fine_gray_predicted_cif_matches_survfit():
    r = ref("cox_predict_strata.csv").query("dataset == 'fg_pbc_strata'")
    fit = sv.fine_gray(dataset("pbc"), "time", "status", ["age", "bili"], strata="sex")
    nd = pd.DataFrame({"age": [40, 55], "bili": [1, 3], "sex": ["f", "m"]})
    p = fit.predict_cif(nd, times=[365, 1000, 2000])
    assert p["strata"].tolist() == r["strata"].tolist()
    close(p["cif"], 1 - r["surv"], POINT)
    close(p["std_err"], r["std_err"], SE)


# --------------------------------------------------------------------------- input checks
def test_entry_after_exit_is_a_readable_error():
    d = pd.DataFrame({"duration": [5.0, 3.0], "event": [1, 0], "entry": [1.0, 3.0]})
    with pytest.raises(ValueError, match=r"'entry' must be before 'duration'.*row 1"):
        sv.kaplan_meier(d, entry="entry")
    with pytest.raises(ValueError, match="either start"):
        sv.cox_ph(d.assign(x=[0.0, 1.0]), covariates=["x"], start="entry", entry="entry")


# --------------------------------------------------------------------------- cmprsk::cuminc
GRAY_CASES = [("mgus2_male", "mgus2", "male", {}), ("pbc_trt", "pbc_gray", "trt", {}),
              ("pbc_agegrp", "pbc_gray", "agegrp", {}),
              ("pbc_agegrp_rho1", "pbc_gray", "agegrp", {"rho": 1}),
              ("pbc_agegrp_strata_sex", "pbc_gray", "agegrp", {"strata": "sex"})]


@pytest.mark.parametrize(("name", "file", "group", "kw"), GRAY_CASES)
def test_gray_test_matches_cuminc_tests(name, file, group, kw):
    r = ref("gray_test.csv").query("dataset == @name").reset_index(drop=True)
    res = sv.gray_test(dataset(file), "time", "status", group, **kw)
    assert res.table["cause"].tolist() == r["cause"].tolist()
    assert res.table["df"].tolist() == r["df"].tolist()
    close(res.table["chisq"], r["chisq"], POINT)
    close(res.table["p"], r["p"], POINT)


CUMINC_SETS = [("mgus2", "mgus2", None), ("mgus2_sex", "mgus2", "male"), ("pbc", "pbc", None),
               ("ties", "ties", None), ("ties_group", "ties", "group")]


@pytest.mark.parametrize(("name", "file", "group"), CUMINC_SETS)
def test_cuminc_variance_matches_cmprsk(name, file, group):
    """Gray's variance against timepoints(cuminc(...))$var in the first R reference."""
    old = Path(__file__).parent / "fixtures" / "r_survival"
    r = pd.read_csv(old / "cuminc.csv").query("dataset == @name")
    d = pd.read_csv(old / f"ds_{file}.csv")
    for (g, cause), rc in r.groupby(["group", "cause"]):
        a = sv.cuminc(d, "time", "status", group, times=rc["time"])
        a = a[(a["group"] == str(g)) & (a["cause"] == int(cause))]
        close(a["estimate"], rc["est"], POINT)
        close(a["variance"], rc["var"], SE)


def test_aalen_johansen_closed_form_equals_step_by_step_influence():
    """The fast closed-form IJ variance with entry and weights equals the recursion."""
    from thuiszit_eval.survival.competing import _aj_entry, _aj_general

    rng = np.random.default_rng(7)
    n = 400
    t = rng.integers(1, 60, n).astype(float)
    ev = rng.choice([0, 1, 1, 2, 3], n)
    e = np.floor(rng.uniform(0, 0.6, n) * t)
    w = rng.uniform(0.2, 3, n)
    a = _aj_general(t, ev, np.array([1, 2, 3]), e, w)
    b = _aj_entry(t, ev, np.array([1, 2, 3]), e, w)
    for key in ("n_risk", "p0", "f", "var0", "vark"):
        close(b[key], a[key], 1e-10, atol=1e-14)


def test_new_summaries_are_readable_text():
    lung, pbc = dataset("lung"), dataset("pbc_gray")
    lr = sv.logrank_test(lung, "time", "status", "ph_ecog", rho=1, entry="entry")
    texts = [lr.summary(), lr.trend().summary(),
             sv.gray_test(pbc, "time", "status", "agegrp").summary(),
             sv.kaplan_meier(lung, "time", "status", "sex", entry="entry", weights="w").summary(),
             sv.fine_gray(dataset("pbc"), "time", "status", ["age", "bili"],
                          strata="sex").summary()]
    for text in texts:
        assert "nan" not in text.lower() and "none" not in text.lower(), text
    assert "rho = 1" in texts[0] and "delayed entry" in texts[0]
    one = sv.logrank_test(lung.assign(g="x"), "time", "status", "g")
    assert one.df == 0 and "No test" in one.summary()


def test_summaries_say_in_words_what_is_not_estimable():
    d = pd.DataFrame({"duration": [2.0, 3, 5, 8, 9, 10], "event": [2, 0, 1, 0, 0, 0],
                      "g": list("aabbbb")})
    km = sv.kaplan_meier(d, group="g").summary(times=[1, 4])
    aj = sv.aalen_johansen(d, group="g").summary(times=[1, 4])
    for text in (km, aj):
        assert "nan" not in text.lower(), text
    assert "not reached" in km
    assert "no interval" in aj


def _concordance_by_time(d: dict, beta: np.ndarray) -> pd.DataFrame:
    """Reference: every event time compared with its whole risk set (O(n) per time)."""
    start, stop, ev, w, strata = d["start"], d["stop"], d["event"], d["weights"], d["strata"]
    lp = d["x"] @ beta
    # scores equal up to rounding are ties (floating noise of ~1e-17 must not decide)
    scale = max(float(np.max(np.abs(lp), initial=0.0)), 1.0)
    lp = np.round(lp / scale, 10)
    n = len(stop)
    conc = disc = tx = ty = txy = 0.0
    n_i = np.zeros(n)  # Σ over pairs with i of w_other · score (1, ½, 0)
    d_i = np.zeros(n)  # Σ over pairs with i of w_other
    for s in np.unique(strata):
        rows = np.flatnonzero(strata == s)
        for t in np.unique(stop[rows][ev[rows] == 1]):
            dead = rows[(stop[rows] == t) & (ev[rows] == 1)]
            risk = rows[(start[rows] < t) & (stop[rows] >= t)]
            comp = risk[~((stop[risk] == t) & (ev[risk] == 1))]
            wd = w[dead]
            # pairs of returns at the same time: tied on y, or on x and y (R's tied.xy)
            _, grp = np.unique(lp[dead], return_inverse=True)
            wg = np.bincount(grp, weights=wd)
            wg2 = np.bincount(grp, weights=wd**2)
            pairs_xy = float(np.sum(wg**2 - wg2) / 2)
            txy += pairs_xy
            ty += (wd.sum() ** 2 - (wd**2).sum()) / 2 - pairs_xy
            if len(comp) == 0:
                continue
            # for each comparator j: weights of deaths with lp > lp_j, == lp_j, < lp_j
            od = np.argsort(lp[dead], kind="stable")
            lps, ws = lp[dead][od], np.concatenate([[0.0], np.cumsum(wd[od])])
            lo = np.searchsorted(lps, lp[comp], side="left")
            hi = np.searchsorted(lps, lp[comp], side="right")
            w_less, w_eq = ws[lo], ws[hi] - ws[lo]
            w_more = ws[-1] - ws[hi]
            wc = w[comp]
            conc += float(wc @ w_more)
            disc += float(wc @ w_less)
            tx += float(wc @ w_eq)
            n_i[comp] += w_more + 0.5 * w_eq
            d_i[comp] += ws[-1]
            # for each death: comparators with lower, equal, higher lp
            oc = np.argsort(lp[comp], kind="stable")
            lpc, cs = lp[comp][oc], np.concatenate([[0.0], np.cumsum(wc[oc])])
            lo2 = np.searchsorted(lpc, lp[dead], side="left")
            hi2 = np.searchsorted(lpc, lp[dead], side="right")
            n_i[dead] += cs[lo2] + 0.5 * (cs[hi2] - cs[lo2])
            d_i[dead] += cs[-1]
    den = conc + disc + tx
    c = (conc + tx / 2) / den if den > 0 else np.nan
    se = float(np.sqrt(np.sum((w * (n_i - c * d_i) / den) ** 2))) if den > 0 else np.nan
    return pd.DataFrame([{"concordance": c, "std_err": se, "concordant": conc,
                          "discordant": disc, "tied_x": tx, "tied_y": ty, "tied_xy": txy}])


def test_concordance_sweep_equals_per_event_time_comparison():
    """The Fenwick-tree sweep gives the same counts and SE as comparing each event time
    with its whole risk set, with ties, delayed entry, weights and strata."""
    from thuiszit_eval.survival.cox import _concordance

    rng = np.random.default_rng(5)
    for _ in range(40):
        n = int(rng.integers(5, 150))
        stop = rng.integers(2, 15, n).astype(float)
        start = np.where(rng.random(n) < 0.5, np.floor(rng.uniform(0, 1, n) * (stop - 1)), 0.0)
        x = rng.integers(0, 4, (n, 2)).astype(float)
        d = {"start": start, "stop": stop, "event": rng.integers(0, 2, n),
             "weights": rng.choice([1.0, 0.5, 2.0], n), "strata": rng.integers(0, 3, n),
             "x": x, "center": x.mean(axis=0)}
        beta = np.array([0.7, -0.2])
        close(_concordance(d, beta).to_numpy(float),
              _concordance_by_time(d, beta).to_numpy(float), 1e-10, atol=1e-10)
