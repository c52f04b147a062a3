"""The cohort format: table schemas and code lists from ``data_schema/``, and field validation.

``data_schema/`` is the single source of truth: Frictionless Table Schema JSON per table
(``data_schema/tables/<table>.schema.json``) and one code list CSV per coded field
(``data_schema/codelists/<name>.csv`` with ``code,label_nl,label_en,description``). This
module reads them, turns raw text columns into typed columns, and checks each field's
constraints with a pandera schema built from the Table Schema. Every failing cell becomes a
row of the problem table; nothing is dropped silently.

Example
-------
>>> from thuiszit_eval.schema import table_schema, codelist
>>> [f.name for f in table_schema("episodes").fields][:3]
['episode_id', 'pupil_id', 'episode_type']
>>> "back_to_school" in codelist("intervention").code.tolist()
True
"""

from __future__ import annotations

import difflib
import json
import re
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.compute as pc

from .reading import shorten

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pandera.pandas as pa

#: Tables of a cohort in the order they are validated (parents before children).
TABLES: tuple[str, ...] = (
    "pupils",
    "episodes",
    "interventions",
    "attendance",
    "process_events",
    "school_calendar",
)
#: Tables without which no time-to-return analysis is possible.
REQUIRED_TABLES: tuple[str, ...] = ("pupils", "episodes")
#: Separator of multi-valued code fields (``support_needs``); not ``;`` so that it survives
#: Dutch Excel CSV exports, which use ``;`` as the delimiter.
MULTI_SEPARATOR = "|"
#: Dates before this year are taken as typing errors or Excel's 1900 default.
EARLIEST_YEAR = 1990

PROBLEM_COLUMNS = [
    "table",
    "file",
    "row",
    "column",
    "value",
    "rule",
    "severity",
    "message",
    "hint",
]


