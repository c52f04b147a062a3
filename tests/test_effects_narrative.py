"""The numbers and labels notebook 06's narrative takes from the effects module.

Group labels come from the intervention code list in both languages; the weight-cap numbers
match the fitted weights; the days-saved numbers are formatted per language; the Dutch and
English narratives have the same sections and the same placeholders.
"""

from __future__ import annotations

import re
import string

import numpy as np
import pytest

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.effects import (
    IPTWSurvival,
    PropensityModel,
    StandardisedSurvival,
    default_covariates,
    point_treatment_data,
)
from thuiszit_eval.effects.adjusted import effect_numbers, group_labels
from thuiszit_eval.narrative import sections
from thuiszit_eval.simulate import demo_cohort_path


@pytest.fixture(scope="module")
def demo_data():
    return point_treatment_data(Cohort.load(demo_cohort_path()))


def test_group_labels_from_the_code_list(demo_data):
    assert group_labels(demo_data, "nl") == ("Back to School", "thuiszitterstafel / agendapunt 4")
    assert group_labels(demo_data, "en") == ("Back to School", "case table / agenda item 4")


def test_truncation_summary_matches_the_weights(demo_data):
    cov = default_covariates(demo_data)
    pm = PropensityModel(cov, truncate=(1, 99)).fit(demo_data)
    s = pm.truncation_summary()
    w = pm.weights_.to_numpy()
    assert s["n"] == len(demo_data) and s["n_truncated"] == pm.n_truncated_ > 0
    assert (s["p_lo"], s["p_hi"]) == (1.0, 99.0)
    assert s["cap_lo"] == w.min() and s["cap_hi"] == s["max_w"] == w.max()
    assert s["max_w_uncapped"] > s["cap_hi"]
    assert s["smd_after"] == pytest.approx(pm.balance_table()["smd_weighted"].abs().max())
    raw = PropensityModel(cov).fit(demo_data).truncation_summary()
    assert np.isnan(raw["p_lo"]) and raw["n_truncated"] == 0
    assert raw["smd_after"] == pytest.approx(s["smd_after_uncapped"])
    assert raw["max_w"] == pytest.approx(s["max_w_uncapped"])


def test_effect_numbers_per_language(demo_data):
    cov = default_covariates(demo_data)
    fit = IPTWSurvival(PropensityModel(cov, truncate=(1, 99))).fit(demo_data)
    std = StandardisedSurvival(cov).fit(demo_data)
    with pytest.raises(RuntimeError, match="bootstrap"):
        effect_numbers(fit, std)
    fit.bootstrap(10, seed=1, n_jobs=1, progress=False)
    std.bootstrap(10, seed=1, n_jobs=1, progress=False)
    nl, en = effect_numbers(fit, std, "nl"), effect_numbers(fit, std, "en")
    assert nl.keys() == en.keys()
    assert {"tau1", "tau2", "iptw_saved1", "std_upper2", "unadjusted2", "hr", "n_boot"} <= set(nl)
    assert (nl["tau1"], nl["tau2"], nl["n_boot"]) == ("91", "182", "10")
    d = fit.difference_.iloc[0]
    assert en["iptw_saved1"] == f"{d['days_saved']:.1f}"
    assert nl["iptw_saved1"] == en["iptw_saved1"].replace(".", ",")
    assert re.fullmatch(r"-?\d+,\d\d", nl["hr"]) and re.fullmatch(r"-?\d+\.\d\d", en["hr"])


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_dutch_and_english_narratives_match():
    nl, en = sections("06_intervention_effects", "nl"), sections("06_intervention_effects", "en")
    assert list(nl) == list(en)
    for name in nl:
        assert _fields(nl[name]) == _fields(en[name]), name
