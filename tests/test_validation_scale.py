"""Validation of large tables: the fast paths give the same findings as the cell-by-cell ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from thuiszit_eval import schema as S
from thuiszit_eval.reading import TEXT_DTYPE, RawTable, read_table
from thuiszit_eval.validation import _DISTINCT_FROM, _parse_field, validate_tables

N = 3 * _DISTINCT_FROM  # above the size where fields are parsed on distinct values


def _spec(table: str, name: str) -> S.FieldSpec:
    return S.table_schema(table).get(name)


@pytest.mark.parametrize("table, name, values", [
    ("attendance", "week_start", ["2024-01-08", "08-01-2024", "2024-02-30", "2024-1-08", "",
                                  "x", "15/01/2024"]),
    ("attendance", "attended_dayparts", ["0", "10", "3.0", "2,5", "-1", "", "1e3", "tien"]),
    ("attendance", "location", ["home", "school", "", "HOME", "elsewhere"]),
    ("pupils", "birth_month", ["2012-03", "03-2012", "2012-3", "2012-13", ""]),
])
def test_distinct_value_parsing_equals_cell_by_cell(table, name, values):
    rng = np.random.default_rng(5)
    text = pd.Series(rng.choice(values, N), dtype=TEXT_DTYPE)
    spec = _spec(table, name)
    fast_val, fast_bad = _parse_field(text, spec)
    slow_val, slow_bad = S.parse_field(text, spec)
    pd.testing.assert_series_equal(fast_val, slow_val, check_names=False)
    assert fast_bad.tolist() == slow_bad.tolist()
    assert fast_bad.any() or name == "location"


def _attendance_csv(tmp_path, rows: list[str]):
    path = tmp_path / "attendance.csv"
    path.write_text("pupil_id,week_start,scheduled_dayparts,attended_dayparts,location\n"
                    + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_csv_is_read_as_arrow_text_and_large_tables_keep_every_finding(tmp_path):
    weeks = pd.date_range("2023-09-04", periods=40, freq="7D").strftime("%Y-%m-%d")
    rows = [f"P{p:07d},{w},10,{p % 11},home" for p in range(1, 801) for w in weeks]
    rows[5] = rows[4]  # a duplicate key: spreadsheet row 7 repeats row 6
    rows[100] = "P0000003,2023-09-05,10,4,home"  # a Tuesday
    rows[200] = "P0000006,2023-09-04,8,9,home"  # attended above scheduled
    rows[300] = "bad id!,2023-09-04,10,4,home"  # pattern
    rows[400] = "P0000011,2023-09-04,10,4,garden"  # unknown code
    raw = read_table(_attendance_csv(tmp_path, rows), {"name": "attendance"})
    assert len(raw.frame) == len(rows) > N and (raw.frame.dtypes == TEXT_DTYPE).all()
    example = {t: read_table(S.schema_dir() / "example" / f"{t}.csv", {"name": t}).frame
               for t in ("pupils", "episodes")}
    pupils = example["pupils"].iloc[[0] * 800].reset_index(drop=True)
    pupils["pupil_id"] = [f"P{p:07d}" for p in range(1, 801)]
    episodes = example["episodes"].iloc[[0]].assign(pupil_id="P0000001")
    tables, report = validate_tables(
        {"pupils": RawTable("pupils", "pupils.csv", pupils),
         "episodes": RawTable("episodes", "episodes.csv", episodes),
         "attendance": raw},
        {"follow_up_end": "2024-07-31"})
    assert report.counts.set_index("table").loc[["pupils", "episodes"], "rows_rejected"] \
        .tolist() == [0, 0]
    p = report.problems[report.problems.table == "attendance"]
    found = {(int(r.row), r.rule) for r in p.itertuples()}
    assert found == {(7, "duplicate_id"), (102, "not_monday"), (202, "attended_above_scheduled"),
                     (302, "pattern"), (302, "unknown_pupil"), (402, "unknown_code")}
    assert p.loc[p.rule == "duplicate_id", "hint"].item() == \
        "the first row with this key is kept: row 6"
    counts = report.counts.set_index("table").loc["attendance"]
    assert counts.rows_read == len(rows)
    assert counts.rows_accepted + counts.rows_rejected == counts.rows_read
    assert counts.rows_rejected == 4  # the duplicate, the bad id, the code, above scheduled
    att = tables["attendance"]
    assert att["pupil_id"].dtype == object and att["week_start"].dtype == "datetime64[ns]"
    assert att["attended_dayparts"].dtype == "Int64" and len(att) == counts.rows_accepted


def test_a_row_of_the_wrong_length_is_still_refused_in_a_large_file(tmp_path):
    rows = [f"P{p:07d},2023-09-04,10,5,home" for p in range(1, N)]
    rows[50] = "P0000051,2023-09-04,10"  # cut off
    raw = read_table(_attendance_csv(tmp_path, rows), {"name": "attendance"})
    assert raw.malformed_rows == [52] and len(raw.frame) == len(rows)
