"""Validating a cohort's tables: every rejected row accounted for, with file, row and rule.

:func:`validate_tables` takes the raw tables of a cohort and returns the accepted rows, typed,
plus a :class:`ValidationReport`. Field rules (types, required, codes, patterns, ranges) come
from ``data_schema/`` via pandera (:mod:`thuiszit_eval.schema`); the rules that span rows or
tables (overlapping episodes, interventions outside their episode, links between tables)
are the vectorised functions below. For every table rows read = accepted + rejected.

Each rule either **rejects** the row or **warns** and keeps it; :data:`RULES` says which,
and the report repeats it. Row numbers are spreadsheet rows: the header is row 1. What the
reader found (rows with the wrong number of fields, bytes that are not text, Excel formulas
without a value, duplicate column names) is rejected here like any rule. Every text cell of
the report has numbers passing the 11-proef masked and long values cut, whatever table or
column they come from; :meth:`ValidationReport.to_csv` also neutralises spreadsheet
formulas.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> cohort = Cohort.load(schema_dir() / "example")
>>> cohort.report.ok
True
"""

from __future__ import annotations

import datetime
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import schema as S
from .messages import t as msg
from .reading import (
    _NOT_TEXT,
    READER_PROBLEM_COLUMNS,
    TEXT_DTYPE,
    CohortError,
    RawTable,
    shorten,
)


def _rule_text(rule: str, lang: str = "en") -> str:
    """What a rule means, from the message catalogue (Dutch and English)."""
    return msg(f"validation.rule.{rule}", lang, year=S.EARLIEST_YEAR)


#: rule → (severity, what it means in English). ``reject`` removes the row; ``warn`` keeps
#: it. The Dutch text: ``_rule_text(rule, "nl")``; ``ValidationReport.by_rule(lang=...)``.
RULES: dict[str, tuple[str, str]] = {
    "missing_file": ("reject", _rule_text("missing_file")),
    "empty_file": ("reject", _rule_text("empty_file")),
    "missing_column": ("reject", _rule_text("missing_column")),
    "unknown_column": ("warn", _rule_text("unknown_column")),
    "malformed_row": ("reject", _rule_text("malformed_row")),
    "duplicate_column": ("reject", _rule_text("duplicate_column")),
    "invalid_text": ("reject", _rule_text("invalid_text")),
    "spreadsheet_formula": ("reject", _rule_text("spreadsheet_formula")),
    "direct_identifier": ("reject", _rule_text("direct_identifier")),
    "required": ("reject", _rule_text("required")),
    "invalid_date": ("reject", _rule_text("invalid_date")),
    "invalid_yearmonth": ("reject", _rule_text("invalid_yearmonth")),
    "invalid_integer": ("reject", _rule_text("invalid_integer")),
    "invalid_number": ("reject", _rule_text("invalid_number")),
    "invalid_boolean": ("reject", _rule_text("invalid_boolean")),
    "unknown_code": ("reject", _rule_text("unknown_code")),
    "pattern": ("reject", _rule_text("pattern")),
    "out_of_range": ("reject", _rule_text("out_of_range")),
    "implausible_date": ("reject", _rule_text("implausible_date")),
    "after_follow_up_end": ("reject", _rule_text("after_follow_up_end")),
    "duplicate_id": ("reject", _rule_text("duplicate_id")),
    "end_before_start": ("reject", _rule_text("end_before_start")),
    "end_reason_without_end_date": ("reject", _rule_text("end_reason_without_end_date")),
    "end_date_without_reason": ("warn", _rule_text("end_date_without_reason")),
    "reported_before_start": ("warn", _rule_text("reported_before_start")),
    "overlapping_episode": ("reject", _rule_text("overlapping_episode")),
    "age_out_of_range": ("reject", _rule_text("age_out_of_range")),
    "unknown_pupil": ("reject", _rule_text("unknown_pupil")),
    "unknown_episode": ("reject", _rule_text("unknown_episode")),
    "episode_of_other_pupil": ("reject", _rule_text("episode_of_other_pupil")),
    "start_before_referral": ("reject", _rule_text("start_before_referral")),
    "outside_episode": ("reject", _rule_text("outside_episode")),
    "attended_above_scheduled": ("reject", _rule_text("attended_above_scheduled")),
    "not_monday": ("warn", _rule_text("not_monday")),
    "weekend_date": ("warn", _rule_text("weekend_date")),
}

#: Default tolerance for interventions starting before or ending after their episode.
DEFAULT_TOLERANCE_DAYS = 14
_DATE_TYPES = ("date", "yearmonth")


