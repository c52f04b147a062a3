"""thuiszit_eval.outcomes: hand-checked durations and event codes on the example cohort,
the counting process, and immortal-time bias on the demo cohort.

Hand counts used below (example cohort, follow-up end 2024-07-31):
E0001a absence 2023-01-09, reported 2023-02-13 (35 days later), referral 2023-02-20,
Back to School start 2023-03-06, end 2023-04-17 returned_partial: 98 days; attendance: first
week with attendance after the origin 2023-02-20 (42 days), first week with >= 8 dayparts
2023-04-17 (98 days), only 3 full weeks recorded (last week 2023-05-01, so the window closes
2023-05-08 = 119 days). E0009a 2023-11-20 to 2024-01-29: 70 calendar days = 50 weekdays
minus 10 Christmas-holiday weekdays = 40 school days.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval.cohort import Cohort
from thuiszit_eval.outcomes import (
    SAME_DAY,
    OutcomeDefinition,
    SurvivalTable,
    counting_process,
    survival_table,
)
from thuiszit_eval.schema import schema_dir


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return Cohort.load(schema_dir() / "example")


def row(st: SurvivalTable, episode: str) -> tuple[float, int]:
    r = st.data.set_index("episode_id").loc[episode]
    return float(r["duration"]), int(r["event"])


def with_episodes(cohort: Cohort, **changes: dict[str, object]) -> Cohort:
    """A copy of the cohort with episode cells changed: episode_id -> {column: value}."""
    ep = cohort.episodes.copy()
    for eid, cells in changes.items():
        for col, value in cells.items():
            ep.loc[ep["episode_id"] == eid, col] = value
    return dataclasses.replace(cohort, episodes=ep)


# --------------------------------------------------------------------------- definition
def test_defaults_and_describe() -> None:
    d = OutcomeDefinition()
    assert (d.origin, d.event, d.time_scale) == ("absence_start", "any_return", "calendar")
    assert d.sustained_weeks == 4 and d.full_threshold == 0.8 and d.partial_threshold == 0
    assert d.causes[2] == ("exemption_5a",) and d.causes[5] == ("aged_out",)
    assert "returned_partial" in d.causes[1]
    assert "returned_partial" not in OutcomeDefinition(event="full_return").causes[1]
    assert list(OutcomeDefinition(competing_as_censoring=True).causes) == [1]
    text = OutcomeDefinition(origin="reported", event="sustained_return", horizon_days=365,
                             time_scale="school_days").describe()
    assert "report to leerplicht" in text and "4 consecutive weeks" in text
    assert "365 school days" in text


@pytest.mark.parametrize("kwargs", [
    {"origin": "signal"}, {"event": "return"}, {"time_scale": "weeks"},
    {"full_threshold": 1.5}, {"horizon_days": 0}, {"competing": ("returned_full",)},
    {"sustained_weeks": 0},
])
def test_bad_definitions_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        OutcomeDefinition(**kwargs)


# --------------------------------------------------------------------------- end reasons
def test_default_definition_hand_checked(cohort: Cohort) -> None:
    st = survival_table(cohort)
    assert len(st.data) == 15 and st.n_excluded == {}
    assert row(st, "E0001a") == (98.0, 1)
    assert row(st, "E0005a") == (284.0, 2)  # exemption_5a: competing
    assert row(st, "E0011a")[1] == 3  # exemption_other
    assert row(st, "E0010a")[1] == 4  # moved
    assert row(st, "E0007a")[1] == 5  # aged_out
    assert row(st, "E0014a") == (177.0, 0)  # ongoing: censored at 2024-07-31
    assert row(st, "E0002a") == (303.0, 0)
    assert row(st, "E0012a") == (63.0, 0)  # 'other' end: censored at the end date
    assert row(st, "E0013a") == (70.0, 0)  # 'unknown' end: censored at the end date
    assert row(st, "E0008a") == (168.0, 1)  # returned_special_education
    assert row(st, "E0006a") == (105.0, 1)  # returned_new_school
    d = st.data.set_index("episode_id")
    assert d.loc["E0005a", "event_label"] == "exemption_5a"
    assert d.loc["E0014a", "stop_date"] == pd.Timestamp("2024-07-31")
    assert (st.data["duration"] > 0).all()
    # baseline covariates
    assert d.loc["E0001a", "age"] == pytest.approx((pd.Timestamp("2023-01-09")
                                                    - pd.Timestamp("2014-03-01")).days / 365.25,
                                                   abs=0.01)
    assert d.loc["E0001a", "need_autism"] and not d.loc["E0001a", "need_zmolk"]
    assert d.loc["E0015a", "prior_episodes"] == 1 and d.loc["E0003a", "prior_episodes"] == 0
    for col in ("sex", "school_type", "episode_type", "swv_id", "ses_index", "end_reason"):
        assert col in d


def test_competing_as_censoring(cohort: Cohort) -> None:
    st = survival_table(cohort, OutcomeDefinition(competing_as_censoring=True))
    assert row(st, "E0005a") == (284.0, 0)
    assert set(st.data["event"]) == {0, 1}


def test_origin_reported_shifts_by_report_delay(cohort: Cohort) -> None:
    base = survival_table(cohort).data.set_index("episode_id")
    st = survival_table(cohort, OutcomeDefinition(origin="reported"))
    assert st.n_excluded == {"no reported date": 1}  # E0004a (dreigend) has none
    assert "E0004a" not in set(st.data["episode_id"])
    d = st.data.set_index("episode_id")
    delay = (base["origin_date"] - d["origin_date"]).dt.days.dropna()
    assert row(st, "E0001a") == (63.0, 1)  # 98 - 35
    np.testing.assert_array_equal(d["duration"], (base["duration"] + delay).loc[d.index])
    assert (d["event"] == base.loc[d.index, "event"]).all()


def test_origin_referral_and_intervention_start(cohort: Cohort) -> None:
    assert row(survival_table(cohort, OutcomeDefinition(origin="referral")), "E0001a") == (56, 1)
    st = survival_table(cohort, OutcomeDefinition(origin="intervention_start"))
    assert row(st, "E0001a") == (42.0, 1)
    assert row(st, "E0014a") == (142.0, 0)  # agendapunt_4 started 2024-03-11


def test_horizon_censors(cohort: Cohort) -> None:
    st = survival_table(cohort, OutcomeDefinition(horizon_days=90))
    assert row(st, "E0001a") == (90.0, 0)
    assert st.data.set_index("episode_id").loc["E0001a", "stop_date"] == pd.Timestamp("2023-04-09")
    assert row(st, "E0003a") == (84.0, 1)
    assert st.data["duration"].max() == 90


def test_school_days_vs_hand_count(cohort: Cohort) -> None:
    st = survival_table(cohort, OutcomeDefinition(time_scale="school_days"))
    assert row(st, "E0009a") == (40.0, 1)  # 50 weekdays - 10 Christmas holiday days
    assert row(st, "E0001a") == (70.0, 1)  # 14 weeks, no listed non-school days in 2023
    # 2024-02-05 .. 2024-07-31: 127 weekdays - spring holiday (5) - study day - Easter (2)
    assert row(st, "E0014a") == (119.0, 0)
    # horizon in school days
    hz = survival_table(cohort, OutcomeDefinition(time_scale="school_days", horizon_days=60))
    assert row(hz, "E0001a") == (60.0, 0)
    # 60 weekdays after Monday 2023-01-09 is Monday 2023-04-03
    assert hz.data.set_index("episode_id").loc["E0001a", "stop_date"] == pd.Timestamp("2023-04-03")


def test_same_day_and_exclusions(cohort: Cohort) -> None:
    changed = with_episodes(cohort, E0003a={"end_date": pd.Timestamp("2022-11-14")},
                            E0004a={"end_date": pd.Timestamp("2023-03-01")})
    st = survival_table(changed)
    assert row(st, "E0003a") == (SAME_DAY, 1)
    assert st.n_excluded == {"origin after episode end": 1}  # E0004a ends before it starts
    st = survival_table(changed, OutcomeDefinition(origin="intervention_start"))
    assert st.n_excluded == {"origin after episode end": 2}  # E0003a too (starts 2022-12-19)


def test_end_reasons_without_attendance(cohort: Cohort) -> None:
    no_att = dataclasses.replace(cohort, attendance=None)
    assert row(survival_table(no_att, OutcomeDefinition(event="partial_return")),
               "E0001a") == (98.0, 1)
    # returned_partial is not a full return: censored at the end date
    full = survival_table(no_att, OutcomeDefinition(event="full_return"))
    assert row(full, "E0001a") == (98.0, 0) and row(full, "E0003a") == (84.0, 1)
    # sustained: a new episode within sustained_weeks weeks of the return breaks it
    sus = OutcomeDefinition(event="sustained_return")
    assert row(survival_table(no_att, sus), "E0003a") == (84.0, 1)
    relapse = with_episodes(no_att, E0015a={"absence_start": pd.Timestamp("2023-02-20")})
    assert row(survival_table(relapse, sus), "E0003a") == (84.0, 0)


# --------------------------------------------------------------------------- attendance
def test_attendance_events_hand_checked(cohort: Cohort) -> None:
    def get(episode: str, **kw: object) -> tuple[float, int]:
        return row(survival_table(cohort, OutcomeDefinition(**kw)), episode)

    assert get("E0001a", event="partial_return") == (42.0, 1)
    assert get("E0001a", event="full_return") == (98.0, 1)
    assert get("E0001a", event="sustained_return") == (119.0, 0)  # 3 full weeks only
    assert get("E0001a", event="sustained_return", sustained_weeks=3) == (98.0, 1)
    assert get("E0009a", event="partial_return") == (28.0, 1)  # 2023-12-18, 3 dayparts
    assert get("E0009a", event="partial_return", partial_threshold=0.5) == (49.0, 1)
    assert get("E0009a", event="full_return") == (56.0, 1)  # 2024-01-15, 8 dayparts
    assert get("E0009a", event="full_return", full_threshold=1.0) == (63.0, 1)
    assert get("E0009a", event="sustained_return", sustained_weeks=2) == (56.0, 1)
    # a pupil's attendance before this episode does not count: end reason used
    assert get("E0002a", event="partial_return") == (303.0, 0)
    assert get("E0005a", event="full_return") == (284.0, 2)


# --------------------------------------------------------------------------- grouping
def test_group_and_summary(cohort: Cohort) -> None:
    st = survival_table(cohort, group="intervention")
    d = st.data.set_index("episode_id")
    assert d.loc["E0001a", "intervention"] == "back_to_school"
    assert d.loc["E0014a", "intervention"] == "agendapunt_4"  # 'other' has no start date
    s = st.summary()
    assert s["n"].sum() == 15 and "intervention" in s
    assert "SurvivalTable example-cohort: 15 episodes" in repr(st)
    assert "swv_id" in survival_table(cohort, group="swv_id").data
    with pytest.raises(ValueError, match="not a covariate"):
        survival_table(cohort, group="shoe_size")


# --------------------------------------------------------------------------- counting process
def check_partition(cp: pd.DataFrame, st: SurvivalTable) -> None:
    dur = st.data.set_index("episode_id")["duration"]
    assert (cp["stop"] > cp["start"]).all()
    g = cp.groupby("id", sort=False)
    assert (g["start"].first() == 0).all()
    np.testing.assert_array_equal(g["stop"].last(), dur.loc[g["stop"].last().index])
    nxt = g["start"].shift(-1)
    has_next = nxt.notna()
    np.testing.assert_array_equal(cp.loc[has_next, "stop"], nxt[has_next])
    last = ~has_next
    assert (cp.loc[~last, "event_code"] == 0).all() and (cp.loc[~last, "event"] == 0).all()
    np.testing.assert_array_equal(cp.loc[last, "event_code"],
                                  st.data.set_index("episode_id").loc[cp.loc[last, "id"], "event"])
    assert cp["event"].sum() == (st.data["event"] == 1).sum()


@pytest.mark.parametrize("definition", [
    OutcomeDefinition(),
    OutcomeDefinition(origin="reported", time_scale="school_days"),
    OutcomeDefinition(event="full_return", horizon_days=90),
])
def test_counting_process_partitions(cohort: Cohort, definition: OutcomeDefinition) -> None:
    cp = counting_process(cohort, definition, exposures=("intervention", "plan_agreed"))
    check_partition(cp, survival_table(cohort, definition))
    # exposures never switch off
    for col in ("back_to_school", "plan_agreed"):
        assert (cp.groupby("id")[col].diff().fillna(0) >= 0).all()


def test_counting_process_exposure_switches_on(cohort: Cohort) -> None:
    cp = counting_process(cohort, exposures=("back_to_school", "plan_agreed"))
    e1 = cp[cp["id"] == "E0001a"]
    # plan agreed 2023-02-20 (day 42), Back to School start 2023-03-06 (day 56), return day 98
    assert e1[["start", "stop", "plan_agreed", "back_to_school", "event"]].values.tolist() == [
        [0, 42, 0, 0, 0], [42, 56, 1, 0, 0], [56, 98, 1, 1, 1]]
    e9 = cp[cp["id"] == "E0009a"]  # start 2024-01-08 = day 49, return day 70
    assert e9[["start", "stop", "back_to_school"]].values.tolist() == [[0, 49, 0], [49, 70, 1]]
    assert "age" in cp and "swv_id" in cp
    # intervention origin: the exposure is on from time 0
    cpi = counting_process(cohort, OutcomeDefinition(origin="intervention_start"),
                           exposures=("back_to_school",))
    assert cpi.loc[cpi["id"] == "E0001a", "back_to_school"].tolist() == [1]
    # school days: E0009a Back to School starts after 7 weeks = 35 weekdays - 10 holidays
    cps = counting_process(cohort, OutcomeDefinition(time_scale="school_days"),
                           exposures=("back_to_school",))
    assert cps.loc[cps["id"] == "E0009a", ["start", "stop"]].values.tolist() == [[0, 25],
                                                                                 [25, 40]]
    with pytest.raises(ValueError, match="not an intervention or process event code"):
        counting_process(cohort, exposures=("magic",))


# --------------------------------------------------------------------------- demo cohort
def test_demo_immortal_time_bias() -> None:
    from lifelines import CoxPHFitter, CoxTimeVaryingFitter

    from thuiszit_eval.simulate import demo_cohort_path

    demo = Cohort.load(demo_cohort_path())
    st = survival_table(demo)
    cp = counting_process(demo, exposures=("back_to_school",))
    check_partition(cp, st)
    ctv = CoxTimeVaryingFitter().fit(
        cp[["id", "start", "stop", "event", "back_to_school"]], id_col="id",
        event_col="event", start_col="start", stop_col="stop")
    hr_tv = float(ctv.hazard_ratios_["back_to_school"])
    bts = demo.interventions.loc[demo.interventions["intervention_code"] == "back_to_school",
                                 "episode_id"]
    base = pd.DataFrame({"duration": st.data["duration"],
                         "event": (st.data["event"] == 1).astype(int),
                         "ever_bts": st.data["episode_id"].isin(bts).astype(int)})
    hr_ever = float(CoxPHFitter().fit(base, "duration", "event").hazard_ratios_["ever_bts"])
    assert 1.2 < hr_tv < 1.9  # true HR 1.5
    assert hr_ever < 1.0 < hr_tv  # immortal time drags the naive estimate below 1
    # every attendance-based definition runs on a realistic cohort
    for ev in ("partial_return", "full_return", "sustained_return"):
        d = survival_table(demo, OutcomeDefinition(event=ev)).data
        assert len(d) == len(st.data) and (d["duration"] > 0).all()
