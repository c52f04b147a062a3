"""The :class:`Cohort`: a validated cohort folder, ready for analysis.

A cohort is a folder with a ``datapackage.json`` (Frictionless Data Package) naming its
tables and carrying study metadata under the ``thuiszit`` key (cohort name, region, follow-up
end, whether ids are pseudonymised), plus one file per table. Loading reads every file,
validates it against ``data_schema/`` and keeps the accepted rows; the report lists every
rejected row. Bad rows never raise; an unreadable folder raises :class:`CohortError` with a
message that says what to do.

Example
-------
>>> from thuiszit_eval.cohort import Cohort
>>> from thuiszit_eval.schema import schema_dir
>>> cohort = Cohort.load(schema_dir() / "example")
>>> cohort.report.counts[["table", "rows_read", "rows_rejected"]].iloc[0].tolist()
['pupils', 12, 0]
>>> cohort.follow_up_end.year
2024
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import schema as S
from .reading import SUFFIXES, CohortError, RawTable, read_table
from .validation import ValidationReport, validate_tables

__all__ = ["Cohort", "CohortError", "read_datapackage"]


def read_datapackage(folder: Path) -> dict[str, Any]:
    """Read and check ``datapackage.json``; raise :class:`CohortError` with advice if absent."""
    path = folder / "datapackage.json"
    if not folder.is_dir():
        raise CohortError(f"{folder}: not a folder. A cohort is a folder with a datapackage.json")
    if not path.exists():
        raise CohortError(
            f"{path}: missing. Every cohort folder needs a datapackage.json with the follow-up "
            "end date; copy data_schema/example/datapackage.json and adapt it"
        )
    try:
        dp = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise CohortError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    meta = dp.get("thuiszit") or {}
    if "follow_up_end" not in meta:
        raise CohortError(
            f"{path}: no thuiszit.follow_up_end. State the date up to which the data are "
            'complete, e.g. "thuiszit": {"follow_up_end": "2024-07-31"}'
        )
    try:
        pd.Timestamp(meta["follow_up_end"])
    except ValueError as exc:
        raise CohortError(
            f"{path}: follow_up_end {meta['follow_up_end']!r} is not a date (YYYY-MM-DD)"
        ) from exc
    return dp


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


@dataclass
class Cohort:
    """A loaded cohort: accepted rows per table, study metadata and the validation report.

    Attributes: ``pupils``, ``episodes`` (always present), ``interventions``, ``attendance``,
    ``process_events``, ``school_calendar`` (``None`` when the cohort has no such table);
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

    @classmethod
    def load(cls, folder: str | Path) -> Cohort:
        """Read and validate a cohort folder (CSV, Parquet, Excel or SPSS files)."""
        folder = Path(folder)
        dp = read_datapackage(folder)
        resources = _find_resources(folder, dp)
        raw: dict[str, RawTable] = {}
        for name, res in resources.items():
            if name not in S.TABLES:
                continue
            path = folder / res.get("path", f"{name}.csv")
            if not path.exists():
                if name in S.REQUIRED_TABLES:
                    raise CohortError(
                        f"{path}: listed in datapackage.json for table {name} but not found"
                    )
                continue
            raw[name] = read_table(path, {**res, "name": name})
        extra = {r["name"]: r.get("extra_fields", []) for r in resources.values()}
        meta = {"cohort_name": dp.get("name", folder.name), **dp["thuiszit"]}
        return cls.from_raw(raw, meta, extra, folder)

    @classmethod
    def from_raw(
        cls,
        raw: dict[str, RawTable],
        metadata: dict[str, Any],
        extra_fields: dict[str, list[dict[str, Any]]] | None = None,
        folder: Path | None = None,
    ) -> Cohort:
        """Validate tables already in memory (e.g. straight from the simulator)."""
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
