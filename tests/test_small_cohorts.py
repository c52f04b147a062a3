"""Small cohorts get words, not nan: each estimator's minimum, and the commands on 15 pupils."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from thuiszit_eval import regression as R
from thuiszit_eval.cohort import Cohort
from thuiszit_eval.effects import point_treatment_data
from thuiszit_eval.effects.target_trial import clone_censor_weight
from thuiszit_eval.estimability import NotApplicable, NotEstimable, finite, require_events
from thuiszit_eval.multistate import multistate_data
from thuiszit_eval.prevention import prevention_table
from thuiszit_eval.process import step_table
from thuiszit_eval.simulate import write_shape


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_shape("tiny_15", tmp_path_factory.mktemp("tiny") / "c", seed=2)


@pytest.fixture(scope="module")
def required_only(tmp_path_factory) -> Cohort:
    return Cohort.load(write_shape("required_only_renamed",
                                   tmp_path_factory.mktemp("req") / "c", seed=3, n_pupils=60))


def test_minimum_is_stated_in_both_languages():
    with pytest.raises(NotEstimable) as info:
        require_events(30, n_terms=4)
    assert "40" in info.value.text("nl") and "40" in info.value.text("en")
    assert info.value.text("nl") != info.value.text("en")
    require_events(40, n_terms=4)  # exactly the minimum is enough


def test_finite_reads_only_numbers():
    assert finite(1.0, 2) and not finite(1.0, float("nan")) and not finite("<10")
    assert not finite()


def test_estimators_on_15_pupils_say_why(tiny: Path):
    cohort = Cohort.load(tiny)
    with pytest.raises(NotEstimable) as info:
        R.fit_cox_models(cohort)
    assert "returns" in info.value.text("en") and "terugkeren" in info.value.text("nl")
    with pytest.raises(NotEstimable):
        clone_censor_weight(cohort, n_boot=0, progress=False)
    with pytest.raises(NotEstimable):
        point_treatment_data(cohort)


def test_missing_tables_and_groups_are_not_applicable(required_only: Cohort):
    with pytest.raises(NotApplicable, match="attendance"):
        multistate_data(required_only)
    with pytest.raises(NotApplicable, match="process"):
        step_table(required_only)
    no_dreigend = required_only.episodes["episode_type"] != "dreigend"
    required_only.episodes = required_only.episodes[no_dreigend]
    with pytest.raises(NotApplicable, match="dreigend"):
        prevention_table(required_only)


def test_analyse_on_15_pupils_exits_0_quietly(tiny: Path, tmp_path: Path):
    proc = subprocess.run([sys.executable, "-m", "thuiszit_eval.cli", "analyse", str(tiny),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "Traceback" not in proc.stderr
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "Not estimated on this cohort" in readme and "returns" in readme
    cox = pd.read_csv(tmp_path / "out" / "cox.csv")
    assert len(cox) == 0 and "hr" in cox.columns
    assert not (tmp_path / "out" / "forest_plot.png").exists()
