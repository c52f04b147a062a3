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
