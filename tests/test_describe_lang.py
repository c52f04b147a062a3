"""Tables of thuiszit_eval.describe in Dutch and English (labels, headers, decimals)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from thuiszit_eval import describe as D
from thuiszit_eval.cohort import Cohort
from thuiszit_eval.simulate import demo_cohort_path


@pytest.fixture(scope="module")
def episodes() -> pd.DataFrame:
    return D.episode_table(Cohort.load(demo_cohort_path()))


def test_wide_in_dutch_and_english(episodes):
    t1 = D.table_one(episodes)
    nl, en = D.wide(t1, lang="nl"), D.wide(t1, lang="en")
    assert nl.shape == en.shape
    assert "geslacht" in set(nl["variable"]) and "sex" in set(en["variable"])
    assert "ondersteuningsbehoefte" in set(nl["variable"])
    assert "gebruikelijke zorg" in nl.columns and "usual care" in en.columns
    # decimal comma in Dutch, point in English (a comma in English groups thousands: 1,259);
    # the suppressed cells are the same
    cells = [c for c in nl.columns[2:] if not c.startswith("SMD")]
    assert any(re.search(r",\d%", v) for v in nl[cells[0]])
    assert not any(re.search(r",\d%", v) for v in en[en.columns[2]])
    assert ((nl.iloc[:, 2:] == "<10").to_numpy() == (en.iloc[:, 2:] == "<10").to_numpy()).all()
    assert list(D.headers(nl, "nl").columns[:2]) == ["kenmerk", "categorie"]


def test_crosstab_and_code_labels_in_dutch(episodes):
    ends = D.crosstab_display(D.endings_table(episodes), "end_status", "episode_type",
                              row_labels=D.code_labels("end_status", "nl"), lang="nl")
    ends = D.headers(ends, "nl")
    assert "totaal" in ends.columns and "afloop van de episode" in ends.columns
    assert "loopt nog bij einde follow-up" in set(ends["afloop van de episode"])
    assert D.code_labels("end_status")["ongoing"] == "ongoing at follow-up end"


def test_largest_smds_only_uses_shown_smds(episodes):
    t1 = D.table_one(episodes)
    diff = D.largest_smds(t1, "back_to_school", lang="nl")
    assert len(diff) and (diff["smd"].abs() > 0.1).all()
    assert diff["smd"].abs().is_monotonic_decreasing
    shown = D.wide(t1, group_labels=False)
    for v, lev, s in zip(diff["variable"], diff["level"], diff["smd"], strict=True):
        cell = shown.loc[(shown["variable"] == v) & (shown["level"] == lev), "SMD back_to_school"]
        assert float(cell.iloc[0]) == pytest.approx(s)
    assert "autisme" in set(diff["name"])  # need labels in Dutch
    assert D.largest_smds(t1, "not_a_group").empty


def test_headers_and_label():
    f = pd.DataFrame({"table": ["pupils"], "stage": ["rejected"], "rows": [3]})
    assert D.headers(f, "en", ["stage"]).columns.tolist() == ["table", "stage", "rows"]
    assert D.headers(f, "nl", ["stage"])["stap"].tolist() == ["afgewezen"]
    assert "minder dan 5 episodes" in D.label("pct_of_episodes", "nl", min_cell=5)
    with pytest.raises(ValueError):
        D.label("total", "de")
