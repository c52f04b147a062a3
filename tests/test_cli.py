"""The command line: exit codes, messages without tracebacks, the --report file."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
from conftest import EXAMPLE, set_cell

from thuiszit_eval.cli import main
from thuiszit_eval.schema import data_dictionary, schema_dir


def test_validate_clean_example_exits_zero(capsys):
    assert main(["validate", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "No problems found." in out and "episodes.csv" in out


def test_validate_bad_cohort_exits_one_and_writes_report(example, tmp_path, capsys):
    set_cell(example, "episodes", 2, "end_date", "2022-12-01")
    set_cell(example, "interventions", 3, "intervention_code", "back_to_scool")
    report = tmp_path / "problems.csv"
    assert main(["validate", str(example), "--report", str(report)]) == 1
    out = capsys.readouterr().out
    assert "end_before_start" in out and "did you mean 'back_to_school'" in out
    p = pd.read_csv(report)
    assert {"table", "file", "row", "column", "value", "rule", "severity", "hint"} <= set(p)
    assert set(zip(p.table, p.row, p.rule, strict=True)) >= {
        ("episodes", 2, "end_before_start"),
        ("interventions", 3, "unknown_code"),
    }


def test_unreadable_folder_gives_message_not_traceback(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "thuiszit_eval.cli", "validate", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert r.returncode == 2
    assert "datapackage.json" in r.stderr and "Traceback" not in r.stderr


def test_data_dictionary_is_up_to_date():
    committed = (schema_dir() / "DATA_DICTIONARY.md").read_text(encoding="utf-8")
    assert committed.strip() == data_dictionary().strip(), (
        "data_schema/DATA_DICTIONARY.md is stale: run "
        "`thuiszit-eval dictionary > data_schema/DATA_DICTIONARY.md`"
    )


def test_every_coded_field_has_a_code_list_with_the_four_columns():
    from thuiszit_eval.schema import TABLES, codelist, table_schema

    for t in TABLES:
        for f in table_schema(t).fields:
            if f.codelist:
                cl = codelist(f.codelist)
                assert list(cl.columns) == ["code", "label_nl", "label_en", "description"]
                assert cl.code.is_unique and (cl != "").all().all()


def test_pseudonymise_command(tmp_path, capsys):
    raw, out, key = tmp_path / "raw", tmp_path / "out", tmp_path / "secret" / "k.key"
    raw.mkdir()
    key.parent.mkdir()
    (raw / "pupils.csv").write_bytes(
        "leerling_id;achternaam;bsn;geboortedatum\n"
        "1001;Testkind Zoë;111222333;14-03-2014\n".encode("cp1252")
    )
    assert main(["pseudonymise", str(raw), str(out), "--key-file", str(key)]) == 0
    written = (out / "pupils.csv").read_text(encoding="utf-8")
    header = written.splitlines()[0].split(",")
    assert "pupil_id" in header and "birth_month" in header
    assert "111222333" not in written and "Zo" not in written and "1001" not in written
    assert "2014-03" in written and key.exists()


def test_simulate_command_writes_a_valid_cohort(tmp_path):
    out = tmp_path / "sim"
    assert main(["simulate", "--pupils", "200", "--seed", "5", "--out", str(out), "--quiet"]) == 0
    assert main(["validate", str(out)]) == 0
