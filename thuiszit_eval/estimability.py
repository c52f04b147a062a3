"""What a cohort must hold before an estimate is made, and the words when it does not.

Every estimator states its minimum here, as a named constant, and raises
:class:`NotEstimable` below it. The exception carries a message key and its numbers, so a
notebook or report can say *in the reader's language* why the estimate is not shown —
never a nan, an empty interval or a traceback.

Minimums (documented in the README)
-----------------------------------
* :data:`MIN_EVENTS_PER_TERM` = 10 returns per model term for a Cox model (the usual
  events-per-variable rule; fewer gives unstable, overfitted hazard ratios).
* :data:`MIN_EVENTS_PER_ARM` = 10 returns in each compared group (propensity-weighted
  curves, target-trial arms, landmark groups).
* :data:`MIN_PER_ARM` = 20 episodes in each compared group (a propensity or censoring
  model on fewer is not a model).
* :data:`MIN_CLUSTERS` = 3 regions for a region-clustered variance.

Example
-------
>>> try:
...     require_events(12, n_terms=5, what="cox")
... except NotEstimable as exc:
...     print(exc.text("en").split(": ")[1])
it has 5 terms and needs at least 50 returns (10 per term); this cohort has 12.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from . import messages

__all__ = [
    "MIN_EVENTS_PER_TERM",
    "MIN_EVENTS_PER_ARM",
    "MIN_PER_ARM",
    "MIN_CLUSTERS",
    "NotEstimable",
    "NotApplicable",
    "require_table",
    "require_events",
    "require_arms",
    "quiet",
    "finite",
    "relaxed",
]

MIN_EVENTS_PER_TERM = 10
MIN_EVENTS_PER_ARM = 10
MIN_PER_ARM = 20
MIN_CLUSTERS = 3
#: set by :func:`relaxed`: the minimums are not enforced (for checks of the machinery on a
#: hand-made cohort, never for a published estimate)
_RELAXED = False


@contextmanager
def relaxed() -> Iterator[None]:
    """Within this block the minimums are not enforced: an estimator runs on whatever it
    is given (its numbers may be meaningless). For testing a model's design on a tiny
    hand-made cohort; the report never uses it."""
    global _RELAXED
    before, _RELAXED = _RELAXED, True
    try:
        yield
    finally:
        _RELAXED = before


class NotEstimable(ValueError):
    """This cohort cannot support the estimate; :meth:`text` says why, in nl or en."""

    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(key)

    def __str__(self) -> str:
        # A report runs notebooks in a kernel: the reason reaches the page through str(),
        # in the report's language (THUISZIT_EVAL_LANG, set by the report).
        return self.text(os.environ.get("THUISZIT_EVAL_LANG", "en"))

    def text(self, lang: str = "nl") -> str:
        """The reason as one sentence in ``lang``."""
        params = {k: v for k, v in self.params.items() if not k.startswith("_")}
        for k, v in params.items():  # coded parameters have their own catalogue entries
            if isinstance(v, str) and f"estimable.{k}.{v}" in messages.MESSAGES:
                params[k] = messages.t(f"estimable.{k}.{v}", lang)
        if "_table" in self.params:
            params["table"] = messages.t(f"estimable.table.{self.params['_table']}", lang)
        return messages.t(f"estimable.{self.key}", lang, **params)


class NotApplicable(NotEstimable):
    """The question does not apply to this cohort (a table or group it does not have)."""


def require_table(data: object, table: str, purpose: str) -> None:
    """Raise :class:`NotApplicable` unless the cohort has rows in ``table``; ``purpose`` is a
    message key ``estimable.purpose.<purpose>`` saying what the table is needed for."""
    df = getattr(data, table, None)
    if df is None or len(df) == 0:
        raise NotApplicable("needs_table", table=messages.t(f"estimable.table.{table}", "en"),
                            purpose=purpose, _table=table)


def require_events(n_events: int, n_terms: int, what: str = "cox",
                   per_term: int = MIN_EVENTS_PER_TERM) -> None:
    """Raise :class:`NotEstimable` unless there are ``per_term`` returns per model term."""
    need = per_term * max(int(n_terms), 1)
    if int(n_events) < need and not _RELAXED:
        raise NotEstimable("events_per_term", what=what, n_terms=int(n_terms), need=need,
                           per_term=per_term, n_events=int(n_events))


def require_arms(sizes: dict[str, int], events: dict[str, int], what: str = "iptw",
                 min_n: int = MIN_PER_ARM, min_events: int = MIN_EVENTS_PER_ARM) -> None:
    """Raise :class:`NotEstimable` unless every arm has ``min_n`` episodes and
    ``min_events`` returns."""
    n_small = min(sizes.values(), default=0)
    e_small = min(events.values(), default=0)
    if (n_small < min_n or e_small < min_events) and not _RELAXED:
        raise NotEstimable("arms", what=what, min_n=min_n, min_events=min_events)


@contextmanager
def quiet() -> Iterator[None]:
    """Numeric warnings (overflow, divide by zero, convergence chatter) never reach a
    terminal or a page: callers check the result instead (:func:`finite`)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def finite(*values: object) -> bool:
    """True when every value is a finite number (an interval can then be read)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(arr.size) and bool(np.isfinite(arr).all())
