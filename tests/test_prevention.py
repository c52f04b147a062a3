"""Prevention: time from the first signal to thuiszitten, checked by hand on the example."""

import string

import pandas as pd
import pytest
from conftest import edit_table

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.prevention import prevention_km, prevention_table, summary_numbers
from thuiszit_eval.simulate import demo_cohort_path


def _add_lrv(folder):
    new = {"episode_id": "E0004b", "pupil_id": "P0c4d8e2f6a1b5c93", "episode_type": "lrv",
           "absence_start": "2023-09-04", "reported_date": "", "end_date": "",
           "end_reason": ""}
    edit_table(folder, "episodes", lambda df: pd.concat([df, pd.DataFrame([new])]))


def test_example_by_hand(example):
    d = prevention_table(Cohort.load(example)).sort_values("origin_date")
    assert d["group"].tolist() == ["leerkracht_traject", "vroegsignalering"]
    # no thuiszit episode follows: censored at follow-up end 2024-07-31
    assert d["event"].tolist() == [0, 0]
    # E0004a from its absence start 2023-03-06; E0012a from the pupil's signal without an
    # episode on 2023-11-27 (before its absence start 2024-01-15)
    assert d["origin_date"].tolist() == [pd.Timestamp("2023-03-06"), pd.Timestamp("2023-11-27")]
    assert d["duration"].tolist() == [513.0, 247.0]


def test_a_later_thuiszit_episode_is_the_event(example):
    _add_lrv(example)
    cohort = Cohort.load(example)
    d = prevention_table(cohort).sort_values("origin_date")
    assert d["event"].tolist() == [1, 0]
    assert d["duration"].iloc[0] == 182.0  # 2023-03-06 -> 2023-09-04
    d28 = prevention_table(cohort, add_days=28).sort_values("origin_date")
    assert d28["duration"].iloc[0] == 210.0


def test_demo_table_and_suppression():
    d = prevention_table(Cohort.load(demo_cohort_path()))
    assert (d["duration"] > 0).all() and set(d["event"]) <= {0, 1}
    assert "episode_id" not in d and "pupil_id" not in d
    t = prevention_km(d, min_cell=10)
    counts = pd.to_numeric(t["n"], errors="coerce")
    assert (counts.dropna() >= 10).all()
    ev = pd.to_numeric(t["events"], errors="coerce")
    assert (ev.dropna() >= 10).all()
    small = ev.isna()
    assert t.loc[small, ["91d", "365d"]].isna().all().all()
    allrow = t[t["group"] == "all"].iloc[0]
    assert allrow["n"] == len(d) and allrow["events"] == d["event"].sum()
    assert 0 <= allrow["91d"] <= allrow["365d"] <= 1
    assert summary_numbers(d, t)["enough"]


def test_too_few_reports_only_the_count(example):
    d = prevention_table(Cohort.load(example))
    t = prevention_km(d)
    s = summary_numbers(d, t)
    assert not s["enough"] and s["n_dreigend"] == "<10" and s["n_events"] == "<10"
    assert (t["n"] == "<10").all()


@pytest.mark.parametrize("nb", ["11_prevention"])
def test_dutch_and_english_narratives_match(nb):
    from thuiszit_eval.narrative import sections

    def fields(text):
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    nl, en = sections(nb, "nl"), sections(nb, "en")
    assert list(nl) == list(en)
    for name in nl:
        assert fields(nl[name]) == fields(en[name]), name
