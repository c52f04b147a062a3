"""Prevalent cohorts: ``observation_start`` in the metadata gives delayed entry (issue 14).

A registration that starts on a date holds pupils who were already home; they enter the
risk set on that date. The cohort here is the simulated demo cohort with an observation
start set by hand (the simulator's own option is another change); estimators are the
R-proven ones of tests/test_survival_extra.py.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval import survival as sv
from thuiszit_eval.analyse import analyse_cohort
from thuiszit_eval.cohort import Cohort
from thuiszit_eval.outcomes import OutcomeDefinition, counting_process, survival_table
from thuiszit_eval.simulate import demo_cohort_path

OBS = "2024-06-01"


@pytest.fixture(scope="module")
def full() -> Cohort:
    return Cohort.load(demo_cohort_path())


@pytest.fixture(scope="module")
def prevalent(full: Cohort) -> Cohort:
    c = copy.copy(full)
    c.metadata = {**full.metadata, "observation_start": OBS}
    return c


def test_survival_table_gets_entry_and_drops_episodes_ended_before(full, prevalent):
    base = survival_table(full).data.set_index("episode_id")
    st = survival_table(prevalent)
    d = st.data.set_index("episode_id")
    obs = pd.Timestamp(OBS)
    gone = base.index[base["stop_date"] <= obs]
    assert len(gone) > 50  # the demo cohort has episodes that ended before that date
    assert st.n_excluded["ended before observation start"] == len(gone)
    assert set(d.index) == set(base.index) - set(gone)
    running = base.loc[d.index, "origin_date"] < obs
    expect = np.where(running, (obs - base.loc[d.index, "origin_date"]).dt.days, 0.0)
    np.testing.assert_array_equal(d["entry"].to_numpy(), expect)
    assert (d["entry"] < d["duration"]).all()
    # durations, events and covariates of the kept episodes are unchanged
    pd.testing.assert_frame_equal(d.drop(columns="entry"), base.loc[d.index])
    assert "entry" not in base


def test_entry_on_the_school_day_scale(prevalent):
    d = survival_table(prevalent, OutcomeDefinition(time_scale="school_days")).data
    run = d[d["entry"] > 0].iloc[0]
    hol = np.unique(pd.to_datetime(prevalent.school_calendar["date"]).to_numpy()
                    .astype("datetime64[D]")) if prevalent.school_calendar is not None else []
    n = np.busday_count(np.datetime64(run["origin_date"], "D"), np.datetime64(OBS, "D"),
                        holidays=hol)
    assert run["entry"] == n


def test_delayed_entry_undoes_length_bias(full, prevalent):
    """Ignoring the entry over-represents long episodes; using it recovers the full cohort."""
    truth = sv.kaplan_meier(survival_table(full).data).at_times([91, 182])["surv"]
    d = survival_table(prevalent).data
    naive = sv.kaplan_meier(d).at_times([91, 182])["surv"]
    delayed = sv.kaplan_meier(d, entry="entry").at_times([91, 182])["surv"]
    assert (naive.to_numpy() > truth.to_numpy() + 0.02).all()
    assert (np.abs(delayed.to_numpy() - truth.to_numpy()) < 0.03).all()
    assert (np.abs(delayed - truth) < np.abs(naive - truth) / 2).all()


def test_counting_process_starts_at_entry(prevalent):
    st = survival_table(prevalent).data
    cp = counting_process(prevalent, exposures=("back_to_school",))
    first = cp.groupby("episode_id")["start"].min()
    entry = st.set_index("episode_id")["entry"]
    np.testing.assert_array_equal(first.to_numpy(), entry.loc[first.index].to_numpy())
    assert (cp["stop"] > cp["start"]).all()
    # the same Cox model from both tables when no exposure varies
    a = sv.cox_ph(st.assign(age=st["age"].astype(float)), "duration", "event", ["age"],
                  entry="entry")
    cp0 = counting_process(prevalent, exposures=())
    b = sv.cox_ph(cp0.assign(age=cp0["age"].astype(float)), "stop", "event", ["age"],
                  start="start")
    assert b.table["coef"].iloc[0] == pytest.approx(a.table["coef"].iloc[0], rel=1e-8)


def test_analyse_uses_delayed_entry(prevalent, tmp_path):
    tables = analyse_cohort(prevalent, tmp_path, min_cell=10)
    st = survival_table(prevalent, group="intervention").data
    st = st.sort_values("episode_id", kind="stable").reset_index(drop=True)
    km = sv.kaplan_meier(st, group="intervention", entry="entry")
    lr = sv.logrank_test(st, group="intervention", entry="entry")
    got = tables["returned_at"]
    want = km.at_times((28, 91, 182, 365))
    g = str(want["group"].iloc[0])
    # an estimate from which a small count could be derived is left empty
    # (thuiszit_eval.disclosure); every estimate that is given equals the delayed-entry KM
    shown = got.loc[got.group == g, "returned"].astype(float).to_numpy()
    given = ~np.isnan(shown)
    assert given.sum() >= 2
    np.testing.assert_allclose(shown[given],
                               want.loc[want.group == g, "returned"].to_numpy()[given],
                               rtol=1e-5)  # published to 6 significant digits
    assert float(tables["logrank"]["chisq"].iloc[0]) == pytest.approx(lr.chisq, rel=1e-5)
    text = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert f"registration starts on {OBS}" in text
    assert "nan" not in text.lower()


def test_bad_observation_start_is_a_readable_error(full):
    c = copy.copy(full)
    c.metadata = {**full.metadata, "observation_start": "01-13-2024"}
    with pytest.raises(ValueError, match=r"datapackage.json: thuiszit.observation_start"):
        survival_table(c)
    c.metadata = {**full.metadata, "observation_start": "2030-01-01"}
    with pytest.raises(ValueError, match="after follow_up_end"):
        survival_table(c)


def test_simulated_prevalent_export_end_to_end(tmp_path):
    """The simulator's prevalent export (observation_start in its datapackage): the survival
    table enters episodes at that date and the KM with delayed entry recovers the incident
    cohort's, which the naive KM overstates (length bias)."""
    from thuiszit_eval.simulate import write_simulated_cohort

    obs = "2024-06-01"
    prev = Cohort.load(write_simulated_cohort(tmp_path / "prev", 3000, seed=21, progress=False,
                                              observation_start=obs))
    full = Cohort.load(write_simulated_cohort(tmp_path / "full", 3000, seed=21, progress=False))
    d = survival_table(prev).data
    start = pd.to_datetime(d["origin_date"])
    want = np.maximum((pd.Timestamp(obs) - start).dt.days, 0).to_numpy(float)
    np.testing.assert_array_equal(d["entry"].to_numpy(), want)
    assert (d["entry"] > 0).sum() > 200
    whole = sv.kaplan_meier(survival_table(full).data).at_times([91])["surv"].iloc[0]
    delayed = sv.kaplan_meier(d, entry="entry").at_times([91])["surv"].iloc[0]
    naive = sv.kaplan_meier(d).at_times([91])["surv"].iloc[0]
    assert delayed == pytest.approx(whole, abs=0.03)
    assert naive > whole + 0.05
