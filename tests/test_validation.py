"""Bad input: one test per rule of the validator, on a broken copy of the example cohort.

Every test also checks the bookkeeping: for every table, rows read = accepted + rejected, and
every rejected row is listed in the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE, edit_table, set_cell

from thuiszit_eval.cohort import Cohort, CohortError
from thuiszit_eval.validation import RULES


def load(folder: Path) -> Cohort:
    """Load and check the bookkeeping that must hold for any input."""
    c = Cohort.load(folder)
    counts = c.report.counts
    assert (counts.rows_read == counts.rows_accepted + counts.rows_rejected).all()
    p = c.report.problems
    for t in counts.itertuples():
        rejected_rows = p[(p.table == t.table) & (p.severity == "reject")].row.dropna().nunique()
        assert rejected_rows == t.rows_rejected, t.table
        accepted = getattr(c, t.table)
        assert (0 if accepted is None else len(accepted)) == t.rows_accepted
    assert set(p.rule) <= set(RULES)
    return c


def problems(c: Cohort, rule: str, table: str | None = None) -> pd.DataFrame:
    p = c.report.problems
    p = p[p.rule == rule]
    return p if table is None else p[p.table == table]


def test_example_validates_clean():
    c = load(EXAMPLE)
    assert c.report.ok
    assert c.report.problems.empty
    assert c.report.counts.rows_read.tolist() == [12, 15, 16, 30, 16, 18]
    # Extra covariate declared in the datapackage is typed and carried on.
    assert c.pupils["ses_index"].dtype == float
    assert c.pupils["ses_index"].isna().sum() == 2
    assert c.pupils.loc[0, "need_autism"] and c.pupils.loc[0, "need_school_refusal"]
    assert not c.pupils.loc[0, "need_zmolk"]
    assert c.episodes["end_date"].isna().sum() == 2  # ongoing: censored at follow-up end


def test_missing_required_column_rejects_every_row(example):
    edit_table(example, "pupils", lambda d: d.drop(columns="sex"))
    c = load(example)
    p = problems(c, "missing_column", "pupils")
    assert len(p) == 12 and set(p.column) == {"sex"}
    assert len(c.pupils) == 0
    # Their episodes now point to pupils that were not accepted.
    assert len(problems(c, "unknown_pupil", "episodes")) == 15
    assert not c.report.ok


def test_missing_optional_column_is_filled_empty(example):
    edit_table(example, "pupils", lambda d: d.drop(columns="school_id"))
    c = load(example)
    assert c.report.ok and c.pupils["school_id"].isna().all()


@pytest.mark.parametrize(
    "table,column,value,suggestion",
    [
        ("interventions", "intervention_code", "back_to_scool", "back_to_school"),
        ("interventions", "intervention_code", "Back to School", "back_to_school"),
        ("episodes", "end_reason", "vrijstelling 5 onder a", "exemption_5a"),
        ("pupils", "support_needs", "autism|autisme", "autism"),
    ],
)
def test_unknown_code_suggests_nearest(example, table, column, value, suggestion):
    set_cell(example, table, 2, column, value)
    c = load(example)
    p = problems(c, "unknown_code", table)
    assert p.row.tolist() == [2] and p.column.tolist() == [column]
    assert f"'{suggestion}'" in p.hint.iloc[0]
    assert "codelists" in p.hint.iloc[0]


@pytest.mark.parametrize(
    "value,rule",
    [
        ("2023-02-31", "invalid_date"),
        ("31-02-2023", "invalid_date"),
        ("last monday", "invalid_date"),
        ("1900-01-09", "implausible_date"),
        ("2024-08-01", "after_follow_up_end"),
    ],
)
def test_bad_dates_are_rejected(example, value, rule):
    set_cell(example, "episodes", 4, "absence_start", value)
    c = load(example)
    p = problems(c, rule, "episodes")
    assert p.row.tolist() == [4] and p.value.iloc[0] in (value, "1900-01-09", "2024-08-01")
    assert "E0003a" not in c.episodes.episode_id.tolist()
    # The same episode is not also reported as 'required' for the unreadable date.
    assert problems(c, "required", "episodes").empty


def test_dutch_day_month_year_dates_are_read(example):
    set_cell(example, "episodes", 2, "absence_start", "09-01-2023")
    c = load(example)
    assert c.report.ok
    assert c.episodes.loc[0, "absence_start"] == pd.Timestamp("2023-01-09")


def test_end_before_start(example):
    set_cell(example, "episodes", 2, "end_date", "2022-12-01")
    c = load(example)
    assert problems(c, "end_before_start", "episodes").row.tolist() == [2]


def test_end_reason_without_end_date_rejects(example):
    set_cell(example, "episodes", 3, "end_reason", "returned_full")
    c = load(example)
    assert problems(c, "end_reason_without_end_date").row.tolist() == [3]
    assert "E0002a" not in c.episodes.episode_id.tolist()


def test_end_date_without_reason_warns_and_reads_unknown(example):
    set_cell(example, "episodes", 2, "end_reason", "")
    c = load(example)
    p = problems(c, "end_date_without_reason")
    assert p.row.tolist() == [2] and p.severity.tolist() == ["warn"]
    assert c.report.ok  # a warning keeps the row
    assert c.episodes.set_index("episode_id").loc["E0001a", "end_reason"] == "unknown"
    assert c.report.counts.set_index("table").loc["episodes", "rows_warned"] == 1


def test_overlapping_episodes_reject_the_later(example):
    set_cell(example, "episodes", 3, "absence_start", "2023-03-01")
    c = load(example)
    p = problems(c, "overlapping_episode")
    assert p.row.tolist() == [3]
    assert "E0001a" in c.episodes.episode_id.tolist()
    # The intervention of the rejected episode cannot link to it any more.
    assert problems(c, "unknown_episode", "interventions").row.tolist() == [3]


def test_duplicate_id_keeps_first_and_names_it(example):
    edit_table(example, "pupils", lambda d: pd.concat([d, d.iloc[[0]]], ignore_index=True))
    c = load(example)
    p = problems(c, "duplicate_id", "pupils")
    assert p.row.tolist() == [14]
    assert "row 2" in p.hint.iloc[0]
    assert len(c.pupils) == 12


def test_duplicate_attendance_week(example):
    edit_table(example, "attendance", lambda d: pd.concat([d, d.iloc[[3]]], ignore_index=True))
    c = load(example)
    assert problems(c, "duplicate_id", "attendance").row.tolist() == [32]


@pytest.mark.parametrize(
    "start,rejected", [("2023-06-01", True), ("2023-04-25", False), ("2022-12-20", True)]
)
def test_intervention_outside_episode_beyond_tolerance(example, start, rejected):
    # I0001a belongs to E0001a: 2023-01-09 .. 2023-04-17; tolerance 14 days.
    set_cell(example, "interventions", 2, "referral_date", "")
    set_cell(example, "interventions", 2, "start_date", start)
    c = load(example)
    assert (problems(c, "outside_episode").row.tolist() == [2]) is rejected


def test_intervention_tolerance_is_read_from_datapackage(example):
    dp = json.loads((example / "datapackage.json").read_text())
    dp["thuiszit"]["intervention_tolerance_days"] = 60
    (example / "datapackage.json").write_text(json.dumps(dp))
    set_cell(example, "interventions", 2, "start_date", "2023-06-01")
    set_cell(example, "interventions", 2, "end_date", "2023-08-01")
    assert load(example).report.ok


def test_intervention_linked_to_other_pupils_episode(example):
    set_cell(example, "interventions", 2, "episode_id", "E0003a")
    c = load(example)
    assert problems(c, "episode_of_other_pupil", "interventions").row.tolist() == [2]


def test_intervention_start_before_referral(example):
    set_cell(example, "interventions", 2, "start_date", "2023-02-01")
    c = load(example)
    assert problems(c, "start_before_referral").row.tolist() == [2]


def test_attended_above_scheduled(example):
    set_cell(example, "attendance", 10, "scheduled_dayparts", "3")
    set_cell(example, "attendance", 10, "attended_dayparts", "5")
    c = load(example)
    assert problems(c, "attended_above_scheduled").row.tolist() == [10]


def test_dayparts_out_of_range_and_not_a_number(example):
    set_cell(example, "attendance", 2, "scheduled_dayparts", "12")
    set_cell(example, "interventions", 2, "dayparts_per_week", "drie")
    set_cell(example, "interventions", 3, "coaching_child", "misschien")
    c = load(example)
    assert problems(c, "out_of_range", "attendance").row.tolist() == [2]
    assert problems(c, "invalid_number", "interventions").row.tolist() == [2]
    assert problems(c, "invalid_boolean", "interventions").row.tolist() == [3]


@pytest.mark.parametrize("birth", ["2021-01", "1995-06"])
def test_age_outside_4_to_23(example, birth):
    # P3e7a1b5c9d3f7e81 is row 12 of pupils; its episode E0012a starts 2024-01-15 (row 13).
    set_cell(example, "pupils", 12, "birth_month", birth)
    c = load(example)
    assert problems(c, "age_out_of_range", "episodes").row.tolist() == [13]


def test_unknown_references(example):
    set_cell(example, "episodes", 2, "pupil_id", "Pdoesnotexist01")
    set_cell(example, "process_events", 17, "episode_id", "E9999z")
    c = load(example)
    assert problems(c, "unknown_pupil", "episodes").row.tolist() == [2]
    # Cascade: the rejected episode's intervention and process events go with it.
    assert problems(c, "unknown_episode", "interventions").row.tolist() == [2]
    rows = problems(c, "unknown_episode", "process_events").row.tolist()
    assert rows == [2, 3, 4, 5, 6, 7, 8, 17]


def test_pattern_of_ids(example):
    set_cell(example, "pupils", 3, "municipality_code", "0363")
    set_cell(example, "episodes", 5, "episode_id", "E 5")
    c = load(example)
    assert problems(c, "pattern", "pupils").row.tolist() == [3]
    assert problems(c, "pattern", "episodes").row.tolist() == [5]


def test_required_field_empty(example):
    set_cell(example, "pupils", 4, "sex", "")
    c = load(example)
    p = problems(c, "required", "pupils")
    assert p.row.tolist() == [4] and p.column.tolist() == ["sex"]


def test_empty_required_file(example):
    (example / "pupils.csv").write_bytes(b"")
    c = load(example)
    assert problems(c, "empty_file").severity.tolist() == ["reject"]
    assert not c.report.ok
    assert len(problems(c, "unknown_pupil", "episodes")) == 15


def test_empty_optional_file_only_warns(example):
    (example / "school_calendar.csv").write_text("date,reason\n")
    c = load(example)
    assert problems(c, "empty_file").severity.tolist() == ["warn"]
    assert c.report.ok


def test_malformed_row(example):
    with open(example / "process_events.csv", "a") as fh:
        fh.write("V0099a,P3f9a1c0e7b2d4a61,E0001a,signal,2023-01-12,extra,fields\n")
    c = load(example)
    assert problems(c, "malformed_row").row.tolist() == [18]
    assert len(c.process_events) == 16


def _bsn(seed: int) -> str:
    """A number that passes the elfproef (fictitious)."""
    rng = np.random.default_rng(seed)
    while True:
        d = rng.integers(0, 10, 9)
        weighted = sum(w * x for w, x in zip(range(9, 1, -1), d[:8], strict=True))
        if d[0] and (weighted - d[8]) % 11 == 0:
            return "".join(map(str, d))


def test_bsn_column_refuses_the_table(example):
    edit_table(example, "pupils", lambda d: d.assign(bsn_nummer=[_bsn(i) for i in range(len(d))]))
    c = load(example)
    p = problems(c, "direct_identifier", "pupils")
    assert len(p) == 12 and "pseudonymise" in p.hint.iloc[0]
    text = c.report.problems.to_csv()
    assert not any(_bsn(i) in text for i in range(12))  # never echoed


def test_bsn_hidden_under_an_innocent_name(example):
    edit_table(example, "pupils", lambda d: d.assign(ses_index=[_bsn(i) for i in range(len(d))]))
    c = load(example)
    assert len(problems(c, "direct_identifier", "pupils")) == 12


def test_name_column_refuses_the_table(example):
    edit_table(example, "episodes", lambda d: d.assign(achternaam="Jansen"))
    c = load(example)
    assert len(problems(c, "direct_identifier", "episodes")) == 15
    assert len(c.episodes) == 0


def test_undeclared_column_warns_and_is_dropped(example):
    edit_table(example, "episodes", lambda d: d.assign(opmerking_code="x"))
    c = load(example)
    assert problems(c, "unknown_column").severity.tolist() == ["warn"]
    assert "opmerking_code" not in c.episodes.columns


def test_semicolon_cp1252_excel_export(example):
    dp = json.loads((example / "datapackage.json").read_text())
    dp["resources"][0]["extra_fields"].append({"name": "wijk", "type": "string"})
    dp["resources"][0].pop("encoding")
    (example / "datapackage.json").write_text(json.dumps(dp))
    df = pd.read_csv(example / "pupils.csv", dtype=str, keep_default_na=False)
    df["wijk"] = "Súdwest-Fryslân"
    df["ses_index"] = df["ses_index"].str.replace(".", ",")  # decimal comma
    df.to_csv(example / "pupils.csv", sep=";", index=False, encoding="cp1252")
    c = load(example)
    assert c.report.ok
    assert c.pupils["wijk"].iloc[0] == "Súdwest-Fryslân"
    assert c.pupils["ses_index"].iloc[0] == pytest.approx(-0.4)


@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "sav"])
def test_other_file_formats_load_identically(example, fmt):
    ref = load(EXAMPLE)
    for table in ("pupils", "episodes", "interventions"):
        df = pd.read_csv(example / f"{table}.csv", dtype=str, keep_default_na=False)
        (example / f"{table}.csv").unlink()
        path = example / f"{table}.{fmt}"
        if fmt == "parquet":
            df.to_parquet(path)
        elif fmt == "xlsx":
            # Excel holds real dates; the reader must accept them.
            for col in ("absence_start", "end_date", "start_date"):
                if col in df:
                    df[col] = pd.to_datetime(df[col])
            df.to_excel(path, index=False)
        else:
            import pyreadstat

            pyreadstat.write_sav(df, str(path))
    dp = json.loads((example / "datapackage.json").read_text())
    dp["resources"] = [r for r in dp["resources"]
                       if r["name"] not in ("pupils", "episodes", "interventions")]
    dp["resources"].insert(0, {"name": "pupils", "path": f"pupils.{fmt}",
                               "extra_fields": [{"name": "ses_index", "type": "number"}]})
    (example / "datapackage.json").write_text(json.dumps(dp))
    c = load(example)
    assert c.report.ok, c.report.summary()
    pd.testing.assert_frame_equal(c.episodes, ref.episodes)
    pd.testing.assert_frame_equal(c.interventions, ref.interventions)


def test_folder_errors_are_clear(tmp_path, example):
    with pytest.raises(CohortError, match="datapackage.json"):
        Cohort.load(tmp_path)
    dp = json.loads((example / "datapackage.json").read_text())
    del dp["thuiszit"]["follow_up_end"]
    (example / "datapackage.json").write_text(json.dumps(dp))
    with pytest.raises(CohortError, match="follow_up_end"):
        Cohort.load(example)
    with pytest.raises(CohortError, match="not a folder"):
        Cohort.load(tmp_path / "nope")


def test_report_summary_names_file_row_column_rule(example):
    set_cell(example, "episodes", 2, "end_date", "2022-12-01")
    c = load(example)
    text = c.report.summary()
    assert "episodes.csv row 2, column end_date" in text
    assert "end_before_start" in text and "row rejected" in text
