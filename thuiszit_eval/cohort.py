"""The :class:`Cohort`: a validated cohort folder, ready for analysis.

A cohort is a folder with a ``datapackage.json`` (Frictionless Data Package) naming its
tables and carrying study metadata under the ``thuiszit`` key (cohort name, region, follow-up
end, whether ids are pseudonymised), plus one file per table. Loading reads every file (or
only the tables asked for: ``Cohort.load(folder, tables=["interventions"])``), validates it
against ``data_schema/`` and keeps the accepted rows; the report lists every rejected row.
Bad rows never raise; an unreadable folder raises :class:`CohortError` with a message that
says what to do.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> cohort = Cohort.load(schema_dir() / "example")
>>> row = cohort.report.counts.iloc[0]
>>> row["table"], int(row["rows_read"]), int(row["rows_rejected"])
('pupils', 12, 0)
>>> cohort.follow_up_end.year
2024
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import schema as S
from .reading import SUFFIXES, CohortError, RawTable, read_table, shorten
from .validation import ValidationReport, check_metadata, validate_tables

__all__ = ["Cohort", "CohortError", "check_metadata", "read_datapackage", "resource_path"]


def read_datapackage(folder: Path) -> dict[str, Any]:
    """Read and check ``datapackage.json``; raise :class:`CohortError` with advice if absent
    or malformed. The ``thuiszit`` metadata are checked by :func:`check_metadata`."""
    path = folder / "datapackage.json"
    if not folder.is_dir():
        raise CohortError(f"{folder}: not a folder. A cohort is a folder with a datapackage.json")
    if not path.exists():
        raise CohortError(
            f"{path}: missing. Every cohort folder needs a datapackage.json with the follow-up "
            "end date; copy data_schema/example/datapackage.json and adapt it"
        )
    _inside(folder, path, "datapackage.json")
    try:
        text = path.read_bytes().decode("utf-8-sig")
        dp = json.loads(text)
    except IsADirectoryError:
        raise CohortError(f"{path}: is a folder; it must be a JSON file") from None
    except UnicodeDecodeError as exc:
        raise CohortError(
            f"{path}: not UTF-8 (byte {exc.start}); save datapackage.json as UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise CohortError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (OSError, RecursionError, ValueError) as exc:
        raise CohortError(f"{path}: cannot be read ({shorten(exc, 120)})") from None
    if not isinstance(dp, dict):
        raise CohortError(
            f"{path}: must hold a JSON object ({{...}}), not a {_json_kind(dp)}; copy "
            "data_schema/example/datapackage.json and adapt it"
        )
    meta = dp.get("thuiszit")
    if meta is None or not isinstance(meta, dict):
        raise CohortError(
            f"{path}: no thuiszit section with the study metadata (a JSON object). State the "
            'date up to which the data are complete, e.g. "thuiszit": {"follow_up_end": '
            '"2024-07-31"}'
        )
    resources = dp.get("resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise CohortError(
            f"{path}: resources must be a list of objects such as "
            '{"name": "pupils", "path": "pupils.csv"}'
        )
    for i, r in enumerate(resources):
        for key in ("name", "path", "encoding", "format"):
            if key in r and not isinstance(r[key], str):
                raise CohortError(
                    f"{path}: resource {i + 1} has a {key} that is a {_json_kind(r[key])}, not "
                    f"text; write it as e.g. \"{key}\": \"pupils.csv\""
                    if key == "path"
                    else f"{path}: resource {i + 1} has a {key} that is a "
                    f"{_json_kind(r[key])}, not text"
                )
        ef = r.get("extra_fields", [])
        if not isinstance(ef, list) or not all(
            isinstance(d, dict) and isinstance(d.get("name"), str) for d in ef
        ):
            raise CohortError(
                f"{path}: extra_fields of resource {r.get('name', i + 1)!r} must be a list of "
                'objects with a name, e.g. {"name": "ses_index", "type": "number"}'
            )
        for d in ef:
            _check_constraints(path, d)
            if not isinstance(d.get("type", "string"), str) or d.get("type", "string") not in (
                "string", "number", "integer", "boolean", "date", "yearmonth"
            ):
                raise CohortError(
                    f"{path}: extra field {shorten(d['name'])!r} has type "
                    f"{shorten(d.get('type'))!r}; use string, number, integer, boolean, date or "
                    "yearmonth"
                )
    check_metadata(meta, str(path))
    return dp


def _check_constraints(path: Path, d: dict[str, Any]) -> None:
    """An extra field's constraints: an object, numbers for the range, a valid pattern."""
    c = d.get("constraints", {})
    what = f"{path}: extra field {shorten(d['name'])!r}"
    if not isinstance(c, dict):
        raise CohortError(f"{what}: constraints must be an object, e.g. {{\"minimum\": 0}}")
    for key in ("minimum", "maximum"):
        v = c.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise CohortError(f"{what}: constraint {key} {shorten(v)!r} is not a number")
    if c.get("pattern") is not None:
        try:
            re.compile(str(c["pattern"]))
        except re.error as exc:
            raise CohortError(f"{what}: pattern is not a regular expression ({exc})") from None
    if not isinstance(d.get("codelist", ""), str) or (
        d.get("codelist") and not re.fullmatch(r"[a-z0-9_]+", d["codelist"])
    ) or (
        d.get("codelist") and not (S.schema_dir() / "codelists" / f"{d['codelist']}.csv").is_file()
    ):
        raise CohortError(
            f"{what}: codelist {shorten(d.get('codelist'))!r} is not one of data_schema/codelists"
        )