def schema_dir() -> Path:
    """The ``data_schema/`` folder of this checkout (the package is installed editable)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "data_schema", here.parent / "data_schema"):
        if (candidate / "tables").is_dir():
            return candidate
    raise FileNotFoundError(
        "data_schema/ not found next to the package; install thuiszit-eval from its "
        "repository with `pip install -e .`"
    )


@dataclass(frozen=True)
class FieldSpec:
    """One field of a Table Schema (the subset of the standard this project uses)."""

    name: str
    type: str
    title: str = ""
    description: str = ""
    required: bool = False
    unique: bool = False
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    codelist: str | None = None
    extra: bool = False  # declared by the cohort, not by data_schema/

    @classmethod
    def from_json(cls, d: dict[str, Any], extra: bool = False) -> FieldSpec:
        c = d.get("constraints", {})
        return cls(
            name=d["name"],
            type=d.get("type", "string"),
            title=d.get("title", ""),
            description=d.get("description", ""),
            required=bool(c.get("required", False)),
            unique=bool(c.get("unique", False)),
            pattern=c.get("pattern"),
            minimum=c.get("minimum"),
            maximum=c.get("maximum"),
            codelist=d.get("codelist"),
            extra=extra,
        )


@dataclass(frozen=True)
class TableSchema:
    """A table of the cohort format: its fields, keys and description."""

    name: str
    title: str
    description: str
    fields: tuple[FieldSpec, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def get(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def with_extra_fields(self, extra: list[dict[str, Any]]) -> TableSchema:
        """This schema plus the covariate columns a cohort declares in its datapackage."""
        known = set(self.field_names)
        added = tuple(FieldSpec.from_json(d, extra=True) for d in extra if d["name"] not in known)
        return TableSchema(
            self.name,
            self.title,
            self.description,
            self.fields + added,
            self.primary_key,
            self.foreign_keys,
        )


@cache
def table_schema(name: str) -> TableSchema:
    """Read ``data_schema/tables/<name>.schema.json``."""
    path = schema_dir() / "tables" / f"{name}.schema.json"
    d = json.loads(path.read_text(encoding="utf-8"))
    return TableSchema(
        name=d["name"],
        title=d.get("title", name),
        description=d.get("description", ""),
        fields=tuple(FieldSpec.from_json(f) for f in d["fields"]),
        primary_key=tuple(d.get("primaryKey", ())),
        foreign_keys=tuple(d.get("foreignKeys", ())),
    )


@cache
def codelist(name: str) -> pd.DataFrame:
    """Read the code list ``data_schema/codelists/<name>.csv`` (code, label_nl, label_en,
    description)."""
    path = schema_dir() / "codelists" / f"{name}.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def codes(name: str) -> list[str]:
    """The valid codes of a code list, in their documented order."""
    return codelist(name)["code"].tolist()


def labels(name: str, lang: str = "nl") -> dict[str, str]:
    """Code → label in Dutch (``nl``) or English (``en``)."""
    cl = codelist(name)
    return dict(zip(cl["code"], cl[f"label_{lang}"], strict=True))


def nearest_code(value: str, name: str) -> str | None:
    """The valid code closest to a mistyped one, also matching labels ("Back to School")."""
    cl = codelist(name)
    norm = re.sub(r"[\s\-]+", "_", str(value).strip().lower())
    by_label = {
        re.sub(r"[\s\-]+", "_", lab.strip().lower()): code
        for col in ("label_nl", "label_en")
        for code, lab in zip(cl["code"], cl[col], strict=True)
    }
    if norm in by_label:
        return by_label[norm]
    candidates = cl["code"].tolist() + list(by_label)
    match = difflib.get_close_matches(norm, candidates, n=1, cutoff=0.6)
    if not match:
        return None
    return by_label.get(match[0], match[0])


# --------------------------------------------------------------------------- parsing

_TRUE = {"true", "1", "yes", "ja", "waar", "y", "j", "t"}
_FALSE = {"false", "0", "no", "nee", "onwaar", "n", "f"}


def as_text(s: pd.Series) -> pd.Series:
    """Any column (text from CSV, datetimes from Excel, numbers from SPSS) as stripped text,
    with missing as ``""`` — the common ground the parsers below work on."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d")
        return out.where(s.notna(), "")
    if s.dtype == object:
        # CSV columns are all text already: only mixed Excel/SPSS columns need the slow path.
        if pd.api.types.infer_dtype(s, skipna=False) != "string":
            s = s.map(_cell_text)
    else:
        s = s.astype("string").fillna("")
        s = s.str.replace(r"\.0$", "", regex=True)  # 3.0 from a float column means 3
    # Arrow strings: vectorised strip and regex, several times faster on millions of rows.
    return s.astype("string[pyarrow]").fillna("").str.strip()


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if hasattr(v, "strftime"):  # datetime.date from Excel or SPSS
        return v.strftime("%Y-%m-%d")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def parse_dates(text: pd.Series) -> pd.Series:
    """Parse ISO ``YYYY-MM-DD`` and Dutch ``DD-MM-YYYY`` / ``DD/MM/YYYY`` dates; NaT where
    the text is not a real calendar date (31-02 included). ISO dates must be zero-padded
    and years have four digits, so a value cut off at its end is never read as a date."""
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    # ISO dates are zero-padded: '2023-02-1' is a cut-off '2023-02-12', not 1 February.
    iso = iso.where(text.str.len() == 10)
    todo = iso.isna() & (text != "")
    if todo.any():
        nl = text[todo].str.replace("/", "-", regex=False)
        iso.loc[todo] = pd.to_datetime(nl, format="%d-%m-%Y", errors="coerce")
    return iso


def parse_yearmonth(text: pd.Series) -> pd.Series:
    """Parse ``YYYY-MM`` (also ``MM-YYYY``) to the first day of that month."""
    out = pd.to_datetime(text, format="%Y-%m", errors="coerce")
    out = out.where(text.str.len() == 7)  # '2024-1' may be a cut-off '2024-11'
    todo = out.isna() & (text != "")
    if todo.any():
        out.loc[todo] = pd.to_datetime(
            text[todo].str.replace("/", "-", regex=False), format="%m-%Y", errors="coerce"
        )
    return out


_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _to_number(text: pd.Series) -> pd.Series:
    """Text to float (NaN where not a number), vectorised in Arrow: pandas' to_numeric
    takes seconds on the millions of attendance rows."""
    if text.str.contains(",", regex=False).any():
        text = text.str.replace(",", ".", regex=False)  # Dutch decimal comma: 2,5
    arr = pa_arrow.array(text.astype("string[pyarrow]").array)
    ok = pc.match_substring_regex(arr, _NUMBER)
    num = pc.cast(pc.if_else(ok, arr, pa_arrow.scalar(None, pa_arrow.string())), pa_arrow.float64())
    return pd.Series(num.to_numpy(zero_copy_only=False), index=text.index, dtype=float)


