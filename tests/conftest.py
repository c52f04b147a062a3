"""Shared fixtures: a fresh copy of the example cohort to break in each test."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from thuiszit_eval.schema import schema_dir

EXAMPLE = schema_dir() / "example"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A writable copy of data_schema/example."""
    dst = tmp_path / "cohort"
    shutil.copytree(EXAMPLE, dst)
    return dst


def edit_table(folder: Path, table: str, fn: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Read a table of the cohort as text, change it with ``fn``, write it back."""
    path = folder / f"{table}.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df).to_csv(path, index=False)


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` is the spreadsheet row number (header = 1)."""

    def fn(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[row - 2, column] = value
        return df

    edit_table(folder, table, fn)


# --------------------------------------------------------------------------- report builds

#: The cohorts on which the report itself is tested (issue 13): the demo cohort, 15 pupils,
#: 300 pupils, and 15 pupils with ``<script>`` in every metadata field (tests/test_report.py).
REPORT_COHORTS = ("demo", "n15", "n300", "n15_injected")
#: Few bootstrap replicates and simulations: the method is the same, the count only narrows
#: the intervals, and the suite's time matters.
REPORT_PARAMETERS = {"n_boot": 20, "n_sim": 4}


class ReportBuilds:
    """Full reports built once per test session and shared by the tests that read them
    (language, page width, privacy, injection): each (cohort, language) is built on first
    use with :func:`thuiszit_eval.report.build_report`, which runs its notebooks two at a
    time."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._folders: dict[str, Path] = {}
        self._reports: dict[tuple[str, str], object] = {}

    def folder(self, name: str) -> Path:
        from thuiszit_eval.simulate import demo_cohort_path, write_shape

        if name not in self._folders:
            where = self.base / "cohorts" / name
            if name == "demo":
                self._folders[name] = demo_cohort_path()
            elif name == "n15":
                self._folders[name] = write_shape("tiny_15", where, seed=2)
            elif name == "n300":
                self._folders[name] = write_shape("default", where, seed=3, n_pupils=300)
            elif name == "n15_injected":
                from test_report import _inject

                self._folders[name] = _inject(write_shape("tiny_15", where, seed=2))
            else:
                raise KeyError(name)
        return self._folders[name]

    def __call__(self, name: str, lang: str = "nl"):
        from thuiszit_eval.report import build_report

        if (name, lang) not in self._reports:
            self._reports[(name, lang)] = build_report(
                self.folder(name), self.base / "reports" / f"{name}_{lang}", lang=lang,
                progress=False, parameters=REPORT_PARAMETERS)
        return self._reports[(name, lang)]


@pytest.fixture(scope="session")
def report_builds(tmp_path_factory) -> ReportBuilds:
    return ReportBuilds(tmp_path_factory.mktemp("report-builds"))
