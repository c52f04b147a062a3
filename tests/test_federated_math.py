"""The combining arithmetic of thuiszit_eval.federated, against R and against first
principles: survdiff from aggregated counts (R fixture written by
tests/r/federated_reference.R) and the random-effects meta-analysis (DerSimonian–Laird
moment equation; REML at the maximum of the restricted likelihood)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from thuiszit_eval.federated.combine import (
    logrank_from_counts,
    logrank_from_strata,
    logrank_sums,
    pool_counts,
)
from thuiszit_eval.federated.local import merge_bins, survival_counts
from thuiszit_eval.federated.meta import forest_plot, forest_table, random_effects

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "r_federated"
VET = ROOT / "tests" / "fixtures" / "r_survival" / "ds_veteran.csv"


@pytest.fixture(scope="module")
def vet() -> pd.DataFrame:
    v = pd.read_csv(VET)
    return pd.DataFrame({"duration": v["time"].astype(float), "event": v["status"],
                         "group": v["celltype"], "trt": v["trt"]})


def _r(test: str) -> pd.DataFrame:
    return pd.read_csv(FIX / "survdiff.csv").query("test == @test").reset_index(drop=True)


def test_pooled_logrank_from_split_counts_equals_r_survdiff(vet):
    # two "regions" (the trials arms) send counts; pooled counts give R's pooled test
    parts = [survival_counts(r, 1) for _, r in vet.groupby("trt")]
    fed = logrank_from_counts(pool_counts(parts))
    r = _r("pooled")
    assert fed.chisq == pytest.approx(r["chisq"][0], abs=1e-8)
    assert fed.df == r["df"][0] == 3
    assert np.allclose(fed.table["expected"], r["expected"], atol=1e-8)
    assert fed.table["group"].tolist() == r["group"].tolist()


def test_stratified_logrank_from_region_sums_equals_r_survdiff(vet):
    msgs = []
    for _, r in vet.groupby("trt"):
        g, n, o, e, v = logrank_sums(survival_counts(r, 1))
        msgs.append({"groups": g, "n": n.tolist(), "observed": o.tolist(),
                     "expected": e.tolist(), "variance": v.tolist()})
    fed = logrank_from_strata(msgs)
    r = _r("stratified_trt")
    assert fed.chisq == pytest.approx(r["chisq"][0], abs=1e-8)
    assert fed.df == r["df"][0]
    assert np.allclose(fed.table["expected"], r["expected"], atol=1e-8)


@pytest.mark.skipif(shutil.which("Rscript") is None,
                    reason="Rscript not found: the committed fixture is still tested above")
def test_fixture_is_what_the_r_script_writes(tmp_path):
    proc = subprocess.run(["Rscript", str(ROOT / "tests" / "r" / "federated_reference.R"),
                           str(tmp_path)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    fresh, fixed = pd.read_csv(tmp_path / "survdiff.csv"), pd.read_csv(FIX / "survdiff.csv")
    pd.testing.assert_frame_equal(fresh, fixed, rtol=1e-12)


# ---------------------------------------------------------------- meta-analysis
Y = np.array([-0.30, 0.10, 0.25, 0.05, 0.60, -0.10])
SE = np.array([0.12, 0.20, 0.15, 0.10, 0.25, 0.18])


def test_dersimonian_laird_solves_its_moment_equation():
    r = random_effects(Y, SE, method="DL")
    w = 1 / SE**2
    mu = np.sum(w * Y) / w.sum()
    q = np.sum(w * (Y - mu) ** 2)
    assert r["q"] == pytest.approx(q)
    # DL: tau² = (Q − df) / (Σw − Σw²/Σw), here positive
    assert r["tau2"] == pytest.approx((q - 5) / (w.sum() - (w**2).sum() / w.sum()))
    assert r["tau2"] > 0
    assert r["i2"] == pytest.approx((q - 5) / q)  # for DL, metafor's I² is (Q − df)/Q
    wr = 1 / (SE**2 + r["tau2"])
    assert r["estimate"] == pytest.approx(np.sum(wr * Y) / wr.sum())
    assert r["se"] == pytest.approx(np.sqrt(1 / wr.sum()))


def test_reml_maximises_the_restricted_likelihood():
    def neg_reml(t2):
        w = 1 / (SE**2 + t2)
        mu = np.sum(w * Y) / w.sum()
        return 0.5 * (np.sum(np.log(SE**2 + t2)) + np.log(w.sum())
                      + np.sum(w * (Y - mu) ** 2))
    best = optimize.minimize_scalar(neg_reml, bounds=(0, 5), method="bounded",
                                    options={"xatol": 1e-12})
    r = random_effects(Y, SE, method="REML")
    assert r["tau2"] == pytest.approx(best.x, abs=1e-6)


def test_no_heterogeneity_gives_tau2_zero():
    r = random_effects([0.2, 0.2, 0.2], [0.1, 0.2, 0.3], method="REML")
    assert r["tau2"] == 0 and r["i2"] == 0 and r["estimate"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="at least two regions"):
        random_effects([0.1], [0.1])


def test_forest_plot_has_a_row_per_region_and_the_pooled_diamond():
    import matplotlib
    matplotlib.use("Agg")
    r = random_effects(Y, SE)
    tab = forest_table(list("ABCDEF"), Y, SE, r, exp=True)
    assert tab["region"].tolist()[-1] == "pooled" and len(tab) == 7
    assert tab["estimate"].iloc[-1] == pytest.approx(np.exp(r["estimate"]))
    ax = forest_plot(tab, r, ref=1.0, log=True)
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "pooled"


def test_merge_bins_merges_one_bin_per_round():
    assert merge_bins([0, 7, 14], [0], []) == [0, 14]
    assert merge_bins([0, 7, 14], [1], []) == [0, 14]  # the last bin merges backwards
    assert merge_bins([0, 14], [0], []) is None
