"""The vantage6 conventions this package follows, and a stand-in when vantage6 is absent.

vantage6 runs an algorithm image whose module exposes *partial* functions (run at each
data station on its own data) and *central* functions (run once; they create partial tasks
through an ``AlgorithmClient`` and combine the results). The tools mark them with two
decorators: ``@algorithm_client`` (the function's first argument is the client) and
``@data(n)`` (the first arguments are the node's data). Results travel as JSON.

Why a stand-in: every ``vantage6-algorithm-tools`` release that installs on Python 3.11
(4.x and the 5.0 alphas) pins ``click==8.1.3`` and ``python-dateutil==2.8.2``, which conflict
with this project's ``requirements.lock``, and 5.0.x needs Python ≥ 3.13. So:

* :func:`algorithm_client` uses the real decorator when vantage6 is importable (in the
  algorithm image, see ``docker/Dockerfile``), else a decorator with the same calling
  convention (``mock_client=`` as vantage6's MockAlgorithmClient passes it).
* :func:`cohort_data` is this package's own data decorator: vantage6 loads CSV, Excel,
  Parquet and SQL sources into one DataFrame, but a cohort is a *folder* of tables
  (``datapackage.json`` + files). In a node it reads the folder path from the node's
  database URI (``<LABEL>_DATABASE_URI``); under a mock client it takes the dataset (a
  path, or a one-row DataFrame with a ``cohort_folder`` column so vantage6's own
  MockAlgorithmClient can carry it).
* :class:`MockAlgorithmClient` mirrors vantage6 4.x's ``MockAlgorithmClient`` (the same
  constructor, ``task.create``, ``wait_for_results``, ``result.from_task``,
  ``organization.list`` and JSON round trip of every result) so the central functions run
  unchanged; :func:`mock_client` prefers vantage6's own class when it is installed.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from copy import copy
from importlib import import_module
from pathlib import Path
from typing import Any

import pandas as pd

try:  # the real tools, inside the algorithm image
    from vantage6.algorithm.tools.decorators import algorithm_client as _v6_algorithm_client
    from vantage6.algorithm.tools.mock_client import MockAlgorithmClient as _V6Mock
except ImportError:  # pragma: no cover - depends on the environment
    _v6_algorithm_client = None
    _V6Mock = None

HAVE_VANTAGE6 = _V6Mock is not None


def algorithm_client(func: Callable) -> Callable:
    """Mark a central function: its first argument is the (mock) algorithm client."""
    if _v6_algorithm_client is not None:
        return _v6_algorithm_client(func)

    @functools.wraps(func)
    def wrapper(*args: Any, mock_client: Any = None, **kwargs: Any) -> Any:
        if mock_client is None:
            raise RuntimeError(
                f"{func.__name__} is a central function: it runs inside a vantage6 node "
                "(install thuiszit-eval[federated] in the algorithm image) or under a "
                "MockAlgorithmClient; call it as client.task.create(...)")
        return func(mock_client, *args, **kwargs)

    wrapper.wrapped_in_algorithm_client_decorator = True
    return wrapper


@functools.lru_cache(maxsize=64)
def _load_cohort(folder: str, stamp: float):
    from ..cohort import Cohort
    return Cohort.load(folder)


def _folder_of(source: Any) -> str:
    if isinstance(source, pd.DataFrame):
        if "cohort_folder" not in source.columns or len(source) != 1:
            raise ValueError("a mock dataset DataFrame must have one row with the column "
                             "cohort_folder (the path of the region's cohort folder)")
        return str(source["cohort_folder"].iloc[0])
    if isinstance(source, dict):
        return str(source["database"])
    return str(source)


def load_region_cohort(source: Any):
    """The region's :class:`~thuiszit_eval.cohort.Cohort` (cached per folder and mtime)."""
    from ..cohort import Cohort
    if isinstance(source, Cohort):
        return source
    folder = _folder_of(source)
    dp = Path(folder) / "datapackage.json"
    stamp = dp.stat().st_mtime if dp.exists() else 0.0
    return _load_cohort(folder, stamp)