def parse_field(text: pd.Series, spec: FieldSpec) -> tuple[pd.Series, pd.Series]:
    """Typed values and a mask of cells whose text could not be read as ``spec.type``."""
    present = text != ""
    if spec.type == "date":
        val = parse_dates(text)
    elif spec.type == "yearmonth":
        val = parse_yearmonth(text)
    elif spec.type in ("integer", "number"):
        num = _to_number(text)
        # 1e999 overflows to inf: as much "not a number" as the text inf, which is refused.
        num = num.where(np.isfinite(num), np.nan)
        if spec.type == "integer":
            # Whole and within the exact range of a float: 1e300 is no count of dayparts.
            whole = (num == np.round(num)) & (num.abs() < 2.0**53)
            val = num.where(whole, np.nan).astype("Int64")
        else:
            val = num.astype(float)
    elif spec.type == "boolean":
        low = text.str.lower()
        val = pd.Series(pd.NA, index=text.index, dtype="boolean")
        val[low.isin(_TRUE)] = True
        val[low.isin(_FALSE)] = False
    else:
        val = text.astype(object).where(present, None)
    bad = present & pd.isna(val)
    return val, bad


# --------------------------------------------------------------------------- constraints


def _multi_codes_ok(allowed: set[str]):
    def check(s: pd.Series) -> pd.Series:
        def ok(v: Any) -> bool:
            return all(p.strip() in allowed for p in str(v).split(MULTI_SEPARATOR) if p.strip())

        return s.map(cache(ok))  # a few hundred distinct combinations, each once

    return check


def pandera_schema(schema: TableSchema) -> pa.DataFrameSchema:
    """A pandera schema with each field's Table Schema constraints as named checks.

    Types are already applied by :func:`parse_field`; pandera checks required, pattern,
    range and code-list constraints and reports every failing cell with its index.
    """
    columns = {}
    for f in schema.fields:
        checks = []
        if f.codelist and f.name == "support_needs":
            checks.append(
                pa.Check(
                    _multi_codes_ok(set(codes(f.codelist))),
                    element_wise=False,
                    name="unknown_code",
                )
            )
        elif f.codelist:
            checks.append(pa.Check.isin(codes(f.codelist), name="unknown_code"))
        if f.pattern:
            checks.append(pa.Check.str_matches(f.pattern, name="pattern"))
        if f.minimum is not None:
            checks.append(pa.Check.ge(f.minimum, name="out_of_range"))
        if f.maximum is not None:
            checks.append(pa.Check.le(f.maximum, name="out_of_range"))
        columns[f.name] = pa.Column(
            nullable=not f.required, checks=checks, required=False, coerce=False
        )
    return pa.DataFrameSchema(columns, strict=False)


def _rule_text(f: FieldSpec, rule: str) -> tuple[str, str]:
    """Message and hint for a field-level rule."""
    if rule == "required":
        return f"{f.name} is required but empty", f"fill in {f.name} ({f.description})"
    if rule == "pattern":
        return (
            f"{f.name} does not match {f.pattern}",
            "use the pseudonymised id: letters, digits, '-' or '_', 4-64 characters"
            if "A-Za-z0-9" in (f.pattern or "")
            else f"write {f.name} as {f.pattern}",
        )
    if rule == "out_of_range":
        return (
            f"{f.name} outside {f.minimum}..{f.maximum}",
            f"{f.name} must lie between {f.minimum} and {f.maximum}",
        )
    return f"{f.name}: {rule}", ""