@dataclass
class ValidationReport:
    """What validation found: the problem rows and the counts per table.

    ``problems`` has one row per problem: table, file, row (spreadsheet row number; empty for
    a table-level finding), column, value, rule, severity (``reject``/``warn``), message, hint.
    ``counts`` has per table: file, rows_read, rows_accepted, rows_rejected, rows_warned.
    """

    cohort: str
    problems: pd.DataFrame
    counts: pd.DataFrame
    #: per table, the spreadsheet row number of each accepted row, in the order of the
    #: accepted table (so any accepted row can be traced to its source row)
    source_rows: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_rejected(self) -> int:
        return int(self.counts["rows_rejected"].sum())

    @property
    def ok(self) -> bool:
        """True when no row was rejected (warnings allowed)."""
        return self.n_rejected == 0 and not (self.problems["severity"] == "reject").any()

    def by_rule(self, lang: str = "en") -> pd.DataFrame:
        """Per table and rule: severity, what happens to the row, rows affected, meaning
        (the meaning in English or Dutch, ``lang``)."""
        p = self.problems
        if p.empty:
            return pd.DataFrame(
                columns=["table", "rule", "severity", "action", "rows", "description"]
            )
        g = (
            p.groupby(["table", "rule", "severity"], sort=False)["row"]
            .agg(lambda r: r.nunique() if r.notna().any() else 0)
            .rename("rows")
            .reset_index()
        )
        g["action"] = g["severity"].map({"reject": "row rejected", "warn": "row kept"})
        g["description"] = g["rule"].map(lambda r: _rule_text(r, lang) if r in RULES else "")
        return g[["table", "rule", "severity", "action", "rows", "description"]]

    def flow(self) -> pd.DataFrame:
        """Where the rows went, per table: read, accepted, and rejected by rule.

        A row rejected by several rules is counted once, under the first of them in the
        order of :data:`RULES`, so that accepted + the rejected lines add up to read. No
        pupil-level values: safe to show in a notebook.
        """
        order = {r: i for i, r in enumerate(RULES)}
        rej = self.problems[(self.problems.severity == "reject") & self.problems.row.notna()]
        rej = rej.assign(_o=rej.rule.map(order)).sort_values(["table", "row", "_o"])
        first = rej.drop_duplicates(["table", "row"])
        by_rule = first.groupby(["table", "rule"], sort=False).size()
        rows = []
        for t in self.counts.itertuples(index=False):
            rows.append((t.table, "read", "", t.rows_read))
            rows.append((t.table, "accepted", "", t.rows_accepted))
            if t.table in by_rule.index.get_level_values(0):
                for rule, n in by_rule[t.table].sort_values(ascending=False).items():
                    rows.append((t.table, "rejected", rule, int(n)))
        return pd.DataFrame(rows, columns=["table", "stage", "rule", "rows"])

    def first_problems(self, per_rule: int = 3) -> pd.DataFrame:
        """The first few problems of each rule, for a readable overview."""
        p = self.problems.sort_values(["table", "rule", "row"], kind="stable")
        return p.groupby(["table", "rule"], sort=False).head(per_rule)

    def summary(self, per_rule: int = 3) -> str:
        """A readable report: counts per table, then the first problems per rule."""
        lines = [f"Validation of cohort {self.cohort!r}", ""]
        lines.append(self.counts.to_string(index=False))
        lines.append("")
        if self.problems.empty:
            lines.append("No problems found.")
            return "\n".join(lines)
        lines.append("Rules that fired (reject = row removed, warn = row kept):")
        lines.append(self.by_rule().drop(columns="description").to_string(index=False))
        lines.append("")
        lines.append(f"First {per_rule} problems per rule:")
        for r in self.first_problems(per_rule).itertuples(index=False):
            where = f"{r.file} row {int(r.row)}" if pd.notna(r.row) else r.file
            col = f", column {r.column}" if r.column else ""
            val = f" (value {r.value!r})" if r.value not in (None, "") else ""
            lines.append(
                f"  [{r.severity}] {where}{col}{val}, rule {r.rule}: {r.message}. {r.hint}"
                .rstrip()
            )
        return "\n".join(lines)

    def to_csv(self, path: str | Path) -> None:
        """Write every problem row as CSV (the `--report` of the CLI), safe to open in a
        spreadsheet: text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
        return get a leading ``'`` (OWASP's advice against CSV injection), except cells
        that are a plain number such as ``-0.4``, which a spreadsheet reads as a number and
        which therefore stay as they are. Values are already cut and BSN-like values masked.
        """
        out = self.problems.copy()
        for c in out.columns:
            if c != "row":
                out[c] = neutralise_formulas(out[c])
        out.to_csv(path, index=False)

    def __repr__(self) -> str:
        return (
            f"ValidationReport({self.cohort!r}: {int(self.counts['rows_read'].sum())} rows read, "
            f"{self.n_rejected} rejected, {int((self.problems['severity'] == 'warn').sum())} "
            "warnings)"
        )


