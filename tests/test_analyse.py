"""analyse_cohort: every table and figure written, numbers as the estimators, small cells hidden."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.analyse import COUNT_COLUMNS, FIGURES, TABLES, analyse_cohort
from thuiszit_eval.cli import main
from thuiszit_eval.cohort import Cohort
from thuiszit_eval.outcomes import survival_table
from thuiszit_eval.simulate import demo_cohort_path
from thuiszit_eval.survival import kaplan_meier

MIN_CELL = 10


@pytest.fixture(scope="module")
def demo():
    return Cohort.load(demo_cohort_path())


@pytest.fixture(scope="module")
def result(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("analyse")
    return out, analyse_cohort(demo, out, min_cell=MIN_CELL)


@pytest.fixture(scope="module")
def km(demo):
    return kaplan_meier(survival_table(demo, group="intervention").data, "duration", "event",
                        group="intervention")


def test_every_table_figure_and_readme_written(result):
    out, tables = result
    assert set(tables) == set(TABLES)
    for name in TABLES:
        assert (out / f"{name}.csv").stat().st_size > 0
        assert len(pd.read_csv(out / f"{name}.csv")) > 0
    for name in FIGURES:
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert all(f"{name}.csv" in readme for name in TABLES)
    assert "Time from" in readme and "unadjusted" in readme


def test_medians_and_returned_at_equal_direct_km(result, km):
    out, _ = result
    med = pd.read_csv(out / "medians.csv")
    q = km.quantiles()
    m = med.merge(q, on=["group", "prob"], suffixes=("", "_km"))
    assert len(m) == len(q) == len(med)
    for c in ("quantile", "lower", "upper"):
        np.testing.assert_allclose(m[c], m[f"{c}_km"], rtol=1e-5)
    direct_median = km.median().set_index("group")["quantile"]
    half = med[med.prob == 0.5].set_index("group")["quantile"]
    np.testing.assert_allclose(half.loc[direct_median.index], direct_median, rtol=1e-5)
    ra = pd.read_csv(out / "returned_at.csv")
    at = km.at_times((28, 91, 182, 365))
    m = ra.merge(at, on=["group", "time"], suffixes=("", "_km"))
    assert len(m) == len(at) == len(ra)
    # given where no small count follows from them (thuiszit_eval.disclosure), else empty
    shown = m[m["returned"].notna()]
    assert len(shown) >= len(m) / 2
    for c in ("returned", "returned_lower", "returned_upper"):
        np.testing.assert_allclose(shown[c], shown[f"{c}_km"], rtol=1e-5)


def test_no_small_counts_in_written_tables(result):
    out, _ = result
    marker = f"<{MIN_CELL}"
    for name in TABLES:
        df = pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)
        for c in (c for c in COUNT_COLUMNS if c in df.columns):
            shown = df.loc[(df[c] != marker) & (df[c] != ""), c]  # empty: not given
            assert (pd.to_numeric(shown) >= MIN_CELL).all(), (name, c)
    curve = pd.read_csv(out / "km_by_group.csv")
    assert (pd.to_numeric(curve["n_risk"]) >= MIN_CELL).all()


def test_deterministic(demo, result, tmp_path):
    out, _ = result
    analyse_cohort(demo, tmp_path, min_cell=MIN_CELL)
    for name in TABLES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes()


def test_cli_writes_folder(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["analyse", str(demo_cohort_path()), "--out", str(out), "--min-cell", "10"]) == 0
    assert (out / "km_plot.png").exists() and (out / "README.md").exists()


def test_cli_missing_folder_exits_two(tmp_path, capsys):
    assert main(["analyse", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "thuiszit-eval" in err and "Traceback" not in err