def check_fields(typed: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Problems (one row per failing cell) of the field constraints, index = row index."""
    try:
        pandera_schema(schema).validate(typed, lazy=True)
        return _empty_problems()
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
    fc = fc[fc["index"].notna()].copy()
    out = []
    for (col, check), grp in fc.groupby(["column", "check"], sort=False):
        f = schema.get(col)
        rule = "required" if "not_nullable" in check else str(check).split("(")[0]
        if rule in ("greater_than_or_equal_to", "less_than_or_equal_to"):
            rule = "out_of_range"
        if rule in ("isin", "str_matches"):
            rule = {"isin": "unknown_code", "str_matches": "pattern"}[rule]
        idx = grp["index"].astype(int).to_numpy()
        values = typed[col].iloc[idx] if len(typed) else pd.Series(dtype=object)
        vals = values.astype(str).where(values.notna(), "").tolist()
        if rule == "unknown_code":
            msgs, hints = [], []
            for v in vals:
                if f.name == "support_needs":
                    bad = [p.strip() for p in v.split(MULTI_SEPARATOR) if p.strip()]
                else:
                    bad = [v]
                wrong = [b for b in bad if b not in set(codes(f.codelist))]
                msgs.append(
                    f"unknown code {', '.join(repr(shorten(w)) for w in wrong[:5])}"
                    f"{' …' if len(wrong) > 5 else ''} for {f.name}"
                )
                near = [nearest_code(w, f.codelist) if len(w) <= 200 else None for w in wrong]
                pairs = [(w, n) for w, n in zip(wrong, near, strict=True) if n]
                if len(wrong) == 1:
                    sugg = ", ".join(repr(n) for _, n in pairs)
                else:
                    sugg = ", ".join(f"{n!r} for {w!r}" for w, n in pairs)
                hints.append(
                    (f"did you mean {sugg}? " if sugg else "")
                    + f"valid codes are in data_schema/codelists/{f.codelist}.csv"
                )
        else:
            m, h = _rule_text(f, rule)
            msgs, hints = [m] * len(idx), [h] * len(idx)
        out.append(
            pd.DataFrame(
                {
                    "_idx": idx,
                    "column": col,
                    "value": vals,
                    "rule": rule,
                    "severity": "reject",
                    "message": msgs,
                    "hint": hints,
                }
            )
        )
    return pd.concat(out, ignore_index=True) if out else _empty_problems()


def _empty_problems() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_idx": pd.Series(dtype=int),
            **{
                c: pd.Series(dtype=object)
                for c in ["column", "value", "rule", "severity", "message", "hint"]
            },
        }
    )


def type_problems(text: pd.Series, bad: pd.Series, spec: FieldSpec) -> pd.DataFrame:
    """Problems for cells that could not be parsed as the field's type."""
    idx = np.flatnonzero(bad.to_numpy())
    expected = {
        "date": "a date as YYYY-MM-DD (or DD-MM-YYYY) that exists in the calendar",
        "yearmonth": "a month as YYYY-MM",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true/false (also ja/nee, 1/0)",
    }.get(spec.type, spec.type)
    return pd.DataFrame(
        {
            "_idx": idx,
            "column": spec.name,
            "value": text.iloc[idx].tolist(),
            "rule": f"invalid_{spec.type}",
            "severity": "reject",
            "message": [f"{spec.name} is not {expected}"] * len(idx),
            "hint": ["correct the value; impossible dates such as 31-02 are refused"] * len(idx),
        }
    )


# --------------------------------------------------------------------------- dictionary


def data_dictionary() -> str:
    """The data dictionary in Markdown, generated from the schemas and code lists.

    ``data_schema/DATA_DICTIONARY.md`` holds its output; a test fails when it is stale.
    Regenerate with ``thuiszit-eval dictionary > data_schema/DATA_DICTIONARY.md``.
    """
    lines = [
        "# Data dictionary",
        "",
        "Generated from `data_schema/tables/*.schema.json` and `data_schema/codelists/*.csv` "
        "by `thuiszit-eval dictionary`; do not edit by hand.",
        "",
        "A cohort is a folder with a `datapackage.json` and one file per table "
        "(CSV, Parquet, Excel or SPSS `.sav`). Required tables: "
        + ", ".join(f"`{t}`" for t in REQUIRED_TABLES)
        + "; the others are optional. Row numbers in validation reports count the header as "
        "row 1, so the first data row is row 2 (as in a spreadsheet).",
        "",
    ]
    used_lists: list[str] = []
    for name in TABLES:
        s = table_schema(name)
        lines += [f"## `{name}` — {s.title}", "", s.description, ""]
        if s.primary_key:
            lines.append(f"Primary key: `{', '.join(s.primary_key)}`.")
        for fk in s.foreign_keys:
            ref = fk["reference"]
            lines.append(
                f"Foreign key: `{', '.join(fk['fields'])}` → "
                f"`{ref['resource']}.{', '.join(ref['fields'])}`."
            )
        lines += [
            "",
            "| field | type | required | constraints | description |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in s.fields:
            cons = []
            if f.unique:
                cons.append("unique")
            if f.pattern:
                cons.append(f"pattern `{f.pattern}`")
            if f.minimum is not None or f.maximum is not None:
                cons.append(f"{f.minimum} to {f.maximum}")
            if f.codelist:
                cons.append(f"code list [{f.codelist}](#code-list-{f.codelist.replace('_', '-')})")
                if f.codelist not in used_lists:
                    used_lists.append(f.codelist)
            desc = f.description.replace("|", "\\|")
            lines.append(
                f"| `{f.name}` | {f.type} | {'yes' if f.required else 'no'} | "
                f"{'; '.join(cons).replace('|', chr(92) + '|')} | {desc} |"
            )
        lines.append("")
    lines += ["## Code lists", ""]
    for cl_name in used_lists:
        cl = codelist(cl_name)
        lines += [
            f"### Code list {cl_name}",
            "",
            "| code | label (nl) | label (en) | description |",
            "| --- | --- | --- | --- |",
        ]
        for row in cl.itertuples(index=False):
            lines.append(f"| `{row.code}` | {row.label_nl} | {row.label_en} | {row.description} |")
        lines.append("")
    return "\n".join(lines)