def cohort_data(func: Callable) -> Callable:
    """Mark a partial function: its first argument is the region's cohort.

    In a node the cohort folder is the database the researcher named (vantage6 sets
    ``USER_REQUESTED_DATABASE_LABELS`` and ``<LABEL>_DATABASE_URI``).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, mock_data: Sequence[Any] | None = None, **kwargs: Any) -> Any:
        if mock_data is not None:
            source = mock_data[0]
        else:
            label = os.environ.get("USER_REQUESTED_DATABASE_LABELS", "default").split(",")[0]
            key = f"{label.upper()}_DATABASE_URI"
            if key not in os.environ:
                raise RuntimeError(f"{func.__name__}: no {key} in the environment; the node's "
                                   f"configuration must have a database labelled {label!r}")
            source = os.environ[key]
        return func(load_region_cohort(source), *args, **kwargs)

    wrapper.wrapped_in_data_decorator = True
    return wrapper


class MockAlgorithmClient:
    """Stand-in for ``vantage6.algorithm.tools.mock_client.MockAlgorithmClient`` (4.x).

    Runs every task synchronously in this process, one call per organization, and keeps
    what a server would see: ``tasks``, ``runs`` (with the JSON input) and ``results``
    (the JSON text each run returned).

    Example
    -------
    >>> client = MockAlgorithmClient([[{"database": "a"}], [{"database": "b"}]],
    ...                              module="thuiszit_eval.federated")
    >>> [o["id"] for o in client.organization.list()]
    [0, 1]
    """

    def __init__(self, datasets: list[list[dict]], module: str,
                 collaboration_id: int | None = None,
                 organization_ids: list[int] | None = None,
                 node_ids: list[int] | None = None) -> None:
        self.n = len(datasets)
        ids = organization_ids if organization_ids and len(organization_ids) == self.n \
            else list(range(self.n))
        self.all_organization_ids = list(ids)
        self.organization_id = ids[0]
        self.all_node_ids = node_ids if node_ids and len(node_ids) == self.n else list(ids)
        self.node_id = self.all_node_ids[0]
        self.datasets_per_org = {org: [d.get("database") for d in ds]
                                 for org, ds in zip(ids, datasets, strict=True)}
        self.organizations_with_data = list(ids)
        self.collaboration_id = collaboration_id or 1
        self.module_name = module
        self.tasks: list[dict] = []
        self.runs: list[dict] = []
        self.results: list[dict] = []
        self.task = self._Task(self)
        self.result = self._Result(self)
        self.organization = self._Organization(self)

    def wait_for_results(self, task_id: int, interval: float = 1) -> list:
        return self.result.from_task(task_id)

    class _Task:
        def __init__(self, parent: MockAlgorithmClient) -> None:
            self.parent = parent

        def create(self, input_: dict, organizations: list[int], name: str = "mock",
                   description: str = "mock") -> dict:
            if not organizations:
                raise ValueError("No organization ids provided. Cannot create a task for "
                                 "zero organizations.")
            p = self.parent
            method = getattr(import_module(p.module_name), input_["method"])
            args, kwargs = input_.get("args", []), input_.get("kwargs", {})
            task_id = len(p.tasks) + 1
            task = {"id": task_id, "name": name, "description": description,
                    "status": "completed"}
            p.tasks.append(task)  # reserved first: the tasks a central run creates come later
            for org in organizations:
                extra: dict[str, Any] = {}
                if getattr(method, "wrapped_in_algorithm_client_decorator", False):
                    child = copy(p)  # shares the task/result lists, as a server would
                    child.organization_id = org
                    extra["mock_client"] = child
                if getattr(method, "wrapped_in_data_decorator", False):
                    extra["mock_data"] = list(p.datasets_per_org[org])
                out = method(*args, **kwargs, **extra)
                rid = len(p.results) + 1
                p.results.append({"id": rid, "result": json.dumps(out),
                                  "task": {"id": task_id}})
                p.runs.append({"id": rid, "input": json.dumps(input_),
                               "organization": {"id": org}, "task": {"id": task_id},
                               "status": "completed"})
            return task

    class _Result:
        def __init__(self, parent: MockAlgorithmClient) -> None:
            self.parent = parent

        def from_task(self, task_id: int) -> list:
            return [json.loads(r["result"]) for r in self.parent.results
                    if r["task"]["id"] == task_id]

    class _Organization:
        def __init__(self, parent: MockAlgorithmClient) -> None:
            self.parent = parent

        def list(self) -> list[dict]:
            return [{"id": i, "name": f"mock-{i}"} for i in self.parent.all_organization_ids]


def mock_client(folders: Sequence[str | Path], module: str = "thuiszit_eval.federated"):
    """A mock federation with one organization per cohort folder.

    Uses vantage6's own MockAlgorithmClient when ``vantage6-algorithm-tools`` is installed,
    else :class:`MockAlgorithmClient`. Each dataset is a one-row DataFrame holding the
    folder path, which both classes pass through to :func:`cohort_data` unchanged.
    """
    datasets = [[{"database": pd.DataFrame({"cohort_folder": [str(f)]}), "db_type": "folder"}]
                for f in folders]
    cls = _V6Mock if _V6Mock is not None else MockAlgorithmClient
    return cls(datasets=datasets, module=module)


def partial_messages(client: Any) -> list[dict]:
    """Every result a partial function returned under ``client``: method, organization and
    the decoded message, in order (what the server would have stored)."""
    runs = {r["id"]: r for r in client.runs}
    out = []
    for res in client.results:
        run = runs.get(res["id"], {})
        method = json.loads(run.get("input", "{}")).get("method", "")
        if method.startswith("partial_"):
            out.append({"method": method, "organization": run.get("organization", {}).get("id"),
                        "message": json.loads(res["result"])})
    return out
