"""Cohort.load(tables=...): only the tables asked for are read; analyse reads only its own."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from thuiszit_eval.analyse import needed_tables
from thuiszit_eval.cli import main
from thuiszit_eval.cohort import Cohort, CohortError
from thuiszit_eval.outcomes import OutcomeDefinition
from thuiszit_eval.schema import schema_dir
from thuiszit_eval.simulate import demo_cohort_path, write_simulated_cohort

EXAMPLE = schema_dir() / "example"


def test_only_the_tables_asked_for_are_loaded_and_validated():
    full = Cohort.load(EXAMPLE)
    part = Cohort.load(EXAMPLE, tables=["interventions"])
    assert part.attendance is None and part.process_events is None
    assert part.school_calendar is None
    assert full.attendance is not None and full.not_loaded == ()
    assert part.not_loaded == ("attendance", "process_events", "school_calendar")
    # the tables that are loaded are validated exactly as in a full load
    assert part.report.counts["table"].tolist() == ["pupils", "episodes", "interventions"]
    for name in ("pupils", "episodes", "interventions"):
        pd.testing.assert_frame_equal(getattr(part, name), getattr(full, name))
    n_full = full.report.counts.set_index("table").loc[["pupils", "episodes"], "rows_read"]
    assert part.report.counts.set_index("table").loc[["pupils", "episodes"], "rows_read"] \
        .tolist() == n_full.tolist()


def test_pupils_and_episodes_are_always_loaded():
    c = Cohort.load(EXAMPLE, tables=[])
    assert len(c.pupils) == 12 and len(c.episodes) > 0 and c.interventions is None
    assert Cohort.load(EXAMPLE, tables="interventions").interventions is not None


def test_unknown_table_name_is_refused():
    with pytest.raises(ValueError, match="unknown table.*'attendence'"):
        Cohort.load(EXAMPLE, tables=["attendence"])


def test_needed_tables_follow_the_outcome():
    assert needed_tables() == ("pupils", "episodes", "interventions")
    assert "attendance" in needed_tables(OutcomeDefinition(event="partial_return"))
    assert needed_tables(OutcomeDefinition(origin="referral"), group="swv_id") == (
        "pupils", "episodes", "interventions")
    assert needed_tables(group="swv_id") == ("pupils", "episodes")


@pytest.fixture(scope="module")
def broken_attendance(tmp_path_factory):
    """The demo cohort with attendance.csv replaced by a folder, which cannot be read."""
    folder = tmp_path_factory.mktemp("broken") / "cohort"
    shutil.copytree(demo_cohort_path(), folder)
    (folder / "attendance.csv").unlink()
    (folder / "attendance.csv").mkdir()
    return folder


def test_broken_attendance_file_stops_a_full_load(broken_attendance):
    with pytest.raises(CohortError, match="attendance.csv: is a folder"):
        Cohort.load(broken_attendance)


def test_broken_attendance_file_does_not_stop_analyse(broken_attendance, tmp_path, capsys):
    assert main(["analyse", str(broken_attendance), "--out", str(tmp_path)]) == 0
    assert "written to" in capsys.readouterr().out
    cox = pd.read_csv(tmp_path / "cox.csv")
    assert len(cox) > 0 and cox["hr"].gt(0).all()
    assert (tmp_path / "km_plot.png").stat().st_size > 0


def test_cohort_without_attendance_and_process_tables_analyses(tmp_path, capsys):
    folder = write_simulated_cohort(tmp_path / "c", n_pupils=600, seed=3, progress=False,
                                    tables=["pupils", "episodes", "interventions"])
    assert not (folder / "attendance.csv").exists()
    out = tmp_path / "out"
    assert main(["analyse", str(folder), "--out", str(out)]) == 0
    medians = pd.read_csv(out / "medians.csv")
    assert set(medians["prob"]) == {0.25, 0.5, 0.75}
    assert len(pd.read_csv(out / "cumulative_incidence.csv")) > 0
