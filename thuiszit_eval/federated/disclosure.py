"""What may leave a region: aggregates whose every count is 0 or at least ``min_cell``.

Every partial function builds its message, then calls :func:`check_message` before
returning it; a message that fails is never returned (the partial function returns a
refusal that says why, with no numbers). The same checker is what the tests run on every
message a partial function returns.

Rules
-----
* A message is JSON: dicts, lists, numbers, short strings. Tables are
  ``{"columns": [...], "rows": [[...], ...], "counts": [count columns], "keys": [...]}``.
* Every value in a count column (and every scalar listed under ``"count_fields"``) is 0 or
  at least ``min_cell``. A zero is allowed: in a table by time bin, "no return this week" is
  structural, and forbidding zeros would forbid every time table.
* No key or string value names a pupil, episode or school identifier; the rows of a table are
  unique on its ``keys`` (time bin, group, cause, rule), never on a person.
* Sums over persons (a Cox score, an information matrix, risk-set sums) are allowed only
  when the count of persons they sum over (given in the message) obeys the rule.

Example
-------
>>> msg = {"counts_table": {"columns": ["time", "n"], "rows": [[7.0, 12], [14.0, 0]],
...                         "counts": ["n"], "keys": ["time"]}}
>>> check_message(msg, min_cell=10)
[]
>>> check_message({"n_risk_total": 3, "count_fields": ["n_risk_total"]}, min_cell=10)
['n_risk_total = 3 is below the minimum cell size 10']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

#: Width (days) of the bins a coarsened time axis starts from, before bins are merged.
START_BIN = 7.0
#: Column / key names that would carry a person or school: never allowed in a message.
ID_NAMES = ("pupil_id", "episode_id", "school_id", "id", "bsn", "birth_month")


class DisclosureError(ValueError):
    """A message would let a small cell or a person-level value leave the region."""


def coarsen(times: np.ndarray, grid: float | Sequence[float] | None) -> np.ndarray:
    """Move durations *up* to the end of their time bin (``None``: unchanged).

    ``grid`` is a bin width in days (bins (0, w], (w, 2w], ...) or the sorted bin
    boundaries ``[0, b1, b2, ..., horizon]`` (bins (0, b1], (b1, b2], ...). An event on day
    9 with a weekly grid is placed at day 14, the end of its week, so the at-risk count of a
    bin is that at its start: the usual grouped-time life table. Zero stays zero.

    >>> coarsen(np.array([0.5, 7.0, 9.0]), 7.0).tolist()
    [7.0, 7.0, 14.0]
    >>> coarsen(np.array([0.0, 3.0, 30.0]), [0, 7, 28, 91]).tolist()
    [0.0, 7.0, 91.0]
    """
    t = np.asarray(times, dtype=float)
    if grid is None:
        return t
    if isinstance(grid, (list, tuple, np.ndarray)):
        b = np.asarray(grid, dtype=float)
        if b[0] != 0 or np.any(np.diff(b) <= 0):
            raise ValueError("bin boundaries must start at 0 and increase")
        i = np.searchsorted(b, t, side="left")
        if np.any(i >= len(b)):
            raise ValueError(f"a duration exceeds the last bin boundary {b[-1]:g}")
        return b[i]
    if not grid > 0:
        raise ValueError(f"grid must be a positive number of days or None, got {grid!r}")
    return np.ceil(t / grid - 1e-9) * grid


def small(values: Iterable[float], min_cell: int) -> list[float]:
    """The values that break the rule (strictly between 0 and ``min_cell``)."""
    return [v for v in values if v is not None and 0 < abs(float(v)) < min_cell]


def _walk(obj: Any, path: str = ""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield f"{path}.{k}" if path else str(k), k, v
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")


def check_message(msg: Any, min_cell: int, identifiers: Iterable[str] = ()) -> list[str]:
    """Problems that make ``msg`` unfit to leave the region (empty list = fit).

    ``identifiers``: the region's pupil, episode and school ids; any string in the
    message equal to one of them is a problem.
    """
    problems: list[str] = []
    ids = {str(i) for i in identifiers}
    try:
        import json
        json.dumps(msg, allow_nan=False)
    except (TypeError, ValueError) as exc:
        problems.append(f"not plain JSON ({exc})")
    for where, key, value in _walk(msg):
        if str(key).lower() in ID_NAMES:
            problems.append(f"{where}: identifier field {key!r}")
        if isinstance(value, str) and value in ids:
            problems.append(f"{where}: holds an identifier value")
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{where}: not a finite number")
        if isinstance(value, dict) and "columns" in value and "rows" in value:
            problems += _check_table(where, value, min_cell, ids)
        if isinstance(value, dict) and "count_fields" in value:
            problems += _check_fields(value, min_cell)
    if isinstance(msg, dict) and "count_fields" in msg:
        problems += _check_fields(msg, min_cell)
    return problems


def _check_fields(d: dict, min_cell: int) -> list[str]:
    out = []
    for f in d["count_fields"]:
        v = d.get(f)
        vals = v if isinstance(v, list) else [v]
        for x in small(vals, min_cell):
            out.append(f"{f} = {x:g} is below the minimum cell size {min_cell}")
    return out


def _check_table(where: str, tab: dict, min_cell: int, ids: set[str]) -> list[str]:
    out = []
    cols = list(tab["columns"])
    for c in cols:
        if str(c).lower() in ID_NAMES:
            out.append(f"{where}: identifier column {c!r}")
    keys = [cols.index(k) for k in tab.get("keys", []) if k in cols]
    seen = set()
    for r in tab["rows"]:
        k = tuple(r[i] for i in keys)
        if keys and k in seen:
            out.append(f"{where}: rows not unique on {tab.get('keys')}")
            break
        seen.add(k)
    for c in tab.get("counts", []):
        j = cols.index(c)
        bad = small([r[j] for r in tab["rows"]], min_cell)
        if bad:
            out.append(f"{where}: column {c!r} has {len(bad)} count(s) between 0 and "
                       f"{min_cell}")
    for r in tab["rows"]:
        for v in r:
            if isinstance(v, str) and v in ids:
                out.append(f"{where}: a row holds an identifier value")
                return out
    return out


def ensure_safe(msg: dict, min_cell: int, identifiers: Iterable[str] = ()) -> dict:
    """Return ``msg`` if :func:`check_message` finds nothing, else raise DisclosureError."""
    problems = check_message(msg, min_cell, identifiers)
    if problems:
        raise DisclosureError("; ".join(problems[:5]))
    return msg


def table(frame, counts: Iterable[str], keys: Iterable[str]) -> dict:
    """A DataFrame as a JSON table with its count and key columns declared."""
    rows = [[_plain(v) for v in r] for r in frame.itertuples(index=False, name=None)]
    return {"columns": [str(c) for c in frame.columns], "rows": rows,
            "counts": list(counts), "keys": list(keys)}


def _plain(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def from_table(tab: dict):
    """The inverse of :func:`table`: a DataFrame."""
    import pandas as pd
    return pd.DataFrame(tab["rows"], columns=tab["columns"])