def check_metadata(meta: dict[str, Any], where: str = "metadata") -> dict[str, Any]:
    """The study metadata with ``follow_up_end`` as an ISO date, checked; raise
    :class:`CohortError` naming the field, the value and what to write instead.

    ``follow_up_end`` is never guessed: it must be a date, written ``YYYY-MM-DD`` or Dutch
    ``DD-MM-YYYY`` / ``DD/MM/YYYY`` (read day first, as in the tables). ``null``, a number
    or text that is no calendar date is refused. ``intervention_tolerance_days``, when
    given, must be a whole number of days from 0 to 365.

    Example
    -------
    >>> check_metadata({"follow_up_end": "01-07-2024"})["follow_up_end"]
    '2024-07-01'
    """
    if not isinstance(meta, dict):
        raise CohortError(f"{where}: the study metadata must be a mapping (a JSON object)")
    if "follow_up_end" not in meta:
        raise CohortError(
            f"{where}: no thuiszit.follow_up_end. State the date up to which the data are "
            'complete, e.g. "thuiszit": {"follow_up_end": "2024-07-31"}'
        )
    value = meta["follow_up_end"]
    end = _metadata_date(value)
    if end is None:
        raise CohortError(
            f"{where}: follow_up_end {shorten(value)!r} is not a date; write the date up to "
            'which the data are complete as "YYYY-MM-DD" (e.g. "2024-07-31") or "DD-MM-YYYY"'
        )
    if not S.EARLIEST_YEAR <= end.year <= 2100:
        raise CohortError(
            f"{where}: follow_up_end {end:%Y-%m-%d} is not a plausible follow-up end (years "
            f"{S.EARLIEST_YEAR}-2100); check the year"
        )
    out = {**meta, "follow_up_end": f"{end:%Y-%m-%d}"}
    if "intervention_tolerance_days" in meta:
        tol = meta["intervention_tolerance_days"]
        ok = None
        if isinstance(tol, int) and not isinstance(tol, bool):
            ok = tol
        elif isinstance(tol, float) and tol.is_integer():
            ok = int(tol)
        elif isinstance(tol, str) and tol.strip().isdigit():
            ok = int(tol.strip())
        if ok is None or not 0 <= ok <= 365:
            raise CohortError(
                f"{where}: intervention_tolerance_days {shorten(tol)!r} is not a whole number "
                "of days from 0 to 365; write it as a number, e.g. 14"
            )
        out["intervention_tolerance_days"] = ok
    return out


def _metadata_date(value: object) -> pd.Timestamp | None:
    """A metadata date read like the tables' dates (ISO or Dutch day first), or None."""
    if isinstance(value, pd.Timestamp | datetime.date) and not pd.isna(value):
        return pd.Timestamp(value)
    if not isinstance(value, str):
        return None  # null, numbers, booleans: never guessed (20240731 is not a date)
    parsed = S.parse_dates(pd.Series([value.strip()], dtype=object).astype(str))
    return None if pd.isna(parsed.iloc[0]) else pd.Timestamp(parsed.iloc[0])


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$"


def neutralise_formulas(s: pd.Series) -> pd.Series:
    """Text cells a spreadsheet would run as a formula, prefixed with ``'`` (OWASP).

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed,
    unless it is a plain number (``-0.4``, ``+31``), which a spreadsheet reads as a number.

    Example
    -------
    >>> neutralise_formulas(pd.Series(["=HYPERLINK(1)", "-0.4", "@SUM(A1)", "ok"])).tolist()
    ["'=HYPERLINK(1)", '-0.4', "'@SUM(A1)", 'ok']
    """
    text = s.astype(object).where(s.notna(), "").astype(str)
    risky = text.str.startswith(_FORMULA_START) & ~text.str.match(_PLAIN_NUMBER)
    if not risky.any():
        return s
    return text.where(~risky, "'" + text).where(s.notna(), s)