def _json_kind(v: object) -> str:
    return {list: "list", dict: "object", str: "text", bool: "true/false", int: "number",
            float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def _inside(folder: Path, path: Path, what: str) -> Path:
    """``path`` resolved (symlinks followed), refused unless it lies inside ``folder``."""
    try:
        real = path.resolve(strict=False)
        root = folder.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise CohortError(f"{folder}: {what} cannot be resolved ({shorten(exc, 80)})") from None
    if not real.is_relative_to(root):
        raise CohortError(
            f"{folder}: {what} points outside the cohort folder (a symlink or '..'); copy the "
            "file into the folder. Only files inside the cohort folder are read"
        )
    return real


def resource_path(folder: Path, path: str, table: str) -> Path:
    """The file of a resource: a relative path inside ``folder``, as the Data Package spec
    requires (no absolute path, no ``..``, no URL, symlinks resolved and checked)."""
    shown = shorten(path)
    if not path.strip():
        raise CohortError(f"{folder}: the path of table {table} in datapackage.json is empty")
    if (
        "\x00" in path
        or path.startswith(("/", "\\", "~"))
        or re.match(r"^[A-Za-z]:", path)
        or "://" in path
        or ".." in re.split(r"[/\\]", path)
    ):
        raise CohortError(
            f"{folder}: the path {shown!r} of table {table} in datapackage.json is not a "
            "relative path inside the cohort folder (no absolute paths, '..' or URLs); copy "
            "the file into the folder and name it relative to it, e.g. \"pupils.csv\""
        )
    return _inside(folder, folder / path, f"the path {shown!r} of table {table}")


def _wanted_tables(tables: Iterable[str] | None) -> tuple[str, ...]:
    """The tables to read, in schema order: all when ``None``, always pupils and episodes."""
    if tables is None:
        return S.TABLES
    if isinstance(tables, str):  # "attendance" would otherwise be read letter by letter
        tables = [tables]
    asked = set(tables)
    unknown = sorted(asked - set(S.TABLES))
    if unknown:
        raise ValueError(f"tables: unknown table(s) {', '.join(map(repr, unknown))}; choose "
                         f"from {', '.join(S.TABLES)}")
    return tuple(t for t in S.TABLES if t in asked or t in S.REQUIRED_TABLES)


def _find_resources(folder: Path, dp: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Resources by table name: as listed in the datapackage, else found by file name."""
    found = {r["name"]: r for r in dp.get("resources", []) if "name" in r}
    for name in S.TABLES:
        if name in found:
            continue
        for suffix in SUFFIXES:
            if (folder / f"{name}{suffix}").exists():
                found[name] = {"name": name, "path": f"{name}{suffix}"}
                break
    return found


class _ReadWhenValidated(Mapping[str, RawTable]):
    """Table files read only when the validator asks for them, and not kept: each file's
    text lives only while its table is validated, so the peak memory of a load is that of
    the largest table, not of all of them at once."""

    def __init__(self, files: dict[str, tuple[Path, dict[str, Any]]]) -> None:
        self.files = files

    def __getitem__(self, name: str) -> RawTable:
        path, resource = self.files[name]
        return read_table(path, resource)

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)


@dataclass
class Cohort:
    """A loaded cohort: accepted rows per table, study metadata and the validation report.

    Attributes: ``pupils``, ``episodes`` (always present), ``interventions``, ``attendance``,
    ``process_events``, ``school_calendar`` (``None`` when the cohort has no such table, or
    when :meth:`load` was not asked for it: see ``not_loaded``);
    ``metadata`` (the datapackage's ``thuiszit`` section), ``report``, ``folder``.
    Dates are ``datetime64``; ``pupils`` carries one boolean ``need_<code>`` column per
    support need and the extra covariate columns the datapackage declares.
    """

    pupils: pd.DataFrame
    episodes: pd.DataFrame
    interventions: pd.DataFrame | None
    attendance: pd.DataFrame | None
    process_events: pd.DataFrame | None
    school_calendar: pd.DataFrame | None
    metadata: dict[str, Any]
    report: ValidationReport
    folder: Path | None = None
    #: the covariate columns the datapackage declares per table (``extra_fields``)
    extra_fields: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: tables left unread because :meth:`load` was asked for others (``tables=``); such a
    #: table is ``None`` whether or not the folder has it
    not_loaded: tuple[str, ...] = ()

    @classmethod
    def load(cls, folder: str | Path, tables: Iterable[str] | None = None) -> Cohort:
        """Read and validate a cohort folder (CSV, Parquet, Excel or SPSS files).

        ``tables`` names the tables to read (``None``: all six). ``pupils`` and ``episodes``
        are always read, since every other table is checked against them. A table not
        asked for is neither read nor validated, even when its file is broken; it is
        ``None`` on the cohort and listed in :attr:`not_loaded`. An analysis that needs only
        a few tables thus does not pay for millions of attendance rows.

        Example
        -------
        >>> from thuiszit_eval.schema import schema_dir
        >>> c = Cohort.load(schema_dir() / "example", tables=["interventions"])
        >>> c.attendance is None, c.not_loaded
        (True, ('attendance', 'process_events', 'school_calendar'))
        """
        folder = Path(folder)
        wanted = _wanted_tables(tables)
        dp = read_datapackage(folder)
        resources = _find_resources(folder, dp)
        files: dict[str, tuple[Path, dict[str, Any]]] = {}
        absent: list[tuple[str, str]] = []
        for name, res in resources.items():
            if name not in wanted:  # not a cohort table, or one not asked for: left unread
                continue
            path = resource_path(folder, res.get("path", f"{name}.csv"), name)
            if not path.exists():
                if name in S.REQUIRED_TABLES:
                    raise CohortError(
                        f"{shorten(res.get('path'))}: listed in datapackage.json for table "
                        f"{name} but not found in {folder}"
                    )
                absent.append((name, shorten(res.get("path"))))
                continue
            files[name] = (path, {**res, "name": name})
        extra = {r["name"]: r.get("extra_fields", []) for r in resources.values()}
        meta = {"cohort_name": str(dp.get("name", folder.name)), **dp["thuiszit"]}
        cohort = cls.from_raw(_ReadWhenValidated(files), meta, extra, folder)
        cohort.not_loaded = tuple(t for t in S.TABLES if t not in wanted)
        if absent:  # declared but not there: the analysis goes on without it, but says so
            missing = pd.DataFrame([dict(
                table=name, file=file, row=pd.NA, column="", value="", rule="missing_file",
                severity="warn", message=f"{file} is listed in datapackage.json for table "
                f"{name} but is not in the folder",
                hint="add the file, or remove the resource from datapackage.json",
            ) for name, file in absent]).astype({"row": "Int64"})
            cohort.report.problems = pd.concat(
                [cohort.report.problems, missing], ignore_index=True
            )
        return cohort

    @classmethod
    def from_raw(
        cls,
        raw: Mapping[str, RawTable],
        metadata: dict[str, Any],
        extra_fields: dict[str, list[dict[str, Any]]] | None = None,
        folder: Path | None = None,
    ) -> Cohort:
        """Validate tables already in memory (e.g. straight from the simulator).

        ``metadata`` is checked as in a datapackage (:func:`check_metadata`): a missing or
        unreadable ``follow_up_end`` raises :class:`CohortError`, it is never guessed.
        """
        metadata = check_metadata(metadata, str(folder or "metadata"))
        tables, report = validate_tables(raw, metadata, extra_fields)
        if tables["pupils"] is None or tables["episodes"] is None:
            missing = [t for t in S.REQUIRED_TABLES if tables[t] is None]
            raise CohortError(
                f"{folder or 'cohort'}: required table(s) {', '.join(missing)} not found; "
                "name the files pupils.csv and episodes.csv or list them in datapackage.json"
            )
        return cls(**tables, metadata=metadata, report=report, folder=folder,
                   extra_fields={k: list(v) for k, v in (extra_fields or {}).items() if v})

    @property
    def name(self) -> str:
        return str(self.metadata.get("cohort_name", "cohort"))

    @property
    def follow_up_end(self) -> pd.Timestamp:
        """Administrative censoring date: the data are complete up to this day."""
        return pd.Timestamp(self.metadata["follow_up_end"])

    def summary(self) -> str:
        """Counts per table and the validation summary."""
        return self.report.summary()

    def __repr__(self) -> str:
        return (
            f"Cohort({self.name!r}: {len(self.pupils)} pupils, {len(self.episodes)} episodes, "
            f"follow-up end {self.follow_up_end:%Y-%m-%d}, {self.report.n_rejected} rows "
            "rejected)"
        )
