"""Shared helpers: input checks and R's confidence-interval transforms."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

CONF_TYPES = ("log", "log-log", "plain", "logit")


def zval(conf_level: float) -> float:
    """Two-sided normal quantile, as ``qnorm(1 - (1 - conf.int)/2)`` in R."""
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, got {conf_level}")
    return float(stats.norm.ppf(1 - (1 - conf_level) / 2))


def conf_band(
    p: np.ndarray, se_log: np.ndarray, conf_type: str, conf_level: float, ulimit: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval for a probability ``p`` with standard error ``se_log`` of log(p).

    Mirrors ``survival:::survfit_confint(p, se, logse=TRUE, ...)``: "log" (R's default),
    "log-log", "plain" and "logit". Undefined limits (p = 0, or p = 1 for log-log) are NaN,
    as R's NA.
    """
    p = np.asarray(p, dtype=float)
    se = np.asarray(se_log, dtype=float)
    z = zval(conf_level)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se * p * z
            lo = np.maximum(p - se2, 0)
            hi = p + se2
            hi = np.minimum(hi, 1) if ulimit else hi
        elif conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            lo = np.exp(np.log(xx) - z * se)
            hi = np.exp(np.log(xx) + z * se)
            hi = np.minimum(hi, 1) if ulimit else hi
        elif conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            se2 = z * se / np.log(xx)
            lo = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            hi = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        elif conf_type == "logit":
            xx = np.where(p == 0, np.nan, p)
            se2 = z * se * (1 + xx / (1 - xx))
            lo = 1 - 1 / (1 + np.exp(np.log(p / (1 - p)) - se2))
            hi = 1 - 1 / (1 + np.exp(np.log(p / (1 - p)) + se2))
        else:
            raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    return lo, hi


def check_columns(data: pd.DataFrame, columns: Sequence[str | None]) -> None:
    """Raise a readable error when a named column is missing or has missing values."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for col in columns:
        if col is None:
            continue
        if col not in data.columns:
            raise KeyError(
                f"column {col!r} not found; the data has columns {list(data.columns)}"
            )
        n_na = int(data[col].isna().sum())
        if n_na:
            raise ValueError(
                f"column {col!r} has {n_na} missing value(s); drop or impute them first"
            )


def survival_arrays(
    data: pd.DataFrame, duration: str, event: str
) -> tuple[np.ndarray, np.ndarray]:
    """Durations as float and event codes as int, with the checks every estimator needs."""
    t = data[duration].to_numpy(dtype=float)
    if np.any(t < 0):
        bad = int(np.flatnonzero(t < 0)[0])
        raise ValueError(f"column {duration!r} has negative durations (first at row {bad})")
    ev = data[event].to_numpy()
    if not np.all(np.equal(np.mod(ev, 1), 0)) or np.any(ev < 0):
        raise ValueError(
            f"column {event!r} must hold integer codes: 0 = censored, 1 = event of interest, "
            "2, 3, ... = competing events"
        )
    return t, ev.astype(int)


def entry_array(data: pd.DataFrame, entry: str | None, duration: str,
                t: np.ndarray) -> np.ndarray:
    """Delayed-entry times (0 without ``entry``), checked to lie before the exit times.

    A pupil with entry time e is at risk on (e, duration], as R's ``Surv(entry, time,
    status)``: left truncation of a prevalent cohort.
    """
    if entry is None:
        return np.zeros(len(t))
    e = data[entry].to_numpy(dtype=float)
    if np.any(e < 0):
        bad = int(np.flatnonzero(e < 0)[0])
        raise ValueError(f"column {entry!r} has negative entry times (first at row {bad})")
    if np.any(e >= t):
        bad = int(np.flatnonzero(e >= t)[0])
        raise ValueError(f"column {entry!r} must be before {duration!r}: entry {e[bad]:g} >= "
                         f"exit {t[bad]:g} at row {bad}")
    return e


def weight_array(data: pd.DataFrame, weights: str | None) -> np.ndarray:
    """Case weights (1 without ``weights``); they must be finite and non-negative."""
    if weights is None:
        return np.ones(len(data))
    w = data[weights].to_numpy(dtype=float)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        bad = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
        raise ValueError(f"column {weights!r} must hold finite weights >= 0 (row {bad}: "
                         f"{w[bad]})")
    return w
