"""Reading a cohort folder's files as they come out of real systems.

Dutch Excel exports are often ``;``-delimited and cp1252-encoded; registration systems hand
out Excel and SPSS files; the simulator writes CSV or Parquet. Everything is read as text
first so that the validator, not the reader, decides what a value means — a reader that
guesses types would silently turn ``01-02-2024`` into a number or drop a leading zero.

The reader never drops or guesses silently: rows with too many *or too few* fields, bytes
that are not text in the file's encoding, NUL and other control characters, Excel formulas
without a stored value and column names that collide are kept as findings
(:attr:`RawTable.problems`) for the validator to reject; a file it cannot read at all raises
:class:`CohortError` naming the file and what to do.

Example
-------
>>> from thuiszit_eval.reading import sniff_delimiter
>>> sniff_delimiter("pupil_id;birth_month;sex")
';'
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

#: The dtype of CSV text columns: Arrow strings, compact and with vectorised string methods.
TEXT_DTYPE = pd.StringDtype("pyarrow")
#: File endings the loader understands, in the order it looks for them.
SUFFIXES = (".csv", ".parquet", ".xlsx", ".xls", ".sav")
#: Longest value shown in a message or report; longer values are cut (a 10 MB field is not
#: echoed).
MAX_SHOWN = 60
#: Characters that are never text in an export: C0 control characters other than tab, line
#: feed and carriage return, and U+FFFD, which stands for bytes that could not be decoded.
_NOT_TEXT = "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]"
_NOT_TEXT_RE = re.compile(_NOT_TEXT)
# Control bytes to 0, every other byte to 1: one C-speed pass over a file to find any.
_CONTROL_TO_ZERO = bytes(0 if (b < 32 and b not in (9, 10, 13)) else 1 for b in range(256))
_LINE_END = re.compile(r"\r\n|\r|\n")

#: Reader-level problems, one row per bad cell or row; validation merges them into the
#: report. ``_idx`` is the 0-based data row.
READER_PROBLEM_COLUMNS = ["_idx", "column", "value", "rule", "message", "hint"]


class CohortError(Exception):
    """A cohort folder that cannot be read at all (no datapackage, unreadable file).

    Bad *rows* never raise: they land in the validation report. This error is for problems
    that stop loading altogether; its message says which file and what to do.
    """


def shorten(value: object, limit: int = MAX_SHOWN) -> str:
    """``value`` as text of at most ``limit`` characters, control characters shown escaped.

    Example
    -------
    >>> shorten("x" * 100, 10)
    'xxxxxxxxxx… (100 characters)'
    """
    text = str(value)
    if _NOT_TEXT_RE.search(text):
        text = _NOT_TEXT_RE.sub(lambda m: repr(m.group())[1:-1], text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


@dataclass
class RawTable:
    """A table as read from its file: all values as text (or native Excel/SPSS values).

    ``problems`` holds what the reader itself found (rows with the wrong number of fields,
    bytes that are not text, Excel formulas without a stored value, duplicate column
    names), in :data:`READER_PROBLEM_COLUMNS`; the validator rejects those rows.
    """

    name: str
    file: str
    frame: pd.DataFrame
    encoding: str | None = None
    delimiter: str | None = None
    malformed_rows: list[int] = field(default_factory=list)  # spreadsheet row numbers
    empty_file: bool = False
    problems: list[dict[str, Any]] = field(default_factory=list)
    #: the file may hold undecodable bytes or control characters: cells are checked
    suspect_text: bool = False


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV header: whichever of ``;``, ``,`` and tab occurs most."""
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def decode(data: bytes, encoding: str | None = None, file: str = "") -> tuple[str, str]:
    """Text and encoding of a file: as declared, else UTF-8 (with or without BOM; UTF-16 when
    it starts with its BOM), else cp1252 (Windows Excel in the Netherlands).

    Bytes that are not valid in the encoding become U+FFFD; the validator rejects the rows
    holding one (rule ``invalid_text``), so a wrong encoding or a stray byte never passes
    silently and never stops the whole cohort. An unknown encoding name raises
    :class:`CohortError`.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # A byte-order mark names the encoding more surely than any declaration.
        return data.decode("utf-16", errors="replace"), "utf-16"
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise CohortError(
                f"{file}: datapackage.json declares encoding {shorten(encoding)!r}, which is "
                "not a known encoding. Use utf-8 or cp1252 (Dutch Excel)"
            ) from None
        enc = encoding
        if enc.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig"):
            enc = "utf-8-sig"  # a BOM is not part of the first column name
        return data.decode(enc, errors="replace"), encoding
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def read_csv_text(path: Path, resource: dict[str, Any] | None = None) -> RawTable:
    """Read a CSV as text columns, detecting delimiter and encoding unless declared.

    Rows with more *or fewer* fields than the header are kept as empty rows (so row numbers
    and counts stay true) and listed in ``malformed_rows``: a truncated last row is not an
    ongoing episode.
    """
    resource = resource or {}
    name = resource.get("name", path.stem)
    data = _read_bytes(path)
    if not data.strip():
        return RawTable(name, path.name, pd.DataFrame(), empty_file=True)
    text, enc = decode(data, resource.get("encoding"), path.name)
    suspect = "\ufffd" in text or b"\x00" in data.translate(_CONTROL_TO_ZERO)
    if "\x00" in text:  # pandas' parser ends a field at NUL: keep it visible instead
        text = text.replace("\x00", "\ufffd")
    first = _LINE_END.split(text.lstrip("\r\n"), maxsplit=1)[0]
    dialect = resource.get("dialect") if isinstance(resource.get("dialect"), dict) else {}
    delim = dialect.get("delimiter") or sniff_delimiter(first)
    if not isinstance(delim, str) or len(delim) != 1 or delim in "\r\n\"":
        raise CohortError(
            f"{path.name}: datapackage.json declares delimiter {shorten(delim)!r}; use a single "
            "character such as ',' or ';'"
        )
    frame, bad, raw_lines = None, [], {}
    if '"' not in text:
        # the file's own bytes when they are the UTF-8 of the text: no second copy
        same = enc == "utf-8" and not data.startswith(codecs.BOM_UTF8) and "\x00" not in text
        frame = _read_unquoted(data if same else text.encode("utf-8"), delim, first)
    if frame is None:  # quotes, or rows of the wrong length: one parser for all records
        frame, bad, raw_lines = _read_ragged(text, delim)
    table = RawTable(name, path.name, frame, enc, delim, bad, suspect_text=suspect)
    for row in bad:
        table.problems.append(dict(
            _idx=row - 2, column="", value=raw_lines[row][0], rule="malformed_row",
            message=f"the row has {raw_lines[row][1]} fields, the header {frame.shape[1]}",
            hint=f"check quoting and the delimiter ({delim!r}); a cut-off last row is refused "
            "rather than read as an ongoing episode",
        ))
    _check_header(table)
    return table


def _read_unquoted(utf8: bytes, delim: str, header_line: str) -> pd.DataFrame | None:
    """A CSV without quotes (as UTF-8 bytes) as Arrow-backed text columns, or None if a row
    has the wrong number of fields (the caller then reads it record by record).

    Without quotes a record is a line, and Arrow's multi-threaded parser reads it, refusing
    lines with too many or too few fields (a cut-off last row is no ongoing episode). Arrow
    strings take a tenth of the memory of Python strings and keep the validator's string
    operations in C: millions of attendance rows are read in about a second.
    """
    width = header_line.count(delim) + 1
    names = [f"f{i}" for i in range(width)]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(utf8),
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(delimiter=delim, quote_char=False,
                                              double_quote=False, escape_char=False,
                                              ignore_empty_lines=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    # every line holds width - 1 delimiters: nothing was padded or dropped silently
    if table.num_rows == 0 or utf8.count(delim.encode("utf-8")) != table.num_rows * (width - 1):
        return None
    header = [table.column(i)[0].as_py() for i in range(width)]
    frame = table.slice(1).to_pandas(types_mapper={pa.string(): TEXT_DTYPE}.get)
    frame.columns = header
    return frame


def _read_ragged(
    text: str, delim: str
) -> tuple[pd.DataFrame, list[int], dict[int, tuple[str, int]]]:
    """Read a CSV some of whose rows have the wrong number of fields.

    Those rows are kept as all-empty rows (so row numbers and counts stay true) and their
    numbers returned, to be rejected by the validator as malformed, with each one's text
    (cut) and number of fields.
    """
    csv.field_size_limit(sys.maxsize)  # a 200 kB field is a value to refuse, not a crash
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    body = [r for r in rows if r and not (len(r) == 1 and not r[0].strip())]
    if not body:
        return pd.DataFrame(), [], {}
    header, body = body[0], body[1:]
    width = len(header)
    bad = [i + 2 for i, r in enumerate(body) if len(r) != width]
    info = {row: (shorten(delim.join(body[row - 2])), len(body[row - 2])) for row in bad}
    clean = [r if len(r) == width else [""] * width for r in body]
    frame = pd.DataFrame(clean, columns=range(width), dtype=object)
    frame.columns = header
    return frame, bad, info


def _check_header(table: RawTable) -> None:
    """Refuse columns whose names collide once case and spaces are ignored (``sex`` and
    ``Sex ``): which of the two holds the truth cannot be known."""
    cols = [str(c) for c in table.frame.columns]
    norm = [c.strip().lower() for c in cols]
    seen: dict[str, str] = {}
    for raw, n in zip(cols, norm, strict=True):
        if n in seen and n:
            table.problems.append(dict(
                _idx=-1, column=shorten(n), value="", rule="duplicate_column",
                message=f"columns {shorten(seen[n])!r} and {shorten(raw)!r} both read as "
                f"{shorten(n)!r}",
                hint="remove or rename one of them; every row is refused until then",
            ))
        seen.setdefault(n, raw)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise CohortError(
            f"{path.name}: is a folder, not a file; point the resource path at the table's file"
        ) from None
    except OSError as exc:
        raise CohortError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None


def read_xlsx(path: Path, sheet: int | str = 0) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Read an Excel workbook's sheet with openpyxl, header = first row, and list formula
    cells without a stored value and Excel error values (``#DIV/0!``): a formula that was
    never calculated must not become an empty cell silently."""
    import openpyxl

    try:
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # a damaged workbook: say which, not a traceback
        raise CohortError(f"{path.name}: cannot be read as xlsx ({shorten(exc, 120)})") from None
    try:
        names = values.sheetnames
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise CohortError(f"{path.name}: has no sheet number {sheet}")
            sheet = names[sheet]
        if sheet not in names:
            raise CohortError(
                f"{path.name}: has no sheet {shorten(sheet)!r}; its sheets are "
                f"{', '.join(map(repr, names))}"
            )
        vrows = [list(r) for r in values[sheet].iter_rows(values_only=True)]
        frows = formulas[sheet].iter_rows(values_only=True)
        problems: list[dict[str, Any]] = []
        header = [("" if v is None else str(v)) for v in (vrows[0] if vrows else [])]
        for i, (vr, fr) in enumerate(zip(vrows, frows, strict=False)):
            if i == 0:
                continue
            for j, (v, f) in enumerate(zip(vr, fr, strict=False)):
                col = header[j] if j < len(header) else f"column {j + 1}"
                if v is None and isinstance(f, str) and f.startswith("="):
                    problems.append(dict(
                        _idx=i - 1, column=col, value=shorten(f), rule="spreadsheet_formula",
                        message=f"{col} is a formula without a stored value",
                        hint="open the file in Excel, let it calculate and save it again, or "
                        "paste the values",
                    ))
                elif isinstance(v, str) and v in _EXCEL_ERRORS:
                    problems.append(dict(
                        _idx=i - 1, column=col, value=v, rule="spreadsheet_formula",
                        message=f"{col} holds the Excel error {v}",
                        hint="correct the formula in the workbook, or paste the values",
                    ))
    finally:
        values.close()
        formulas.close()
    body = [r for r in vrows[1:] if any(v is not None and v != "" for v in r)] if vrows else []
    width = len(header)
    body = [(r + [None] * width)[:width] for r in body]
    frame = pd.DataFrame(body, columns=range(width), dtype=object)
    frame.columns = header
    return frame, problems


_EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA"}
)


def read_table(path: Path, resource: dict[str, Any] | None = None) -> RawTable:
    """Read one table file of any supported format."""
    resource = resource or {}
    name = resource.get("name", path.stem)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise CohortError(
            f"{path.name}: is a folder, not a file; point the resource path at the table's file"
        )
    if suffix == ".csv" or resource.get("format") == "csv":
        return read_csv_text(path, resource)
    problems: list[dict[str, Any]] = []
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix == ".xlsx":
            sheet = resource.get("sheet", 0)
            frame, problems = read_xlsx(path, sheet if isinstance(sheet, int | str) else 0)
        elif suffix == ".xls":
            frame = pd.read_excel(path, dtype=object, sheet_name=resource.get("sheet", 0))
        elif suffix == ".sav":
            import pyreadstat

            frame, _ = pyreadstat.read_sav(str(path))
        else:
            raise CohortError(
                f"{path.name}: unsupported file type {shorten(suffix)!r}; use one of "
                f"{', '.join(SUFFIXES)}"
            )
    except CohortError:
        raise
    except Exception as exc:  # a damaged file: say which, not a traceback
        raise CohortError(
            f"{path.name}: cannot be read as {suffix[1:]} ({shorten(exc, 120)}); export it "
            "again or save it as CSV"
        ) from exc
    if frame.shape[1] == 0:
        return RawTable(name, path.name, frame, empty_file=True)
    table = RawTable(name, path.name, frame, problems=problems)
    table.suspect_text = True  # no raw bytes to pre-scan: the text cells are checked
    _check_header(table)
    return table
