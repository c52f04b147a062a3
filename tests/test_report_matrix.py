"""``thuiszit-eval report`` on cohorts unlike the demo (issue 11).

The matrix: the hand-made example; 40 pupils; only the required tables plus interventions,
with renamed covariates and other region ids; a region without Back to School; a single
region; Parquet; Excel. Each report must exit 0, every section must be "ok" or "not
applicable" with its reason, and no traceback, warning text, local path, nan, inf or None
may reach the page, ``key_figures.csv`` or the terminal.

The reports run two at a time, with 20 bootstrap replicates (the method is the same; the
count only narrows the intervals) to keep the suite's time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from lxml import html as lxml_html

from thuiszit_eval.schema import schema_dir
from thuiszit_eval.simulate import REPORT_MATRIX, write_shape

#: sizes used here (the presets are larger; the shape is what matters)
SIZES = {"tiny": 40, "required_only_renamed": 400, "no_bts": 400, "single_region": 300,
         "parquet": 300, "excel": 200}
LANGS = {"example": "nl", "tiny": "en", "required_only_renamed": "nl", "no_bts": "en",
         "single_region": "nl", "parquet": "en", "excel": "nl"}
#: what must never reach a reader
FORBIDDEN = {
    "nan": r"\bnan\b|\bNaN\b", "inf": r"(?<![\w-])-?inf\b", "None": r"\bNone\b",
    "traceback": r"Traceback|most recent call", "warning": r"\w*Warning\b",
    "local path": r"/tmp/|/home/|/root/|/work/|[A-Z]:\\\\",
}


def visible_text(page: str) -> str:
    """What a reader sees: the page without its style and script elements."""
    doc = lxml_html.fromstring(page)
    for node in doc.xpath("//style|//script"):
        node.drop_tree()
    return doc.text_content()


def forbidden(text: str) -> dict[str, str]:
    """Each forbidden pattern found, with some context."""
    out = {}
    for name, pat in FORBIDDEN.items():
        m = re.search(pat, text)
        if m:
            out[name] = text[max(0, m.start() - 80):m.end() + 40]
    return out


def section_states(page: str) -> dict[str, str]:
    """Each notebook's number and the status of its section on the page (the sections are
    in the notebooks' reading order)."""
    from thuiszit_eval.report import notebook_paths

    found = re.findall(r'<section id="sec-\d+" class="(\w+)"', page)
    return {p.name[:2]: s for p, s in zip(notebook_paths(), found, strict=False)}


def test_forbidden_patterns_are_found():
    assert set(forbidden("share nan% and None, inf at /tmp/x: RuntimeWarning")) == {
        "nan", "None", "inf", "local path", "warning"}
    assert forbidden("informatie over inflatie, 2,5% (1,0–4,0)") == {}


def _run(name: str, folder: Path, out: Path) -> tuple[str, subprocess.CompletedProcess]:
    cmd = [sys.executable, "-m", "thuiszit_eval.cli", "report", str(folder), "--out",
           str(out), "--lang", LANGS[name], "--quiet", "--param", "n_boot=20",
           "--param", "n_sim=4"]
    return name, subprocess.run(cmd, capture_output=True, text=True, timeout=1200,
                                check=False)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    base = tmp_path_factory.mktemp("matrix")
    folders = {"example": schema_dir() / "example"}
    for name in REPORT_MATRIX:
        folders[name] = write_shape(name, base / "cohorts" / name, seed=7,
                                    n_pupils=SIZES[name])
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda kv: _run(kv[0], kv[1], base / "reports" / kv[0]),
                             folders.items()))
    return {name: (base / "reports" / name, proc) for name, proc in done}


@pytest.mark.parametrize("name", ["example", *REPORT_MATRIX])
def test_report_on_any_valid_cohort(reports, name: str):
    out, proc = reports[name]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # every section ok or not applicable, with its reason (the terminal lists those that
    # are not answered, with the reason, and counts the rest)
    page = (out / "report.html").read_text(encoding="utf-8")
    states = section_states(page)
    assert len(states) >= 13
    assert set(states.values()) <= {"ok", "not_applicable"}, states
    said = dict(re.findall(r"^  (\d\d)_\w+\.ipynb: (.*)$", proc.stdout, flags=re.M))
    assert set(said) == {nb for nb, s in states.items() if s != "ok"}, proc.stdout
    for nb, state in said.items():
        assert state.startswith("not applicable — "), (nb, state)
        assert len(state) > len("not applicable — ") + 20, (nb, state)
    assert f"{len(states)} sections: " in proc.stdout
    assert forbidden(visible_text(page)) == {}
    figures = (out / "key_figures.csv").read_text(encoding="utf-8")
    assert forbidden(figures) == {}
    assert len(pd.read_csv(out / "key_figures.csv")) >= 1
    # a quiet terminal: the progress bar is off here, so nothing but the summary
    assert forbidden(proc.stderr) == {} and "Traceback" not in proc.stdout


def test_the_matrix_covers_the_shapes(reports):
    states = {name: section_states((out / "report.html").read_text(encoding="utf-8"))
              for name, (out, _) in reports.items()}
    na = {name: {nb for nb, s in v.items() if s != "ok"} for name, v in states.items()}
    # without attendance or process steps those questions are said not to apply
    assert {"08", "09"} <= na["required_only_renamed"]
    # without Back to School the comparisons of Back to School are not made
    assert {"06", "07"} <= na["no_bts"]
    # the full-size shapes answer the model-based questions
    assert "04" not in na["required_only_renamed"] and "04" not in na["parquet"]
