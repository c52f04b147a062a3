"""Reading a cohort folder's files as they come out of real systems.

Dutch Excel exports are often ``;``-delimited and cp1252-encoded; registration systems hand
out Excel and SPSS files; the simulator writes CSV or Parquet. Everything is read as text
first so that the validator, not the reader, decides what a value means — a reader that
guesses types would silently turn ``01-02-2024`` into a number or drop a leading zero.

Example
-------
>>> from thuiszit_eval.reading import sniff_delimiter
>>> sniff_delimiter("pupil_id;birth_month;sex")
';'
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: File endings the loader understands, in the order it looks for them.
SUFFIXES = (".csv", ".parquet", ".xlsx", ".xls", ".sav")


class CohortError(Exception):
    """A cohort folder that cannot be read at all (no datapackage, unreadable file).

    Bad *rows* never raise: they land in the validation report. This error is for problems
    that stop loading altogether; its message says which file and what to do.
    """


@dataclass
class RawTable:
    """A table as read from its file: all values as text (or native Excel/SPSS values)."""

    name: str
    file: str
    frame: pd.DataFrame
    encoding: str | None = None
    delimiter: str | None = None
    malformed_rows: list[int] = field(default_factory=list)  # spreadsheet row numbers
    empty_file: bool = False


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV header: whichever of ``;``, ``,`` and tab occurs most."""
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Text and encoding of a file: as declared, else UTF-8 (with or without BOM), else
    cp1252 (Windows Excel in the Netherlands), which decodes any byte sequence."""
    if encoding:
        return data.decode(encoding), encoding
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def read_csv_text(path: Path, resource: dict[str, Any] | None = None) -> RawTable:
    """Read a CSV as text columns, detecting delimiter and encoding unless declared."""
    resource = resource or {}
    name = resource.get("name", path.stem)
    data = path.read_bytes()
    if not data.strip():
        return RawTable(name, path.name, pd.DataFrame(), empty_file=True)
    text, enc = decode(data, resource.get("encoding"))
    first = text.split("\n", 1)[0]
    delim = (resource.get("dialect") or {}).get("delimiter") or sniff_delimiter(first)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delim, dtype=str, keep_default_na=False, na_filter=False
        )
        bad: list[int] = []
    except pd.errors.ParserError:
        frame, bad = _read_ragged(text, delim)
    return RawTable(name, path.name, frame, enc, delim, bad)


def _read_ragged(text: str, delim: str) -> tuple[pd.DataFrame, list[int]]:
    """Read a CSV some of whose rows have the wrong number of fields.

    Those rows are kept as all-empty rows (so row numbers and counts stay true) and their
    numbers returned, to be rejected by the validator as malformed.
    """
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    header, body = rows[0], [r for r in rows[1:] if r != []]
    width = len(header)
    bad = [i + 2 for i, r in enumerate(body) if len(r) != width]
    clean = [r if len(r) == width else [""] * width for r in body]
    return pd.DataFrame(clean, columns=header, dtype=object), bad


def read_table(path: Path, resource: dict[str, Any] | None = None) -> RawTable:
    """Read one table file of any supported format."""
    resource = resource or {}
    name = resource.get("name", path.stem)
    suffix = path.suffix.lower()
    if suffix == ".csv" or resource.get("format") == "csv":
        return read_csv_text(path, resource)
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".xlsx", ".xls"):
            frame = pd.read_excel(path, dtype=object, sheet_name=resource.get("sheet", 0))
        elif suffix == ".sav":
            import pyreadstat

            frame, _ = pyreadstat.read_sav(str(path))
        else:
            raise CohortError(
                f"{path.name}: unsupported file type {suffix!r}; use one of {', '.join(SUFFIXES)}"
            )
    except CohortError:
        raise
    except Exception as exc:  # a damaged file: say which, not a traceback
        raise CohortError(f"{path.name}: cannot be read as {suffix[1:]} ({exc})") from exc
    if frame.shape[1] == 0:
        return RawTable(name, path.name, frame, empty_file=True)
    return RawTable(name, path.name, frame)
