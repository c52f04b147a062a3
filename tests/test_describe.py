"""describe: episode table, Table 1 with SMDs, endings and small-cell suppression."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.describe import (
    age_band,
    age_in_years,
    counts_table,
    crosstab_display,
    endings_table,
    episode_table,
    main_intervention,
    smd_continuous,
    smd_proportion,
    suppress_small,
    table_one,
    wide,
)
from thuiszit_eval.simulate import demo_cohort_path


@pytest.fixture(scope="module")
def demo() -> Cohort:
    return Cohort.load(demo_cohort_path())


@pytest.fixture(scope="module")
def demo_episodes(demo: Cohort) -> pd.DataFrame:
    return episode_table(demo)


# --- SMD ---------------------------------------------------------------------------------


def test_smd_matches_hand_computation():
    ep = pd.DataFrame(
        {
            "main_intervention": ["usual_care"] * 4 + ["a"] * 4,
            "age": [10.0, 12.0, 14.0, 12.0, 13.0, 15.0, 17.0, 15.0],
            "need_autism": [True, False, False, False, True, True, True, False],
        }
    )
    t = table_one(ep, variables=["age", "need_autism"]).set_index(["variable", "level", "group"])
    # continuous: means 12 and 15, sample SDs sqrt(8/3) in both groups
    sd = np.sqrt(8 / 3)
    assert t.loc[("age", "", "a"), "value"] == pytest.approx(15.0)
    assert t.loc[("age", "", "a"), "sd"] == pytest.approx(sd)
    assert t.loc[("age", "", "a"), "smd"] == pytest.approx(3.0 / sd)
    # binary: p1 = 3/4, p0 = 1/4 -> 0.5 / sqrt((3/16 + 3/16) / 2) = 0.5 / sqrt(3/16)
    assert t.loc[("need_autism", "yes", "a"), "value"] == pytest.approx(75.0)
    assert t.loc[("need_autism", "yes", "a"), "smd"] == pytest.approx(0.5 / np.sqrt(3 / 16))
    assert t.loc[("need_autism", "no", "a"), "smd"] == pytest.approx(-0.5 / np.sqrt(3 / 16))
    assert np.isnan(t.loc[("age", "", "usual_care"), "smd"])
    assert smd_continuous(1.0, 0.0, 1.0, 0.0) == 0.0
    assert smd_proportion(0.0, 0.0) == 0.0


# --- episode table ----------------------------------------------------------------------


def test_age_from_birth_month():
    birth = pd.Series(pd.to_datetime(["2012-03-01", "2012-03-01", "2012-03-01", "2019-12-01"]))
    dates = pd.Series(pd.to_datetime(["2024-02-29", "2024-03-01", "2024-03-31", "2024-11-30"]))
    age = age_in_years(birth, dates)
    assert age.tolist() == pytest.approx([11 + 11 / 12, 12.0, 12.0, 4 + 11 / 12])
    assert age_band(age).tolist() == ["9-12", "9-12", "9-12", "other"]
    bands = age_band(pd.Series([5.0, 8.99, 9.0, 13.0, 15.5, 17.0, 18.99, np.nan]))
    assert bands.tolist() == ["5-8", "5-8", "9-12", "13-14", "15-16", "17-18", "17-18", "other"]


def test_main_intervention_rule():
    ep = pd.DataFrame({"episode_id": ["E1", "E2", "E3", "E4"]})
    d = pd.to_datetime
    iv = pd.DataFrame(
        {
            "intervention_id": ["I1", "I2", "I3", "I4", "I5"],
            "episode_id": ["E1", "E1", "E2", "E2", "E3"],
            "intervention_code": [
                "thuiszitterstafel",
                "back_to_school",
                "expert_begeleider",
                "agendapunt_4",
                "back_to_school",
            ],
            "referral_date": d(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-03", None]),
            "start_date": d(["2024-02-01", "2024-01-20", "2024-02-01", "2024-02-01", None]),
        }
    )
    main = main_intervention(ep, iv).set_index("episode_id")
    # E1: first started wins, not first listed; E2: same start, earlier referral wins;
    # E3: referred but never started -> usual care; E4: nothing recorded -> usual care
    assert main["main_intervention"].to_dict() == {
        "E1": "back_to_school",
        "E2": "agendapunt_4",
        "E3": "usual_care",
        "E4": "usual_care",
    }
    assert main.loc["E1", "intervention_start"] == pd.Timestamp("2024-01-20")
    assert pd.isna(main.loc["E3", "intervention_start"])
    assert (main_intervention(ep, None)["main_intervention"] == "usual_care").all()


def test_episode_table_on_demo(demo, demo_episodes):
    ep = demo_episodes
    assert len(ep) == len(demo.episodes) and ep["episode_id"].is_unique
    assert (ep["ongoing"] == demo.episodes["end_date"].isna().to_numpy()).all()
    assert (ep.loc[ep["ongoing"], "end_status"] == "ongoing").all()
    assert (ep["days_to_report"].dropna() >= 0).all()
    assert ep.loc[ep["main_intervention"] == "usual_care", "days_to_intervention"].isna().all()
    assert (ep.loc[ep["main_intervention"] != "usual_care", "days_to_intervention"] >= 0).all()
    # one pupil's age by hand
    row = ep.iloc[0]
    birth = demo.pupils.set_index("pupil_id").loc[row["pupil_id"], "birth_month"]
    start = row["absence_start"]
    months = (start.year - birth.year) * 12 + start.month - birth.month
    assert row["age"] == pytest.approx(months / 12)


# --- Table 1 ----------------------------------------------------------------------------


def test_table_one_counts_add_up(demo_episodes):
    t = table_one(demo_episodes)
    sizes = t[t["variable"] == "n"].set_index("group")["n"]
    assert sizes.sum() == len(demo_episodes)
    assert sizes.index[0] == "usual_care"
    counted = t[t["kind"].isin(["categorical", "binary"])]
    sums = counted.groupby(["variable", "group"])["n"].sum()
    for (_, group), total in sums.items():
        assert total == sizes[group]
    pct = counted.groupby(["variable", "group"])["value"].sum()
    assert np.allclose(pct, 100.0)
    assert {f"need_{c}" for c in ["autism", "school_refusal"]} <= set(t["variable"])


def test_back_to_school_has_heavier_needs(demo_episodes):
    """Confounding by indication: Back to School gets the pupils with heavier needs."""
    t = table_one(demo_episodes).set_index(["variable", "level", "group"])["smd"]
    for need in ["need_autism", "need_school_refusal", "need_psychiatric"]:
        assert t[(need, "yes", "back_to_school")] > 0.1, need


# --- suppression ------------------------------------------------------------------------


def _number(cell: object) -> int | None:
    m = re.match(r"^(\d+)(?: \(|$)", str(cell))
    return int(m.group(1)) if m else None


def test_suppress_small_replaces_and_hides():
    t = pd.DataFrame(
        {"level": ["a", "b", "c", "d"], "n": [50, 9, 0, 12], "pct": [70.4, 12.7, 0.0, 16.9]}
    )
    s = suppress_small(t, ["n"], hide={"n": ["pct"]})
    assert s["n"].tolist() == [50, "<10", "<10", 12]
    assert s["pct"].isna().tolist() == [False, True, True, False]
    assert suppress_small(t, ["n"], min_cell=5)["n"].tolist() == [50, 9, "<5", 12]
    # only one small cell in a set with a known total: the next smallest goes too
    one = pd.DataFrame({"level": ["a", "b", "c"], "n": [50, 9, 12]})
    assert suppress_small(one, ["n"], within=[[]])["n"].tolist() == [50, "<10", "<10"]


def test_suppression_leaves_no_recoverable_count():
    rng = np.random.default_rng(3)
    for _ in range(200):
        counts = rng.poisson(rng.choice([3, 12, 40]), size=(4, 5))
        tidy = pd.DataFrame(
            [(g, lev, int(counts[g, lev])) for g in range(4) for lev in range(5)],
            columns=["group", "level", "n"],
        )
        s = suppress_small(tidy, ["n"], within=[["group"], ["level"]])
        hidden = s["n"].map(lambda v: isinstance(v, str))
        assert not (tidy.loc[~hidden, "n"] < 10).any()
        for key in ["group", "level"]:
            per_set = hidden.groupby(tidy[key]).sum()
            assert not (per_set == 1).any(), "a lone suppressed cell can be recovered"


def test_displays_show_no_count_below_min_cell(demo_episodes):
    t = table_one(demo_episodes)
    w = wide(t)
    assert (w == "<10").any().any()
    numbers = [_number(v) for col in w.columns[2:] if not col.startswith("SMD") for v in w[col]]
    assert all(n >= 10 for n in numbers if n is not None)
    # a suppressed cell never keeps its SMD (from which the count could be solved)
    groups = [c for c in w.columns[2:] if not c.startswith("SMD") and c != "usual care"]
    for g in groups:
        assert (w.loc[w[g] == "<10", f"SMD {g}"] == "").all()
    # binary: a small complement ("no" < 10) hides the "yes" count as well
    ep = pd.DataFrame(
        {"main_intervention": ["usual_care"] * 40, "need_x": [True] * 35 + [False] * 5}
    )
    assert wide(table_one(ep, variables=["need_x"]))["usual care"].tolist() == ["40", "<10"]
    ends = crosstab_display(endings_table(demo_episodes), "end_status", "episode_type")
    numbers = [_number(v) for col in ends.columns[1:] for v in ends[col]]
    assert all(n >= 10 for n in numbers if n is not None)
    assert "ongoing" in set(ends["end_status"])


def test_endings_and_counts(demo_episodes):
    e = endings_table(demo_episodes)
    per_type = e.groupby("episode_type")["n"].sum()
    assert per_type.to_dict() == demo_episodes["episode_type"].value_counts().to_dict()
    assert np.allclose(e.groupby("episode_type")["pct"].sum(), 100.0)
    c = counts_table(demo_episodes, "swv_id")
    assert c["n"].sum() == len(demo_episodes)


def test_complement_suppression_hides_a_count_whose_rest_is_small():
    # Back to School: 83 episodes, 76 living with their parents; the 7 others are spread
    # over levels each suppressed, but 83 − 76 gives their sum back (and "76 (91,6%)")
    ep = pd.DataFrame({
        "main_intervention": ["usual_care"] * 60 + ["bts"] * 83,
        "living": ["parents"] * 30 + ["foster"] * 15 + ["other"] * 15
        + ["parents"] * 76 + ["foster"] * 4 + ["other"] * 3,
    })
    t1 = table_one(ep, variables=["living"], reference="usual_care")
    w = wide(t1, 10, group_labels=False).set_index("level")
    assert w.loc["parents", "bts"] == "<10"  # hidden: else 83 − 76 = 7 is known
    assert w.loc["", "bts"] == "83"  # the group size stays
    before = suppress_small(t1, ["n"], 10, within=[["variable", "group"]])
    assert before.loc[(t1["level"] == "parents") & (t1["group"] == "bts"), "n"].item() == 76
    # the rule on its own: the set's hidden rest must be 0 or >= min_cell
    t = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3, "n": [76, 4, 3, 50, 6, 5]})
    out = suppress_small(t, ["n"], 10, complement=[["g"]])
    assert out["n"].tolist() == ["<10", "<10", "<10", 50, "<10", "<10"]  # b: rest 11
    # without a shown total, nothing more is hidden
    assert suppress_small(t, ["n"], 10)["n"].tolist() == [76, "<10", "<10", 50, "<10", "<10"]
