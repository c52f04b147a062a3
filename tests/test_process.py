"""Process indicators and Back to School fidelity, hand-checked on data_schema/example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import set_cell

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.fidelity import (
    fidelity_table,
    protocol_outcomes,
    protocol_return,
    trajectories,
)
from thuiszit_eval.outcomes import SAME_DAY
from thuiszit_eval.process import (
    kept_in_view,
    kept_in_view_table,
    step_table,
    step_times,
    steps_and_return,
    waiting_list_spells,
    waiting_list_table,
)
from thuiszit_eval.schema import schema_dir
from thuiszit_eval.simulate import demo_cohort_path
from thuiszit_eval.survival import kaplan_meier


@pytest.fixture(scope="module")
def ex() -> Cohort:
    return Cohort.load(schema_dir() / "example")


@pytest.fixture(scope="module")
def demo() -> Cohort:
    return Cohort.load(demo_cohort_path())


def _row(df: pd.DataFrame, **keys) -> pd.Series:
    m = np.ones(len(df), dtype=bool)
    for k, v in keys.items():
        m &= (df[k] == v).to_numpy()
    assert m.sum() == 1, keys
    return df[m].iloc[0]


def _no_small_counts(df: pd.DataFrame, cols, min_cell: int = 10) -> None:
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce")
        assert not ((v >= 0) & (v < min_cell)).any(), (c, df[c].tolist())


# --------------------------------------------------------------------------- process steps
def test_step_days_by_hand(ex):
    st = step_times(ex)
    # E0001a: absence 2023-01-09; reported 2023-02-13, contact 2023-02-15 (pupil and
    # parents), plan 2023-02-20, Back to School started 2023-03-06
    want = {"reported_leerplicht": 35, "first_contact": 37, "plan_agreed": 42,
            "intervention_start": 56}
    for step, days in want.items():
        r = _row(st, episode_id="E0001a", step=step)
        assert (r.duration, r.event) == (days, 1), step


def test_steps_that_never_happen_are_censored(ex):
    st = step_times(ex)
    # E0003a (2022-11-14 to 2023-02-06): no contact, no plan; its only intervention is a
    # thuiszitterstafel, a process step and not an intervention start
    for step in ("first_contact", "plan_agreed", "intervention_start"):
        r = _row(st, episode_id="E0003a", step=step)
        assert (r.duration, r.event) == (84, 0), step
    # E0002a is open: censored at follow-up end 2024-07-31 (absence 2023-10-02)
    assert _row(st, episode_id="E0002a", step="plan_agreed").duration == 303
    # reported date from the episodes table when there is no event: E0002a 2023-10-30
    r = _row(st, episode_id="E0002a", step="reported_leerplicht")
    assert (r.duration, r.event) == (28, 1)
    # intervention start of another code counts: E0008a zmolk_aanpak 2022-11-14
    assert _row(st, episode_id="E0008a", step="intervention_start").event == 1


def test_step_table_medians_are_kaplan_meier(demo):
    st = step_times(demo)
    tab = step_table(demo, min_cell=None).set_index("step")
    for step, d in st.groupby("step"):
        km = kaplan_meier(d, "duration", "event")
        med = km.median().iloc[0]
        assert tab.at[step, "median_days"] == med["quantile"]
        assert tab.at[step, "median_lower"] == med["lower"]
        at = km.at_times([14.0, 28.0, 56.0]).set_index("time")
        assert tab.at[step, "reached_2w"] == pytest.approx(at.at[14.0, "returned"])
        assert tab.at[step, "reached_8w_upper"] == pytest.approx(at.at[56.0, "returned_upper"])
        assert tab.at[step, "n"] == len(d) and tab.at[step, "events"] == d["event"].sum()


def test_step_table_suppresses_small_counts(ex):
    tab = step_table(ex).set_index("step")  # 15 episodes
    _no_small_counts(tab, ["n", "events"])
    assert tab.at["first_contact", "events"] == "<10"
    assert tab.at["reported_leerplicht", "events"] == ">5"  # 14 of 15: 1 not reported
    assert tab.loc[:, "median_days":].isna().all().all()


def test_first_signal_origin(ex):
    st = step_times(ex, origin="first_signal")
    # E0001a's signal (2023-01-12) is after its absence start: the origin stays 2023-01-09
    assert _row(st, episode_id="E0001a", step="reported_leerplicht").duration == 35
    with pytest.raises(ValueError, match="origin"):
        step_times(ex, origin="referral")


def test_waiting_lists_and_follow_up(ex, demo):
    sp = waiting_list_spells(ex)
    assert sp[["episode_id", "duration", "event"]].values.tolist() == [["E0005a", 77.0, 1]]
    kv = kept_in_view(ex).set_index("episode_id")
    assert (kv.at["E0001a", "duration"], kv.at["E0001a", "event"]) == (28.0, 1)
    assert kv.at["E0003a", "event"] == 0 and "E0005a" not in kv.index  # exemption: no return
    wt = waiting_list_table(demo, min_cell=None).iloc[0]
    sp = waiting_list_spells(demo)
    med = kaplan_meier(sp, "duration", "event").median().iloc[0]
    assert wt["median_days"] == med["quantile"] and wt["n"] == len(sp)
    assert 0 <= wt["still_waiting_8w"] <= 1
    kt = kept_in_view_table(demo, weeks=8).iloc[0]
    assert 0.3 < kt["kept_in_view"] < 1
    _no_small_counts(waiting_list_table(ex), ["n", "events", "n_still_waiting"])
    _no_small_counts(kept_in_view_table(ex), ["n", "events"])


def test_steps_and_return_time_varying(demo, ex):
    tab = steps_and_return(demo).set_index("step")
    assert list(tab.index) == ["first_contact", "plan_agreed"]
    assert np.isfinite(tab["hr"].astype(float)).all()
    assert (tab["hr_lower"] < tab["hr"]).all() and (tab["hr"] < tab["hr_upper"]).all()
    _no_small_counts(tab, ["n_exposed", "events_exposed", "events_unexposed"])
    small = steps_and_return(ex)  # 15 episodes: everything suppressed
    _no_small_counts(small, ["n_exposed", "events_exposed", "events_unexposed"])
    assert small["hr"].isna().all()


# --------------------------------------------------------------------------- fidelity
def test_back_to_school_trajectories_by_hand(ex):
    tr = trajectories(ex).set_index("intervention_id")
    assert sorted(tr.index) == ["I0001a", "I0002a", "I0009a"]  # I0008a is zmolk_aanpak
    r = tr.loc["I0001a"]
    assert r["age_at_start"] == 9.0 and r["days"] == 81 and not r["ongoing"]
    assert all(bool(r[c]) for c in ("age_5_14", "dayparts_max_3", "duration_max_3m",
                                    "coaching_all", "group_treatment", "in_protocol"))
    r = tr.loc["I0002a"]  # coaching_teacher false; ongoing for 240 days at follow-up end
    assert not r["coaching_all"] and not r["in_protocol"] and r["ongoing"]
    assert r["days"] == 240 and not r["duration_max_3m"]
    assert bool(tr.at["I0009a", "in_protocol"])


def test_unknown_criteria_and_dayparts(example):
    set_cell(example, "interventions", 2, "dayparts_per_week", "")  # I0001a
    set_cell(example, "interventions", 10, "dayparts_per_week", "4")  # I0009a
    tr = trajectories(Cohort.load(example)).set_index("intervention_id")
    assert pd.isna(tr.at["I0001a", "dayparts_max_3"]) and pd.isna(tr.at["I0001a", "in_protocol"])
    assert not tr.at["I0009a", "dayparts_max_3"] and not tr.at["I0009a", "in_protocol"]
    tab = fidelity_table(tr, min_cell=None).set_index("criterion")
    assert tab.at["dayparts_max_3", "n"] == 2 and tab.at["dayparts_max_3", "n_unknown"] == 1
    assert tab.at["all", "met"] == 0


def test_fidelity_table_and_outcomes_on_demo(demo):
    tr = trajectories(demo)
    raw = fidelity_table(tr, min_cell=None).set_index("criterion")
    assert raw.at["all", "met"] == int(tr["in_protocol"].sum())
    assert (raw["met"] + raw["not_met"] == raw["n"]).all()
    assert (raw["share_lower"] <= raw["share_met"]).all()
    assert raw.at["all", "met"] <= raw["met"].drop("all").min()
    shown = fidelity_table(tr)
    _no_small_counts(shown, ["met", "not_met", "n_unknown"])
    pr = protocol_return(demo, tr)
    assert (pr["duration"] >= SAME_DAY).all()
    out = protocol_outcomes(demo, tr, min_cell=None).set_index("protocol")
    d = pr[pr["protocol"] == "out_of_protocol"]
    med = kaplan_meier(d, "duration", "event").median().iloc[0]
    assert out.at["out_of_protocol", "median_days"] == med["quantile"]
    assert out.at["out_of_protocol", "n"] == len(d)


def test_protocol_outcomes_suppressed_on_small_cohort(ex):
    out = protocol_outcomes(ex)
    _no_small_counts(out, ["n", "events"])
    assert out["median_days"].isna().all()
    pr = protocol_return(ex).set_index("intervention_id")
    # I0001a started 2023-03-06, the episode ended with a return on 2023-04-17
    assert (pr.at["I0001a", "duration"], pr.at["I0001a", "event"]) == (42.0, 1)


# --------------------------------------------------------------------------- presentation
def _fields(text: str) -> set[str]:
    import string

    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_dutch_and_english_narratives_match():
    from thuiszit_eval.narrative import sections

    nl, en = (sections("09_process_and_fidelity", lang) for lang in ("nl", "en"))
    assert list(nl) == list(en)
    for name in nl:
        assert _fields(nl[name]) == _fields(en[name]), name


def test_presented_tables_are_text_in_both_languages(ex, demo):
    from thuiszit_eval.fidelity import present_fidelity
    from thuiszit_eval.process import present_cox, present_steps

    shown = present_steps(step_table(demo, lang="en"), "en")
    assert shown.loc["first contact (pupil or parents)", "Episodes"] == f"{len(demo.episodes):,}"
    assert shown.map(lambda x: isinstance(x, str)).all().all()
    nl = present_cox(steps_and_return(demo), "nl")
    assert nl.iloc[0, 2].count(",") == 3  # "1,39 (1,14–1,70)": Dutch decimal commas
    small = present_fidelity(fidelity_table(trajectories(ex)), "nl")
    assert set(small.iloc[:, 0]) == {"<10"} and set(small.iloc[:, 3]) == {"–"}


def test_km_shares_that_give_a_count_back_are_hidden():
    from thuiszit_eval.process import _km_row

    # 350 episodes, 10 reach the step on day 5, the rest are censored on day 100:
    # "3%" of 350 may be 9 pupils, so the share within 2 weeks is hidden
    d = pd.DataFrame({"duration": [5.0] * 10 + [100.0] * 340, "event": [1] * 10 + [0] * 340})
    row = _km_row(d, [14.0], "reached", ["2w"], min_at_risk=10)
    assert np.isnan(row["reached_2w"]) and np.isnan(row["reached_2w_lower"])
    # 35 of 350 (10%): shown
    d = pd.DataFrame({"duration": [5.0] * 35 + [100.0] * 315, "event": [1] * 35 + [0] * 315})
    row = _km_row(d, [14.0], "reached", ["2w"], min_at_risk=10)
    assert row["reached_2w"] == pytest.approx(0.10)
    assert _km_row(d, [14.0], "reached", ["2w"])["reached_2w"] == pytest.approx(0.10)


def test_present_waiting_says_a_suppressed_count_in_words():
    from thuiszit_eval.process import present_waiting

    tab = pd.DataFrame([{"label": "wachtlijst", "n": 67, "events": 26, "median_days": 96.0,
                         "median_lower": 66.0, "median_upper": 151.0,
                         "still_waiting_8w": 0.74, "still_waiting_8w_lower": 0.62,
                         "still_waiting_8w_upper": 0.89, "n_still_waiting": "<10"}])
    col = present_waiting(tab, "nl").T.iloc[:, 0].tolist()
    assert col[-1] == "onderdrukt (te weinig leerlingen)" and "<10" not in col
    assert col[3] == "74% (62%–89%)"
    tab.loc[0, "n_still_waiting"] = 41
    assert present_waiting(tab, "en").T.iloc[-1, 0] == "41"


def test_fidelity_shares_as_written_give_no_small_count_back():
    from thuiszit_eval.fidelity import CRITERIA

    # 340 of 350 meet the first criterion: both counts are safe, but "97%" of 350 may leave
    # 9 who do not; the second is met by 175 of 350 (50%): shown
    n = 350
    traj = pd.DataFrame({c: [True] * n for c in CRITERIA})
    traj[CRITERIA[0]] = [True] * 340 + [False] * 10
    traj[CRITERIA[1]] = [True] * 175 + [False] * 175
    traj["in_protocol"] = traj[list(CRITERIA)].all(axis=1)
    tab = fidelity_table(traj, min_cell=10, lang="en").set_index("criterion")
    assert tab.loc[CRITERIA[0], "met"] == 340 and tab.loc[CRITERIA[0], "not_met"] == 10
    assert pd.isna(tab.loc[CRITERIA[0], "share_met"])
    assert tab.loc[CRITERIA[1], "share_met"] == pytest.approx(0.5)
    assert pd.isna(tab.loc[CRITERIA[2], "share_met"])  # 0 not met: a suppressed count
