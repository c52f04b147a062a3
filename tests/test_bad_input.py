"""The bad-input suite: every named class of damaged input, the action it gets, no traceback.

Each class damages a fresh copy of ``data_schema/example`` the way real exports go wrong and
runs ``thuiszit-eval validate`` on it. For every class the exit code is as documented (0 clean,
1 rows rejected or a required table empty, 2 unreadable), nothing is printed as a traceback,
the rule or message the README promises is there, rows read = accepted + rejected, no value
longer than 60 characters and no number passing the 11-proef reaches the terminal or the
``--report`` CSV, and no cell of that CSV starts a spreadsheet formula. README section 2 lists
every class with its action (a test checks that too).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, edit_table, set_cell

from thuiszit_eval.cli import main
from thuiszit_eval.cohort import Cohort, CohortError
from thuiszit_eval.privacy import bsn_mask
from thuiszit_eval.validation import RULES

BSN = "626018158"  # passes the 11-proef; fictitious
README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass(frozen=True)
class Case:
    name: str
    damage: Callable[[Path], None]
    exit: int
    expect: str  # a rule that fires (exit 0/1) or a fragment of the message (exit 2)
    action: str  # what happens, as the README says


def _dp(folder: Path, fn: Callable[[dict], object]) -> None:
    path = folder / "datapackage.json"
    dp = json.loads(path.read_text())
    out = fn(dp)
    path.write_text(json.dumps(dp if out is None else out))


def _meta(key: str, value: object) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        def fn(dp: dict) -> None:
            if value is _DELETE:
                dp["thuiszit"].pop(key)
            else:
                dp["thuiszit"][key] = value

        _dp(folder, fn)

    return damage


_DELETE = object()


def _resource(table: str, **changes: object) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        def fn(dp: dict) -> None:
            res = next(r for r in dp["resources"] if r["name"] == table)
            res.update(changes)

        _dp(folder, fn)

    return damage


def _cell(table: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    return lambda folder: set_cell(folder, table, row, column, value)


def _append(table: str, raw: bytes) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        with open(folder / f"{table}.csv", "ab") as fh:
            fh.write(raw)

    return damage


def _write(table: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / f"{table}.csv").write_bytes(data)


def _replace_bytes(table: str, old: bytes, new: bytes) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / f"{table}.csv"
        data = path.read_bytes()
        assert old in data
        path.write_bytes(data.replace(old, new, 1))

    return damage


def _truncate_last_row(folder: Path) -> None:
    path = folder / "episodes.csv"
    lines = path.read_text().splitlines()
    lines[-1] = ",".join(lines[-1].split(",")[:5])  # 5 of 7 fields: end date and reason lost
    path.write_text("\n".join(lines) + "\n")


def _symlink_outside(folder: Path) -> None:
    secret = folder.parent / "secret.csv"
    secret.write_text("geheim,data\n1,2\n")
    (folder / "pupils.csv").unlink()
    os.symlink(secret, folder / "pupils.csv")


def _resource_folder(folder: Path) -> None:
    (folder / "pupils_dir").mkdir()
    _resource("pupils", path="pupils_dir")(folder)


def _drop_episodes(folder: Path) -> None:
    (folder / "episodes.csv").unlink()
    _dp(folder, lambda dp: dp.update(
        resources=[r for r in dp["resources"] if r["name"] != "episodes"]))


def _as_xlsx(table: str, fn: Callable[[object], None] | None = None) -> Callable[[Path], None]:
    """Write ``table`` as an Excel workbook (values as text), then let ``fn`` edit the sheet."""

    def damage(folder: Path) -> None:
        import openpyxl

        df = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(list(df.columns))
        for row in df.itertuples(index=False):
            ws.append(list(row))
        if fn is not None:
            fn(ws)
        (folder / f"{table}.csv").unlink()
        wb.save(folder / f"{table}.xlsx")
        _resource(table, path=f"{table}.xlsx", format="xlsx")(folder)
        _dp(folder, lambda dp: dp.update(
            resources=[{k: v for k, v in r.items() if k != "encoding"} for r in dp["resources"]]))

    return damage


def _ses(value: str) -> Callable[[Path], None]:
    return _cell("pupils", 2, "ses_index", value)


def _attended(value: str) -> Callable[[Path], None]:
    return _cell("attendance", 2, "attended_dayparts", value)


def _dup_column(second: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / "pupils.csv"
        lines = path.read_text().splitlines()
        lines = [lines[0] + f",{second}"] + [ln + ",m" for ln in lines[1:]]
        path.write_text("\n".join(lines) + "\n")

    return damage


CASES: list[Case] = [
    # ------------------------------------------------------------ the folder and datapackage
    Case("folder_missing", lambda f: shutil.rmtree(f), 2, "not a folder",
         "refused: not a folder"),
    Case("datapackage_missing", lambda f: (f / "datapackage.json").unlink(), 2,
         "datapackage.json: missing", "refused, with a template to copy"),
    Case("datapackage_not_json", lambda f: (f / "datapackage.json").write_text("{'a': 1"), 2,
         "not valid JSON", "refused, naming the line"),
    Case("datapackage_is_a_list", lambda f: (f / "datapackage.json").write_text("[1, 2]"), 2,
         "JSON object", "refused: must be a JSON object"),
    Case("datapackage_not_utf8",
         lambda f: (f / "datapackage.json").write_bytes(
             (f / "datapackage.json").read_text().replace("Hand-made", "Café").encode("cp1252")),
         2, "not UTF-8", "refused: save it as UTF-8"),
    Case("datapackage_is_a_folder",
         lambda f: ((f / "datapackage.json").unlink(), (f / "datapackage.json").mkdir()), 2,
         "is a folder", "refused"),
    Case("thuiszit_section_missing", lambda f: _dp(f, lambda dp: dp.pop("thuiszit")), 2,
         "no thuiszit section", "refused: the study metadata are needed"),
    Case("follow_up_end_missing", _meta("follow_up_end", _DELETE), 2, "no thuiszit.follow_up_end",
         "refused: never guessed"),
    Case("follow_up_end_null", _meta("follow_up_end", None), 2, "is not a date",
         "refused: never guessed"),
    Case("follow_up_end_text", _meta("follow_up_end", "eind juli"), 2, "is not a date",
         "refused"),
    Case("follow_up_end_number", _meta("follow_up_end", 20240731), 2, "is not a date",
         "refused: a number is not read as a date"),
    Case("follow_up_end_impossible", _meta("follow_up_end", "31-02-2024"), 2, "is not a date",
         "refused"),
    Case("follow_up_end_implausible_year", _meta("follow_up_end", "1924-07-31"), 2,
         "not a plausible follow-up end", "refused"),
    Case("follow_up_end_dutch", _meta("follow_up_end", "31-07-2024"), 0, "",
         "read day first (31 July 2024), as the tables' dates are"),
    Case("tolerance_in_words", _meta("intervention_tolerance_days", "veertien"), 2,
         "intervention_tolerance_days 'veertien' is not a whole number",
         "refused: a whole number of days 0-365"),
    Case("tolerance_negative", _meta("intervention_tolerance_days", -3), 2,
         "intervention_tolerance_days", "refused"),
    Case("resources_not_a_list", lambda f: _dp(f, lambda dp: dp.update(resources={"a": 1})), 2,
         "resources must be a list", "refused"),
    Case("resource_path_not_text", _resource("pupils", path=["a.csv", "b.csv"]), 2,
         "not text", "refused (multi-part resources are not supported)"),
    Case("resource_path_parent", _resource("pupils", path="../../../../../../etc/passwd"), 2,
         "not a relative path inside the cohort folder", "refused; the file is not opened"),
    Case("resource_path_absolute", _resource("pupils", path="/etc/passwd"), 2,
         "not a relative path inside the cohort folder", "refused; the file is not opened"),
    Case("resource_path_url", _resource("pupils", path="https://example.org/pupils.csv"), 2,
         "not a relative path inside the cohort folder", "refused; nothing is downloaded"),
    Case("resource_symlink_outside", _symlink_outside, 2, "points outside the cohort folder",
         "refused; the file is not opened"),
    Case("resource_path_is_a_folder", _resource_folder, 2, "is a folder, not a file", "refused"),
    Case("required_file_listed_but_absent", lambda f: (f / "pupils.csv").unlink(), 2,
         "listed in datapackage.json for table pupils but not found", "refused"),
    Case("optional_file_listed_but_absent", lambda f: (f / "process_events.csv").unlink(), 0,
         "missing_file", "warning: the analysis goes on without that table"),
    Case("required_table_absent_child_present", _drop_episodes, 2,
         "required table(s) episodes not found", "refused, naming the table"),
    Case("unknown_encoding_declared", _resource("pupils", encoding="utf-9"), 2,
         "not a known encoding", "refused"),
    Case("bad_delimiter_declared", _resource("pupils", dialect={"delimiter": ";;"}), 2,
         "declares delimiter", "refused"),
    Case("extra_field_bad_type", lambda f: _dp(
        f, lambda dp: dp["resources"][0]["extra_fields"][0].update(type="decimal")), 2,
         "has type 'decimal'", "refused"),
    Case("extra_field_bad_pattern", lambda f: _dp(
        f, lambda dp: dp["resources"][0]["extra_fields"][0].update(constraints={"pattern": "("})),
         2, "pattern is not a regular expression", "refused"),
    Case("damaged_parquet", lambda f: ((f / "pupils.parquet").write_bytes(b"PAR1garbage"),
                                       _resource("pupils", path="pupils.parquet", format="")(f)),
         2, "cannot be read as parquet", "refused, naming the file"),
    Case("damaged_xlsx", lambda f: ((f / "pupils.xlsx").write_bytes(b"PK\x03\x04garbage"),
                                    _resource("pupils", path="pupils.xlsx", format="")(f)),
         2, "cannot be read as xlsx", "refused, naming the file"),
    Case("unsupported_file_type", lambda f: ((f / "pupils.txt").write_text("x"),
                                             _resource("pupils", path="pupils.txt", format="")(f)),
         2, "unsupported file type", "refused, listing the types read"),
    # ------------------------------------------------------------------------ whole tables
    Case("required_file_empty", _write("episodes", b""), 1, "empty_file",
         "every row counted; exit 1"),
    Case("required_file_header_only", _write("episodes", b"episode_id,pupil_id\n"), 1,
         "empty_file", "exit 1"),
    Case("optional_file_empty", _write("school_calendar", b""), 0, "empty_file", "warning"),
    Case("required_column_missing", lambda f: edit_table(f, "pupils",
                                                         lambda d: d.drop(columns="sex")),
         1, "missing_column", "every row of the table rejected"),
    Case("duplicate_column_case_and_space", _dup_column("Sex "), 1, "duplicate_column",
         "every row of the table rejected"),
    Case("duplicate_column_exact", _dup_column("sex"), 1, "duplicate_column",
         "every row of the table rejected"),
    Case("count_column_missing", lambda f: edit_table(
        f, "attendance", lambda d: d.drop(columns="scheduled_dayparts")), 1, "missing_column",
         "every row of the table rejected (the rules comparing counts see missing values)"),
    Case("undeclared_column", lambda f: edit_table(f, "episodes",
                                                   lambda d: d.assign(opmerking_code="x")),
         0, "unknown_column", "warning; the column is not read"),
    Case("bsn_column", lambda f: edit_table(f, "pupils", lambda d: d.assign(nummer=BSN)), 1,
         "direct_identifier", "the whole table refused, value masked"),
    Case("name_column", lambda f: edit_table(f, "episodes", lambda d: d.assign(achternaam="X")),
         1, "direct_identifier", "the whole table refused"),
    # --------------------------------------------------------------------------- rows
    Case("truncated_last_row", _truncate_last_row, 1, "malformed_row",
         "row rejected (not read as an ongoing episode)"),
    Case("row_with_too_many_fields",
         _append("process_events", b"V0099a,P3f9a1c0e7b2d4a61,E0001a,signal,2023-01-12,x\n"),
         1, "malformed_row", "row rejected"),
    Case("huge_field_in_ragged_file",
         _append("process_events", b"V0099a," + b"x" * 200_000 + b",a,b,c,d,e\n"), 1,
         "malformed_row", "row rejected; the value cut to 60 characters"),
    Case("ten_megabyte_field", _cell("episodes", 2, "end_reason", "x" * 10_000_000), 1,
         "unknown_code", "row rejected; the value cut to 60 characters"),
    Case("unbalanced_quote", _replace_bytes("episodes", b"E0003a,", b'"E0003a,'), 1,
         "malformed_row", "the rows the open quote swallows rejected as malformed"),
    Case("quoted_delimiter_in_field", _replace_bytes("pupils", b"home,autism|school_refusal",
                                                     b'"home,x",autism|school_refusal'), 1,
         "unknown_code", "read as one field (quotes respected); row rejected for its code"),
    Case("utf8_declared_but_cp1252",
         _replace_bytes("episodes", b"returned_partial", "returné".encode("cp1252")), 1,
         "invalid_text", "row rejected, with the advice to declare the encoding"),
    Case("stray_binary_byte", _replace_bytes("pupils", b"SWV2301", b"SWV2\x9d01"), 1,
         "invalid_text", "row rejected"),
    Case("nul_byte", _replace_bytes("episodes", b"E0002a", b"E00\x002a"), 1, "invalid_text",
         "row rejected (pandas would cut the value at the NUL)"),
    Case("control_character", _replace_bytes("pupils", b"SWV2301", b"SWV\x072301"), 1,
         "invalid_text", "row rejected"),
    Case("utf16_with_bom", lambda f: (f / "school_calendar.csv").write_bytes(
        (f / "school_calendar.csv").read_text().encode("utf-16")), 0, "",
         "read (the BOM names the encoding)"),
    Case("utf8_with_bom", lambda f: (f / "episodes.csv").write_bytes(
        b"\xef\xbb\xbf" + (f / "episodes.csv").read_bytes()), 0, "", "read"),
    Case("blank_lines", _replace_bytes("episodes", b"\nE0002a", b"\n\n  \nE0002a"), 0, "",
         "skipped (they hold no data)"),
    Case("crlf_line_ends", lambda f: (f / "episodes.csv").write_bytes(
        (f / "episodes.csv").read_bytes().replace(b"\n", b"\r\n")), 0, "", "read"),
    # --------------------------------------------------------------------------- cells
    Case("count_blank", _attended(""), 1, "required", "row rejected"),
    Case("count_nan", _attended("nan"), 1, "invalid_integer", "row rejected"),
    Case("count_inf", _attended("inf"), 1, "invalid_integer", "row rejected"),
    Case("count_in_words", _attended("drie"), 1, "invalid_integer", "row rejected"),
    Case("count_overflow", _attended("1e999"), 1, "invalid_integer", "row rejected"),
    Case("count_huge", _attended("1e300"), 1, "invalid_integer", "row rejected"),
    Case("count_fraction", _attended("2.5"), 1, "invalid_integer", "row rejected"),
    Case("number_overflow", _ses("1e999"), 1, "invalid_number", "row rejected (not +inf)"),
    Case("number_inf", _ses("inf"), 1, "invalid_number", "row rejected"),
    Case("number_decimal_comma", _ses("-0,4"), 0, "", "read as -0.4"),
    Case("boolean_in_words", _cell("interventions", 2, "coaching_child", "misschien"), 1,
         "invalid_boolean", "row rejected"),
    Case("date_impossible", _cell("episodes", 2, "absence_start", "31-02-2023"), 1,
         "invalid_date", "row rejected"),
    Case("date_cut_off", _cell("episodes", 2, "absence_start", "2023-01-0"), 1, "invalid_date",
         "row rejected (ISO dates are zero-padded; a cut-off date is not read)"),
    Case("month_cut_off", _cell("pupils", 2, "birth_month", "2014-0"), 1, "invalid_yearmonth",
         "row rejected"),
    Case("date_before_1990", _cell("episodes", 2, "reported_date", "1900-01-01"), 1,
         "implausible_date", "row rejected"),
    Case("date_after_follow_up_end", _cell("episodes", 2, "end_date", "2025-01-01"), 1,
         "after_follow_up_end", "row rejected"),
    Case("code_mistyped", _cell("interventions", 2, "intervention_code", "back_to_scool"), 1,
         "unknown_code", "row rejected; the nearest code suggested"),
    Case("bsn_as_child_pupil_id", _cell("attendance", 2, "pupil_id", BSN), 1, "unknown_pupil",
         "row rejected; the value masked in every message and CSV"),
    Case("bsn_as_pupil_id", _cell("pupils", 2, "pupil_id", BSN), 1, "direct_identifier",
         "the row rejected (its rows in other tables with it); the value masked"),
    Case("formula_equals", _cell("interventions", 2, "intervention_code",
                                 '=HYPERLINK("http://x.example","klik")'),
         1, "unknown_code", "row rejected; the report CSV cell gets a leading '"),
    Case("formula_plus", _cell("interventions", 2, "intervention_code", "+cmd|' /C calc'!A0"),
         1, "unknown_code", "row rejected; the report CSV cell gets a leading '"),
    Case("formula_at", _cell("interventions", 2, "intervention_code", "@SUM(1+1)*cmd|' /C calc'"),
         1, "unknown_code", "row rejected; the report CSV cell gets a leading '"),
    Case("formula_minus", _cell("episodes", 2, "episode_type", "-2+3+cmd|' /C calc'!A0"),
         1, "unknown_code", "row rejected; the report CSV cell gets a leading '"),
    Case("excel_formula_without_value", _as_xlsx(
        "episodes", lambda ws: ws.cell(row=2, column=6, value="=DATE(2023,4,17)")), 1,
         "spreadsheet_formula", "row rejected (not read as an empty cell)"),
    Case("excel_error_value", _as_xlsx(
        "episodes", lambda ws: ws.cell(row=3, column=5, value="#DIV/0!")), 1,
         "spreadsheet_formula", "row rejected"),
    Case("excel_clean", _as_xlsx("episodes"), 0, "", "read"),
    Case("padded_values", _cell("episodes", 2, "episode_type", "  lrv  "), 0, "",
         "read; surrounding spaces ignored"),
]
CASE_IDS = [c.name for c in CASES]


def test_at_least_sixty_distinct_classes():
    assert len(CASES) >= 60 and len(set(CASE_IDS)) == len(CASE_IDS)


def test_readme_lists_every_class_with_its_action():
    text = README.read_text(encoding="utf-8")
    missing = [c.name for c in CASES if f"| `{c.name}` | {c.exit} | {c.action}" not in text]
    assert not missing, f"README section 2 does not list: {missing}"


_LONG_RUN = re.compile(r"[^\s,'\"…]{61,}")


def _check_text_is_safe(text: str) -> None:
    assert "Traceback" not in text
    assert BSN not in text
    tokens = pd.Series(re.findall(r"(?<!\d)\d{8,9}(?!\d)", text), dtype=object)
    assert not bsn_mask(tokens).any(), "a number passing the 11-proef was echoed"
    # no value longer than 60 characters is echoed (paths of the test folder excepted)
    runs = [r for r in _LONG_RUN.findall(text) if "/" not in r]
    assert not runs, runs[:1]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_input_class(case: Case, tmp_path, capsys):
    folder = tmp_path / "cohort"
    shutil.copytree(EXAMPLE, folder)
    case.damage(folder)
    report = tmp_path / "problems.csv"
    code = main(["validate", str(folder), "--report", str(report)])
    out, err = capsys.readouterr()
    _check_text_is_safe(out + err)
    assert code == case.exit, out + err
    if code == 2:
        assert case.expect in err, err
        assert out == ""
        with pytest.raises(CohortError):
            Cohort.load(folder)
        return
    assert err == ""
    c = Cohort.load(folder)
    counts = c.report.counts
    assert (counts.rows_read == counts.rows_accepted + counts.rows_rejected).all()
    p = c.report.problems
    assert set(p.rule) <= set(RULES)
    # every problem says where (file; row and column where it is about one) and what to do
    assert (p.file.str.len() > 0).all() and (p.hint.str.len() > 0).all(), p[p.hint == ""]
    cell_rules = p[p.row.notna() & ~p.rule.isin(["malformed_row"])]
    assert (cell_rules.column.str.len() > 0).all(), cell_rules[cell_rules.column == ""]
    if case.expect:
        assert case.expect in set(p.rule), p.rule.unique()
    else:
        assert p.empty, p
    assert c.report.ok == (code == 0)
    csv_text = report.read_text(encoding="utf-8")
    _check_text_is_safe(csv_text)
    cells = pd.read_csv(report, dtype=str, keep_default_na=False)
    for column in cells.columns:
        starts = cells[column].str[:1]
        risky = starts.isin(["=", "+", "@", "\t", "\r"]) | (
            (starts == "-") & ~cells[column].str.fullmatch(r"-[\d.,]+")
        )
        assert not risky.any(), cells.loc[risky, column].tolist()


# ------------------------------------------------------------- the cases, one by one


def _run(folder: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["validate", str(folder), *extra])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("value", ["", "nan", "inf", "drie", "1e999"])
def test_one_bad_count_rejects_one_row_named(example, capsys, value):
    set_cell(example, "attendance", 5, "attended_dayparts", value)
    code, text = _run(example, capsys)
    assert code == 1
    c = Cohort.load(example)
    p = c.report.problems
    assert p.loc[p.table == "attendance", ["row", "column"]].values.tolist() == [
        [5, "attended_dayparts"]
    ]
    assert len(c.attendance) == 29
    assert "attendance.csv row 5, column attended_dayparts" in text
    line = next(ln for ln in text.splitlines() if "attendance.csv row 5" in ln)
    # file, row, column, rule, message and hint on one line
    assert re.search(r"rule (required|invalid_integer): attended_dayparts is .+\. \w+", line)


def test_truncated_last_row_is_not_an_ongoing_episode(example, capsys):
    _truncate_last_row(example)
    c = Cohort.load(example)
    p = c.report.problems
    assert p.loc[p.rule == "malformed_row", "row"].tolist() == [16]
    assert "the row has 5 fields, the header 7" in p.message.tolist()
    assert "E0015a" not in set(c.episodes.episode_id)  # not kept as ongoing
    assert c.report.counts.set_index("table").loc["episodes", "rows_read"] == 15


def test_child_tables_never_echo_an_id_passing_the_elfproef(example, capsys, tmp_path):
    set_cell(example, "attendance", 2, "pupil_id", BSN)
    set_cell(example, "episodes", 3, "pupil_id", BSN)
    code, text = _run(example, capsys, "--report", str(tmp_path / "p.csv"))
    assert code == 1 and BSN not in text
    assert "62****158" in text
    assert BSN not in (tmp_path / "p.csv").read_text()
    assert BSN not in Cohort.load(example).report.problems.to_csv()


def test_paths_outside_the_folder_are_not_opened(example, capsys, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("SECRET_FIRST_LINE,x\n1,2\n")
    for path in ("../outside.csv", str(outside), "sub/../../outside.csv"):
        _resource("pupils", path=path)(example)
        code, text = _run(example, capsys)
        assert code == 2 and "SECRET_FIRST_LINE" not in text


def test_symlink_inside_the_folder_is_read(example, capsys):
    (example / "data").mkdir()
    shutil.move(example / "pupils.csv", example / "data" / "pupils.csv")
    os.symlink(example / "data" / "pupils.csv", example / "pupils.csv")
    code, _ = _run(example, capsys)
    assert code == 0


def test_report_csv_neutralises_formulas_but_not_numbers(example, tmp_path):
    set_cell(example, "interventions", 2, "intervention_code", "=HYPERLINK(\"x\")")
    set_cell(example, "interventions", 3, "intervention_code", "@SUM(A1)")
    set_cell(example, "pupils", 2, "ses_index", "-99")  # a number: declared without range
    set_cell(example, "attendance", 2, "attended_dayparts", "-4")  # out of range, a number
    c = Cohort.load(example)
    c.report.to_csv(tmp_path / "p.csv")
    p = pd.read_csv(tmp_path / "p.csv", dtype=str, keep_default_na=False)
    values = set(p.value)
    assert "'=HYPERLINK(\"x\")" in values and "'@SUM(A1)" in values
    assert "-4" in values  # a negative number is left as it is
    assert "=HYPERLINK(\"x\")" in set(c.report.problems.value)  # in memory: the true value


def test_validate_exits_one_when_a_required_table_is_empty(example, capsys):
    (example / "episodes.csv").write_text("")
    code, text = _run(example, capsys)
    assert code == 1 and "episodes.csv has no rows" in text


def test_follow_up_end_dutch_is_read_day_first(example):
    _meta("follow_up_end", "31-07-2024")(example)
    assert Cohort.load(example).follow_up_end == pd.Timestamp("2024-07-31")
    _meta("follow_up_end", "01-07-2024")(example)
    assert Cohort.load(example).follow_up_end == pd.Timestamp("2024-07-01")


@pytest.mark.parametrize("value", [None, "", "  ", "2024-13-01", "veertien", 20240731, True])
def test_from_raw_never_guesses_follow_up_end(value):
    from thuiszit_eval.reading import read_table

    raw = {t: read_table(EXAMPLE / f"{t}.csv") for t in ("pupils", "episodes")}
    with pytest.raises(CohortError, match="follow_up_end"):
        Cohort.from_raw(raw, {"follow_up_end": value})
    with pytest.raises(CohortError, match="follow_up_end"):
        Cohort.from_raw(raw, {})


def test_from_raw_tolerance_in_words_is_refused():
    from thuiszit_eval.reading import read_table

    raw = {t: read_table(EXAMPLE / f"{t}.csv") for t in ("pupils", "episodes")}
    with pytest.raises(CohortError, match="intervention_tolerance_days 'veertien'"):
        Cohort.from_raw(raw, {"follow_up_end": "2024-07-31",
                              "intervention_tolerance_days": "veertien"})


def test_ten_megabyte_field_is_cut_everywhere(example, capsys, tmp_path):
    set_cell(example, "episodes", 2, "end_reason", "y" * 10_000_000)
    code, text = _run(example, capsys, "--report", str(tmp_path / "p.csv"))
    assert code == 1 and len(text) < 20_000
    assert (tmp_path / "p.csv").stat().st_size < 20_000
    assert "(10000000 characters)" in text


def test_cp1252_declared_utf8_names_file_row_and_hint(example, capsys):
    _replace_bytes("episodes", b"returned_partial", "returné".encode("cp1252"))(example)
    code, text = _run(example, capsys)
    assert code == 1
    assert "episodes.csv row 2, column end_reason" in text and "cp1252" in text


def test_excel_formula_without_value_is_not_an_empty_cell(example):
    _as_xlsx("episodes", lambda ws: ws.cell(row=2, column=6, value="=DATE(2023,4,17)"))(example)
    c = Cohort.load(example)
    p = c.report.problems
    hit = p[p.rule == "spreadsheet_formula"]
    assert hit[["row", "column"]].values.tolist() == [[2, "end_date"]]
    assert "E0001a" not in set(c.episodes.episode_id)


def test_accepted_rows_trace_to_their_source_rows(example):
    set_cell(example, "episodes", 3, "end_date", "31-02-2023")
    c = Cohort.load(example)
    rows = c.report.source_rows["episodes"]
    assert 3 not in rows and len(rows) == len(c.episodes) == 14
    src = pd.read_csv(example / "episodes.csv", dtype=str, keep_default_na=False)
    assert (src.episode_id.iloc[rows - 2].to_numpy() == c.episodes.episode_id.to_numpy()).all()


def test_an_unexpected_error_is_worded_not_a_traceback(monkeypatch, capsys):
    def boom(cls, folder):
        raise RuntimeError(f"internal detail with {BSN}")

    monkeypatch.setattr(Cohort, "load", classmethod(boom))
    code, text = _run(EXAMPLE, capsys)
    assert code == 2 and "Traceback" not in text
    assert "unexpected RuntimeError" in text and "bug in thuiszit-eval" in text
    assert BSN not in text


def test_report_file_that_cannot_be_written_is_worded(capsys, tmp_path):
    code, text = _run(EXAMPLE, capsys, "--report", str(tmp_path / "no" / "such" / "p.csv"))
    assert code == 2 and "cannot be written" in text and "Traceback" not in text
