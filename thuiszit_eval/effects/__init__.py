"""Comparing interventions: propensity scores, weights, balance, adjusted curves, bootstrap.

Point-treatment comparison at the intervention start (IPTW and standardisation) lives in
:mod:`.propensity`, :mod:`.adjusted` and :mod:`.bootstrap`; read the time-origin note in
:mod:`.adjusted` before interpreting its numbers. The target-trial emulation for a
time-varying start is in :mod:`.target_trial` and :mod:`.landmark`.

Names are imported lazily (PEP 562): a bootstrap worker that unpickles a replicate only
imports ``effects._fast`` and numpy, not pandas/statsmodels/lifelines (~4 s per worker).
Add new public names to ``_EXPORTS`` rather than importing submodules here.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "DEFAULT_COVARIATES": "adjusted",
    "IPTWSurvival": "adjusted",
    "StandardisedSurvival": "adjusted",
    "comparison_table": "adjusted",
    "default_covariates": "adjusted",
    "point_treatment_data": "adjusted",
    "weighted_aalen_johansen": "adjusted",
    "weighted_km": "adjusted",
    "bootstrap_intervals": "bootstrap",
    "cluster_bootstrap": "bootstrap",
    "adjusted_curve_plot": "plots",
    "love_plot": "plots",
    "overlap_plot": "plots",
    "PropensityModel": "propensity",
    "design_matrix": "propensity",
    "iptw_weights": "propensity",
    "smd_table": "propensity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
