"""The demo cohort, and the cohort shared by the notebooks of one report run.

Notebooks take a ``cohort_folder`` parameter; left empty, they run on the simulated demo
cohort. Only this module (with the command line, study planning and the tests) reaches
into the simulator: estimation, outcome and report code never does, so an analysis cannot
silently lean on the simulator's field names, dates or truth.

:func:`load_cohort` is how a notebook loads its cohort. Under a report run
(:func:`shared_cohort`, used by :func:`thuiszit_eval.report.build_report`) every notebook
kernel unpickles the cohort the report loaded and validated once, instead of reading and
validating every file again; the pickle is keyed by the folder's files (path, size,
modification time), so a changed file is read afresh, never served stale. The pickle lives
in a private temporary folder inside the report's own output folder and is removed when the
run ends.

Example
-------
>>> from pathlib import Path
>>> cohort_or_demo("data_schema/example") == Path("data_schema/example")
True
>>> load_cohort("data_schema/example").name
'example-cohort'
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cohort import Cohort

__all__ = ["cohort_or_demo", "load_cohort", "shared_cohort", "folder_key", "CACHE_ENV"]

#: Environment variable naming the pickled cohort of the current report run (set by the
#: report for its notebook kernels; absent otherwise).
CACHE_ENV = "THUISZIT_EVAL_COHORT_CACHE"


def cohort_or_demo(cohort_folder: str | Path | None) -> Path:
    """``cohort_folder`` as a path, or the demo cohort (simulated on first use) when empty."""
    if cohort_folder:
        return Path(cohort_folder)
    from .simulate import demo_cohort_path

    return demo_cohort_path()


def folder_key(folder: str | Path) -> str:
    """A fingerprint of a cohort folder: its resolved path and every file's relative path,
    size and modification time (ns). Any change to a file changes the key.

    >>> folder_key("data_schema/example") == folder_key(Path("data_schema/example"))
    True
    """
    root = Path(folder).resolve()
    files = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st = p.stat()
            files.append([p.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns])
    blob = json.dumps([str(root), files]).encode()
    return hashlib.sha256(blob).hexdigest()


def load_cohort(cohort_folder: str | Path | None, default: str | Path | None = None
                ) -> Cohort:
    """The cohort in ``cohort_folder`` (empty: ``default``, else the demo cohort), loaded
    and validated — or, inside a report run, unpickled from the run's shared copy when that
    copy was made from exactly these files.

    >>> load_cohort("", default="data_schema/example").name
    'example-cohort'
    """
    from .cohort import Cohort

    folder = Path(cohort_folder) if cohort_folder else (
        Path(default) if default else cohort_or_demo(""))
    cached = _cached(folder)
    return cached if cached is not None else Cohort.load(folder)


def _cached(folder: Path) -> Cohort | None:
    """The run's shared cohort if it was made from ``folder`` as it is now, else None."""
    path = os.environ.get(CACHE_ENV)
    if not path or not Path(path).is_file() or not folder.is_dir():
        return None
    try:
        with open(path, "rb") as f:
            key, cohort = pickle.load(f)  # noqa: S301 - our own file, in a private folder
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError,
            AttributeError, ImportError):
        return None  # unreadable: load from the files instead
    return cohort if key == folder_key(folder) else None


@contextmanager
def shared_cohort(cohort: Cohort, key: str, where: str | Path) -> Iterator[dict[str, str]]:
    """Pickle ``cohort`` (loaded from the files ``key`` fingerprints, see
    :func:`folder_key`) into a private temporary folder under ``where`` for the length of
    the block; yields the environment the notebook kernels need to find it. The folder is
    removed afterwards, so no copy of pupil data outlives the run.

    >>> from thuiszit_eval.cohort import Cohort
    >>> c = Cohort.load("data_schema/example")
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:
    ...     with shared_cohort(c, folder_key("data_schema/example"), out) as env:
    ...         CACHE_ENV in env
    True
    """
    where = Path(where)
    where.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".cohort-cache-", dir=where))  # mode 0700
    try:
        path = tmp / "cohort.pickle"
        with open(path, "wb") as f:
            pickle.dump((key, cohort), f, protocol=pickle.HIGHEST_PROTOCOL)
        yield {CACHE_ENV: str(path)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
