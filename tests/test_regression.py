"""thuiszit_eval.regression: design-matrix coding, the time-varying Cox model against the
simulator's truth, the immortal-time contrast, competing risks and small-cell suppression."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.regression import (
    REPORT_DAYS,
    add_derived_covariates,
    compare_models,
    competing_risks_summary,
    design_matrix,
    fit_cox_models,
    ph_check,
    truth_hazard_ratios,
)
from thuiszit_eval.simulate import demo_cohort_path


# --------------------------------------------------------------------------- design
def test_design_matrix_coding() -> None:
    df = pd.DataFrame({
        "type": ["lrv", "dreigend", "lrv", "absoluut", None, "lrv"],
        "flag": [True, False, False, True, True, False],
        "nullable": pd.array([True, None, False, True, False, False], dtype="boolean"),
        "score": [1.5, 2.0, 3.0, 4.0, 5.0, 6.0],
        "constant": [1, 1, 1, 1, 1, 1],
        "never": [False] * 6,
    })
    X = design_matrix(df, ["type", "flag", "nullable", "score", "constant", "never"])
    # most frequent level is the reference; missing is its own level
    assert X.attrs["reference"] == {"type": "lrv"}
    assert list(X.columns) == ["type=absoluut", "type=dreigend", "type=missing", "flag",
                               "nullable", "score"]
    assert X.attrs["dropped"] == ["constant", "never"]
    assert all(pd.api.types.is_float_dtype(t) for t in X.dtypes)
    assert X["type=dreigend"].tolist() == [0, 1, 0, 0, 0, 0]
    assert X["type=missing"].tolist() == [0, 0, 0, 0, 1, 0]
    # reference-level rows are 0 on every dummy of the variable
    dummies = X[["type=absoluut", "type=dreigend", "type=missing"]]
    assert (dummies.sum(axis=1) == (df["type"] != "lrv")).all()
    assert X["flag"].tolist() == [1, 0, 0, 1, 1, 0]
    assert X["nullable"].isna().tolist() == [False, True, False, False, False, False]
    assert X["score"].tolist() == df["score"].tolist()
    assert X.attrs["terms"]["type=dreigend"] == ("type", "dreigend")
    # a stated reference level
    Y = design_matrix(df, ["type"], reference={"type": "dreigend"})
    assert Y.attrs["reference"] == {"type": "dreigend"}
    assert "type=lrv" in Y and "type=dreigend" not in Y
    with pytest.raises(ValueError, match="reference level"):
        design_matrix(df, ["type"], reference={"type": "nope"})
    with pytest.raises(KeyError):
        design_matrix(df, ["absent"])


def test_derived_covariates() -> None:
    df = pd.DataFrame({"age": [11.99, 12.0, np.nan], "sex": ["m", "f", "x"],
                       "prior_episodes": [0, 1, 3],
                       "living_situation": ["home", "foster", "residential"]})
    out = add_derived_covariates(df)
    assert out["age_12plus"].tolist()[:2] == [False, True] and pd.isna(out["age_12plus"][2])
    assert out["female"].tolist() == [False, True, False]
    assert out["prior_episode"].tolist() == [False, True, True]
    assert out["living_out_of_home"].tolist() == [False, True, True]


# --------------------------------------------------------------------------- demo cohort
@pytest.fixture(scope="module")
def demo() -> Cohort:
    return Cohort.load(demo_cohort_path())


@pytest.fixture(scope="module")
def models(demo: Cohort) -> pd.DataFrame:
    return fit_cox_models(demo)


@pytest.fixture(scope="module")
def competing(demo: Cohort):
    return competing_risks_summary(demo)


def _row(table: pd.DataFrame, model: str, term: str) -> pd.Series:
    return table[(table["model"] == model) & (table["term"] == term)].iloc[0]


def test_time_varying_hr_covers_truth_and_ever_received_is_biased(models) -> None:
    truth = json.loads((demo_cohort_path() / "truth.json").read_text())
    true_hr = truth["hazard_ratios"]["back_to_school"]
    tv = _row(models, "time-varying", "back_to_school")
    ever = _row(models, "ever received", "back_to_school")
    assert tv["hr_lower"] < true_hr < tv["hr_upper"]
    # immortal time drags the "ever received" estimate down, past the null
    assert ever["hr"] < 1.0 < tv["hr"]
    assert ever["hr_upper"] < true_hr
    # both models hold the same terms
    assert (set(models.loc[models.model == "time-varying", "term"])
            == set(models.loc[models.model == "ever received", "term"]))
    assert models.attrs["reference"]["episode_type"] == "lrv"


def test_compare_models_and_truth(models) -> None:
    truth = truth_hazard_ratios(demo_cohort_path())
    assert truth is not None and truth["back_to_school"] == pytest.approx(1.5)
    wide = compare_models(models, truth=truth)
    assert wide.loc["Back to School", "true HR (simulation)"] == "1.50"
    assert wide.loc["Back to School", "HR time-varying (95% CI)"].startswith("1.")


def test_ph_check(demo) -> None:
    z = ph_check(demo)
    assert z["term"].iloc[-1] == "GLOBAL"
    assert z["p"].between(0, 1).all()
    # the simulated hazards are proportional: the global test does not reject
    assert z["p"].iloc[-1] > 0.05


def test_one_minus_km_overstates_return(competing) -> None:
    ci = competing.cumulative_incidence
    ret = ci[ci["cause"] == 1]
    assert ret["day"].tolist() == list(REPORT_DAYS)
    assert (ret["one_minus_km"] >= ret["incidence"] - 1e-12).all()
    assert (ret["overstatement_pp"] >= 0).all()
    assert ret["overstatement_pp"].is_monotonic_increasing
    assert set(ci["cause"]) == {1, 2, 3, 4, 5}
    # the curves stop where fewer than min_cell episodes are at risk
    at_risk = competing.aj.cumulative_incidence(1)["n_risk"]
    assert at_risk.min() >= 10 and competing.aj.table["time"].max() <= competing.horizon


def test_fine_gray_beside_cause_specific(competing) -> None:
    hr = competing.hazard_ratios.set_index("term")
    # psychiatric needs raise exemption 5a: the subdistribution HR of return is lower
    assert hr.loc["need_psychiatric", "fg_hr"] < hr.loc["need_psychiatric", "cs_hr"] < 1


def _counts_ok(values: pd.Series, min_cell: int) -> bool:
    shown = [v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))]
    return all(v == f"<{min_cell}" or (not isinstance(v, str) and v >= min_cell)
               for v in shown)


def test_no_small_counts_after_suppression(models, competing) -> None:
    tables = {
        "models": (models, ["n_episodes", "n_events", "n_episodes_ref", "n_events_ref"]),
        "hr": (competing.hazard_ratios,
               ["n_episodes", "n_events", "n_episodes_ref", "n_events_ref"]),
        "ci": (competing.cumulative_incidence, ["n_risk", "n_events"]),
        "endings": (competing.endings, ["n"]),
    }
    for name, (tab, cols) in tables.items():
        for c in cols:
            assert _counts_ok(tab[c], 10), (name, c)
    # something was suppressed in the cumulative incidence, and its estimate is hidden
    ci = competing.cumulative_incidence
    small = ci["n_events"] == "<10"
    assert small.any() and ci.loc[small, "incidence"].isna().all()
    # no pupil or episode identifiers anywhere
    for tab, _ in tables.values():
        text = tab.astype(str).to_string()
        assert "P00" not in text and "-E1" not in text


def test_suppression_hides_estimates(demo) -> None:
    tab = fit_cox_models(demo, min_cell=700)
    hidden = tab[tab["n_episodes"] == "<700"]
    assert len(hidden) and hidden["hr"].isna().all()
    assert _counts_ok(tab["n_events"], 700)
