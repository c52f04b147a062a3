"""Region-side data preparation, shared by the partial functions and the pooled reference.

Everything a partial function computes starts from these functions, and the single-machine
reference of the tests and the demo applies the *same* functions to the pooled cohort, so
"federated equals pooled" compares like with like (the same definition, horizon, time grid
and covariate coding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..outcomes import OutcomeDefinition, counting_process, survival_table
from ..regression import DEFAULT_COVARIATES, _intervention_codes, add_derived_covariates
from .disclosure import coarsen

#: Default outcome for the federated analysis: the package default, censored at one year so
#: that every region's tail is the same length (a shared horizon keeps the last at-risk
#: counts of every region at or above the minimum cell size).
DEFAULT_DEFINITION: dict[str, Any] = {"horizon_days": 365}
#: Column that names the region in a pooled table.
REGION = "region"


def definition_from(spec: Mapping[str, Any] | OutcomeDefinition | None) -> OutcomeDefinition:
    """An :class:`OutcomeDefinition` from its JSON form (a dict of its fields)."""
    if isinstance(spec, OutcomeDefinition):
        return spec
    spec = dict(DEFAULT_DEFINITION if spec is None else spec)
    if "competing" in spec:
        spec["competing"] = tuple(spec["competing"])
    return OutcomeDefinition(**spec)


def definition_spec(d: OutcomeDefinition) -> dict[str, Any]:
    """The JSON form of an :class:`OutcomeDefinition` (for a task input)."""
    out = {k: getattr(d, k) for k in d.__dataclass_fields__}
    out["competing"] = list(out["competing"])
    return out


def region_name(cohort) -> str:
    """The region's label: the datapackage's ``thuiszit.region``, else the cohort name."""
    return str(cohort.metadata.get("region") or cohort.name)


def survival_rows(cohort, definition: Mapping[str, Any] | OutcomeDefinition | None = None,
                  group: str | None = None, grid: float | Sequence[float] | None = None,
                  collapse: str = "none") -> pd.DataFrame:
    """duration (coarsened to ``grid``), event code and group label of every episode.

    ``collapse``: ``"competing"`` = all competing causes as one code 2 ("left for another
    reason"): the cumulative incidence of return and its variance depend on the competing
    events only through their total, so this changes neither while it keeps rare causes
    (moved, aged out) from being small cells. ``"censor"`` = competing causes as censored
    (0): Kaplan–Meier of return and the log-rank test treat them so anyway, and the
    combined "left follow-up" counts are larger still. ``"none"``: codes unchanged.

    Example
    -------
    >>> from thuiszit_eval.cohort import Cohort
    >>> from thuiszit_eval.schema import schema_dir
    >>> rows = survival_rows(Cohort.load(schema_dir() / "example"), grid=7.0)
    >>> sorted(rows.columns), bool((rows["duration"] % 7 == 0).all())
    (['duration', 'event', 'group'], True)
    """
    d = definition_from(definition)
    st = survival_table(cohort, d, group="intervention" if group == "intervention" else None)
    st = add_derived_covariates(st.data)  # so a derived covariate (female, ...) can group
    if group is not None and group not in st:
        raise ValueError(f"group {group!r}: not a covariate of the survival table")
    lab = (st[group].astype(object).where(st[group].notna(), "missing").astype(str)
           if group else pd.Series("all", index=st.index))
    ev = st["event"].to_numpy(int)
    return pd.DataFrame({"duration": coarsen(st["duration"].to_numpy(float), grid),
                         "event": _collapse(ev, collapse),
                         "group": lab.to_numpy()})


def _collapse(ev: np.ndarray, how: str) -> np.ndarray:
    if how == "competing":
        return np.minimum(ev, 2)
    if how == "censor":
        return np.where(ev >= 2, 0, ev)
    if how == "none":
        return ev
    raise ValueError(f"collapse must be 'none', 'competing' or 'censor', got {how!r}")


def survival_counts(rows: pd.DataFrame, n_causes: int) -> pd.DataFrame:
    """Per group and distinct time: n_risk (just before), n_censor, n_event_1..n_event_K.

    These per-time counts are all that Kaplan–Meier, Aalen–Johansen and the log-rank test
    use of the data.
    """
    ev_cols = [f"n_event_{k}" for k in range(1, n_causes + 1)]
    parts = []
    for g, r in rows.groupby("group", sort=True):
        t = r["duration"].to_numpy(float)
        e = r["event"].to_numpy(int)
        times, idx = np.unique(t, return_inverse=True)
        out = {"group": g, "time": times}
        exits = np.bincount(idx, minlength=len(times))
        out["n_risk"] = exits[::-1].cumsum()[::-1]
        out["n_censor"] = np.bincount(idx, weights=(e == 0), minlength=len(times)).astype(int)
        for k, c in enumerate(ev_cols, start=1):
            out[c] = np.bincount(idx, weights=(e == k), minlength=len(times)).astype(int)
        parts.append(pd.DataFrame(out))
    if not parts:
        return pd.DataFrame(columns=["group", "time", "n_risk", "n_censor", *ev_cols])
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------- Cox design
def model_frame(cohort, definition: Mapping[str, Any] | OutcomeDefinition | None = None
                ) -> pd.DataFrame:
    """Counting-process rows with the derived covariates (as the toolkit's Cox models)."""
    d = definition_from(definition)
    return add_derived_covariates(counting_process(cohort, d))


def covariate_kinds(frame: pd.DataFrame, covariates: Sequence[str]) -> dict[str, str]:
    """``numeric`` or ``categorical`` per covariate present in ``frame``."""
    from ..regression import _is_categorical
    return {c: "categorical" if _is_categorical(frame[c]) else "numeric"
            for c in covariates if c in frame.columns}


def default_covariates(frame: pd.DataFrame) -> list[str]:
    """The toolkit's default Cox covariates present (and not all missing) in ``frame``."""
    return [c for c in DEFAULT_COVARIATES if c in frame.columns and frame[c].notna().any()]


def exposures_of(cohort) -> list[str]:
    """Intervention codes with a start date: the time-varying exposures of the model."""
    return _intervention_codes(cohort)


def design(frame: pd.DataFrame, spec: Mapping[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    """Model matrix with the columns the central spec fixes, and the rows kept.

    ``spec``: ``{"terms": [...], "exposures": [codes], "covariates": [{"name", "kind",
    "reference", "levels"}]}``. Categorical: a 0/1 column ``name=level`` per non-reference
    level (missing is the level ``"missing"``), also where the region lacks that level;
    numeric and boolean: as float. Exposures absent from the region are all 0. Rows with a
    missing numeric value are dropped (as :func:`~thuiszit_eval.regression.design_matrix`
    and the toolkit's model frame do).
    """
    cols: dict[str, np.ndarray] = {}
    for code in spec.get("exposures", []):
        cols[code] = (frame[code].to_numpy(float) if code in frame
                      else np.zeros(len(frame)))
    for cov in spec.get("covariates", []):
        name = cov["name"]
        s = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
        if cov["kind"] == "categorical":
            v = s.astype(object).where(s.notna(), "missing").astype(str).to_numpy()
            for lv in cov["levels"]:
                if lv != cov["reference"]:
                    cols[f"{name}={lv}"] = (v == lv).astype(float)
        elif pd.api.types.is_bool_dtype(s):
            cols[name] = s.astype("boolean").astype("Float64").astype(float).to_numpy()
        else:
            cols[name] = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
    X = pd.DataFrame(cols, index=frame.index)[list(spec["terms"])]
    keep = X.notna().all(axis=1).to_numpy()
    return X[keep], keep


def cox_arrays(frame: pd.DataFrame, spec: Mapping[str, Any],
               grid: float | Sequence[float] | None = None
               ) -> dict[str, np.ndarray]:
    """start, stop, event, x and pupil of the model rows, on the time ``grid``.

    With a grid, start and stop are rounded up to it; the rows of an episode that fall in
    the same bin are merged (event: any; covariates: those at the start of the bin, so an
    exposure that starts mid-bin counts from the next bin), zero-length rows dropped.
    """
    X, keep = design(frame, spec)
    f = frame[keep]
    start = f["start"].to_numpy(float)
    stop = f["stop"].to_numpy(float)
    event = f["event"].to_numpy(int)
    x = X.to_numpy(float)
    pupil = f["pupil_id"].astype(str).to_numpy()
    if grid is not None:
        cs, ce = coarsen(start, grid), coarsen(stop, grid)
        ep = f["episode_id"].astype(str).to_numpy()
        g = pd.DataFrame({"ep": ep, "stop": ce, "start": cs, "event": event,
                          "o": np.arange(len(ep))})
        g = g.sort_values(["ep", "stop", "o"], kind="stable")
        agg = g.groupby(["ep", "stop"], sort=False).agg(
            start=("start", "min"), event=("event", "max"), first=("o", "first")
        ).reset_index()
        agg = agg[agg["stop"] > agg["start"]]
        idx = agg["first"].to_numpy()
        start, stop = agg["start"].to_numpy(float), agg["stop"].to_numpy(float)
        event, x, pupil = agg["event"].to_numpy(int), x[idx], pupil[idx]
    return {"start": start, "stop": stop, "event": event, "x": x, "pupil": pupil}


def _bin_of(times: np.ndarray, boundaries: Sequence[float]) -> np.ndarray:
    """Index i of the bin (b[i], b[i+1]] whose end is ``times`` (times are bin ends)."""
    return np.searchsorted(np.asarray(boundaries, float), times, side="left") - 1


def survival_bin_failures(rows: pd.DataFrame, boundaries: Sequence[float], min_cell: int
                          ) -> tuple[list[int], list[int]]:
    """Bins whose exits (``flow``) or at-risk count at the bin start (``stock``) are
    between 0 and ``min_cell`` in some group; ``rows`` already coarsened to ``boundaries``.
    """
    n_causes = int(max(rows["event"].max(), 1)) if len(rows) else 1
    c = survival_counts(rows, n_causes)
    flows = [x for x in c.columns if x.startswith("n_") and x != "n_risk"]
    bins = _bin_of(c["time"].to_numpy(float), boundaries)
    bad_flow = np.zeros(len(c), dtype=bool)
    for x in flows:
        v = c[x].to_numpy()
        bad_flow |= (v > 0) & (v < min_cell)
    v = c["n_risk"].to_numpy()
    bad_stock = (v > 0) & (v < min_cell)
    return sorted(set(bins[bad_flow].tolist())), sorted(set(bins[bad_stock].tolist()))


def cox_bin_counts(a: Mapping[str, np.ndarray], times: Sequence[float]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Rows at risk (start < t <= stop) and returns at each of ``times``."""
    t = np.asarray(times, float)
    ss, sa = np.sort(a["stop"]), np.sort(a["start"])
    n_risk = (len(ss) - np.searchsorted(ss, t, "left")) - (len(sa) - np.searchsorted(sa, t,
                                                                                      "left"))
    ev_t = a["stop"][a["event"] == 1]
    i = np.searchsorted(t, ev_t)
    ok = (i < len(t)) & (t[np.minimum(i, len(t) - 1)] == ev_t)
    d = np.bincount(i[ok], minlength=len(t))
    return n_risk, d


def cox_bin_failures(a: Mapping[str, np.ndarray], boundaries: Sequence[float], min_cell: int
                     ) -> tuple[list[int], list[int]]:
    """As :func:`survival_bin_failures` for the Cox rows (returns and rows at risk at
    each bin end)."""
    n_risk, d = cox_bin_counts(a, np.asarray(boundaries, float)[1:])
    idx = np.arange(len(d))
    flow = idx[(d > 0) & (d < min_cell)]
    stock = idx[(n_risk > 0) & (n_risk < min_cell)]
    return sorted(flow.tolist()), sorted(stock.tolist())


def merge_bins(boundaries: Sequence[float], flow_fail: Sequence[int],
               stock_fail: Sequence[int]) -> list[float] | None:
    """Boundaries with the first failing bin merged into a neighbour (None: nothing left).

    A bin with small exits loses its end boundary (merged with the next bin; the last bin
    with the previous one); a bin with a small at-risk count loses its start boundary
    (merged with the previous bin, which starts with more at risk). One merge per round,
    from the left: merging every failing bin at once doubles all bins each round and
    overshoots to a needlessly coarse axis.

    >>> merge_bins([0, 7, 14, 21, 28], flow_fail=[1, 3], stock_fail=[2])
    [0, 7, 21, 28]
    """
    b = list(boundaries)
    last = len(b) - 2
    wanted = sorted({(i + 1 if i < last else i) for i in flow_fail} | set(stock_fail))
    wanted = [j for j in wanted if j not in (0, len(b) - 1)]
    if not wanted:
        return None
    return [x for j, x in enumerate(b) if j != wanted[0]]


def start_boundaries(width: float, horizon: float) -> list[float]:
    """[0, w, 2w, ..., horizon]: the partition the merging starts from."""
    b = np.arange(0.0, float(horizon), float(width)).tolist()
    return [*b, float(horizon)]
