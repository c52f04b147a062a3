"""Multiple imputation: Rubin's rules against R's mice, and the MI Cox model on a cohort
with covariate values removed at random."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval import imputation as I
from thuiszit_eval import regression as R
from thuiszit_eval.cohort import Cohort
from thuiszit_eval.simulate import write_shape

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures" / "r_rubin"
SCRIPT = HERE / "r" / "rubin_reference.R"


def _pooled(inputs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for case, d in inputs.groupby("case", sort=False):
        dfc = float(d["n"].iloc[0] - d["k"].iloc[0])
        r = I.rubin(d[["Q"]].to_numpy(), d[["U"]].to_numpy(), df_complete=dfc).iloc[0]
        rows.append({"case": case, "qbar": r["estimate"], "ubar": r["within"],
                     "b": r["between"], "t": r["total"], "df": r["df"], "fmi": r["fmi"]})
    return pd.DataFrame(rows).set_index("case")


def test_rubins_rules_equal_mice_pool_scalar():
    ref = pd.read_csv(FIX / "pool_scalar.csv").set_index("case")
    ours = _pooled(pd.read_csv(FIX / "inputs.csv"))
    for col in ("qbar", "ubar", "b", "t", "df", "fmi"):
        np.testing.assert_allclose(ours.loc[ref.index, col], ref[col], rtol=1e-6,
                                   err_msg=col)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_r_script_reproduces_the_rubin_fixture(tmp_path: Path):
    ok = subprocess.run(["Rscript", "-e", "library(mice)"], capture_output=True, check=False)
    if ok.returncode != 0:
        pytest.skip("R package mice is not installed (Debian r-cran-mice)")
    subprocess.run(["Rscript", str(SCRIPT), str(tmp_path)], check=True, capture_output=True,
                   timeout=120)
    new = pd.read_csv(tmp_path / "pool_scalar.csv")
    pd.testing.assert_frame_equal(new, pd.read_csv(FIX / "pool_scalar.csv"), rtol=1e-10)


def test_one_imputation_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        I.rubin(np.array([[1.0]]), np.array([[0.1]]))


def test_nelson_aalen_at_own_time():
    t = np.array([1.0, 2.0, 2.0, 3.0])
    e = np.array([1.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(I._nelson_aalen(t, e), [1 / 4, 1 / 4 + 1 / 3,
                                                       1 / 4 + 1 / 3, 1 / 4 + 1 / 3 + 1])


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    base = tmp_path_factory.mktemp("mi")
    full = write_shape("required_only_renamed", base / "full", seed=11, n_pupils=1200)
    holes = base / "holes"
    shutil.copytree(full, holes)
    pupils = pd.read_csv(holes / "pupils.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(3)
    drop = rng.random(len(pupils)) < 0.25  # a quarter of the SES values missing at random
    pupils.loc[drop, "ses_index"] = ""
    pupils.to_csv(holes / "pupils.csv", index=False)
    return Cohort.load(full), Cohort.load(holes), int(drop.sum())


def test_mi_cox_recovers_the_complete_data_hazard_ratios(cohorts):
    full, holes, n_dropped = cohorts
    ref = R.fit_cox_models(full)
    ref = ref[ref["model"] == "time-varying"].set_index("term")
    cc = R.fit_cox_models(holes)
    assert cc.attrs["missing"].set_index("covariate").loc["any", "n_missing"] > 0
    mi = I.mice_cox(holes, m=10, seed=1).set_index("term")
    assert mi.attrs["n_imputed"] > 0 and mi.attrs["m"] == 10
    # Back to School: the MI estimate stays close to the complete-data one
    assert abs(np.log(mi.loc["back_to_school", "hr"] / ref.loc["back_to_school", "hr"])) < 0.05
    # the SES term carries missing information; the intervention barely does
    assert mi.loc["ses_index", "fmi"] > mi.loc["back_to_school", "fmi"]
    assert (mi["hr_lower"] < mi["hr"]).all() and (mi["hr"] < mi["hr_upper"]).all()


def test_mi_without_missing_values_is_the_complete_data_fit(cohorts):
    full, _, _ = cohorts
    ref = R.fit_cox_models(full)
    ref = ref[ref["model"] == "time-varying"].set_index("term")
    mi = I.mice_cox(full, m=3, seed=1).set_index("term")
    np.testing.assert_allclose(mi.loc[ref.index, "hr"], ref["hr"], rtol=1e-10)
    assert (mi["fmi"] < 1e-3).all()


def test_mi_iptw_hazard_ratio_is_close_to_the_complete_data_one(cohorts):
    from thuiszit_eval.effects import (
        IPTWSurvival,
        PropensityModel,
        default_covariates,
        point_treatment_data,
    )

    full, holes, _ = cohorts
    data_full, data_holes = point_treatment_data(full), point_treatment_data(holes)
    covs = default_covariates(data_full)
    assert "ses_index" in covs and data_holes["ses_index"].isna().any()
    ref = IPTWSurvival(PropensityModel(covs)).fit(data_full).cox_.set_index("term")
    mi = I.mice_iptw_hazard_ratio(data_holes, covs, m=5, seed=2)
    assert abs(np.log(mi["hr"] / ref.loc["treated", "hr"])) < 0.1
    assert mi["hr_lower"] < mi["hr"] < mi["hr_upper"] and mi["m"] == 5