class _Collector:
    """Gathers problems of one table as DataFrames with a positional ``_idx``."""

    def __init__(self, table: str, file: str) -> None:
        self.table, self.file, self.parts = table, file, []

    def add(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self.parts.append(frame)

    def rule(
        self,
        mask: pd.Series | np.ndarray,
        rule: str,
        column: str,
        values: pd.Series | None,
        message: str,
        hint: str,
    ) -> None:
        if isinstance(mask, pd.Series):  # a comparison with a missing value is no finding
            mask = mask.fillna(False).to_numpy(dtype=bool)
        mask = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        vals = [""] * len(idx) if values is None else _text(values.iloc[idx])
        self.parts.append(
            pd.DataFrame(
                {
                    "_idx": idx,
                    "column": column,
                    "value": vals,
                    "rule": rule,
                    "severity": RULES[rule][0],
                    "message": message,
                    "hint": hint,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            p = S._empty_problems()
        else:
            p = pd.concat(self.parts, ignore_index=True)
        p.insert(0, "table", self.table)
        p.insert(1, "file", self.file)
        p.insert(2, "row", (p.pop("_idx") + 2).astype("Int64"))
        return p[S.PROBLEM_COLUMNS]

    def rejected_mask(self, n: int) -> np.ndarray:
        m = np.zeros(n, dtype=bool)
        for p in self.parts:
            rej = p.loc[p["severity"] == "reject", "_idx"].to_numpy()
            rej = rej[(rej >= 0) & (rej < n)]
            m[rej.astype(int)] = True
        return m


def _text(s: pd.Series) -> list[str]:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.strftime("%Y-%m-%d").fillna("").tolist()
    return s.astype(object).where(s.notna(), "").astype(str).tolist()


def _table_level(table: str, file: str, rule: str, column: str, message: str, hint: str) -> dict:
    return dict(
        table=table, file=file, row=pd.NA, column=column, value="", rule=rule,
        severity=RULES[rule][0], message=message, hint=hint,
    )


def _identifier_candidates(frame: pd.DataFrame, schema: S.TableSchema) -> list[str]:
    """Columns that could hold a BSN or a name unnoticed by the other rules.

    Coded, date, boolean and bounded-number fields reject such values anyway, and a foreign
    key must match an accepted (hence checked) parent id; scanning only the rest keeps
    validation of millions of attendance rows fast.
    """
    fks = {c for fk in schema.foreign_keys for c in fk["fields"]}
    safe = {
        f.name
        for f in schema.fields
        if not f.extra
        and (f.codelist or f.type != "string" or f.name in fks or f.pattern == "^GM[0-9]{4}$")
    }
    return [c for c in frame.columns if c not in safe]


def _type_and_check(
    raw: RawTable, schema: S.TableSchema, col: _Collector
) -> tuple[pd.DataFrame, list[dict]]:
    """Normalise column names, refuse identifiers, parse types and check field rules."""
    frame = raw.frame.copy(deep=False)  # new column names, same (read-only) data
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    n = len(frame)
    table_level: list[dict] = []
    _reader_problems(raw, n, col)
    if frame.columns.duplicated().any():  # reported by the reader; every row is refused
        frame = frame.loc[:, ~frame.columns.duplicated()]
    if raw.suspect_text:
        _invalid_text(frame, raw, col)
    from .privacy import bsn_mask, find_direct_identifiers

    candidates = _identifier_candidates(frame, schema)
    # The identifier checks convert text to pandas' "string" type: Arrow-backed here, so
    # that stripping and matching run in C rather than once per cell in Python.
    with pd.option_context("mode.string_storage", "pyarrow"):
        found = find_direct_identifiers(frame[candidates])
        for c in [c for c in candidates if c not in {f["column"] for f in found}]:
            # A single id that passes the 11-proef among ordinary ones: too few for the
            # column to count as a BSN column, but that row may carry a citizen service
            # number.
            col.rule(bsn_mask(frame[c]), "direct_identifier", c, None,
                     f"{shorten(c)} holds a number that passes the 11-proef for a BSN",
                     "use the pseudonymised id; run thuiszit-eval pseudonymise on the raw "
                     "export")
    for finding in found:
        # Refuse the whole table: one problem per row so that every rejected row is listed,
        # without echoing the identifying value itself.
        col.rule(
            np.ones(n, dtype=bool), "direct_identifier", finding["column"], None,
            finding["message"],
            finding.get("hint") or "pseudonymise first: thuiszit-eval pseudonymise RAW OUT "
            "--key-file KEY",
        )
    known = set(schema.field_names)
    for c in frame.columns:
        if c not in known:
            table_level.append(_table_level(
                raw.name, raw.file, "unknown_column", shorten(c),
                f"column {shorten(c)!r} is not part of table {raw.name}",
                "declare it under extra_fields in datapackage.json to carry it as a covariate",
            ))
    typed = pd.DataFrame(index=frame.index)
    checkable: dict[str, pd.Series] = {}  # text columns the field checks read as Arrow text
    for f in schema.fields:
        if f.name not in frame.columns:
            if f.required:
                col.rule(np.ones(n, dtype=bool), "missing_column", f.name, None,
                         f"required column {f.name!r} is missing",
                         f"add column {f.name} ({f.description})")
            # All missing, but typed like the field, so that rules comparing it with other
            # columns see missing values, not objects that cannot be compared.
            empty = pd.Series([""] * n, index=frame.index, dtype="string[pyarrow]")
            typed[f.name] = S.parse_field(empty, f)[0]
            continue
        text = _as_text(frame[f.name])
        val, bad = _parse_field(text, f)
        col.add(S.type_problems(text, bad, f))
        typed[f.name] = val
        if _arrow_checkable(f, text):
            checkable[f.name] = text.mask(text == "")
    if n:
        with warnings.catch_warnings():  # pandera's own deprecation notices: not the reader's
            warnings.simplefilter("ignore", FutureWarning)
            fp = S.check_fields(typed.assign(**checkable), schema)
        # An unparseable cell is already reported as such; not again as 'required'.
        seen = {(i, c) for p in col.parts for i, c in zip(p["_idx"], p["column"], strict=True)}
        again = [(i, c) in seen for i, c in zip(fp["_idx"], fp["column"], strict=True)]
        col.add(fp[~np.asarray(again, dtype=bool)] if len(fp) else fp)
    return typed, table_level


def _as_text(s: pd.Series) -> pd.Series:
    """A column as stripped text, missing as ``""``: CSV columns (Arrow text already) only
    stripped, in C; other columns (Excel, SPSS, Parquet) via :func:`schema.as_text`."""
    if s.dtype == TEXT_DTYPE:
        return s.fillna("").str.strip()
    return S.as_text(s)


#: Below this many rows a column is parsed value by value: distinct values save nothing.
_DISTINCT_FROM = 10_000


def _parse_field(text: pd.Series, spec: S.FieldSpec) -> tuple[pd.Series, pd.Series]:
    """:func:`schema.parse_field`, run on the distinct values only and spread back over
    the rows. Weekly attendance repeats a few hundred dates, eleven daypart counts and
    each pupil id on every row: parsing 2 million cells becomes parsing thousands, and a
    text column keeps one Python string per distinct value instead of one per row."""
    if len(text) < _DISTINCT_FROM:
        return S.parse_field(text, spec)
    codes, distinct = pd.factorize(text)  # text has no missing values: every code >= 0
    if len(distinct) > len(text) // 2:  # mostly distinct (ids): nothing to save
        return S.parse_field(text, spec)
    val, bad = S.parse_field(pd.Series(distinct, dtype=text.dtype), spec)
    return (pd.Series(val.array.take(codes), index=text.index, name=text.name),
            pd.Series(bad.to_numpy(dtype=bool)[codes], index=text.index, name=text.name))


def _arrow_checkable(spec: S.FieldSpec, text: pd.Series) -> bool:
    """Whether the field checks (pattern, codes) may read this text column as Arrow text:
    its regex engine (RE2) runs the schema's plain patterns many times faster than Python's
    per-cell ``re``. Not for extra fields, whose patterns are Python regular expressions,
    nor for the multi-code ``support_needs`` check, which works value by value."""
    return (spec.type == "string" and not spec.extra and spec.name != "support_needs"
            and (spec.pattern is not None or spec.codelist is not None)
            and text.dtype == TEXT_DTYPE)


def _reader_problems(raw: RawTable, n: int, col: _Collector) -> None:
    """Turn what the reader found into rejected rows (a table-wide finding, ``_idx`` -1,
    rejects every row)."""
    if not raw.problems:
        return
    p = pd.DataFrame(raw.problems, columns=READER_PROBLEM_COLUMNS)
    whole = p[p["_idx"] < 0]
    p = p[(p["_idx"] >= 0) & (p["_idx"] < n)]
    if n and len(whole):
        rows = np.repeat(np.arange(n), len(whole))
        p = pd.concat([p, whole.iloc[np.tile(np.arange(len(whole)), n)].assign(_idx=rows)])
    if len(p):
        p = p.assign(severity=p["rule"].map(lambda r: RULES[r][0]))
        col.add(p[["_idx", "column", "value", "rule", "severity", "message", "hint"]]
                .reset_index(drop=True))


_NOT_TEXT_PATTERN = re.compile(_NOT_TEXT)
_NOT_TEXT_RE2 = _NOT_TEXT  # literal characters: valid for Python re and for RE2 (Arrow)


def _invalid_text(frame: pd.DataFrame, raw: RawTable, col: _Collector) -> None:
    """Reject cells holding bytes that are not text in the file's encoding (shown as U+FFFD)
    or control characters: a wrong encoding or a stray binary byte, never read silently."""
    enc = raw.encoding or "its encoding"
    for c in frame.columns:
        s = frame[c]
        if s.dtype == TEXT_DTYPE or (
            s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "string"
        ):
            # all text (CSV, Parquet): Arrow's regex engine, fast on millions of cells
            txt = s.astype(TEXT_DTYPE).fillna("")
            hit = txt.str.contains(_NOT_TEXT_RE2, regex=True).to_numpy(dtype=bool)
        elif s.dtype == object:  # mixed Excel/SPSS cells: few rows, per value
            txt = s.map(lambda v: v if isinstance(v, str) else "")
            hit = txt.map(lambda v: bool(_NOT_TEXT_PATTERN.search(v))).to_numpy(dtype=bool)
        else:
            continue
        if hit.any():
            col.rule(hit, "invalid_text", shorten(c), txt,
                     f"{shorten(c)} holds bytes that are not text in {enc}, or control "
                     "characters",
                     "save the file as UTF-8 (or declare its encoding, e.g. \"encoding\": "
                     "\"cp1252\" for Dutch Excel, in datapackage.json) and remove stray bytes")


def _date_rules(typed: pd.DataFrame, schema: S.TableSchema, col: _Collector, fu_end) -> None:
    for f in schema.fields:
        if f.type not in _DATE_TYPES:
            continue
        d = typed[f.name]
        col.rule(d.dt.year < S.EARLIEST_YEAR, "implausible_date", f.name, d,
                 f"{f.name} before {S.EARLIEST_YEAR}", "check the year; empty means unknown")
        col.rule(d > fu_end, "after_follow_up_end", f.name, d,
                 f"{f.name} after the follow-up end {fu_end:%Y-%m-%d}",
                 "check the date, or the follow_up_end in datapackage.json")


def _duplicates(typed: pd.DataFrame, schema: S.TableSchema, col: _Collector) -> None:
    key = list(schema.primary_key)
    if not key:
        return
    # The key columns as one integer per row (-1: a part missing), so that 2 million
    # (pupil_id, week_start) pairs are compared as numbers, not as tuples of objects.
    codes = np.zeros(len(typed), dtype=np.int64)
    present = np.ones(len(typed), dtype=bool)
    for c in key:
        k, uniques = pd.factorize(typed[c])
        present &= k >= 0
        codes = codes * (len(uniques) + 1) + k + 1
        if len(key) > 1:  # renumber densely so the product cannot overflow
            codes = pd.factorize(codes)[0].astype(np.int64)
    dup = pd.Series(codes).duplicated(keep="first").to_numpy() & present
    if dup.any():
        col.rule(dup, "duplicate_id", ", ".join(key), typed[key[0]],
                 f"duplicate {', '.join(key)}", "")
        # Name the row that was kept in the hint, so the analyst can compare the two.
        first_row = pd.Series(np.arange(len(typed)) + 2).groupby(codes, sort=False) \
            .transform("first").to_numpy()
        last = col.parts[-1]
        kept = pd.Series(first_row[last["_idx"].to_numpy()]).astype(str).to_numpy()
        last["hint"] = "the first row with this key is kept: row " + kept


def _fk(
    values: pd.Series, accepted: pd.Index, col: _Collector, rule: str, column: str, what: str
) -> None:
    mask = values.notna() & ~values.isin(accepted)
    col.rule(mask, rule, column, values, f"{column} not among the accepted {what}",
             f"correct the id, or the {what} row it refers to: a rejected row of {what} "
             "takes the rows referring to it along")


def validate_tables(
    raw_tables: Mapping[str, RawTable],
    metadata: dict[str, Any],
    extra_fields: dict[str, list[dict[str, Any]]] | None = None,
) -> tuple[dict[str, pd.DataFrame | None], ValidationReport]:
    """Validate raw tables; return the accepted rows (typed) per table and the report.

    ``metadata`` needs ``follow_up_end`` (a date) and may hold
    ``intervention_tolerance_days``. Optional tables absent from ``raw_tables`` come back as
    ``None``.
    """
    extra_fields = extra_fields or {}
    metadata = check_metadata(metadata)
    fu_end = pd.Timestamp(metadata["follow_up_end"])
    tol = pd.Timedelta(days=int(metadata.get("intervention_tolerance_days",
                                             DEFAULT_TOLERANCE_DAYS)))
    accepted: dict[str, pd.DataFrame | None] = {}
    # What the rules of child tables compare with: a missing required table counts as an
    # empty one, so that its children are rejected rather than the validator failing.
    parents: dict[str, pd.DataFrame | None] = {}
    source_rows: dict[str, np.ndarray] = {}
    problems: list[pd.DataFrame] = []
    table_level: list[dict] = []
    counts = []
    for name in S.TABLES:
        raw = raw_tables.get(name)
        if raw is None:
            accepted[name] = None
            if name in S.REQUIRED_TABLES:
                schema = S.table_schema(name).with_extra_fields(extra_fields.get(name, []))
                empty = RawTable(name, f"{name}.csv", pd.DataFrame(columns=schema.field_names))
                typed, _ = _type_and_check(empty, schema, _Collector(name, empty.file))
                parents[name] = _finish(name, typed)
                table_level.append(_table_level(
                    name, f"{name}.csv", "missing_file", "",
                    f"required table {name} not found",
                    f"add {name}.csv (or .parquet/.xlsx/.sav) and list it in datapackage.json"))
                counts.append(dict(table=name, file="", rows_read=0, rows_accepted=0,
                                   rows_rejected=0, rows_warned=0))
            continue
        schema = S.table_schema(name).with_extra_fields(extra_fields.get(name, []))
        col = _Collector(name, raw.file)
        if raw.empty_file or len(raw.frame) == 0:
            finding = _table_level(
                name, raw.file, "empty_file", "", f"{raw.file} has no rows",
                "export the table again, with its header row and data")
            if name not in S.REQUIRED_TABLES:  # an empty optional table only loses detail
                finding["severity"] = "warn"
            table_level.append(finding)
            if raw.empty_file:  # no header either: type the table from the schema
                raw = RawTable(raw.name, raw.file, pd.DataFrame(columns=schema.field_names))
        typed, tl = _type_and_check(raw, schema, col)
        table_level += tl
        _date_rules(typed, schema, col, fu_end)
        _duplicates(typed, schema, col)
        _TABLE_RULES[name](typed, col, {**accepted, **parents}, fu_end, tol)
        n = len(typed)
        rejected = col.rejected_mask(n)
        probs = col.frame()
        problems.append(probs)
        warned = probs.loc[probs["severity"] == "warn", "row"].dropna().unique()
        # all rows accepted (the usual case): the typed table itself, not a copy of it
        ok = typed.loc[~rejected].copy() if rejected.any() else typed
        del typed
        accepted[name] = _finish(name, ok)
        source_rows[name] = np.flatnonzero(~rejected) + 2
        counts.append(dict(
            table=name, file=raw.file, rows_read=n, rows_accepted=int((~rejected).sum()),
            rows_rejected=int(rejected.sum()),
            rows_warned=int(len(set(warned.tolist()) - set(np.flatnonzero(rejected) + 2))),
        ))
    if table_level:
        tl = pd.DataFrame(table_level, columns=S.PROBLEM_COLUMNS)
        problems.append(tl.astype({"row": "Int64"}))
    nonempty = [p for p in problems if len(p)]
    allp = (
        pd.concat(nonempty, ignore_index=True)
        if nonempty
        else pd.DataFrame({c: pd.Series(dtype=object) for c in S.PROBLEM_COLUMNS})
    )
    allp["row"] = allp["row"].astype("Int64")
    allp = _safe_text(allp)
    order = {t: i for i, t in enumerate(S.TABLES)}
    allp = allp.sort_values(
        ["table", "row", "rule"], key=lambda s: s.map(order) if s.name == "table" else s,
        kind="stable",
    ).reset_index(drop=True)
    report = ValidationReport(
        cohort=shorten(metadata.get("cohort_name", "cohort")),
        problems=allp,
        counts=pd.DataFrame(counts),
        source_rows=source_rows,
    )
    return accepted, report


def _safe_text(p: pd.DataFrame) -> pd.DataFrame:
    """Every text cell of the report with values that pass the 11-proef masked and long
    values cut (:data:`~thuiszit_eval.reading.MAX_SHOWN` characters for values and column
    names, a few hundred for messages): identifiers are never echoed, a 10 MB field is not
    printed."""
    from .privacy import mask_identifiers

    for c, limit in (("value", 60), ("column", 60), ("message", 300), ("hint", 300)):
        s = p[c].astype(object).where(p[c].notna(), "").astype(str)
        long = s.str.len() > limit
        if long.any():
            s = s.where(~long, s[long].map(lambda v, lim=limit: shorten(v, lim)))
        p[c] = mask_identifiers(s)
    return p


def _finish(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Final shape of an accepted table: defaults applied, multi-codes expanded."""
    if not df.index.equals(pd.RangeIndex(len(df))):
        df = df.reset_index(drop=True)
    if name == "episodes" and len(df):
        df.loc[df["end_date"].notna() & df["end_reason"].isna(), "end_reason"] = "unknown"
    if name == "pupils":
        needs = (df["support_needs"] if "support_needs" in df
                 else pd.Series(None, index=df.index, dtype=object))
        # a few hundred distinct combinations of needs: split those, not every pupil's
        which, distinct = pd.factorize(needs.fillna(""))
        parts = [{p.strip() for p in str(v).split(S.MULTI_SEPARATOR)} for v in distinct]
        for code in S.codes("support_need"):
            has = np.array([code in p for p in parts], dtype=bool)
            df[f"need_{code}"] = has[which] if len(df) else np.zeros(0, dtype=bool)
    return df


# --------------------------------------------------------------------------- table rules


def _rules_pupils(t, col, acc, fu_end, tol) -> None:
    pass  # field, date and key rules cover pupils


def _rules_episodes(t, col, acc, fu_end, tol) -> None:
    col.rule(t["end_date"] < t["absence_start"], "end_before_start", "end_date", t["end_date"],
             "end_date before absence_start", "check whether the dates were swapped")
    col.rule(t["end_reason"].notna() & t["end_date"].isna(), "end_reason_without_end_date",
             "end_date", t["end_reason"], "end_reason given but end_date empty",
             "fill in end_date, or leave end_reason empty while the episode is ongoing")
    col.rule(t["end_date"].notna() & t["end_reason"].isna(), "end_date_without_reason",
             "end_reason", t["end_date"], "end_date given but end_reason empty",
             "record why the episode ended; it is analysed as 'unknown'")
    col.rule(t["reported_date"] < t["absence_start"], "reported_before_start", "reported_date",
             t["reported_date"], "reported_date before absence_start", "check both dates")
    pupils = acc["pupils"]
    _fk(t["pupil_id"], pd.Index(pupils["pupil_id"]), col, "unknown_pupil", "pupil_id", "pupils")
    birth = t["pupil_id"].map(pupils.set_index("pupil_id")["birth_month"])
    months = (t["absence_start"].dt.year - birth.dt.year) * 12 + (
        t["absence_start"].dt.month - birth.dt.month
    )
    age = months // 12
    col.rule(age.notna() & ((age < 4) | (age > 23)), "age_out_of_range", "absence_start",
             t["absence_start"], "age at absence start outside 4-23 years",
             "check birth_month in pupils and absence_start")
    # Overlaps among rows still standing: an episode starting on or before the latest end of
    # the same pupil's earlier episodes (an ongoing one lasts until the follow-up end).
    ok = ~col.rejected_mask(len(t))
    e = t.loc[ok, ["pupil_id", "absence_start", "end_date"]].copy()
    e["_end"] = e["end_date"].fillna(fu_end)
    e = e.sort_values(["pupil_id", "absence_start"], kind="stable")
    prev_end = e.groupby("pupil_id", sort=False)["_end"].cummax().groupby(
        e["pupil_id"], sort=False
    ).shift(1)
    overlap = pd.Series(False, index=t.index)
    overlap.loc[e.index] = (e["absence_start"] <= prev_end).to_numpy()
    col.rule(overlap, "overlapping_episode", "absence_start", t["absence_start"],
             "episode overlaps an earlier episode of the same pupil",
             "merge the two episodes or correct the dates")


def _rules_interventions(t, col, acc, fu_end, tol) -> None:
    col.rule(t["start_date"] < t["referral_date"], "start_before_referral", "start_date",
             t["start_date"], "start_date before referral_date", "check whether they were swapped")
    col.rule(t["end_date"] < t["start_date"], "end_before_start", "end_date", t["end_date"],
             "end_date before start_date", "check whether the dates were swapped")
    _fk(t["pupil_id"], pd.Index(acc["pupils"]["pupil_id"]), col, "unknown_pupil", "pupil_id",
        "pupils")
    ep = acc["episodes"].set_index("episode_id")
    _fk(t["episode_id"], ep.index, col, "unknown_episode", "episode_id", "episodes")
    linked = t["episode_id"].isin(ep.index)
    owner = t["episode_id"].map(ep["pupil_id"])
    col.rule(linked & (owner != t["pupil_id"]), "episode_of_other_pupil", "episode_id",
             t["episode_id"], "the linked episode belongs to another pupil",
             "link the intervention to an episode of the same pupil")
    ep_start = t["episode_id"].map(ep["absence_start"])
    ep_end = t["episode_id"].map(ep["end_date"]).fillna(fu_end)
    first = t["start_date"].fillna(t["referral_date"])
    outside = linked & (
        (first < ep_start - tol) | (first > ep_end + tol) | (t["end_date"] < ep_start - tol)
    )
    col.rule(outside, "outside_episode", "start_date", first,
             f"intervention outside its episode by more than {tol.days} days",
             "check the dates or the linked episode_id")


def _rules_attendance(t, col, acc, fu_end, tol) -> None:
    col.rule(t["attended_dayparts"] > t["scheduled_dayparts"], "attended_above_scheduled",
             "attended_dayparts", t["attended_dayparts"],
             "more dayparts attended than scheduled", "check both counts")
    col.rule(t["week_start"].notna() & (t["week_start"].dt.dayofweek != 0), "not_monday",
             "week_start", t["week_start"], "week_start is not a Monday",
             "weeks are counted from Monday")
    _fk(t["pupil_id"], pd.Index(acc["pupils"]["pupil_id"]), col, "unknown_pupil", "pupil_id",
        "pupils")


def _rules_process_events(t, col, acc, fu_end, tol) -> None:
    _fk(t["pupil_id"], pd.Index(acc["pupils"]["pupil_id"]), col, "unknown_pupil", "pupil_id",
        "pupils")
    ep = acc["episodes"].set_index("episode_id")
    _fk(t["episode_id"], ep.index, col, "unknown_episode", "episode_id", "episodes")
    owner = t["episode_id"].map(ep["pupil_id"])
    col.rule(owner.notna() & (owner != t["pupil_id"]), "episode_of_other_pupil", "episode_id",
             t["episode_id"], "the linked episode belongs to another pupil",
             "link the event to an episode of the same pupil")


def _rules_school_calendar(t, col, acc, fu_end, tol) -> None:
    col.rule(t["date"].notna() & (t["date"].dt.dayofweek >= 5), "weekend_date", "date",
             t["date"], "a weekend day listed as non-school day", "only weekdays need listing")


_TABLE_RULES = {
    "pupils": _rules_pupils,
    "episodes": _rules_episodes,
    "interventions": _rules_interventions,
    "attendance": _rules_attendance,
    "process_events": _rules_process_events,
    "school_calendar": _rules_school_calendar,
}
